# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt
"""Payment plans inside dunning (issue 11), on real ERPNext invoices and payments."""

import frappe
from frappe.utils import add_days, flt, getdate

from dunning_plus.dunning_plus.doctype.dunning_run.test_dunning_run import D0, DUE, CycleTestCase
from dunning_plus.tasks import run_hourly_checks
from dunning_plus.tests.utils import (
	STANDARD_STEPS,
	TEMPLATE,
	TERMS_NET30,
	case_of,
	credit_note,
	ensure_policy,
	make_customer,
	make_invoice,
	make_user,
	pay,
)

PLAN_STEPS = [
	{"step_code": "P-3", "offset_days": -3, "kind": "Plan Reminder", "email_template": TEMPLATE},
	{"step_code": "P+2", "offset_days": 2, "kind": "Plan Reminder", "email_template": TEMPLATE},
]


class TestPaymentPlan(CycleTestCase):
	def setUp(self):
		super().setUp()
		ensure_policy(steps=STANDARD_STEPS + PLAN_STEPS)
		frappe.flags.dunning_plus_policies = None
		frappe.db.set_single_value(
			"Dunning Plus Settings",
			{
				"plan_max_instalments": 6,
				"plan_max_days": 180,
				"plan_approval_amount": 1000,
				"plan_approval_days": 0,
				"plan_approval_role": "Collections Manager",
			},
		)
		self.manager = make_user("dp-plan-manager@example.com", ["Collections Manager"])

	def invoice(self, rate=1200):
		with self.freeze_time(D0, tick=True):
			return make_invoice(self.customer, D0, rate=rate, terms=TERMS_NET30)

	def offer(self, day, count=3, every=30, start=None, accepted=1, **kw):
		with self.freeze_time(day, tick=True):
			case = case_of(self.customer)
			name = case.offer_payment_plan(count, every, str(start or day), accepted=accepted, **kw)
			plan = frappe.get_doc("Payment Plan", name)
			plan.submit()
		return frappe.get_doc("Payment Plan", name)

	def plan_steps(self):
		return frappe.get_all(
			"Collection Action",
			filters={"customer": self.customer, "reference_doctype": "Payment Plan", "action_type": "Step"},
			fields=["step_code", "payment_schedule", "status"],
			order_by="creation",
		)

	def invoice_steps(self):
		return [
			s.step_code
			for s in frappe.get_all(
				"Collection Action",
				filters={
					"customer": self.customer,
					"reference_doctype": "Sales Invoice",
					"action_type": "Step",
				},
				fields=["step_code"],
				order_by="creation",
			)
		]

	def test_offer_approve_remind_partial_pay_break_and_resume(self):
		si = self.invoice(1200)
		self.run_on(add_days(DUE, 10))  # R+3 passed over, L1 sent
		self.assertEqual(self.invoice_steps(), ["L1"])
		day = add_days(DUE, 12)
		plan = self.offer(day, count=3, every=30, start=add_days(DUE, 15))
		self.assertEqual([flt(r.amount) for r in plan.instalments], [400, 400, 400])
		self.assertEqual((plan.status, plan.needs_approval), ("Proposed", 1))
		self.assertIn("1,200.00", plan.approval_reasons)
		todo = frappe.get_all(
			"ToDo", filters={"reference_name": plan.name, "status": "Open"}, pluck="allocated_to"
		)
		self.assertIn(self.manager, todo)
		# a collector cannot approve
		collector = make_user("dp-plan-collector@example.com", ["Collector"])
		with self.freeze_time(day, tick=True), self.set_user(collector):
			with self.assertRaises(frappe.PermissionError):
				frappe.get_doc("Payment Plan", plan.name).approve()
		with self.freeze_time(day, tick=True), self.set_user(self.manager):
			frappe.get_doc("Payment Plan", plan.name).approve()
		plan.reload()
		self.assertEqual((plan.status, plan.approved_by), ("Active", self.manager))
		case = case_of(self.customer)
		self.assertEqual(
			(case.status, case.payment_plan, case.items[0].paused_by), ("On Plan", plan.name, "Plan")
		)

		# the plan's first instalment is reminded at P-3 through the same cycle; the invoice is not dunned
		self.run_on(add_days(DUE, 12))
		self.assertEqual(
			[(s.step_code, s.payment_schedule) for s in self.plan_steps()],
			[("P-3", plan.instalments[0].name)],
		)
		self.run_on(add_days(DUE, 12))  # rerun: nothing twice
		self.assertEqual(len(self.plan_steps()), 1)
		# a partial payment fills the first instalment
		with self.freeze_time(add_days(DUE, 15), tick=True):
			pay(si.name, 400, add_days(DUE, 15))
		plan.reload()
		self.assertEqual(
			[(flt(r.paid_amount), r.status) for r in plan.instalments][:2], [(400, "Paid"), (0, "Open")]
		)
		self.assertEqual(getdate(plan.next_due_date), add_days(DUE, 45))

		# the second instalment is not paid after its date (grace 0): broken, escalated once
		run_hourly_checks(f"{add_days(DUE, 46)} 09:00:00")
		run_hourly_checks(f"{add_days(DUE, 46)} 10:00:00")
		plan.reload()
		self.assertEqual((plan.status, getdate(plan.broken_on)), ("Broken", add_days(DUE, 46)))
		escalations = frappe.get_all(
			"ToDo",
			filters={
				"reference_type": "Payment Plan",
				"reference_name": plan.name,
				"priority": "High",
				"description": ["like", "%broken%"],
			},
		)
		self.assertEqual(len(escalations), 1)
		# dunning resumes on what remains, from the level the item had
		self.run_on(add_days(DUE, 46))
		case = case_of(self.customer)
		self.assertNotEqual(case.status, "On Plan")
		self.assertIsNone(case.items[0].paused_by)
		self.assertEqual(self.invoice_steps(), ["L1", "FINAL"])  # catch-up after the plan: the step due now
		self.assertEqual(flt(case.items[0].outstanding), 800)

	def test_offer_accepted_then_completed_resolves_the_items(self):
		si = self.invoice(600)  # below the approval amount
		self.run_on(add_days(DUE, 10))
		plan = self.offer(add_days(DUE, 11), count=2, every=14)
		self.assertEqual((plan.status, plan.needs_approval, plan.accepted_via), ("Active", 0, "Collector"))
		# the statement shows the plan
		from dunning_plus.statement import dunning_statement

		with self.freeze_time(add_days(DUE, 11), tick=True):
			statement = dunning_statement(plan.company, self.customer, plan.collection_case)
			html = frappe.get_print(
				"Collection Case", plan.collection_case, print_format="Open Items Statement"
			)
		self.assertEqual([(p["name"], len(p["instalments"])) for p in statement["plans"]], [(plan.name, 2)])
		self.assertEqual([r["reference_name"] for r in statement["rows"]], [si.name])  # no plan rows
		self.assertIn(f"Payment Plan {plan.name}", html)
		with self.freeze_time(add_days(DUE, 11), tick=True):
			pay(si.name, 300, add_days(DUE, 11))
		with self.freeze_time(add_days(DUE, 25), tick=True):
			pay(si.name, 300, add_days(DUE, 25))
		plan.reload()
		self.assertEqual((plan.status, flt(plan.paid_amount)), ("Completed", 600))
		self.assertTrue(all(r.status == "Paid" for r in plan.instalments))
		case = case_of(self.customer)
		self.assertEqual((case.status, case.resolution), ("Resolved", "Paid"))

	def test_cancel_needs_a_reason_and_dunning_resumes(self):
		self.invoice(600)
		self.run_on(add_days(DUE, 10))
		plan = self.offer(add_days(DUE, 11), count=2, every=14)
		self.assertEqual(case_of(self.customer).status, "On Plan")
		with self.freeze_time(add_days(DUE, 12), tick=True):
			with self.assertRaisesRegex(frappe.ValidationError, "reason"):
				frappe.get_doc("Payment Plan", plan.name).cancel()
			frappe.get_doc("Payment Plan", plan.name).cancel_plan("The customer asked for a new arrangement")
		plan.reload()
		self.assertEqual((plan.docstatus, plan.status), (2, "Cancelled"))
		self.assertNotEqual(case_of(self.customer).status, "On Plan")
		self.run_on(add_days(DUE, 25))
		self.assertEqual(self.invoice_steps(), ["L1", "L2"])

	def test_a_covered_item_paid_by_a_credit_note_counts_toward_the_plan(self):
		si = self.invoice(600)
		self.run_on(add_days(DUE, 10))
		plan = self.offer(add_days(DUE, 11), count=2, every=14)
		with self.freeze_time(add_days(DUE, 12), tick=True):
			credit_note(si.name, 350, add_days(DUE, 12), own_outstanding=True)
		plan.reload()
		self.assertEqual([flt(r.paid_amount) for r in plan.instalments], [300, 50])
		self.assertEqual(flt(plan.paid_amount), 350)

	def test_bad_plans_are_refused_and_nothing_is_written(self):
		self.invoice(600)
		self.run_on(add_days(DUE, 10))
		day = add_days(DUE, 11)
		with self.freeze_time(day, tick=True):
			case = case_of(self.customer)
			name = case.offer_payment_plan(2, 14, str(day))
			draft = frappe.get_doc("Payment Plan", name)
			draft.instalments[1].amount = 250  # 300 + 250 != 600
			with self.assertRaisesRegex(
				frappe.ValidationError, "add up to 550.00 but the covered items owe 600.00"
			):
				draft.save()
			draft.reload()
			draft.instalments[1].due_date = draft.instalments[0].due_date
			with self.assertRaisesRegex(frappe.ValidationError, "must be after instalment 1"):
				draft.save()
			with self.assertRaisesRegex(frappe.ValidationError, "at most 6 instalments"):
				case.offer_payment_plan(7, 7, str(day))
			with self.assertRaisesRegex(frappe.ValidationError, "cannot be before today"):
				case.offer_payment_plan(2, 14, str(add_days(day, -1)))
			# the customer and company always come from the case
			other = make_customer(f"_Test DP Plan Other {frappe.generate_hash(length=6)}")
			draft.reload()
			draft.customer = other
			draft.save()
			self.assertEqual(draft.customer, self.customer)
			# a second live plan over the same item
			draft.reload()
			draft.submit()
			with self.assertRaisesRegex(frappe.ValidationError, "no open item a plan can cover"):
				case_of(self.customer).offer_payment_plan(2, 14, str(day))
		self.assertEqual(frappe.db.count("Payment Plan", {"customer": self.customer}), 1)
