"""ERPNext's own flows with the app installed: nothing of ours may block an ERPNext document."""

import frappe
from frappe.tests.utils import FrappeTestCase, change_settings
from frappe.utils import add_days, flt, getdate

from dunning_plus.tests.utils import (
	COMPANY,
	STANDARD_STEPS,
	TEMPLATE,
	TERMS_NET30,
	case_of,
	ensure_policy,
	make_customer,
	make_invoice,
	make_order,
	pay_order,
	setup_collections,
	unallocated_payment,
)

D = getdate("2026-05-04")


class TestERPNextFlows(FrappeTestCase):
	def setUp(self):
		setup_collections()
		frappe.db.set_single_value("Dunning Plus Settings", "auto_allocation", "Prepare a Draft Allocation")
		self.customer = make_customer(f"_Test DP Flow {frappe.generate_hash(length=6)}")

	def tearDown(self):
		frappe.db.rollback()
		frappe.clear_document_cache("Dunning Plus Settings", "Dunning Plus Settings")

	def invoice_from_order(self, so, allocate_advances: bool):
		"""ERPNext's own Sales Order -> Sales Invoice mapping, as the desk's "Create > Sales Invoice"."""
		from erpnext.selling.doctype.sales_order.sales_order import make_sales_invoice

		si = make_sales_invoice(so.name)
		si.set_posting_time = 1
		si.posting_date = D
		# the mapped schedule was computed for the day of mapping: let ERPNext compute it for D
		si.set("payment_schedule", [])
		si.due_date = None
		si.allocate_advances_automatically = 1 if allocate_advances else 0
		si.insert(ignore_permissions=True)
		return si

	def test_invoice_from_an_order_whose_advance_erpnext_applied_submits(self):
		"""issue 15 item 1: ERPNext applied the partial advance on the invoice; our automation stands aside."""
		for mode in ("Prepare a Draft Allocation", "Submit the Allocation"):
			frappe.db.set_single_value("Dunning Plus Settings", "auto_allocation", mode)
			with self.freeze_time(D, tick=True):
				so = make_order(self.customer, D, delivery_days=10)
				pe = pay_order(so.name, 300, D)
				si = self.invoice_from_order(so, allocate_advances=True)
				self.assertEqual(
					[a.reference_name for a in si.advances if flt(a.allocated_amount)], [pe.name]
				)
				si.submit()
			self.assertEqual(frappe.db.get_value("Sales Invoice", si.name, "docstatus"), 1)
			self.assertEqual(flt(frappe.db.get_value("Sales Invoice", si.name, "outstanding_amount")), 700)
			self.assertFalse(frappe.db.exists("Advance Payment Allocation", {"payment_entry": pe.name}))

	def test_invoice_with_nothing_open_to_allocate_to_submits(self):
		"""As ERPNext's test_sales_order_partial_advance_payment: the order is paid in full, the invoice
		bills part of it and ERPNext's advances settle it; the rest of the advance stays on the order."""
		with self.freeze_time(D, tick=True):
			so = make_order(self.customer, D, delivery_days=10)
			pe = pay_order(so.name, 1000, D)
			si = self.invoice_from_order(so, allocate_advances=False)
			si.items[0].rate = 400
			si.allocate_advances_automatically = 1
			si.save()
			si.submit()
		self.assertEqual(flt(frappe.db.get_value("Sales Invoice", si.name, "outstanding_amount")), 0)
		left_on_order = frappe.get_all(
			"Payment Entry Reference",
			filters={"parent": pe.name, "reference_doctype": "Sales Order", "allocated_amount": [">", 0]},
			pluck="allocated_amount",
		)
		self.assertEqual(sum(flt(a) for a in left_on_order), 600)  # what our automation would pick up
		self.assertFalse(frappe.get_all("Advance Payment Allocation", filters={"customer": self.customer}))

	def test_a_failing_allocation_is_rolled_back_and_noted_not_raised(self):
		from unittest.mock import patch

		with self.freeze_time(D, tick=True):
			so = make_order(self.customer, D, delivery_days=10)
			pay_order(so.name, 300, D)
			si = self.invoice_from_order(so, allocate_advances=False)
			with patch(
				"dunning_plus.allocations.proposal", side_effect=frappe.ValidationError("engine down")
			):
				si.submit()
		self.assertEqual(frappe.db.get_value("Sales Invoice", si.name, "docstatus"), 1)
		self.assertFalse(frappe.get_all("Advance Payment Allocation", filters={"customer": self.customer}))
		notes = frappe.get_all(
			"Comment",
			filters={"reference_doctype": "Sales Invoice", "reference_name": si.name},
			pluck="content",
		)
		self.assertTrue(any("allocate it by hand" in n for n in notes), notes)

	def test_a_cancelled_order_with_expected_deposits_can_be_deleted(self):
		"""issue 15 item 2: the order's deposits (and their case items) go with it."""
		from dunning_plus.cases import refresh_case

		deposit_steps = [
			{"step_code": "DEP+2", "offset_days": 2, "kind": "Deposit Reminder", "email_template": TEMPLATE}
		]
		ensure_policy(steps=deposit_steps + STANDARD_STEPS)
		frappe.flags.dunning_plus_policies = None
		with self.freeze_time(D, tick=True):
			so = make_order(self.customer, D, delivery_days=10)
			self.assertTrue(frappe.db.exists("Expected Deposit", {"sales_order": so.name}))
		with self.freeze_time(add_days(D, 5), tick=True):
			refresh_case(COMPANY, self.customer)  # the unpaid deposit is in the case
			self.assertIn(so.name, [i.reference_name for i in case_of(self.customer).items])
			so.reload()
			so.cancel()
			frappe.delete_doc("Sales Order", so.name)
		self.assertFalse(frappe.db.exists("Sales Order", so.name))
		self.assertFalse(frappe.db.exists("Expected Deposit", {"sales_order": so.name}))
		item = frappe.qb.DocType("Collection Case Item")
		self.assertFalse(frappe.qb.from_(item).select(item.name).where(item.reference_name == so.name).run())

	@change_settings("Accounts Settings", {"delete_linked_ledger_entries": 1})
	def test_a_dunned_promised_and_disputed_invoice_can_be_cancelled_and_deleted(self):
		"""Audit rows keep its name; case items go; promise and dispute rows naming it are removed."""
		from dunning_plus.tasks import run_daily_cycle

		with self.freeze_time(D, tick=True):
			# due D-11 (Net 30): R+3 and L1 are due, not yet the L2 whose fee ERPNext's Dunning carries
			si = make_invoice(self.customer, add_days(D, -41), terms=TERMS_NET30)
			keep = make_invoice(self.customer, add_days(D, -41), terms=TERMS_NET30)
		day = D
		with self.freeze_time(day, tick=True):
			run_daily_cycle(day, COMPANY)
			case = case_of(self.customer)
			steps = frappe.get_all(
				"Collection Action", filters={"reference_name": si.name, "action_type": "Step"}, pluck="name"
			)
			self.assertTrue(steps)
			promise = case.record_promise(str(add_days(day, 5)), 100)  # covers both invoices
			dispute = case.open_dispute("Pricing", 50, si.name, "price")
			si.reload()
			si.cancel()
			frappe.delete_doc("Sales Invoice", si.name)
		self.assertFalse(frappe.db.exists("Sales Invoice", si.name))
		self.assertEqual(
			sorted(frappe.get_all("Collection Action", filters={"name": ["in", steps]}, pluck="name")),
			sorted(steps),
		)
		case.reload()
		self.assertNotIn(si.name, [i.reference_name for i in case.items])
		promise_items = frappe.get_all(
			"Payment Promise Item", filters={"parent": promise}, pluck="sales_invoice"
		)
		self.assertEqual(promise_items, [keep.name])
		self.assertFalse(frappe.get_all("Collection Dispute Item", filters={"parent": dispute}))
		notes = frappe.get_all(
			"Comment", filters={"reference_name": ["in", [promise, dispute]]}, pluck="content"
		)
		self.assertEqual(sum(1 for n in notes if si.name in n and "deleted" in n), 2)

	@change_settings("Accounts Settings", {"delete_linked_ledger_entries": 1})
	def test_a_cancelled_payment_with_a_draft_allocation_can_be_deleted(self):
		with self.freeze_time(D, tick=True):
			make_invoice(self.customer, D)
			pe = unallocated_payment(self.customer, 500, D)
			draft = frappe.get_doc(
				{
					"doctype": "Advance Payment Allocation",
					"company": COMPANY,
					"customer": self.customer,
					"payment_entry": pe.name,
					"posting_date": D,
				}
			)
			draft.get_allocations()
			draft.insert(ignore_permissions=True)
			pe.reload()
			pe.cancel()
			frappe.delete_doc("Payment Entry", pe.name)
		self.assertFalse(frappe.db.exists("Payment Entry", pe.name))
		self.assertFalse(frappe.db.exists("Advance Payment Allocation", draft.name))
