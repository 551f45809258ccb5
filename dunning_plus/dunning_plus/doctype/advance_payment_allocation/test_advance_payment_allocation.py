# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, flt, getdate

from dunning_plus.tests.utils import (
	BANK,
	COMPANY,
	RECEIVABLE,
	case_of,
	make_customer,
	make_invoice,
	make_order,
	pay_order,
	setup_collections,
	unallocated_payment,
)

D = getdate("2026-05-04")


class TestAdvancePaymentAllocation(FrappeTestCase):
	def setUp(self):
		setup_collections()
		frappe.db.set_single_value("Dunning Plus Settings", "auto_allocation", "Prepare a Draft Allocation")
		self.customer = make_customer(f"_Test DP Alloc {frappe.generate_hash(length=6)}")

	def tearDown(self):
		frappe.db.rollback()
		frappe.clear_document_cache("Dunning Plus Settings", "Dunning Plus Settings")

	def allocation(self, pe, rule="Earliest Due First", **fields):
		doc = frappe.get_doc(
			{
				"doctype": "Advance Payment Allocation",
				"company": COMPANY,
				"customer": fields.pop("customer", self.customer),
				"payment_entry": pe.name,
				"posting_date": D,
				"allocation_rule": rule,
				**fields,
			}
		)
		doc.get_allocations()
		return doc

	def rows(self, doc):
		return [flt(r.allocated_amount) for r in doc.allocations]

	def schedule(self, si):
		return [
			(r.payment_term, flt(r.paid_amount), flt(r.outstanding))
			for r in frappe.get_doc("Sales Invoice", si.name).payment_schedule
		]

	def ar_by_term(self, si):
		"""ERPNext's own Accounts Receivable, by payment terms, for this invoice."""
		from erpnext.accounts.report.accounts_receivable.accounts_receivable import execute

		_cols, data, *_rest = execute(
			frappe._dict(
				company=COMPANY,
				report_date=add_days(D, 200),
				ageing_based_on="Due Date",
				range="30, 60, 90, 120",
				party_type="Customer",
				party=[self.customer],
				based_on_payment_terms=1,
			)
		)
		return sorted(
			(r.get("payment_term"), flt(r.get("outstanding"))) for r in data if r.get("voucher_no") == si.name
		)

	def test_each_rule_across_a_three_term_schedule(self):
		with self.freeze_time(D, tick=True):
			si = make_invoice(self.customer, D)  # 300 / 300 / 400
			pe = unallocated_payment(self.customer, 500, D)
			self.assertEqual(self.rows(self.allocation(pe, "Earliest Due First")), [300, 200, 0])
			self.assertEqual(self.rows(self.allocation(pe, "Proportional")), [150, 150, 200])
			doc = self.allocation(pe, "Earliest Due First")
			doc.insert()
			doc.submit()
		self.assertEqual(flt(frappe.db.get_value("Sales Invoice", si.name, "outstanding_amount")), 500)
		self.assertEqual(flt(frappe.db.get_value("Payment Entry", pe.name, "unallocated_amount")), 0)
		terms = [r.payment_term for r in si.payment_schedule]
		self.assertEqual(self.schedule(si), [(terms[0], 300, 0), (terms[1], 200, 100), (terms[2], 0, 400)])
		# ERPNext's AR by payment terms agrees with the allocation, term by term
		self.assertEqual(self.ar_by_term(si), sorted([(terms[1], 100), (terms[2], 400)]))
		# and the case sees the reduced outstanding at once (first row paid: nothing overdue in view)
		with self.freeze_time(add_days(D, 55), tick=True):  # the second row (due D+60) is in view
			from dunning_plus.cases import refresh_case

			refresh_case(COMPANY, self.customer)
			case = case_of(self.customer)
		self.assertEqual([(i.payment_term, flt(i.outstanding)) for i in case.items], [(terms[1], 100)])

	def test_matching_term_pays_the_orders_deposit_term_first(self):
		frappe.db.set_single_value("Dunning Plus Settings", "auto_allocation", "Do Nothing")
		with self.freeze_time(D, tick=True):
			so = make_order(self.customer, D, delivery_days=10)  # deposit term: 30% now
			pe = pay_order(so.name, 300, D)
			si = make_invoice(
				self.customer,
				D,
				terms=None,
				sales_order=so.name,
				schedule=[
					("_Test DP Bal 70%", add_days(D, 0), 700),
					("_Test DP Dep 30%", add_days(D, 20), 300),
				],
			)
			earliest = self.allocation(pe, "Earliest Due First", sales_order=so.name)
			matching = self.allocation(pe, "Matching Payment Term", sales_order=so.name)
		self.assertEqual(
			[(r.payment_term, flt(r.allocated_amount)) for r in earliest.allocations],
			[("_Test DP Bal 70%", 300), ("_Test DP Dep 30%", 0)],
		)
		self.assertEqual(
			[(r.payment_term, flt(r.allocated_amount)) for r in matching.allocations],
			[("_Test DP Bal 70%", 0), ("_Test DP Dep 30%", 300)],
		)
		with self.freeze_time(D, tick=True):
			matching.insert()
			matching.submit()
		self.assertEqual(flt(frappe.db.get_value("Sales Invoice", si.name, "outstanding_amount")), 700)
		refs = frappe.get_all(
			"Payment Entry Reference",
			filters={"parent": pe.name, "allocated_amount": [">", 0]},
			fields=["reference_doctype", "reference_name", "payment_term", "allocated_amount"],
		)
		self.assertEqual(
			[(r.reference_doctype, r.reference_name, r.payment_term, flt(r.allocated_amount)) for r in refs],
			[("Sales Invoice", si.name, "_Test DP Dep 30%", 300)],
		)
		dep_row = next(
			r
			for r in frappe.get_doc("Sales Invoice", si.name).payment_schedule
			if r.payment_term == "_Test DP Dep 30%"
		)
		self.assertEqual((flt(dep_row.paid_amount), flt(dep_row.outstanding)), (300, 0))

	def test_manual_rows_are_checked(self):
		with self.freeze_time(D, tick=True):
			make_invoice(self.customer, D)
			pe = unallocated_payment(self.customer, 500, D)
			doc = self.allocation(pe, "Manual")
			doc.allocations[0].allocated_amount = 350  # the row owes 300
			with self.assertRaisesRegex(frappe.ValidationError, "only 300"):
				doc.insert()
			doc.allocations[0].allocated_amount = 300
			doc.allocations[1].allocated_amount = 250
			doc.allocations[2].allocated_amount = 0
			with self.assertRaisesRegex(frappe.ValidationError, "has only 500"):
				doc.insert()
		self.assertFalse(frappe.db.exists("Advance Payment Allocation", {"payment_entry": pe.name}))

	def test_wrong_customer_cancelled_invoice_and_currency_are_rejected(self):
		other = make_customer(f"_Test DP Alloc Other {frappe.generate_hash(length=6)}")
		with self.freeze_time(D, tick=True):
			si = make_invoice(self.customer, D)
			pe = unallocated_payment(other, 500, D)
			with self.assertRaisesRegex(frappe.ValidationError, "was received from"):
				self.allocation(pe)
			own = unallocated_payment(self.customer, 500, D)
			doc = self.allocation(own)
			si.cancel()
			with self.assertRaisesRegex(frappe.ValidationError, "Cannot link cancelled document"):
				doc.insert()
			usd = make_invoice(self.customer, D, currency="USD", conversion_rate=80, rate=10)
			with self.assertRaisesRegex(frappe.ValidationError, "no open invoice instalment in INR"):
				self.allocation(own)  # proposals only offer rows in the payment's currency
			doc = frappe.get_doc(
				{
					"doctype": "Advance Payment Allocation",
					"company": COMPANY,
					"customer": self.customer,
					"payment_entry": own.name,
					"posting_date": D,
					"allocations": [
						{
							"sales_invoice": usd.name,
							"payment_schedule": usd.payment_schedule[0].name,
							"allocated_amount": 5,
						}
					],
				}
			)
			with self.assertRaisesRegex(frappe.ValidationError, "is in USD but payment"):
				doc.insert()

	def test_cancel_undoes_the_allocation_and_then_the_payment_can_be_cancelled(self):
		with self.freeze_time(D, tick=True):
			si = make_invoice(self.customer, D)
			pe = unallocated_payment(self.customer, 500, D)
			doc = self.allocation(pe)
			doc.insert()
			doc.submit()
			frappe.db.savepoint("before_pe_cancel")
			with self.assertRaises(frappe.LinkExistsError):
				frappe.get_doc("Payment Entry", pe.name).cancel()
			frappe.db.rollback(save_point="before_pe_cancel")  # as the failed request would
			doc.reload()
			doc.cancel()
		self.assertEqual(flt(frappe.db.get_value("Sales Invoice", si.name, "outstanding_amount")), 1000)
		self.assertEqual(flt(frappe.db.get_value("Payment Entry", pe.name, "unallocated_amount")), 500)
		self.assertEqual([(p, o) for _t, p, o in self.schedule(si)], [(0, 300), (0, 300), (0, 400)])
		with self.freeze_time(D, tick=True):
			frappe.get_doc("Payment Entry", pe.name).cancel()
		self.assertEqual(frappe.db.get_value("Payment Entry", pe.name, "docstatus"), 2)

	def test_invoice_from_an_order_with_advances_gets_an_allocation(self):
		with self.freeze_time(D, tick=True):
			so = make_order(self.customer, D, delivery_days=10)
			pay_order(so.name, 300, D)
			si = make_invoice(self.customer, D, sales_order=so.name)
		drafts = frappe.get_all(
			"Advance Payment Allocation",
			filters={"customer": self.customer, "docstatus": 0},
			fields=["name", "total_allocated"],
		)
		self.assertEqual([flt(d.total_allocated) for d in drafts], [300])
		frappe.db.set_single_value("Dunning Plus Settings", "auto_allocation", "Submit the Allocation")
		with self.freeze_time(D, tick=True):
			so2 = make_order(self.customer, D, delivery_days=10)
			pay_order(so2.name, 300, D)
			si2 = make_invoice(self.customer, D, sales_order=so2.name)
		self.assertEqual(flt(frappe.db.get_value("Sales Invoice", si2.name, "outstanding_amount")), 700)
		del si
