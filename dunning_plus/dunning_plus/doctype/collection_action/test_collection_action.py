# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, getdate

from dunning_plus.engine.cadence import action_key
from dunning_plus.ledger import read_taken
from dunning_plus.tests.utils import COMPANY, make_customer, make_invoice, setup_collections

T = getdate("2026-03-16")


class TestCollectionAction(FrappeTestCase):
	def setUp(self):
		setup_collections()
		self.customer = make_customer(f"_Test DP Action {frappe.generate_hash(length=6)}")

	def step(self, si, code="R+3", status="Queued"):
		row = si.payment_schedule[0]
		return frappe.get_doc(
			{
				"doctype": "Collection Action",
				"company": COMPANY,
				"customer": self.customer,
				"action_type": "Step",
				"action_date": T,
				"status": status,
				"step_code": code,
				"reference_doctype": "Sales Invoice",
				"reference_name": si.name,
				"payment_schedule": row.name,
				"idempotency_key": action_key(COMPANY, self.customer, row.name, code),
			}
		).insert(ignore_permissions=True)

	def test_idempotency_key_is_unique_in_the_database(self):
		with self.freeze_time(T, tick=True):
			si = make_invoice(self.customer, add_days(T, -35))
			self.step(si)
			with self.assertRaises(frappe.UniqueValidationError):
				self.step(si)
		self.assertEqual(read_taken(COMPANY, [self.customer]), {si.payment_schedule[0].name: ["R+3"]})

	def test_taken_step_shows_as_level_and_last_step_on_the_case(self):
		from dunning_plus.cases import refresh_case
		from dunning_plus.tests.utils import case_of

		with self.freeze_time(T, tick=True):
			si = make_invoice(self.customer, add_days(T, -50))  # first row 20 days overdue
			self.step(si, "L1", "Sent")
			refresh_case(COMPANY, self.customer)
			case = case_of(self.customer)
		self.assertEqual((case.status, case.current_level), ("Dunning", 1))
		self.assertEqual(case.items[0].last_step, "L1")
		self.assertEqual(case.next_action, "Dunning Level 2 (L2)")
		self.assertEqual(frappe.db.get_value("Sales Invoice", si.name, "current_dunning_level"), 1)

	def test_cancelling_the_invoice_withdraws_queued_steps(self):
		with self.freeze_time(T, tick=True):
			si = make_invoice(self.customer, add_days(T, -35))
			queued = self.step(si, "R+3", "Queued")
			si.cancel()
		queued.reload()
		self.assertEqual(queued.status, "Skipped")
		self.assertIn(si.name, queued.reason)
