"""Set-based reads of ERPNext data as engine inputs: open instalments, customers, promises,
disputes and the steps already taken. A handful of queries however many invoices there are."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from decimal import Decimal

import frappe
from frappe.query_builder.functions import IfNull, Max, Sum
from frappe.utils import getdate

from dunning_plus.engine.cadence import CustomerProfile, Instalment
from dunning_plus.engine.credits import Credit, CreditKind, CreditNetting, apply_credits
from dunning_plus.engine.money import to_money
from dunning_plus.engine.policy import Track
from dunning_plus.engine.precedence import Block, BlockScope
from dunning_plus.engine.promises import Dispute, DisputeStatus, Promise, PromiseStatus
from dunning_plus.engine.schedule import RowAmount, split_outstanding
from dunning_plus.permissions import is_restricted


def _money(value) -> Decimal:
	return to_money(value or 0)


def read_instalments(
	company: str | None = None, customers: Iterable[str] | None = None, with_taken: bool = True
) -> list[Instalment]:
	"""Open payment-schedule rows of submitted Sales Invoices, each with its own outstanding."""
	customers = list(customers) if customers is not None else None
	if customers is not None and not customers:
		return []
	si = frappe.qb.DocType("Sales Invoice")
	ps = frappe.qb.DocType("Payment Schedule")
	query = (
		frappe.qb.from_(si)
		.left_join(ps)
		.on((ps.parent == si.name) & (ps.parenttype == "Sales Invoice"))
		.select(
			si.name.as_("invoice"),
			si.customer,
			si.company,
			si.posting_date,
			si.due_date.as_("invoice_due_date"),
			si.currency,
			si.party_account_currency,
			si.conversion_rate,
			si.outstanding_amount,
			si.rounded_total,
			si.grand_total,
			si.dunning_policy,
			si.dunning_block,
			si.dunning_block_reason,
			si.dunning_block_until,
			ps.name.as_("row"),
			ps.idx,
			ps.payment_term,
			ps.due_date,
			ps.payment_amount,
			ps.paid_amount,
		)
		.where((si.docstatus == 1) & (si.is_return == 0) & (si.outstanding_amount > 0))
	)
	if company:
		query = query.where(si.company == company)
	if customers is not None:
		query = query.where(si.customer.isin(customers))
	rows = query.run(as_dict=True)

	by_invoice: dict[str, list] = defaultdict(list)
	for r in rows:
		by_invoice[r.invoice].append(r)
	out: list[Instalment] = []
	for invoice, rs in by_invoice.items():
		head = rs[0]
		outstanding = _money(head.outstanding_amount)
		if (
			head.party_account_currency
			and head.party_account_currency != head.currency
			and head.conversion_rate
		):
			# outstanding_amount is kept in the receivable account's currency
			outstanding = to_money(outstanding / Decimal(str(head.conversion_rate)))
		if head.row is None:
			rs = [
				frappe._dict(
					head,
					row=f"{invoice}#1",
					idx=1,
					payment_term=None,
					due_date=head.invoice_due_date or head.posting_date,
					payment_amount=head.rounded_total or head.grand_total,
					paid_amount=0,
				)
			]
		split = split_outstanding(
			[
				RowAmount(r.row, getdate(r.due_date), _money(r.payment_amount), _money(r.paid_amount), r.idx)
				for r in rs
			],
			outstanding,
		)
		block = None
		if head.dunning_block:
			block = Block(
				BlockScope.INVOICE,
				invoice,
				head.dunning_block_reason or "Blocked",
				getdate(head.dunning_block_until) if head.dunning_block_until else None,
			)
		for r in rs:
			left = split[r.row]
			if left <= 0:
				continue
			out.append(
				Instalment(
					id=r.row,
					invoice=invoice,
					customer=head.customer,
					company=head.company,
					due_date=getdate(r.due_date),
					outstanding=left,
					currency=head.currency,
					payment_term=r.payment_term or "",
					posting_date=getdate(head.posting_date),
					policy=head.dunning_policy or None,
					block=block,
					amount=_money(r.payment_amount),
				)
			)
	out.extend(read_deposits(company, customers))
	out.extend(read_plan_instalments(company, customers))
	if with_taken and out:
		taken = read_taken(company, customers)
		if taken:
			out = [_with_taken(i, taken.get(i.id)) for i in out]
	out.sort(key=lambda i: (i.customer, i.due_date, i.invoice, i.id))
	return out


def read_credits(company: str | None = None, customers: Iterable[str] | None = None) -> list[Credit]:
	"""The customers' open credits, as ERPNext's ledger has them: credit notes with their own negative
	outstanding, unallocated receipts, and journal entries crediting the customer with nothing
	against them. Reconciling any of them (Payment Reconciliation) makes it disappear from here."""
	customers = list(customers) if customers is not None else None
	if customers is not None and not customers:
		return []
	out: list[Credit] = []
	si = frappe.qb.DocType("Sales Invoice")
	query = (
		frappe.qb.from_(si)
		.select(
			si.name,
			si.customer,
			si.company,
			si.currency,
			si.party_account_currency,
			si.conversion_rate,
			si.outstanding_amount,
			si.posting_date,
			si.return_against,
		)
		.where((si.docstatus == 1) & (si.is_return == 1) & (si.outstanding_amount < 0))
	)
	pe = frappe.qb.DocType("Payment Entry")
	payments = (
		frappe.qb.from_(pe)
		.select(
			pe.name,
			pe.party,
			pe.company,
			pe.paid_from_account_currency,
			pe.unallocated_amount,
			pe.posting_date,
		)
		.where(
			(pe.docstatus == 1)
			& (pe.payment_type == "Receive")
			& (pe.party_type == "Customer")
			& (pe.unallocated_amount > 0)
		)
	)
	ple = frappe.qb.DocType("Payment Ledger Entry")
	journals = (
		frappe.qb.from_(ple)
		.select(
			ple.voucher_no,
			ple.party,
			ple.company,
			ple.account_currency,
			Sum(ple.amount_in_account_currency).as_("balance"),
			Max(ple.posting_date).as_("posting_date"),
		)
		.where(
			(ple.voucher_type == "Journal Entry")
			& (ple.against_voucher_type == "Journal Entry")
			& (ple.against_voucher_no == ple.voucher_no)
			& (ple.party_type == "Customer")
			& (ple.delinked == 0)
		)
		.groupby(ple.voucher_no, ple.party, ple.company, ple.account_currency)
		.having(Sum(ple.amount_in_account_currency) < 0)
	)
	if company:
		query = query.where(si.company == company)
		payments = payments.where(pe.company == company)
		journals = journals.where(ple.company == company)
	if customers is not None:
		query = query.where(si.customer.isin(customers))
		payments = payments.where(pe.party.isin(customers))
		journals = journals.where(ple.party.isin(customers))
	for r in query.run(as_dict=True):
		amount = -_money(r.outstanding_amount)
		if r.party_account_currency and r.party_account_currency != r.currency and r.conversion_rate:
			amount = to_money(amount / Decimal(str(r.conversion_rate)))
		out.append(
			Credit(
				r.name,
				CreditKind.CREDIT_NOTE,
				r.customer,
				r.company,
				r.currency,
				amount,
				getdate(r.posting_date),
				r.return_against or None,
			)
		)
	for r in payments.run(as_dict=True):
		out.append(
			Credit(
				r.name,
				CreditKind.PAYMENT,
				r.party,
				r.company,
				r.paid_from_account_currency,
				_money(r.unallocated_amount),
				getdate(r.posting_date),
			)
		)
	for r in journals.run(as_dict=True):
		out.append(
			Credit(
				r.voucher_no,
				CreditKind.JOURNAL_ENTRY,
				r.party,
				r.company,
				r.account_currency,
				-_money(r.balance),
				getdate(r.posting_date),
			)
		)
	out.sort(key=lambda c: (c.customer, c.posting_date, c.id))
	return out


def read_position(
	company: str | None = None, customers: Iterable[str] | None = None, with_taken: bool = True
) -> tuple[list[Instalment], list[Credit], CreditNetting]:
	"""Open instalments with the customers' open credits netted against them (what may be dunned)."""
	customers = list(customers) if customers is not None else None
	instalments = read_instalments(company, customers, with_taken=with_taken)
	credits = read_credits(company, customers) if instalments or customers is not None else []
	netting = apply_credits(instalments, credits)
	return netting.instalments, credits, netting


def read_plan_instalments(company: str | None = None, customers: list[str] | None = None) -> list[Instalment]:
	"""The open instalments of active payment plans, as plan-track items (reminded, never dunned)."""
	pp = frappe.qb.DocType("Payment Plan")
	row = frappe.qb.DocType("Payment Plan Instalment")
	query = (
		frappe.qb.from_(pp)
		.join(row)
		.on((row.parent == pp.name) & (row.parenttype == "Payment Plan"))
		.select(
			row.name,
			pp.name.as_("plan"),
			pp.customer,
			pp.company,
			pp.currency,
			pp.start_date,
			row.due_date,
			row.amount,
			row.paid_amount,
		)
		.where((pp.docstatus == 1) & (pp.status == "Active") & (row.amount > IfNull(row.paid_amount, 0)))
	)
	if company:
		query = query.where(pp.company == company)
	if customers is not None:
		query = query.where(pp.customer.isin(customers))
	return [
		Instalment(
			id=r.name,
			invoice=r.plan,
			customer=r.customer,
			company=r.company,
			due_date=getdate(r.due_date),
			outstanding=_money(r.amount) - _money(r.paid_amount),
			currency=r.currency,
			posting_date=getdate(r.start_date),
			track=Track.PLAN,
			amount=_money(r.amount),
		)
		for r in query.run(as_dict=True)
	]


def read_planned(company: str | None = None, customers: Iterable[str] | None = None) -> dict[str, str]:
	"""Schedule rows and deposits covered by an active payment plan -> the plan."""
	customers = list(customers) if customers is not None else None
	if customers is not None and not customers:
		return {}
	pp = frappe.qb.DocType("Payment Plan")
	item = frappe.qb.DocType("Payment Plan Item")
	query = (
		frappe.qb.from_(pp)
		.join(item)
		.on((item.parent == pp.name) & (item.parenttype == "Payment Plan"))
		.select(item.payment_schedule, pp.name)
		.where((pp.docstatus == 1) & (pp.status == "Active"))
	)
	if company:
		query = query.where(pp.company == company)
	if customers is not None:
		query = query.where(pp.customer.isin(customers))
	return dict(query.run())


def read_deposits(company: str | None = None, customers: list[str] | None = None) -> list[Instalment]:
	"""Open expected deposits of submitted, not fully billed Sales Orders, as deposit-track items."""
	ed = frappe.qb.DocType("Expected Deposit")
	so = frappe.qb.DocType("Sales Order")
	query = (
		frappe.qb.from_(ed)
		.join(so)
		.on(so.name == ed.sales_order)
		.select(
			ed.name,
			ed.sales_order,
			ed.customer,
			ed.company,
			ed.due_date,
			ed.outstanding,
			ed.amount,
			ed.currency,
			ed.payment_term,
			so.transaction_date,
		)
		.where(
			ed.status.isin(["Expected", "Partly Paid"])
			& (ed.outstanding > 0)
			& (so.docstatus == 1)
			& (so.per_billed < 100)
			& so.status.notin(["Closed", "Completed", "On Hold"])
		)
	)
	if company:
		query = query.where(ed.company == company)
	if customers is not None:
		query = query.where(ed.customer.isin(customers))
	return [
		Instalment(
			id=r.name,
			invoice=r.sales_order,
			customer=r.customer,
			company=r.company,
			due_date=getdate(r.due_date),
			outstanding=_money(r.outstanding),
			currency=r.currency,
			payment_term=r.payment_term or "",
			posting_date=getdate(r.transaction_date),
			track=Track.DEPOSIT,
			amount=_money(r.amount),
		)
		for r in query.run(as_dict=True)
	]


def _with_taken(inst: Instalment, codes: list[str] | None) -> Instalment:
	return replace(inst, taken=tuple(codes)) if codes else inst


def read_taken(company: str | None, customers: list[str] | None) -> dict[str, list[str]]:
	"""Step codes already taken per payment-schedule row (any status: a dropped step stays taken)."""
	ca = frappe.qb.DocType("Collection Action")
	query = (
		frappe.qb.from_(ca)
		.select(ca.payment_schedule, ca.step_code)
		.where((ca.action_type == "Step") & ca.payment_schedule.isnotnull())
		.orderby(ca.creation)
	)
	if company:
		query = query.where(ca.company == company)
	if customers is not None:
		query = query.where(ca.customer.isin(customers))
	out: dict[str, list[str]] = defaultdict(list)
	for row, code in query.run():
		if code not in out[row]:
			out[row].append(code)
	return out


def read_step_history(company: str, customer: str) -> dict[str, list[frappe._dict]]:
	"""The step actions per payment-schedule row, oldest first (for levels, last step, SLA)."""
	ca = frappe.qb.DocType("Collection Action")
	rows = (
		frappe.qb.from_(ca)
		.select(
			ca.name,
			ca.payment_schedule,
			ca.step_code,
			ca.level,
			ca.action_date,
			ca.creation,
			ca.status,
			ca.collection_case,
		)
		.where((ca.action_type == "Step") & (ca.company == company) & (ca.customer == customer))
		.orderby(ca.creation)
		.run(as_dict=True)
	)
	out: dict[str, list] = defaultdict(list)
	for r in rows:
		out[r.payment_schedule].append(r)
	return out


def read_customers(customers: Iterable[str]) -> dict[str, CustomerProfile]:
	customers = list(customers)
	if not customers:
		return {}
	c = frappe.qb.DocType("Customer")
	rows = (
		frappe.qb.from_(c)
		.select(
			c.name,
			c.customer_group,
			c.dunning_policy,
			c.dunning_block,
			c.dunning_block_reason,
			c.dunning_block_until,
			c.language,
			c.email_id,
			c.dunning_collector,
		)
		.where(c.name.isin(customers))
		.run(as_dict=True)
	)
	out = {}
	for r in rows:
		block = None
		if r.dunning_block:
			block = Block(
				BlockScope.CUSTOMER,
				r.name,
				r.dunning_block_reason or "Blocked",
				getdate(r.dunning_block_until) if r.dunning_block_until else None,
			)
		out[r.name] = CustomerProfile(
			name=r.name,
			segment=r.customer_group,
			policy=r.dunning_policy or None,
			block=block,
			language=r.language or None,
			email=r.email_id or None,
			collector=r.dunning_collector or None,
		)
	from dunning_plus.channels import with_reach

	return with_reach(out)  # mobile numbers and postal addresses: SMS and letters need them


PROMISE_STATUS = {
	"Pending": PromiseStatus.PENDING,
	"Kept": PromiseStatus.KEPT,
	"Broken": PromiseStatus.BROKEN,
	"Cancelled": PromiseStatus.CANCELLED,
}


def read_promises(
	company: str | None,
	customers: list[str] | None,
	statuses: Iterable[str] = ("Pending",),
	promised_between: tuple[date, date] | None = None,
) -> list[Promise]:
	"""Payment Promises with their status and covered schedule rows, as engine promises."""
	if customers is not None and not customers:
		return []
	pp = frappe.qb.DocType("Payment Promise")
	item = frappe.qb.DocType("Payment Promise Item")
	query = (
		frappe.qb.from_(pp)
		.left_join(item)
		.on((item.parent == pp.name) & (item.parenttype == "Payment Promise"))
		.select(
			pp.name,
			pp.customer,
			pp.promised_date,
			pp.amount,
			pp.recorded_on,
			pp.status,
			pp.recorded_by,
			item.payment_schedule,
		)
		.where(pp.status.isin(list(statuses)) & (pp.docstatus < 2))
		.orderby(pp.name)
		.orderby(item.idx)
	)
	if company:
		query = query.where(pp.company == company)
	if customers is not None:
		query = query.where(pp.customer.isin(customers))
	if promised_between:
		query = query.where(pp.promised_date[promised_between[0] : promised_between[1]])
	grouped: dict[str, list] = defaultdict(list)
	for r in query.run(as_dict=True):
		grouped[r.name].append(r)
	out = []
	for name, rs in grouped.items():
		h = rs[0]
		if not h.amount or h.amount <= 0 or h.status not in PROMISE_STATUS:
			continue
		promised = getdate(h.promised_date)
		out.append(
			Promise(
				name=name,
				customer=h.customer,
				promised_date=promised,
				amount=_money(h.amount),
				# a promise whose rows were all paid keeps its own name as a placeholder item
				items=tuple(r.payment_schedule for r in rs if r.payment_schedule) or (name,),
				recorded_on=min(getdate(h.recorded_on or promised), promised),
				status=PROMISE_STATUS[h.status],
				recorded_by=h.recorded_by,
			)
		)
	return out


DISPUTE_STATUS = {
	"Open": DisputeStatus.OPEN,
	"Resolved": DisputeStatus.RESOLVED,
	"Rejected": DisputeStatus.REJECTED,
}


def read_disputes(
	company: str | None,
	customers: list[str] | None,
	statuses: Iterable[str] = ("Open",),
	opened_from: date | None = None,
	opened_until: date | None = None,
	visible_to: str | None = None,
) -> list[Dispute]:
	"""Collection Disputes with their disputed schedule rows, as engine disputes.

	With ``visible_to``, a pure Collector gets only the disputes of their cases and those they own
	(as the list view shows)."""
	if customers is not None and not customers:
		return []
	cd = frappe.qb.DocType("Collection Dispute")
	item = frappe.qb.DocType("Collection Dispute Item")
	query = (
		frappe.qb.from_(cd)
		.left_join(item)
		.on((item.parent == cd.name) & (item.parenttype == "Collection Dispute"))
		.select(
			cd.name,
			cd.customer,
			cd.amount,
			cd.opened_on,
			cd.resolved_on,
			cd.status,
			cd.reason,
			cd.dispute_owner,
			item.payment_schedule,
		)
		.where(cd.status.isin(list(statuses)) & (cd.docstatus < 2))
		.orderby(cd.name)
		.orderby(item.idx)
	)
	if company:
		query = query.where(cd.company == company)
	if customers is not None:
		query = query.where(cd.customer.isin(customers))
	if opened_from:
		query = query.where(cd.opened_on >= opened_from)
	if opened_until:
		query = query.where(cd.opened_on <= opened_until)
	if visible_to and is_restricted(visible_to):
		cc = frappe.qb.DocType("Collection Case")
		mine = (
			frappe.qb.from_(cc)
			.select(cc.name)
			.where((cc.collector == visible_to) | cc._assign.like(f'%"{visible_to}"%'))
		)
		query = query.where(cd.collection_case.isin(mine) | (cd.dispute_owner == visible_to))
	grouped: dict[str, list] = defaultdict(list)
	for r in query.run(as_dict=True):
		grouped[r.name].append(r)
	out = []
	for name, rs in grouped.items():
		h = rs[0]
		if not h.amount or h.amount <= 0 or not h.opened_on or h.status not in DISPUTE_STATUS:
			continue
		opened = getdate(h.opened_on)
		resolved = getdate(h.resolved_on) if h.resolved_on and h.status != "Open" else None
		out.append(
			Dispute(
				name=name,
				customer=h.customer,
				amount=_money(h.amount),
				# a dispute whose rows were all settled keeps its own name as a placeholder item
				items=tuple(r.payment_schedule for r in rs if r.payment_schedule) or (name,),
				opened_on=opened,
				reason=h.reason or "",
				status=DISPUTE_STATUS[h.status],
				resolved_on=max(resolved, opened) if resolved else None,
				owner=h.dispute_owner,
			)
		)
	return out


def read_days_late(customers: list[str], since: date) -> dict[str, float]:
	"""Amount-weighted average days between due date and payment, per customer, for invoices
	settled since ``since`` (from the Payment Ledger: the last payment against each invoice)."""
	if not customers:
		return {}
	ple = frappe.qb.DocType("Payment Ledger Entry")
	si = frappe.qb.DocType("Sales Invoice")
	rows = (
		frappe.qb.from_(ple)
		.join(si)
		.on(si.name == ple.against_voucher_no)
		.select(si.customer, si.name, si.due_date, si.base_grand_total, Max(ple.posting_date).as_("paid_on"))
		.where(
			(ple.against_voucher_type == "Sales Invoice")
			& (ple.voucher_type != "Sales Invoice")
			& (ple.delinked == 0)
			& (si.docstatus == 1)
			& (si.outstanding_amount <= 0)
			& (ple.posting_date >= since)
			& si.customer.isin(customers)
		)
		.groupby(si.customer, si.name, si.due_date, si.base_grand_total)
		.run(as_dict=True)
	)
	weighted: dict[str, float] = defaultdict(float)
	amounts: dict[str, float] = defaultdict(float)
	for r in rows:
		late = max((getdate(r.paid_on) - getdate(r.due_date)).days, 0)
		amt = float(r.base_grand_total or 0)
		weighted[r.customer] += late * amt
		amounts[r.customer] += amt
	return {c: weighted[c] / amounts[c] for c in weighted if amounts[c]}


def invoice_totals(invoices: list[str]) -> dict[str, Decimal]:
	if not invoices:
		return {}
	si = frappe.qb.DocType("Sales Invoice")
	return {
		r.name: _money(r.outstanding_amount)
		for r in frappe.qb.from_(si)
		.select(si.name, si.outstanding_amount)
		.where(si.name.isin(invoices))
		.run(as_dict=True)
	}


def fast_insert(doctype: str, fields: tuple[str, ...], rows: list[tuple]) -> None:
	"""Many rows of one doctype in one parameterised INSERT per 500 rows.

	For the audit trail and computed case items the cycle writes by the thousand: values are
	passed as parameters (never pasted into SQL), and the per-document hooks and link checks
	of ``insert()`` are skipped because every value comes from the ledger itself."""
	if not rows:
		return
	columns = ", ".join(f"`{f}`" for f in fields)
	one = "(" + ", ".join(["%s"] * len(fields)) + ")"
	for start in range(0, len(rows), 500):
		chunk = rows[start : start + 500]
		frappe.db.sql(
			f"insert into `tab{doctype}` ({columns}) values {', '.join([one] * len(chunk))}",
			[v for row in chunk for v in row],
		)
