# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, add_to_date, getdate, now_datetime

from dunning_plus.dunning_plus.report.collector_worklist.collector_worklist import execute
from dunning_plus.tests.utils import (
	COMPANY,
	case_of,
	make_customer,
	make_invoice,
	make_user,
	setup_collections,
)

T = getdate("2026-03-16")
test_dependencies = ["Customer"]


def run(**filters):
	columns, data, _message, _chart, summary = execute(frappe._dict(company=COMPANY, **filters))
	return columns, data, summary


class TestCollectorWorklist(FrappeTestCase):
	"""X owes 1000, all overdue, and disputes it; Y owes 1000 of which 300 is overdue and promises it."""

	def setUp(self):
		setup_collections()
		# users of this test only: cases other tests left never show in their worklists
		suffix = frappe.generate_hash(length=5)
		self.alice = make_user(f"dp-wl-alice-{suffix}@example.com", ["Collector"])
		self.bob = make_user(f"dp-wl-bob-{suffix}@example.com", ["Collector"])
		self.x = make_customer(f"_Test DP WL X {suffix}", dunning_collector=self.alice)
		self.y = make_customer(f"_Test DP WL Y {suffix}", dunning_collector=self.bob)
		with self.freeze_time(T, tick=True):
			make_invoice(self.x, add_days(T, -100))
			make_invoice(self.y, add_days(T, -35))
			self.x_case = case_of(self.x)
			self.y_case = case_of(self.y)
			self.dispute = self.x_case.open_dispute("Pricing")
			self.promise = self.y_case.record_promise(str(add_days(T, 5)))
			now = now_datetime()
			frappe.db.set_value("Collection Case", self.x_case.name, "sla_due", add_to_date(now, hours=-1))
			frappe.db.set_value("Collection Case", self.y_case.name, "sla_due", add_to_date(now, hours=2))

	def rows(self, **filters):
		with self.freeze_time(T, tick=True):
			_columns, data, _summary = run(**filters)
		return {r["customer"]: r for r in data if r["customer"] in (self.x, self.y)}, data

	def test_ranked_by_score_with_drivers_promises_and_disputes(self):
		mine, data = self.rows()
		x, y = mine[self.x], mine[self.y]
		self.assertLess(x["rank"], y["rank"])
		self.assertGreater(x["score"], y["score"])
		self.assertEqual([r["rank"] for r in data], list(range(1, len(data) + 1)))
		self.assertEqual(sorted((r["score"] for r in data), reverse=True), [r["score"] for r in data])
		self.assertEqual((x["overdue_share"], y["overdue_share"]), (100.0, 30.0))
		self.assertIn("Overdue share 100%", x["why"])
		self.assertEqual((x["open_disputes"], x["disputed_amount"]), (1, 1000.0))
		self.assertEqual((y["pending_promises"], y["promised_amount"]), (1, 300.0))
		self.assertEqual(getdate(y["next_promise_date"]), add_days(T, 5))
		self.assertEqual((x["status"], y["status"]), ("Disputed", "Promised"))
		self.assertEqual(x["collection_case"], self.x_case.name)
		self.assertEqual((x["sla_state"], y["sla_state"]), ("Breached", "Due Soon"))
		self.assertEqual(x["collector"], self.alice)

	def test_score_is_the_cases_stored_value(self):
		"""The defect: the worklist recomputed the score its own way (its own balances, largest balance
		and tenure), so the same customer scored 30.85 on the form and 29.74 on the worklist. A larger
		case opened since Y's was computed changed the worklist's figure, not the case's."""
		import json

		with self.freeze_time(T, tick=True):
			big = make_customer(f"_Test DP WL Big {frappe.generate_hash(length=5)}")
			make_invoice(big, add_days(T, -60), rate=9_000_000)
		mine, _data = self.rows()
		for customer, case in ((self.x, self.x_case), (self.y, self.y_case)):
			stored = frappe.db.get_value(
				"Collection Case",
				case.name,
				["risk_score", "score_explanation", "score_drivers"],
				as_dict=True,
			)
			row = mine[customer]
			self.assertEqual(row["score"], stored.risk_score, customer)
			self.assertEqual(row["why"], stored.score_explanation, customer)
			drivers = json.loads(stored.score_drivers)
			self.assertEqual(row["tenure_days"], int(drivers["newness"]["value"]))
			self.assertEqual(row["days_late"], round(drivers["days_late"]["value"], 1))
			self.assertAlmostEqual(
				row["risk"], sum(d["points"] for k, d in drivers.items() if k != "balance"), places=4
			)
		self.assertGreater(mine[self.x]["score"], 0)

	def test_tenure_counts_from_the_first_invoice(self):
		"""The defect: tenure counted from the Customer record's creation, 0 days for a customer made
		the day its history was entered."""
		import json

		with self.freeze_time(T, tick=True):
			customer = make_customer(f"_Test DP WL Tenure {frappe.generate_hash(length=5)}")
			make_invoice(customer, add_days(T, -100))
			make_invoice(customer, add_days(T, -40))
			case = case_of(customer)
		drivers = json.loads(frappe.db.get_value("Collection Case", case.name, "score_drivers"))
		self.assertEqual(drivers["newness"]["value"], 100)
		with self.freeze_time(T, tick=True):
			_columns, data, _summary = run(customer=customer)
		self.assertEqual(data[0]["tenure_days"], 100)

	def test_approvals_and_tasks_due_are_actions_due(self):
		"""The defect: "Actions Due Today 0" while cases waited for approval: only the next step's date
		counted. X (fully disputed: no step due) has a Final Notice waiting for approval (two rows of
		one message) and a call to make today, given to two people."""
		with self.freeze_time(T, tick=True):
			for row in (1, 2):
				frappe.get_doc(
					{
						"doctype": "Collection Action",
						"collection_case": self.x_case.name,
						"customer": self.x,
						"company": COMPANY,
						"action_date": T,
						"action_type": "Step",
						"status": "Pending Approval",
						"step_code": "FINAL",
						"step_kind": "Final Notice",
						"message_key": f"FINAL-{self.x}-{T}",
						"idempotency_key": f"wl-test-{self.x}-{row}",
					}
				).insert(ignore_permissions=True)
			for user, description in (
				(self.alice, "Call the customer about the pricing dispute"),
				(self.bob, "Call the customer about the pricing dispute"),
				("Administrator", "Approve or drop Final Notice for the customer"),
			):
				frappe.get_doc(
					{
						"doctype": "ToDo",
						"allocated_to": user,
						"reference_type": "Collection Case",
						"reference_name": self.x_case.name,
						"date": T,
						"description": description,
					}
				).insert(ignore_permissions=True)
			# a task due tomorrow is not due today
			frappe.get_doc(
				{
					"doctype": "ToDo",
					"allocated_to": self.alice,
					"reference_type": "Collection Case",
					"reference_name": self.x_case.name,
					"date": add_days(T, 1),
					"description": "Send the copy of the contract",
				}
			).insert(ignore_permissions=True)
		with self.freeze_time(T, tick=True):
			_columns, data, summary = run(customer=self.x)
		self.assertFalse(data[0]["next_action_date"] and getdate(data[0]["next_action_date"]) <= T)
		self.assertEqual(data[0]["actions_due"], 2)
		self.assertEqual(data[0]["due_today"], "Approve (1) · Tasks (1)")
		cards = {s["label"]: s["value"] for s in summary}
		self.assertEqual((cards["Actions Due Today"], cards["Awaiting Approval"]), (2, 1))

	def test_filters_and_a_collector_sees_only_their_cases(self):
		mine, _data = self.rows(collector=self.bob)
		self.assertEqual(set(mine), {self.y})
		mine, _data = self.rows(status="Disputed", customer=self.x)
		self.assertEqual(set(mine), {self.x})
		with self.set_user(self.alice):
			mine, data = self.rows()
		self.assertEqual(set(mine), {self.x})
		self.assertTrue(all(r["collector"] == self.alice for r in data))
