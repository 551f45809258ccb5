"""Set-based reads for the Collections reports, number cards and charts.

Each reader is a few grouped ``frappe.qb`` queries, whatever the number of invoices; filter values
are bound parameters, never SQL text. The arithmetic (schedule split, aging, KPIs, score,
forecast) is the engine's.

Who sees what: a pure Collector (``permissions.is_restricted``) sees only the customers of the
cases where they are the collector or an assignee; everyone else sees the company.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import frappe
from frappe import _
from frappe.query_builder.functions import Abs, Count, Sum
from frappe.utils import getdate, nowdate

from dunning_plus.engine.aging import AgingItem, AgingReport
from dunning_plus.engine.errors import EngineError
from dunning_plus.engine.money import ZERO, to_money
from dunning_plus.engine.promises import (
	Dispute,
	DisputeStatus,
	Payment,
	Promise,
	PromiseStatus,
)
from dunning_plus.engine.schedule import RowAmount, split_outstanding
from dunning_plus.permissions import is_restricted

CLOSED = ("Resolved", "Written Off", "Closed")
NOT_ASSIGNED = "Not Assigned"


# ---------------------------------------------------------------- filters and scope


def require_company(filters) -> str:
	company = filters.get("company")
	if not company:
		frappe.throw(_("Select a company."), title=_("Missing Filter"))
	return company


def engine_call(fn, *args, **kwargs):
	"""Runs an engine function; its rule violations become a validation message."""
	try:
		return fn(*args, **kwargs)
	except EngineError as e:
		frappe.throw(str(e), title=_("Invalid Filter"))


def check_choice(value, choices: Iterable[str], label: str) -> str:
	choices = list(choices)
	value = value or choices[0]
	if value not in choices:
		frappe.throw(
			_("{0} must be one of {1}.").format(_(label), ", ".join(_(c) for c in choices)),
			title=_("Invalid Filter"),
		)
	return value


def restricted_customers(company: str, user: str | None = None, open_only: bool = False) -> set[str] | None:
	"""Customers of the cases a pure Collector works (None: the user is not restricted)."""
	user = user or frappe.session.user
	if not is_restricted(user):
		return None
	cc = frappe.qb.DocType("Collection Case")
	query = (
		frappe.qb.from_(cc)
		.select(cc.customer)
		.distinct()
		.where((cc.company == company) & ((cc.collector == user) | cc._assign.like(f'%"{user}"%')))
	)
	if open_only:
		query = query.where(cc.status.notin(CLOSED))
	return {r[0] for r in query.run()}


def _tree_members(doctype: str, name: str) -> list[str]:
	t = frappe.qb.DocType(doctype)
	bounds = frappe.qb.from_(t).select(t.lft, t.rgt).where(t.name == name).run()
	if not bounds:
		return []
	lft, rgt = bounds[0]
	return [r[0] for r in frappe.qb.from_(t).select(t.name).where((t.lft >= lft) & (t.rgt <= rgt)).run()]


def customers_of_collector(company: str, collector: str) -> set[str]:
	"""Customers whose open case has this collector, or with no open case and this default collector."""
	cc = frappe.qb.DocType("Collection Case")
	open_cases = {
		customer: case_collector
		for customer, case_collector in frappe.qb.from_(cc)
		.select(cc.customer, cc.collector)
		.where((cc.company == company) & cc.status.notin(CLOSED))
		.run()
	}
	c = frappe.qb.DocType("Customer")
	defaults = {r[0] for r in frappe.qb.from_(c).select(c.name).where(c.dunning_collector == collector).run()}
	return {cu for cu, col in open_cases.items() if col == collector} | {
		cu for cu in defaults if cu not in open_cases
	}


def customer_scope(filters, open_only: bool = False, user: str | None = None) -> list[str] | None:
	"""Customers the filters and the user's access leave in view (None: no restriction at all)."""
	company = require_company(filters)
	sets: list[set[str]] = []
	if filters.get("customer"):
		sets.append({filters.customer})
	c = frappe.qb.DocType("Customer")
	for field, doctype in (("customer_group", "Customer Group"), ("territory", "Territory")):
		if filters.get(field):
			members = _tree_members(doctype, filters.get(field))
			sets.append(
				{r[0] for r in frappe.qb.from_(c).select(c.name).where(c[field].isin(members)).run()}
				if members
				else set()
			)
	if filters.get("collector"):
		sets.append(customers_of_collector(company, filters.collector))
	allowed = restricted_customers(company, user, open_only)
	if allowed is not None:
		sets.append(allowed)
	if not sets:
		return None
	return sorted(set.intersection(*sets))


@dataclass(frozen=True, slots=True)
class CustomerInfo:
	name: str
	customer_name: str
	customer_group: str | None
	territory: str | None
	collector: str | None
	case: str | None
	creation: date | None


def read_customer_info(company: str, customers: Iterable[str]) -> dict[str, CustomerInfo]:
	"""Segment, collector (the open case's, else the customer's default) and open case per customer."""
	customers = list(customers)
	if not customers:
		return {}
	c = frappe.qb.DocType("Customer")
	cc = frappe.qb.DocType("Collection Case")
	cases = {
		customer: (name, collector)
		for customer, name, collector in frappe.qb.from_(cc)
		.select(cc.customer, cc.name, cc.collector)
		.where((cc.company == company) & cc.status.notin(CLOSED) & cc.customer.isin(customers))
		.run()
	}
	out = {}
	for name, cname, group, territory, collector, creation in (
		frappe.qb.from_(c)
		.select(c.name, c.customer_name, c.customer_group, c.territory, c.dunning_collector, c.creation)
		.where(c.name.isin(customers))
		.run()
	):
		case, case_collector = cases.get(name, (None, None))
		out[name] = CustomerInfo(
			name,
			cname,
			group,
			territory,
			case_collector or collector,
			case,
			getdate(creation) if creation else None,
		)
	return out


# ---------------------------------------------------------------- open instalments as of a date


@dataclass(frozen=True, slots=True)
class InvoiceInfo:
	customer: str
	posting_date: date
	case: str | None
	level: int


def read_open_items(
	company: str, as_of: date, customers: list[str] | None = None
) -> tuple[list[AgingItem], dict[str, InvoiceInfo], dict[str, str | None]]:
	"""Outstanding per payment-schedule row of every Sales Invoice open on ``as_of`` (company currency).

	One statement: the Payment Ledger summed per invoice up to ``as_of`` (ERPNext's own truth of what is
	owed), joined to the invoice and its schedule; the engine splits each invoice's balance over its
	rows. Today, the rows keep the payments that named their term; for a past date those are unknown
	and the balance is applied earliest due first. Invoices without a schedule (credit notes) are one
	item, negative when it is a credit. Returns (items, invoice info, payment term per row); each
	item's ``group`` is its invoice.
	"""
	as_of = getdate(as_of)
	if customers is not None and not customers:
		return [], {}, {}
	ple = frappe.qb.DocType("Payment Ledger Entry")
	si = frappe.qb.DocType("Sales Invoice")
	ps = frappe.qb.DocType("Payment Schedule")
	balance = (
		frappe.qb.from_(ple)
		.select(ple.against_voucher_no.as_("invoice"), Sum(ple.amount).as_("outstanding"))
		.where(
			(ple.delinked == 0)
			& (ple.company == company)
			& (ple.party_type == "Customer")
			& (ple.account_type == "Receivable")
			& (ple.against_voucher_type == "Sales Invoice")
			& (ple.posting_date <= as_of)
		)
		.groupby(ple.against_voucher_no, ple.against_voucher_type)
		.having(Abs(Sum(ple.amount)) >= 0.005)
	)
	if customers is not None:
		balance = balance.where(ple.party.isin(customers))
	rows = (
		frappe.qb.from_(balance)
		.join(si)
		.on(si.name == balance.invoice)
		.left_join(ps)
		.on((ps.parent == si.name) & (ps.parenttype == "Sales Invoice"))
		.select(
			balance.invoice,
			balance.outstanding,
			si.customer,
			si.posting_date,
			si.due_date,
			si.conversion_rate,
			si.collection_case,
			si.current_dunning_level,
			ps.name,
			ps.idx,
			ps.payment_term,
			ps.due_date,
			ps.base_payment_amount,
			ps.paid_amount,
		)
		.where(si.docstatus == 1)
		.run()
	)
	term_paid_known = as_of >= getdate(nowdate())
	money = _money_cache()
	by_invoice: dict[str, list[tuple]] = {}
	for r in rows:
		got = by_invoice.get(r[0])
		if got is None:
			by_invoice[r[0]] = [r]
		else:
			got.append(r)
	items: list[AgingItem] = []
	append = items.append
	invoices: dict[str, InvoiceInfo] = {}
	terms: dict[str, str | None] = {}
	for invoice, rs in by_invoice.items():
		head = rs[0]
		outstanding, customer, posting = money(head[1]), head[2], head[3]
		invoices[invoice] = InvoiceInfo(customer, posting, head[6], head[7] or 0)
		if head[8] is None:
			append(AgingItem(invoice, customer, head[4] or posting, posting, outstanding, invoice))
			terms[invoice] = None
			continue
		rate = head[5] or 1
		split = split_outstanding(
			[
				RowAmount(
					r[8],
					r[11],
					money(r[12]),
					money(r[13] * rate) if term_paid_known and r[13] else ZERO,
					r[9],
				)
				for r in rs
			],
			outstanding,
		)
		for r in rs:
			left = split[r[8]]
			if left:
				append(AgingItem(r[8], customer, r[11], posting, left, invoice))
				terms[r[8]] = r[10]
	return items, invoices, terms


def _money_cache():
	"""``to_money`` memoised: the database gives floats, and a ledger repeats the same amounts."""
	cache: dict[float, Decimal] = {}

	def money(value) -> Decimal:
		got = cache.get(value)
		if got is None:
			got = cache[value] = to_money(value)
		return got

	return money


def aging_totals(report: AgingReport) -> dict[str, Decimal]:
	return dict(zip(report.labels, report.totals, strict=True))


# ---------------------------------------------------------------- schedules, payments and promises


@dataclass(frozen=True, slots=True)
class ScheduleRow:
	id: str
	invoice: str
	customer: str
	due_date: date
	amount: Decimal
	idx: int


def read_invoice_reductions(invoices: list[str], until: date) -> dict[str, list[tuple[date, Decimal]]]:
	"""What payments, journal entries and credit notes took off each invoice, per day, up to ``until``."""
	if not invoices:
		return {}
	ple = frappe.qb.DocType("Payment Ledger Entry")
	rows = (
		frappe.qb.from_(ple)
		.select(ple.against_voucher_no, ple.posting_date, Sum(ple.amount))
		.where(
			(ple.delinked == 0)
			& (ple.against_voucher_type == "Sales Invoice")
			& ple.against_voucher_no.isin(invoices)
			& ((ple.voucher_type != "Sales Invoice") | (ple.voucher_no != ple.against_voucher_no))
			& (ple.posting_date <= until)
		)
		.groupby(ple.against_voucher_no, ple.posting_date)
		.orderby(ple.posting_date)
		.run()
	)
	out: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
	for invoice, day, amount in rows:
		if amount:
			out[invoice].append((day, -to_money(amount)))
	return out


def instalment_payments(
	rows: list[ScheduleRow], reductions: dict[str, list[tuple[date, Decimal]]]
) -> list[Payment]:
	"""Each day's reduction of an invoice spread over its rows as the engine's split does it."""
	by_invoice: dict[str, list[ScheduleRow]] = defaultdict(list)
	for r in rows:
		by_invoice[r.invoice].append(r)
	out: list[Payment] = []
	for invoice, rs in by_invoice.items():
		days = reductions.get(invoice)
		if not days:
			continue
		amounts = [RowAmount(r.id, r.due_date, r.amount, ZERO, r.idx) for r in rs]
		total = sum((r.amount for r in rs), ZERO)
		before = split_outstanding(amounts, total)
		paid = ZERO
		for day, amount in days:
			paid += amount
			after = split_outstanding(amounts, total - paid)
			for r in rs:
				delta = before[r.id] - after[r.id]
				if delta:
					out.append(Payment(r.id, day, delta))
			before = after
	return out


PROMISE_STATUS = {
	"Pending": PromiseStatus.PENDING,
	"Kept": PromiseStatus.KEPT,
	"Broken": PromiseStatus.BROKEN,
	"Cancelled": PromiseStatus.CANCELLED,
}
DISPUTE_STATUS = {
	"Open": DisputeStatus.OPEN,
	"Resolved": DisputeStatus.RESOLVED,
	"Rejected": DisputeStatus.REJECTED,
}


def read_promises(
	company: str,
	customers: list[str] | None = None,
	statuses: Iterable[str] | None = None,
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
		.where((pp.company == company) & (pp.docstatus < 2))
		.orderby(pp.name)
		.orderby(item.idx)
	)
	if statuses is not None:
		query = query.where(pp.status.isin(list(statuses)))
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
				amount=to_money(h.amount),
				items=tuple(r.payment_schedule for r in rs if r.payment_schedule) or (name,),
				recorded_on=min(getdate(h.recorded_on or promised), promised),
				status=PROMISE_STATUS[h.status],
				recorded_by=h.recorded_by,
			)
		)
	return out


def read_disputes(
	company: str,
	customers: list[str] | None = None,
	opened_until: date | None = None,
	user: str | None = None,
) -> list[Dispute]:
	"""Collection Disputes, open and closed, as engine disputes (``reason`` empty: "Not Given").

	For a pure Collector, the disputes of their cases and those they own (as the list view shows).
	"""
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
		.where((cd.company == company) & (cd.docstatus < 2))
		.orderby(cd.name)
		.orderby(item.idx)
	)
	if customers is not None:
		query = query.where(cd.customer.isin(customers))
	if opened_until:
		query = query.where(cd.opened_on <= opened_until)
	user = user or frappe.session.user
	if is_restricted(user):
		cc = frappe.qb.DocType("Collection Case")
		mine = (
			frappe.qb.from_(cc).select(cc.name).where((cc.collector == user) | cc._assign.like(f'%"{user}"%'))
		)
		query = query.where(cd.collection_case.isin(mine) | (cd.dispute_owner == user))
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
				amount=to_money(h.amount),
				items=tuple(r.payment_schedule for r in rs if r.payment_schedule) or (name,),
				opened_on=opened,
				reason=h.reason or NOT_GIVEN,
				status=DISPUTE_STATUS[h.status],
				resolved_on=max(resolved, opened) if resolved else None,
				owner=h.dispute_owner,
			)
		)
	return out


NOT_GIVEN = "Not Given"


# ---------------------------------------------------------------- number cards


def case_counts(company: str) -> dict[str, int]:
	"""Open cases per status (for a Collector, their cases)."""
	cc = frappe.qb.DocType("Collection Case")
	query = (
		frappe.qb.from_(cc)
		.select(cc.status, Count(cc.name))
		.where((cc.company == company) & cc.status.notin(CLOSED))
		.groupby(cc.status)
	)
	user = frappe.session.user
	if is_restricted(user):
		query = query.where((cc.collector == user) | cc._assign.like(f'%"{user}"%'))
	return dict(query.run())
