# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import random

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, flt, getdate

from dunning_plus.cases import ITEM_FIELDS, compute_case, refresh_case
from dunning_plus.tests.utils import (
	BANK,
	COMPANY,
	RECEIVABLE,
	TERMS_NET30,
	case_of,
	credit_note,
	make_customer,
	make_invoice,
	pay,
	setup_collections,
)

T = getdate("2026-03-16")


class TestCollectionCase(FrappeTestCase):
	def setUp(self):
		setup_collections()
		self.customer = make_customer(f"_Test DP Case {frappe.generate_hash(length=6)}")

	def invoice_due_5_days_ago(self, rate=1000):
		# three terms 30/30/40 at 30/60/90 days: the first row (300) is 5 days overdue at T
		return make_invoice(self.customer, add_days(T, -35), rate=rate)

	def test_invoice_opens_a_case_when_its_first_step_is_due(self):
		with self.freeze_time(T, tick=True):
			si = self.invoice_due_5_days_ago()
			case = case_of(self.customer)
		self.assertIsNotNone(case)
		self.assertEqual(case.status, "Open")
		self.assertEqual(len(case.items), 1)  # rows due in 25 and 55 days are not in view yet
		item = case.items[0]
		self.assertEqual((item.reference_name, flt(item.outstanding)), (si.name, 300))
		self.assertEqual(flt(case.overdue_amount), 300)
		self.assertEqual(case.next_action, "Reminder (R+3)")
		self.assertEqual(getdate(case.next_action_date), T)
		self.assertEqual(case.policy, "_Test DP Standard")
		self.assertEqual(frappe.db.get_value("Sales Invoice", si.name, "collection_case"), case.name)

	def test_invoice_not_yet_in_view_opens_nothing(self):
		with self.freeze_time(T, tick=True):
			make_invoice(self.customer, add_days(T, -5))  # first row due in 25 days, R-7 in 18
		self.assertIsNone(case_of(self.customer))

	def test_partial_then_full_payment_updates_then_resolves_and_cancel_reopens(self):
		with self.freeze_time(T, tick=True):
			si = self.invoice_due_5_days_ago()
			pay(si.name, 100, T)
			case = case_of(self.customer)
			self.assertEqual(flt(case.items[0].outstanding), 200)
			# the case's Outstanding is the whole open position (issue 15 item 4): the row in view
			# (200) and the two rows not due yet (300 + 400)
			self.assertEqual(flt(case.outstanding_amount), 900)
			self.assertEqual((flt(case.overdue_amount), flt(case.not_due_amount)), (200, 700))
			last = pay(si.name, 200, T)
			case = case_of(self.customer)
			self.assertEqual(case.status, "Resolved")
			self.assertEqual(case.resolution, "Paid")
			self.assertEqual(sum(flt(i.outstanding) for i in case.items), 0)
			self.assertEqual((flt(case.overdue_amount), flt(case.dunned_amount)), (0, 0))
			resolved_name = case.name
			last.cancel()
			case = case_of(self.customer)
		self.assertEqual(case.name, resolved_name)
		self.assertEqual(case.status, "Open")
		self.assertFalse(case.resolution)
		self.assertEqual(sum(flt(i.outstanding) for i in case.items), 200)
		self.assertEqual(flt(case.outstanding_amount), 900)

	def test_payment_naming_a_later_term_keeps_the_overdue_row_open(self):
		with self.freeze_time(T, tick=True):
			si = self.invoice_due_5_days_ago()
			second_term = si.payment_schedule[1].payment_term
			pay(si.name, 300, T, payment_term=second_term)
			case = case_of(self.customer)
		self.assertEqual(flt(case.items[0].outstanding), 300)

	def test_credit_note_reduces_the_balance(self):
		with self.freeze_time(T, tick=True):
			si = self.invoice_due_5_days_ago()
			credit_note(si.name, 120, T)
			case = case_of(self.customer)
		self.assertEqual(flt(case.items[0].outstanding), 180)

	def test_journal_entry_against_the_receivable(self):
		with self.freeze_time(T, tick=True):
			si = self.invoice_due_5_days_ago()
			je = frappe.get_doc(
				{
					"doctype": "Journal Entry",
					"company": COMPANY,
					"posting_date": T,
					"accounts": [
						{
							"account": RECEIVABLE,
							"party_type": "Customer",
							"party": self.customer,
							"credit_in_account_currency": 50,
							"reference_type": "Sales Invoice",
							"reference_name": si.name,
						},
						{"account": BANK, "debit_in_account_currency": 50},
					],
				}
			)
			je.insert()
			je.submit()
			self.assertEqual(flt(case_of(self.customer).items[0].outstanding), 250)
			je.cancel()
			self.assertEqual(flt(case_of(self.customer).items[0].outstanding), 300)

	def test_payment_reconciliation_updates_the_case_before_commit(self):
		from erpnext.accounts.doctype.payment_entry.payment_entry import get_payment_entry

		with self.freeze_time(T, tick=True):
			si = self.invoice_due_5_days_ago()
			advance = get_payment_entry("Sales Invoice", si.name, party_amount=300, bank_account=BANK)
			advance.set("references", [])
			advance.paid_amount = advance.received_amount = 300
			advance.reference_no, advance.reference_date = "ADV-1", T
			advance.set_amounts()
			advance.insert()
			advance.submit()
			# the unallocated receipt is an open credit netted against the overdue row (issue 15 item 3)
			case = case_of(self.customer)
			self.assertEqual(flt(case.items[0].outstanding), 300)
			self.assertEqual((flt(case.open_credit_amount), flt(case.items[0].credit_applied)), (300, 300))
			self.assertEqual(flt(case.dunned_amount), 0)
			pr = frappe.get_doc(
				{
					"doctype": "Payment Reconciliation",
					"company": COMPANY,
					"party_type": "Customer",
					"party": self.customer,
					"receivable_payable_account": RECEIVABLE,
				}
			)
			pr.get_unreconciled_entries()
			invoices = [x.as_dict() for x in pr.invoices if x.invoice_number == si.name]
			payments = [x.as_dict() for x in pr.payments if x.reference_name == advance.name]
			pr.allocate_entries(frappe._dict({"invoices": invoices, "payments": payments}))
			pr.reconcile()
			frappe.db.before_commit.run()  # the refresh queued by the ledger entries runs at commit
			case = case_of(self.customer)
		self.assertEqual(case.status, "Resolved")
		self.assertEqual(flt(frappe.db.get_value("Sales Invoice", si.name, "outstanding_amount")), 700)

	def test_unreconcile_payment_reopens_the_balance(self):
		with self.freeze_time(T, tick=True):
			si = self.invoice_due_5_days_ago()
			pe = pay(si.name, 300, T)
			self.assertEqual(case_of(self.customer).status, "Resolved")
			unrecon = frappe.get_doc(
				{
					"doctype": "Unreconcile Payment",
					"company": COMPANY,
					"voucher_type": "Payment Entry",
					"voucher_no": pe.name,
				}
			)
			unrecon.add_references()
			unrecon.insert()
			unrecon.submit()
			case = case_of(self.customer)
		self.assertEqual(case.status, "Open")
		self.assertEqual(flt(case.items[0].outstanding), 300)
		# the payment is unallocated again: an open credit covering the row, to be reconciled
		self.assertEqual((flt(case.open_credit_amount), case.items[0].paused_by), (300, "Credit"))
		self.assertEqual(case.next_action, "Reconcile the open credits with this invoice")

	def test_invoice_block_after_submit_pauses_its_items(self):
		with self.freeze_time(T, tick=True):
			si = self.invoice_due_5_days_ago()
			si.reload()
			si.dunning_block = 1
			with self.assertRaisesRegex(frappe.ValidationError, "reason for the dunning block"):
				si.save()
			si.reload()
			si.update(
				{
					"dunning_block": 1,
					"dunning_block_reason": "Delivery complaint",
					"dunning_block_until": add_days(T, 20),
				}
			)
			si.save()
			case = case_of(self.customer)
		self.assertEqual(case.items[0].paused_by, "Block")
		self.assertEqual(getdate(case.items[0].paused_until), add_days(T, 20))

	def test_customer_block_needs_a_reason_and_a_future_end(self):
		customer = frappe.get_doc("Customer", self.customer)
		customer.dunning_block = 1
		with self.assertRaisesRegex(frappe.ValidationError, "reason for the dunning block"):
			customer.save()
		customer.reload()
		customer.dunning_block = 1
		customer.dunning_block_reason, customer.dunning_block_until = "Legal", add_days(getdate(), -1)
		with self.assertRaisesRegex(frappe.ValidationError, "cannot end in the past"):
			customer.save()

	def test_invoice_cancel_removes_its_items(self):
		with self.freeze_time(T, tick=True):
			si = self.invoice_due_5_days_ago()
			other = make_invoice(self.customer, add_days(T, -40), terms=TERMS_NET30)
			self.assertEqual(len(case_of(self.customer).items), 2)
			si.cancel()
			case = case_of(self.customer)
		self.assertEqual([r.reference_name for r in case.items], [other.name])

	def test_one_open_case_per_customer_and_company(self):
		with self.freeze_time(T, tick=True):
			self.invoice_due_5_days_ago()
		dup = frappe.get_doc({"doctype": "Collection Case", "customer": self.customer, "company": COMPANY})
		with self.assertRaisesRegex(frappe.ValidationError, "already has an open collection case"):
			dup.insert()

	def test_dispute_pauses_the_item_and_resolving_it_resumes(self):
		with self.freeze_time(T, tick=True):
			self.invoice_due_5_days_ago()
			case = case_of(self.customer)
			dispute = case.open_dispute("Pricing")
			case = case_of(self.customer)
			self.assertEqual(case.status, "Disputed")
			self.assertEqual(case.items[0].paused_by, "Dispute")
			self.assertEqual(flt(case.disputed_amount), 300)
			doc = frappe.get_doc("Collection Dispute", dispute)
			doc.status, doc.resolution_type = "Rejected", "Rejected"
			doc.save()
			case = case_of(self.customer)
		self.assertEqual(case.status, "Open")
		self.assertFalse(case.items[0].paused_by)

	def test_dispute_above_the_outstanding_is_rejected(self):
		with self.freeze_time(T, tick=True):
			si = self.invoice_due_5_days_ago()
			doc = frappe.get_doc(
				{
					"doctype": "Collection Dispute",
					"customer": self.customer,
					"company": COMPANY,
					"reason": "Pricing",
					"amount": 5000,
					"items": [{"sales_invoice": si.name}],
				}
			)
			with self.assertRaisesRegex(frappe.ValidationError, "more than the"):
				doc.insert()
		self.assertFalse(frappe.db.exists("Collection Dispute", {"customer": self.customer}))

	def test_promise_pauses_and_payment_before_the_date_keeps_it(self):
		with self.freeze_time(T, tick=True):
			si = self.invoice_due_5_days_ago()
			case = case_of(self.customer)
			name = case.record_promise(str(add_days(T, 7)))
			case = case_of(self.customer)
			self.assertEqual(case.status, "Promised")
			self.assertEqual(getdate(case.items[0].paused_until), add_days(T, 7))
			pe = pay(si.name, 300, add_days(T, 2))
			self.assertEqual(frappe.db.get_value("Payment Promise", name, "status"), "Kept")
			pe.cancel()
			self.assertEqual(frappe.db.get_value("Payment Promise", name, "status"), "Pending")

	def test_promise_in_the_past_or_above_the_balance_is_rejected(self):
		with self.freeze_time(T, tick=True):
			si = self.invoice_due_5_days_ago()
			base = {"doctype": "Payment Promise", "customer": self.customer, "company": COMPANY}
			with self.assertRaisesRegex(frappe.ValidationError, "already past"):
				frappe.get_doc(
					{
						**base,
						"promised_date": add_days(T, -1),
						"amount": 10,
						"items": [{"sales_invoice": si.name}],
					}
				).insert()
			with self.assertRaisesRegex(frappe.ValidationError, "more than the"):
				frappe.get_doc(
					{
						**base,
						"promised_date": add_days(T, 3),
						"amount": 1500,
						"items": [{"sales_invoice": si.name}],
					}
				).insert()
		self.assertFalse(frappe.db.exists("Payment Promise", {"customer": self.customer}))

	def test_hold_and_release(self):
		with self.freeze_time(T, tick=True):
			self.invoice_due_5_days_ago()
			case = case_of(self.customer)
			case.hold("Customer in talks", str(add_days(T, 10)))
			case = case_of(self.customer)
			self.assertEqual(case.status, "On Hold")
			self.assertEqual(case.items[0].paused_by, "Block")
			case.release_hold()
			self.assertEqual(case_of(self.customer).status, "Open")

	def test_resolve_refuses_an_unsettled_case(self):
		with self.freeze_time(T, tick=True):
			self.invoice_due_5_days_ago()
			with self.assertRaisesRegex(frappe.ValidationError, "still has"):
				case_of(self.customer).resolve("Paid")

	def test_sales_order_refused_on_credit_hold_unless_bypass(self):
		from erpnext.selling.doctype.sales_order.test_sales_order import make_sales_order

		frappe.db.set_value("Customer", self.customer, "dunning_credit_hold", 1)
		so = make_sales_order(
			customer=self.customer,
			company=COMPANY,
			do_not_submit=True,
			item_code="_Test DP Service",
			warehouse="_Test Warehouse - _TC",
		)
		user = "dp-sales@example.com"
		if not frappe.db.exists("User", user):
			frappe.get_doc(
				{
					"doctype": "User",
					"email": user,
					"first_name": "DP Sales",
					"send_welcome_email": 0,
					"roles": [{"role": "Sales User"}, {"role": "Sales Manager"}, {"role": "Stock User"}],
				}
			).insert(ignore_permissions=True)
		with self.set_user(user), self.assertRaisesRegex(frappe.ValidationError, "on credit hold"):
			frappe.get_doc("Sales Order", so.name).submit()
		frappe.get_doc("Sales Order", so.name).submit()  # Administrator holds the bypass role
		self.assertEqual(frappe.db.get_value("Sales Order", so.name, "docstatus"), 1)

	def test_random_sequences_always_equal_a_recompute_from_scratch(self):
		rnd = random.Random(20260316)
		with self.freeze_time(T, tick=True):
			invoices, payments = [], []
			for step in range(24):
				op = rnd.choice(
					["invoice", "invoice", "pay", "pay", "cancel_payment", "credit", "cancel_invoice"]
				)
				open_invoices = [
					i for i in invoices if frappe.db.get_value("Sales Invoice", i, "outstanding_amount") > 0
				]
				if op == "invoice" or not open_invoices:
					age = rnd.choice([-80, -40, -35, -20, -5])
					invoices.append(
						make_invoice(self.customer, add_days(T, age), rate=rnd.choice([500, 1000, 2400])).name
					)
				elif op == "pay":
					inv = rnd.choice(open_invoices)
					out = flt(frappe.db.get_value("Sales Invoice", inv, "outstanding_amount"))
					payments.append(pay(inv, min(out, rnd.choice([50, 150, 300, out])), T))
				elif op == "cancel_payment" and payments:
					payments.pop(rnd.randrange(len(payments))).cancel()
				elif op == "credit":
					inv = rnd.choice(open_invoices)
					out = flt(frappe.db.get_value("Sales Invoice", inv, "outstanding_amount"))
					credit_note(inv, min(out, 80), T)
				elif op == "cancel_invoice":
					inv = rnd.choice(open_invoices)
					if not frappe.get_all(
						"Payment Ledger Entry",
						filters={"against_voucher_no": inv, "voucher_no": ["!=", inv], "delinked": 0},
					):
						frappe.get_doc("Sales Invoice", inv).cancel()
						invoices.remove(inv)
				stored = case_of(self.customer)
				if stored is None or stored.status in ("Resolved", "Written Off", "Closed"):
					fresh = compute_case(COMPANY, self.customer, T)
					self.assertEqual(fresh["items"], [], f"step {step}: items left but no open case")
					continue
				fresh = compute_case(COMPANY, self.customer, T, stored.name)
				self.assertEqual(stored.status, fresh["status"], f"step {step} ({op})")
				self.assertAlmostEqual(
					flt(stored.outstanding_amount), fresh["outstanding_amount"], 2, f"step {step} ({op})"
				)
				self.assertEqual(
					[(r.payment_schedule, flt(r.outstanding)) for r in stored.items],
					[(r["payment_schedule"], flt(r["outstanding"])) for r in fresh["items"]],
					f"step {step} ({op})",
				)
				self.assertEqual(stored.next_action, fresh["next_action"])
		# and the ledger itself: the case's items add up to what ERPNext says is overdue in view
		self.assertTrue(invoices)

	def test_refresh_is_idempotent(self):
		with self.freeze_time(T, tick=True):
			self.invoice_due_5_days_ago()
			case = case_of(self.customer)
			modified = case.modified
			refresh_case(COMPANY, self.customer)
			refresh_case(COMPANY, self.customer)
		self.assertEqual(case_of(self.customer).modified, modified)
		self.assertTrue(set(ITEM_FIELDS) <= set(case.items[0].as_dict()))
