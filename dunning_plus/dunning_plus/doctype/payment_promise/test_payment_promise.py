# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, flt, getdate

from dunning_plus.promises import review_promises
from dunning_plus.tests.utils import COMPANY, case_of, make_customer, make_invoice, pay, setup_collections

T = getdate("2026-03-16")


class TestPaymentPromise(FrappeTestCase):
	def setUp(self):
		setup_collections()
		self.customer = make_customer(f"_Test DP Promise {frappe.generate_hash(length=6)}")

	def promise(self, si, days=7, amount=300):
		return frappe.get_doc(
			{
				"doctype": "Payment Promise",
				"customer": self.customer,
				"company": COMPANY,
				"promised_date": add_days(T, days),
				"amount": amount,
				"items": [{"sales_invoice": si.name, "payment_schedule": si.payment_schedule[0].name}],
			}
		).insert()

	def test_items_are_filled_from_the_ledger(self):
		with self.freeze_time(T, tick=True):
			si = make_invoice(self.customer, add_days(T, -35))
			p = self.promise(si)
		self.assertEqual(p.items[0].payment_term, si.payment_schedule[0].payment_term)
		self.assertEqual(getdate(p.items[0].due_date), getdate(si.payment_schedule[0].due_date))
		self.assertEqual(flt(p.items[0].amount), 300)
		self.assertEqual(p.collection_case, case_of(self.customer).name)
		self.assertEqual(p.recorded_by, "Administrator")
		self.assertTrue(
			frappe.db.exists("Collection Action", {"reference_name": p.name, "action_type": "Promise"})
		)

	def test_broken_after_date_plus_grace_then_case_escalates(self):
		with self.freeze_time(T, tick=True):
			si = make_invoice(self.customer, add_days(T, -35))
			p = self.promise(si, days=3)
			pay(si.name, 100, T)  # partial: not kept
			self.assertEqual(frappe.db.get_value("Payment Promise", p.name, "status"), "Pending")
		self.assertEqual(review_promises(COMPANY, self.customer, add_days(T, 3)), [])
		self.assertEqual(review_promises(COMPANY, self.customer, add_days(T, 4)), [(p.name, "Broken")])
		self.assertEqual(flt(frappe.db.get_value("Payment Promise", p.name, "paid_amount")), 100)
		with self.freeze_time(add_days(T, 4), tick=True):
			from dunning_plus.cases import refresh_case

			refresh_case(COMPANY, self.customer)
		self.assertEqual(case_of(self.customer).status, "Escalated")

	def test_grace_days_of_the_policy_extend_the_promise(self):
		frappe.db.set_value("Dunning Policy", "_Test DP Standard", "grace_days", 2)
		frappe.flags.dunning_plus_policies = None
		with self.freeze_time(T, tick=True):
			si = make_invoice(self.customer, add_days(T, -40))
			p = self.promise(si, days=3)
		self.assertEqual(review_promises(COMPANY, self.customer, add_days(T, 5)), [])
		self.assertEqual(review_promises(COMPANY, self.customer, add_days(T, 6)), [(p.name, "Broken")])

	def test_status_is_not_set_by_hand_but_can_be_cancelled(self):
		with self.freeze_time(T, tick=True):
			si = make_invoice(self.customer, add_days(T, -35))
			p = self.promise(si)
			p.status = "Kept"
			with self.assertRaisesRegex(frappe.ValidationError, "only cancel"):
				p.save()
			p.reload()
			p.cancel_promise("Customer withdrew")
			self.assertEqual(p.status, "Cancelled")
			self.assertEqual(case_of(self.customer).status, "Open")
			with self.assertRaisesRegex(frappe.ValidationError, "Only a pending promise"):
				p.cancel_promise()

	def test_item_of_another_customer_is_rejected(self):
		other = make_customer(f"_Test DP Other {frappe.generate_hash(length=6)}")
		with self.freeze_time(T, tick=True):
			si = make_invoice(other, add_days(T, -35))
			with self.assertRaisesRegex(frappe.ValidationError, "has nothing outstanding"):
				self.promise(si)
