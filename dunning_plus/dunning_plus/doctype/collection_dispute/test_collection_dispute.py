# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, flt, getdate

from dunning_plus.tests.utils import COMPANY, case_of, make_customer, make_invoice, setup_collections

T = getdate("2026-03-16")


class TestCollectionDispute(FrappeTestCase):
	def setUp(self):
		setup_collections()
		self.customer = make_customer(f"_Test DP Dispute {frappe.generate_hash(length=6)}")
		self.owner = "dp-finance@example.com"
		if not frappe.db.exists("User", self.owner):
			frappe.get_doc(
				{
					"doctype": "User",
					"email": self.owner,
					"first_name": "DP Finance",
					"send_welcome_email": 0,
					"roles": [{"role": "Collections Manager"}],
				}
			).insert(ignore_permissions=True)
		frappe.db.set_single_value("Dunning Plus Settings", "dispute_owner", self.owner)

	def dispute(self, si, amount):
		return frappe.get_doc(
			{
				"doctype": "Collection Dispute",
				"customer": self.customer,
				"company": COMPANY,
				"reason": "Damaged Goods",
				"amount": amount,
				"items": [{"sales_invoice": si.name, "payment_schedule": si.payment_schedule[0].name}],
			}
		).insert()

	def test_partial_dispute_takes_its_amount_out_of_dunning(self):
		with self.freeze_time(T, tick=True):
			si = make_invoice(self.customer, add_days(T, -35))
			d = self.dispute(si, 120)
			case = case_of(self.customer)
		self.assertEqual(case.status, "Open")  # 180 is still dunned
		self.assertFalse(case.items[0].paused_by)
		self.assertEqual(flt(case.disputed_amount), 120)
		self.assertEqual(flt(case.items[0].disputed_amount), 120)
		self.assertEqual(d.collection_case, case.name)

	def test_dispute_goes_to_the_finance_manager(self):
		with self.freeze_time(T, tick=True):
			si = make_invoice(self.customer, add_days(T, -35))
			d = self.dispute(si, 300)
		self.assertEqual(d.dispute_owner, self.owner)
		self.assertTrue(
			frappe.db.exists(
				"ToDo",
				{
					"reference_type": "Collection Dispute",
					"reference_name": d.name,
					"allocated_to": self.owner,
				},
			)
		)

	def test_resolution_needs_a_type_and_a_sane_date(self):
		with self.freeze_time(T, tick=True):
			si = make_invoice(self.customer, add_days(T, -35))
			d = self.dispute(si, 300)
			d.status = "Resolved"
			with self.assertRaisesRegex(frappe.ValidationError, "how the dispute was resolved"):
				d.save()
			d.reload()
			d.status, d.resolution_type, d.resolved_on = "Resolved", "Credit Note", add_days(T, -90)
			with self.assertRaisesRegex(frappe.ValidationError, "before it was opened"):
				d.save()
			d.reload()
			d.status, d.resolution_type = "Resolved", "Credit Note"
			d.save()
		self.assertEqual(getdate(d.resolved_on), T)
		self.assertEqual(case_of(self.customer).status, "Open")

	def test_zero_amount_and_no_items_are_rejected(self):
		with self.freeze_time(T, tick=True):
			si = make_invoice(self.customer, add_days(T, -35))
			with self.assertRaisesRegex(frappe.ValidationError, "above zero"):
				self.dispute(si, 0)
			with self.assertRaisesRegex(frappe.ValidationError, "at least one invoice"):
				frappe.get_doc(
					{
						"doctype": "Collection Dispute",
						"customer": self.customer,
						"company": COMPANY,
						"reason": "Pricing",
						"amount": 10,
					}
				).insert()
