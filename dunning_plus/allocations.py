"""Advance Payment Allocation, the Frappe side: open schedule rows as candidates, the engine's
allocation rules, booking through ERPNext's reconciliation (``reconcile_against_document``, as
Payment Reconciliation does) and undoing through an Unreconcile Payment.

ERPNext's reconciliation links a payment to an invoice, not to a payment term. Each allocated
schedule row gets its own payment reference carrying the payment term, and the Payment Schedule
row's paid amount and outstanding move with it, as when a Payment Entry names the term."""

from __future__ import annotations

from decimal import Decimal

import frappe
from frappe import _
from frappe.utils import flt

from dunning_plus import ledger
from dunning_plus.engine.allocation import (
	Advance,
	AllocationRule,
	ScheduleRow,
	allocate,
	validate_allocations,
)
from dunning_plus.engine.errors import EngineError
from dunning_plus.engine.money import to_money
from dunning_plus.policies import throw_engine_error

RULES = {
	"Earliest Due First": AllocationRule.EARLIEST_DUE,
	"Matching Payment Term": AllocationRule.MATCHING_TERM,
	"Proportional": AllocationRule.PROPORTIONAL,
	"Manual": AllocationRule.MANUAL,
}


def payment_sources(pe, sales_order: str | None) -> list[dict]:
	"""Where the money comes from: the order's advance references first, then the unallocated."""
	sources = []
	if sales_order:
		for ref in pe.references:
			if (
				ref.reference_doctype == "Sales Order"
				and ref.reference_name == sales_order
				and flt(ref.allocated_amount) > 0
			):
				sources.append({"voucher_detail_no": ref.name, "amount": flt(ref.allocated_amount)})
	if flt(pe.unallocated_amount) > 0:
		sources.append({"voucher_detail_no": None, "amount": flt(pe.unallocated_amount)})
	return sources


def available(pe, sales_order: str | None) -> float:
	return sum(s["amount"] for s in payment_sources(pe, sales_order))


def check_payment(doc, pe) -> None:
	if pe.docstatus != 1:
		frappe.throw(
			_("Payment Entry {0} is not submitted.").format(frappe.bold(pe.name)), title=_("Invalid Payment")
		)
	if pe.payment_type != "Receive" or pe.party_type != "Customer":
		frappe.throw(
			_("Payment Entry {0} is not a receipt from a customer.").format(frappe.bold(pe.name)),
			title=_("Invalid Payment"),
		)
	if pe.party != doc.customer:
		frappe.throw(
			_("Payment Entry {0} was received from {1}, not from {2}.").format(
				frappe.bold(pe.name), frappe.bold(pe.party), frappe.bold(doc.customer)
			),
			title=_("Wrong Customer"),
		)
	if pe.company != doc.company:
		frappe.throw(
			_("Payment Entry {0} belongs to company {1}.").format(frappe.bold(pe.name), pe.company),
			title=_("Wrong Company"),
		)
	if available(pe, doc.sales_order) <= 0:
		frappe.throw(
			_("Payment Entry {0} has nothing left to allocate.").format(frappe.bold(pe.name)),
			title=_("Nothing to Allocate"),
		)


def candidate_rows(doc) -> list[ScheduleRow]:
	"""Open payment-schedule rows of the customer's submitted invoices (of the order, if given)."""
	invoices = None
	if doc.sales_order:
		sii = frappe.qb.DocType("Sales Invoice Item")
		invoices = {
			r[0]
			for r in frappe.qb.from_(sii)
			.select(sii.parent)
			.distinct()
			.where((sii.sales_order == doc.sales_order) & (sii.docstatus == 1))
			.run()
		}
	rows = []
	for inst in ledger.read_instalments(doc.company, [doc.customer], with_taken=False):
		if inst.track.value != "invoice" or (invoices is not None and inst.invoice not in invoices):
			continue
		rows.append(
			ScheduleRow(
				id=inst.id,
				invoice=inst.invoice,
				due_date=inst.due_date,
				outstanding=inst.outstanding,
				currency=inst.currency,
				payment_term=inst.payment_term,
				customer=inst.customer,
			)
		)
	return rows


def advance_of(doc, pe) -> Advance:
	from dunning_plus.deposits import deposit_rows

	# Matching term: the advance pays the order's deposit terms (those due by delivery).
	order = frappe.get_doc("Sales Order", doc.sales_order) if doc.sales_order else None
	terms = tuple(r.payment_term for r in (deposit_rows(order) if order else []) if r.payment_term)
	return Advance(
		name=pe.name,
		unallocated=to_money(available(pe, doc.sales_order)),
		currency=pe.paid_from_account_currency or pe.paid_to_account_currency,
		payment_terms=terms,
		customer=pe.party,
	)


def propose(doc) -> list[dict]:
	"""Rows for the document by its rule, from the engine; says so when there is nothing to allocate to."""
	pe = frappe.get_doc("Payment Entry", doc.payment_entry)
	check_payment(doc, pe)
	rows = proposal(doc, pe)
	if not rows:
		frappe.throw(
			_("Customer {0} has no open invoice instalment in {1} to allocate to.").format(
				frappe.bold(doc.customer), advance_of(doc, pe).currency
			)
		)
	return rows


def proposal(doc, pe) -> list[dict]:
	"""The engine's rows for a checked payment; empty when no open instalment is in its currency."""
	advance = advance_of(doc, pe)
	rows = [r for r in candidate_rows(doc) if r.currency == advance.currency]
	if not rows or advance.unallocated <= 0:
		return []
	rule = RULES[doc.allocation_rule or "Earliest Due First"]
	if rule == AllocationRule.MANUAL:
		rule = AllocationRule.EARLIEST_DUE
	try:
		result = allocate(advance, rows, rule)
	except EngineError as e:
		throw_engine_error(e, _("Cannot Allocate"))
	by_id = {a.row.id: a.amount for a in result}
	return [
		{
			"sales_invoice": r.invoice,
			"payment_schedule": r.id,
			"payment_term": r.payment_term or None,
			"due_date": r.due_date,
			"outstanding": float(r.outstanding),
			"allocated_amount": float(by_id.get(r.id, 0)),
			"currency": r.currency,
		}
		for r in sorted(rows, key=lambda r: (r.due_date, r.invoice, r.id))
	]


def validate(doc) -> None:
	pe = frappe.get_doc("Payment Entry", doc.payment_entry)
	check_payment(doc, pe)
	open_rows = {r.id: r for r in candidate_rows(frappe._dict(doc.as_dict(), sales_order=None))}
	pairs = []
	for row in doc.allocations:
		status = frappe.db.get_value(
			"Sales Invoice", row.sales_invoice, ["docstatus", "customer", "company"], as_dict=True
		)
		if not status or status.docstatus != 1:
			frappe.throw(
				_("Row {0}: Sales Invoice {1} is not submitted (or was cancelled).").format(
					row.idx, frappe.bold(row.sales_invoice)
				),
				title=_("Invalid Invoice"),
			)
		if status.customer != doc.customer or status.company != doc.company:
			frappe.throw(
				_("Row {0}: Sales Invoice {1} belongs to {2} in {3}.").format(
					row.idx, frappe.bold(row.sales_invoice), status.customer, status.company
				),
				title=_("Wrong Customer"),
			)
		target = open_rows.get(row.payment_schedule)
		if target is None:
			frappe.throw(
				_("Row {0}: invoice {1} has nothing outstanding on that payment term.").format(
					row.idx, frappe.bold(row.sales_invoice)
				),
				title=_("Nothing Outstanding"),
			)
		row.payment_term, row.due_date, row.outstanding, row.currency = (
			target.payment_term or None,
			target.due_date,
			float(target.outstanding),
			target.currency,
		)
		if flt(row.allocated_amount):
			pairs.append((target, to_money(row.allocated_amount)))
		if frappe.db.exists(
			"Payment Entry Reference",
			{
				"parent": pe.name,
				"reference_doctype": "Sales Invoice",
				"reference_name": row.sales_invoice,
				"docstatus": 1,
			},
		):
			frappe.throw(
				_(
					"Row {0}: Payment Entry {1} is already linked to {2}; reconcile the rest with Payment Reconciliation."
				).format(row.idx, pe.name, row.sales_invoice),
				title=_("Already Linked"),
			)
	advance = advance_of(doc, pe)
	try:
		total = validate_allocations(advance, pairs)
	except EngineError as e:
		throw_engine_error(e, _("Cannot Allocate"))
	doc.currency = advance.currency
	doc.unallocated_amount = float(advance.unallocated)
	doc.total_allocated = float(total)
	doc.difference = float(advance.unallocated - total)
	if total <= 0:
		frappe.throw(_("Allocate an amount to at least one row."), title=_("Nothing Allocated"))


def book(doc) -> None:
	"""Reconciles the payment with the invoices, one reference per schedule row, as ERPNext does."""
	from erpnext.accounts.utils import reconcile_against_document

	pe = frappe.get_doc("Payment Entry", doc.payment_entry)
	sources = payment_sources(pe, doc.sales_order)
	before = {r.name for r in pe.references}
	entries = []
	plan = []
	for row in doc.allocations:
		left = to_money(row.allocated_amount)
		while left > 0 and sources:
			src = sources[0]
			take = min(left, to_money(src["amount"]))
			entries.append(_entry(pe, src, row, take))
			plan.append((row, take))
			src["amount"] = float(to_money(src["amount"]) - take)
			left -= take
			if to_money(src["amount"]) <= 0:
				sources.pop(0)
	reconcile_against_document(entries)
	pe.reload()
	new_refs = [r for r in pe.references if r.name not in before and r.reference_doctype == "Sales Invoice"]
	ps = frappe.qb.DocType("Payment Schedule")
	per = frappe.qb.DocType("Payment Entry Reference")
	for row, amount in plan:
		match = next(
			(
				r
				for r in new_refs
				if r.reference_name == row.sales_invoice
				and to_money(r.allocated_amount) == amount
				and not r.get("_used")
			),
			None,
		)
		if match is not None:
			match._used = True
			if row.payment_term:
				frappe.qb.update(per).set(per.payment_term, row.payment_term).where(
					per.name == match.name
				).run()
		_move_schedule(ps, row.payment_schedule, amount)


def _entry(pe, src, row, amount: Decimal) -> frappe._dict:
	unreconciled = (
		flt(pe.unallocated_amount)
		if src["voucher_detail_no"] is None
		else flt(next(r.allocated_amount for r in pe.references if r.name == src["voucher_detail_no"]))
	)
	inv = frappe.db.get_value(
		"Sales Invoice",
		row.sales_invoice,
		["grand_total", "outstanding_amount", "debit_to", "conversion_rate"],
		as_dict=True,
	)
	return frappe._dict(
		{
			"voucher_type": "Payment Entry",
			"voucher_no": pe.name,
			"voucher_detail_no": src["voucher_detail_no"],
			"against_voucher_type": "Sales Invoice",
			"against_voucher": row.sales_invoice,
			"account": inv.debit_to,
			"exchange_rate": inv.conversion_rate or 1,
			"party_type": "Customer",
			"party": pe.party,
			"is_advance": 0,
			"dr_or_cr": "credit_in_account_currency",
			"unreconciled_amount": unreconciled,
			"unadjusted_amount": unreconciled,
			"allocated_amount": float(amount),
			"difference_amount": 0,
			"difference_account": None,
			"difference_posting_date": None,
			"grand_total": inv.grand_total,
			"outstanding_amount": inv.outstanding_amount,
		}
	)


def _move_schedule(ps, row_name: str, amount: Decimal, sign: int = 1) -> None:
	frappe.qb.update(ps).set(ps.paid_amount, ps.paid_amount + sign * float(amount)).set(
		ps.outstanding, ps.outstanding - sign * float(amount)
	).where(ps.name == row_name).run()


def unbook(doc) -> None:
	"""Undoes the allocation with ERPNext's Unreconcile Payment, then the schedule rows' paid amounts."""
	invoices = sorted({r.sales_invoice for r in doc.allocations if flt(r.allocated_amount)})
	unrecon = frappe.get_doc(
		{
			"doctype": "Unreconcile Payment",
			"company": doc.company,
			"voucher_type": "Payment Entry",
			"voucher_no": doc.payment_entry,
		}
	)
	unrecon.add_references()
	unrecon.allocations = [
		a
		for a in unrecon.allocations
		if a.reference_doctype == "Sales Invoice" and a.reference_name in invoices
	]
	if unrecon.allocations:
		unrecon.flags.ignore_permissions = True
		unrecon.insert()
		unrecon.submit()
	ps = frappe.qb.DocType("Payment Schedule")
	for row in doc.allocations:
		if flt(row.allocated_amount):
			_move_schedule(ps, row.payment_schedule, to_money(row.allocated_amount), sign=-1)


def auto_allocate_for_invoice(si) -> list[str]:
	"""An invoice made from orders with advances gets an allocation prepared by the settings' rule.

	An optional automation: it never blocks the invoice. A payment ERPNext already applied on the
	invoice (its Advances table), one with nothing left, or an invoice with nothing open is left
	alone; anything that still goes wrong is rolled back to before it and noted on the invoice."""
	mode = (
		frappe.db.get_single_value("Dunning Plus Settings", "auto_allocation") or "Prepare a Draft Allocation"
	)
	if mode == "Do Nothing" or si.is_return:
		return []
	orders = sorted({i.sales_order for i in si.items if i.get("sales_order")})
	if not orders:
		return []
	applied_by_erpnext = {
		a.reference_name
		for a in si.get("advances") or []
		if a.reference_type == "Payment Entry" and flt(a.allocated_amount) > 0
	}
	rule = frappe.db.get_single_value("Dunning Plus Settings", "allocation_rule") or "Earliest Due First"
	made = []
	for order, payment in _order_advances(orders, si.customer):
		if payment in applied_by_erpnext:
			continue
		savepoint = f"dp_alloc_{frappe.generate_hash(length=8)}"
		frappe.db.savepoint(savepoint)
		messages = len(frappe.local.message_log or [])
		try:
			name = _prepare_allocation(si, order, payment, rule, mode)
		except Exception:
			frappe.db.rollback(save_point=savepoint)
			del frappe.local.message_log[messages:]
			frappe.log_error(
				title=_("Advance allocation not prepared for {0}").format(si.name),
				reference_doctype="Sales Invoice",
				reference_name=si.name,
			)
			si.add_comment(
				"Info",
				_(
					"Dunning Plus could not prepare the allocation of advance {0}: allocate it by hand."
				).format(payment),
			)
			continue
		if name:
			made.append(name)
	return made


def _order_advances(orders: list[str], customer: str) -> list[tuple[str, str]]:
	"""(order, payment) for submitted payments of the customer with an amount against the orders."""
	per = frappe.qb.DocType("Payment Entry Reference")
	pe = frappe.qb.DocType("Payment Entry")
	return [
		(order, payment)
		for order, payment in frappe.qb.from_(per)
		.join(pe)
		.on(pe.name == per.parent)
		.select(per.reference_name, pe.name)
		.distinct()
		.where(
			(per.reference_doctype == "Sales Order")
			& per.reference_name.isin(orders)
			& (per.allocated_amount > 0)
			& (pe.docstatus == 1)
			& (pe.party_type == "Customer")
			& (pe.party == customer)
		)
		.orderby(per.reference_name)
		.orderby(pe.name)
		.run()
	]


def _prepare_allocation(si, order: str, payment: str, rule: str, mode: str) -> str | None:
	doc = frappe.get_doc(
		{
			"doctype": "Advance Payment Allocation",
			"company": si.company,
			"customer": si.customer,
			"payment_entry": payment,
			"sales_order": order,
			"posting_date": si.posting_date,
			"allocation_rule": rule,
		}
	)
	pe = frappe.get_doc("Payment Entry", payment)
	if pe.company != si.company or available(pe, order) <= 0:
		return None
	rows = [r for r in proposal(doc, pe) if r["sales_invoice"] == si.name and r["allocated_amount"]]
	if not rows:
		return None
	doc.set("allocations", rows)
	doc.flags.ignore_permissions = True
	doc.insert()
	if mode == "Submit the Allocation":
		doc.submit()
	return doc.name
