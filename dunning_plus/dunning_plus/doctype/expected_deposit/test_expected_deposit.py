# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import json

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, flt, getdate

from dunning_plus.tasks import run_daily_cycle
from dunning_plus.tests.utils import (
	COMPANY,
	STANDARD_STEPS,
	TEMPLATE,
	case_of,
	ensure_policy,
	make_customer,
	make_order,
	pay_order,
	setup_collections,
)

D = getdate("2026-05-04")  # a Monday
DEPOSIT_STEPS = [
	{"step_code": "DEP-3", "offset_days": -3, "kind": "Deposit Reminder", "email_template": TEMPLATE},
	{"step_code": "DEP+2", "offset_days": 2, "kind": "Deposit Reminder", "email_template": TEMPLATE},
]


class TestExpectedDeposit(FrappeTestCase):
	def setUp(self):
		setup_collections()
		ensure_policy(steps=DEPOSIT_STEPS + STANDARD_STEPS)
		frappe.flags.dunning_plus_policies = None
		frappe.db.set_single_value("Dunning Plus Settings", "sender_email_account", "_Test Email Account 1")
		self.customer = make_customer(
			f"_Test DP Deposit {frappe.generate_hash(length=6)}", email_id="dep@customer.example"
		)

	def tearDown(self):
		frappe.db.rollback()
		frappe.clear_document_cache("Dunning Plus Settings", "Dunning Plus Settings")

	def deposit(self, so):
		return frappe.get_doc("Expected Deposit", {"sales_order": so.name})

	def test_deposit_expected_reminded_paid_partly_then_paid(self):
		with self.freeze_time(D, tick=True):
			so = make_order(self.customer, D, delivery_days=10)  # 30% due now, 70% in 30 days
		dep = self.deposit(so)
		self.assertEqual((dep.status, flt(dep.amount), getdate(dep.due_date)), ("Expected", 300, D))
		self.assertEqual(
			frappe.db.count("Expected Deposit", {"sales_order": so.name}), 1
		)  # the 70% is due after delivery

		with self.freeze_time(add_days(D, 2), tick=True):
			names = run_daily_cycle(as_of=add_days(D, 2), company=COMPANY)
			case = case_of(self.customer)
		run = frappe.get_doc("Dunning Run", names[0])
		self.assertEqual([e.error for e in run.errors], [])
		self.assertEqual(json.loads(run.counts_by_step), {"DEP+2/Email": 1})
		self.assertEqual(
			[(i.reference_doctype, i.reference_name, i.track) for i in case.items],
			[("Sales Order", so.name, "Deposit")],
		)
		self.assertEqual(case.items[0].last_step, "DEP+2")
		self.assertTrue(frappe.get_all("Communication", filters={"reference_name": case.name}))

		with self.freeze_time(add_days(D, 3), tick=True):
			first = pay_order(so.name, 100, add_days(D, 3))
		dep.reload()
		self.assertEqual((dep.status, flt(dep.paid_amount), flt(dep.outstanding)), ("Partly Paid", 100, 200))
		self.assertEqual(flt(case_of(self.customer).outstanding_amount), 200)

		with self.freeze_time(add_days(D, 4), tick=True):
			second = pay_order(so.name, 200, add_days(D, 4))
		dep.reload()
		self.assertEqual((dep.status, flt(dep.outstanding)), ("Paid", 0))
		self.assertEqual(case_of(self.customer).status, "Resolved")

		with self.freeze_time(add_days(D, 5), tick=True):
			second.cancel()
		dep.reload()
		self.assertEqual((dep.status, flt(dep.outstanding)), ("Partly Paid", 200))
		self.assertEqual(case_of(self.customer).status, "Reminder")
		del first

	def test_cancelled_order_cancels_its_deposit(self):
		with self.freeze_time(D, tick=True):
			so = make_order(self.customer, D, delivery_days=10)
			so.cancel()
		self.assertEqual(self.deposit(so).status, "Cancelled")

	def test_nothing_expected_when_every_row_is_due_after_delivery(self):
		with self.freeze_time(D, tick=True):
			so = make_order(self.customer, D, delivery_days=10, terms="_Test DP Net 30")
		self.assertFalse(frappe.db.exists("Expected Deposit", {"sales_order": so.name}))
