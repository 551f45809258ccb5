# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt
"""The case's figures (issue 15 items 3, 4 and 8): open credits netted in the case, the message, the
statement; the whole open position; the true next action and the level of what was sent."""

import frappe
from frappe.utils import add_days, flt, getdate

from dunning_plus.cases import refresh_case
from dunning_plus.dunning_plus.doctype.dunning_run.test_dunning_run import D0, DUE, CycleTestCase
from dunning_plus.statement import dunning_statement
from dunning_plus.tests.utils import (
	COMPANY,
	TERMS_NET30,
	case_of,
	credit_note,
	make_invoice,
	unallocated_payment,
)


class TestCaseBalances(CycleTestCase):
	def invoice(self, rate=1000, posting=D0):
		with self.freeze_time(posting, tick=True):
			return make_invoice(self.customer, posting, rate=rate, terms=TERMS_NET30)

	def step_amounts(self, code):
		return [
			flt(a)
			for a in frappe.get_all(
				"Collection Action",
				filters={"customer": self.customer, "action_type": "Step", "step_code": code},
				pluck="amount",
			)
		]

	def dun_with_credit_note(self, own_outstanding: bool):
		"""issue 15 item 3: a 1,000 invoice with a 200 credit note is dunned for 800."""
		si = self.invoice()
		with self.freeze_time(add_days(DUE, 20), tick=True):
			credit_note(si.name, 200, add_days(DUE, 20), own_outstanding=own_outstanding)
		self.run_on(add_days(DUE, 25))  # L2 (fee 15) is due
		case = case_of(self.customer)
		self.assertEqual(self.step_amounts("L2"), [800])
		message = frappe.get_all(
			"Dunning Run Message", filters={"customer": self.customer, "step_code": "L2"}, pluck="total"
		)
		self.assertEqual([flt(t) for t in message], [800])
		self.assertEqual((flt(case.dunned_amount), flt(case.overdue_amount)), (800, 800))
		return case

	def test_a_credit_note_with_its_own_outstanding_is_netted(self):
		"""ERPNext v15's default for a return: the invoice keeps 1,000, the return owes -200."""
		case = self.dun_with_credit_note(own_outstanding=True)
		item = case.items[0]
		self.assertEqual((flt(item.outstanding), flt(item.credit_applied)), (1000, 200))
		self.assertEqual((flt(case.outstanding_amount), flt(case.open_credit_amount)), (1000, 200))

	def test_a_credit_note_against_the_invoice_reduces_it(self):
		case = self.dun_with_credit_note(own_outstanding=False)
		self.assertEqual((flt(case.outstanding_amount), flt(case.open_credit_amount)), (800, 0))

	def test_credits_covering_everything_stop_the_dunning_until_reconciled(self):
		self.invoice()
		with self.freeze_time(add_days(DUE, 5), tick=True):
			unallocated_payment(self.customer, 1000, add_days(DUE, 5))
		run = self.run_on(add_days(DUE, 10))  # L1 would be due
		self.assertEqual(flt(run.messages_count), 0)
		self.assertEqual(self.step_amounts("L1"), [])
		case = case_of(self.customer)
		self.assertEqual(case.items[0].paused_by, "Credit")
		self.assertEqual(case.next_action, "Reconcile the open credits with this invoice")
		self.assertEqual((flt(case.dunned_amount), flt(case.overdue_amount)), (0, 0))

	def test_the_message_and_statement_show_open_credits_and_the_whole_position(self):
		"""issue 15 items 3 and 4: an invoice due in 10 days is in the totals and on the statement."""
		from dunning_plus import delivery

		overdue = self.invoice()
		later = self.invoice(rate=640, posting=add_days(DUE, 0))  # due DUE+30
		with self.freeze_time(add_days(DUE, 15), tick=True):
			pe = unallocated_payment(self.customer, 150, add_days(DUE, 15))
		day = add_days(DUE, 20)
		self.run_on(day)
		case = case_of(self.customer)
		self.assertEqual([i.reference_name for i in case.items], [overdue.name])  # in view
		self.assertEqual(flt(case.outstanding_amount), 1640)
		self.assertEqual(flt(case.open_credit_amount), 150)
		self.assertEqual((flt(case.overdue_amount), flt(case.not_due_amount)), (850, 640))
		self.assertEqual(flt(case.dunned_amount), 850)
		with self.freeze_time(day, tick=True):
			statement = dunning_statement(COMPANY, self.customer, case.name)
			html = frappe.get_print("Collection Case", case.name, print_format=delivery.STATEMENT_FORMAT)
		self.assertEqual([r["reference_name"] for r in statement["rows"]], [overdue.name, later.name])
		self.assertEqual([(c["voucher"], c["amount"]) for c in statement["credits"]], [(pe.name, 150)])
		self.assertEqual((statement["outstanding"], statement["balance"]), (1640, 1490))
		for text in (later.name, pe.name, "Open Credits", "Balance Due"):
			self.assertIn(text, html)
		# the message lists the credit beside the netted items
		msg, _rows = frappe.get_attr("dunning_plus.cycle.delivering.rebuild_message")(
			COMPANY,
			self.customer,
			frappe.get_all(
				"Collection Action", filters={"customer": self.customer, "action_type": "Step"}, pluck="name"
			),
		)
		with self.freeze_time(day, tick=True):
			ctx = delivery.message_context(msg, case.name)
		self.assertEqual([(c["voucher"], c["amount"]) for c in ctx["credits"]], [(pe.name, 150)])
		self.assertEqual(
			[(i["outstanding"], i["credit_applied"], i["amount"]) for i in ctx["items"]], [(1000, 150, 850)]
		)
		self.assertEqual(ctx["total"], 850)

	def test_next_action_and_levels_follow_what_was_sent(self):
		"""issue 15 item 8: at level 2 with a Final Notice waiting for approval."""
		self.invoice()
		self.run_on(add_days(DUE, 26))  # catch-up: L2 sent
		self.run_on(add_days(DUE, 46))  # FINAL needs approval
		case = case_of(self.customer)
		item = case.items[0]
		self.assertEqual(case.status, "Pending Approval")
		self.assertEqual(case.current_level, 2)
		self.assertEqual((item.level, item.last_step), (2, "L2"))
		self.assertEqual(item.pending_step, "FINAL (Pending Approval)")
		self.assertEqual(case.next_action, "Approve or drop Final Notice (FINAL)")
		self.assertEqual(getdate(case.next_action_date), add_days(DUE, 46))
		# another invoice reaching L1 does not hide the approval
		with self.freeze_time(add_days(DUE, 46), tick=True):
			make_invoice(self.customer, add_days(DUE, -40), rate=100, terms=TERMS_NET30)
			refresh_case(COMPANY, self.customer, add_days(DUE, 46))
		self.assertEqual(case_of(self.customer).next_action, "Approve or drop Final Notice (FINAL)")
