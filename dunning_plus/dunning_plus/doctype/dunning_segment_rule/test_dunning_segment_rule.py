# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, getdate

from dunning_plus import ledger, segments
from dunning_plus.policies import policy_book
from dunning_plus.tasks import run_daily_cycle
from dunning_plus.tests.utils import (
	COMPANY,
	POLICY,
	TEMPLATE,
	TERMS_NET30,
	case_of,
	ensure_policy,
	make_customer,
	make_invoice,
	setup_collections,
)

test_dependencies = ["Customer"]
D0 = getdate("2026-03-02")
RUN_DAY = add_days(D0, 40)
ONE_STEP = [
	{"step_code": "L1", "offset_days": 10, "kind": "Dunning Level", "level": 1, "email_template": TEMPLATE}
]


def make_rule(name, policy, conditions=(), order=10, **fields):
	if frappe.db.exists("Dunning Segment Rule", name):
		frappe.delete_doc("Dunning Segment Rule", name, force=True, ignore_permissions=True)
	return frappe.get_doc(
		{
			"doctype": "Dunning Segment Rule",
			"rule_name": name,
			"company": COMPANY,
			"priority": order,
			"dunning_policy": policy,
			"conditions": [{"fact": f, "operator": op, "value": v} for f, op, v in conditions],
			**fields,
		}
	).insert(ignore_permissions=True)


class TestDunningSegmentRule(FrappeTestCase):
	def setUp(self):
		setup_collections()
		frappe.db.delete("Dunning Segment Rule", {"company": COMPANY})
		frappe.db.delete("Dunning Customer Segment", {"company": COMPANY})
		self.firm = ensure_policy("_Test DP Firm", steps=ONE_STEP)
		self.gentle = ensure_policy("_Test DP Gentle", steps=ONE_STEP)
		self.big = make_customer(
			f"_Test DP Seg Big {frappe.generate_hash(length=6)}", email_id="b@seg.example"
		)
		self.small = make_customer(
			f"_Test DP Seg Small {frappe.generate_hash(length=6)}", email_id="s@seg.example"
		)
		with self.freeze_time(RUN_DAY, tick=True):
			make_invoice(self.big, add_days(RUN_DAY, -40), rate=50000, terms=TERMS_NET30)
			make_invoice(self.small, add_days(RUN_DAY, -40), rate=100, terms=TERMS_NET30)

	def tearDown(self):
		frappe.db.rollback()
		frappe.flags.dunning_plus_policies = None

	def segment(self, customer):
		return segments.segment_of(customer, COMPANY)

	def test_rules_in_order_choose_the_policy_and_the_case_uses_it(self):
		make_rule(
			"_Test DP Big Balances",
			self.firm,
			[("Total Balance", "At Least", 10000)],
			order=10,
			segment="Key",
		)
		make_rule("_Test DP Everyone Else", self.gentle, order=20)
		counts = segments.refresh_segments(COMPANY, RUN_DAY)
		self.assertGreaterEqual(counts["segmented"], 2)
		big, small = self.segment(self.big), self.segment(self.small)
		self.assertEqual(
			(big.segment, big.segment_rule, big.dunning_policy), ("Key", "_Test DP Big Balances", self.firm)
		)
		self.assertIn("Total balance 50000", big.why)
		self.assertEqual((small.segment, small.dunning_policy), ("_Test DP Everyone Else", self.gentle))
		book = policy_book(COMPANY)
		self.assertEqual(book.rule_policies[(COMPANY, self.big)], self.firm)
		with self.freeze_time(RUN_DAY, tick=True):
			run_daily_cycle(as_of=RUN_DAY, company=COMPANY)
		self.assertEqual(case_of(self.big).policy, self.firm)
		self.assertEqual(case_of(self.small).policy, self.gentle)
		# the customer's own policy still comes first
		frappe.db.set_value("Customer", self.small, "dunning_policy", POLICY)
		frappe.flags.dunning_plus_policies = None
		inst = ledger.read_position(COMPANY, [self.small])[0][0]
		profile = ledger.read_customers([self.small])[self.small]
		self.assertEqual(policy_book(COMPANY).choose(inst, profile).policy, POLICY)

	def test_segment_rule_comes_before_the_customer_group(self):
		group = frappe.db.get_value("Customer", self.big, "customer_group")
		frappe.db.set_value("Customer Group", group, "dunning_policy", self.gentle)
		make_rule("_Test DP Big Balances", self.firm, [("Total Balance", "At Least", 10000)])
		segments.refresh_segments(COMPANY, RUN_DAY)
		book = policy_book(COMPANY)
		for customer, expected in ((self.big, self.firm), (self.small, self.gentle)):
			inst = ledger.read_position(COMPANY, [customer])[0][0]
			choice = book.choose(inst, ledger.read_customers([customer])[customer])
			self.assertEqual(choice.policy, expected)

	def test_the_daily_run_refreshes_segments(self):
		make_rule("_Test DP Big Balances", self.firm, [("Total Balance", "At Least", 10000)])
		self.assertIsNone(self.segment(self.big))
		with self.freeze_time(RUN_DAY, tick=True):
			run_daily_cycle(as_of=RUN_DAY, company=COMPANY)
		self.assertEqual(self.segment(self.big).dunning_policy, self.firm)
		# the rule changes: the next run moves the customer out
		rule = frappe.get_doc("Dunning Segment Rule", "_Test DP Big Balances")
		rule.conditions[0].value = 10**7
		rule.save()
		with self.freeze_time(add_days(RUN_DAY, 1), tick=True):
			run_daily_cycle(as_of=add_days(RUN_DAY, 1), company=COMPANY)
		self.assertIsNone(self.segment(self.big))

	def test_tenure_counts_from_the_first_invoice_and_groups_match_below(self):
		parent = frappe.db.get_value(
			"Customer Group",
			frappe.db.get_value("Customer", self.big, "customer_group"),
			"parent_customer_group",
		)
		make_rule("_Test DP Young", self.gentle, [("Tenure (Days)", "At Most", 45)], customer_group=parent)
		segments.refresh_segments(COMPANY, RUN_DAY)
		# first invoice 40 days before the run: young, and the group's parent matches
		self.assertEqual(self.segment(self.big).segment_rule, "_Test DP Young")
		facts = {f.customer: f for f in segments.read_facts(COMPANY, [self.big], RUN_DAY)}
		self.assertEqual(facts[self.big].tenure_days, 40)
		self.assertGreater(facts[self.big].risk_score, 0)

	def test_invalid_rules_are_refused(self):
		with self.assertRaises(frappe.ValidationError):
			make_rule(
				"_Test DP Bad",
				self.firm,
				[("Total Balance", "At Least", 10), ("Total Balance", "At Most", 5)],
			)
		other = frappe.db.get_value("Company", {"name": ["!=", COMPANY]}, "name")
		if other:
			frappe.db.set_value("Dunning Policy", self.gentle, "company", other)
			with self.assertRaises(frappe.ValidationError):
				make_rule("_Test DP Other Co", self.gentle)

	def test_preview_counts_moves_before_saving(self):
		rule = make_rule("_Test DP Big Balances", self.firm, [("Total Balance", "At Least", 10000)])
		segments.refresh_segments(COMPANY, RUN_DAY)
		edited = rule.as_dict()
		edited["conditions"] = [{"fact": "Total Balance", "operator": "At Least", "value": 50}]
		edited["dunning_policy"] = self.gentle
		with self.freeze_time(RUN_DAY):
			out = segments.preview_rule(frappe.as_json(edited))
		moves = {(m["from"], m["to"]): m["customers"] for m in out["moves"]}
		self.assertGreaterEqual(moves.get((self.firm, self.gentle), 0), 1)  # the big one
		self.assertGreaterEqual(moves.get((POLICY, self.gentle), 0), 1)  # the small one
		self.assertGreaterEqual(out["this_rule"], 2)
		self.assertEqual(out["moving"] + out["unchanged"], out["customers"])
		# nothing saved
		self.assertEqual(frappe.db.get_value("Dunning Segment Rule", rule.name, "dunning_policy"), self.firm)
		self.assertEqual(self.segment(self.big).dunning_policy, self.firm)
		# a new rule, not saved yet
		new = {
			"doctype": "Dunning Segment Rule",
			"rule_name": "_Test DP New",
			"company": COMPANY,
			"priority": 1,
			"dunning_policy": self.gentle,
			"conditions": [],
			"name": "new-dunning-segment-rule-1",
		}
		with self.freeze_time(RUN_DAY):
			out = segments.preview_rule(new)
		self.assertEqual(out["this_rule"], out["customers"])
		self.assertFalse(frappe.db.exists("Dunning Segment Rule", "_Test DP New"))
