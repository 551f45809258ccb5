"""Set-based reads for the Collections reports.

Each reader is a few grouped ``frappe.qb`` queries, whatever the number of invoices; filter values
are bound parameters, never SQL text. The arithmetic (schedule split, aging, KPIs, score,
forecast) is the engine's.

Who sees what: a pure Collector (``permissions.is_restricted``) sees only the customers of the
cases where they are the collector or an assignee; everyone else sees the company.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

import frappe
from frappe import _
from frappe.query_builder.functions import (
	Abs,
	Coalesce,
	Concat_ws,
	Count,
	Extract,
	GroupConcat,
	Max,
	Min,
	Sum,
)
from frappe.utils import fmt_money, getdate, nowdate
from pypika.enums import DatePart
from pypika.terms import Case, ValueWrapper

from dunning_plus import ledger
from dunning_plus.engine.aging import AgingItem
from dunning_plus.engine.credits import Credit, CreditKind
from dunning_plus.engine.errors import EngineError
from dunning_plus.engine.forecast import PlanSchedule
from dunning_plus.engine.kpis import PlanOutcome, SentMessage
from dunning_plus.engine.money import ZERO, to_money
from dunning_plus.engine.plans import PlanStatus
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


def summary_figure(value: float | None, label: str, precision: int = 1, suffix: str = "") -> dict:
	"""A report-summary card for a plain number with a fixed number of decimals.

	The desk formats a summary card's Float with the system precision (three decimals, "56.400"),
	ignoring any precision given, so the card gets the number already formatted."""
	text = "–" if value is None else fmt_money(value, precision=precision) + suffix
	return {"value": text, "label": label, "datatype": "Data"}


def readable_links(columns: list[dict]) -> list[dict]:
	"""Link columns to doctypes the user cannot read become plain text.

	The desk applies the reader's permissions to every linked doctype of a report's rows and stops
	at the first one it may not read: a pure Collector reads cases, not Customers or Users.
	"""
	out = []
	for col in columns:
		if col.get("fieldtype") == "Link" and not frappe.has_permission(col["options"], "read"):
			col = {**col, "fieldtype": "Data"}
			col.pop("options")
		out.append(col)
	return out


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
	for name, cname, group, territory, collector in (
		frappe.qb.from_(c)
		.select(c.name, c.customer_name, c.customer_group, c.territory, c.dunning_collector)
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
		)
	return out


# ---------------------------------------------------------------- open instalments as of a date


def read_open_items(
	company: str,
	as_of: date,
	customers: list[str] | None = None,
	cut_dates: list[date] | None = None,
	from_ledger: bool = False,
) -> tuple[list[AgingItem], dict[str, str]]:
	"""Outstanding per payment-schedule row of every Sales Invoice open on ``as_of`` (company currency).

	One statement: each open invoice's balance on ``as_of`` with its schedule rows packed into one
	string; the engine splits each balance over the rows. When nothing was posted after ``as_of``
	the rows keep the payments that named their term; otherwise those are unknown on ``as_of`` and
	the balance goes earliest due first.
	An invoice without a schedule (a credit note) is one item, negative when it is a credit. Each
	item's ``group`` is its invoice. Returns (items, customer per open invoice).

	The balance is the Payment Ledger summed per invoice up to ``as_of``. When no ledger entry is
	dated later (as of today, usually), that sum is the invoice's ``outstanding_amount``, ERPNext's
	running total of the same ledger, read instead of summing the ledger (``from_ledger`` forces
	the sum).

	``cut_dates`` (for totals per bucket): the dates where a bucket ends. An invoice with a positive
	balance whose posting and due dates (its rows fall between them) lie on one side of every cut
	date has all its rows in one bucket; it is read as one item at its due date, without its
	schedule. An empty list: never read the schedule (aging by posting date). None: every row.

	Why packed: at 100k open instalments the driver's decoding of each value, not the database,
	is the cost; one string per invoice instead of six values per row halves the time.
	"""
	as_of = getdate(as_of)
	if customers is not None and not customers:
		return [], {}
	current = not from_ledger and not _ledger_moves_after(company, as_of, customers)
	if current:
		balances = _invoice_balances(company, as_of, customers)
	else:
		balances = _ledger_balances(company, as_of, customers)
	ps = frappe.qb.DocType("Payment Schedule")
	schedule = (
		frappe.qb.from_(ps)
		.select(
			GroupConcat(
				Concat_ws(
					"|",
					ps.name,
					ps.idx,
					ps.due_date,
					ps.base_payment_amount,
					ps.payment_amount,
					ps.paid_amount,
				)
			)
		)
		.where((ps.parent == balances.invoice) & (ps.parenttype == "Sales Invoice"))
	)
	rows_of = Coalesce(schedule, "")
	if cut_dates is not None:
		whole = balances.outstanding > 0
		for cut in cut_dates:
			whole = whole & ((balances.posting_date >= cut) | (balances.due_date < cut))
		rows_of = Case().when(whole, "*").else_(rows_of)
	# ASCII unit separator between the invoice's fields (names never hold it); the schedule rows are
	# comma separated, their fields by "|" (row names, numbers and dates only).
	packed = Concat_ws(
		"\x1f",
		balances.voucher_type,
		balances.invoice,
		balances.customer,
		balances.posting_date,
		Coalesce(balances.due_date, balances.posting_date),
		balances.outstanding,
		rows_of,
	)
	rows = frappe.qb.from_(balances).select(packed).run()
	return _parse_open_items(rows, term_paid_known=current)


def read_open_credits(
	company: str, as_of: date, items: list[AgingItem], customers: list[str] | None = None
) -> tuple[list[AgingItem], list[Credit]]:
	"""The customers' open credits on ``as_of``, in company currency, from what ``read_open_items``
	returned and the ledger: its negative items (credit notes keeping their own outstanding, ERPNext
	v15's "Update Outstanding for Self") and the receipts and journal entries crediting a customer
	with nothing against them (their own balance in the Payment Ledger). Returns the positive items
	and the credits. A return that reduced its invoice left no credit: the invoice is lower."""
	positive = [i for i in items if i.outstanding > 0]
	notes = [i for i in items if i.outstanding < 0]
	against = {}
	if notes:
		si = frappe.qb.DocType("Sales Invoice")
		against = dict(
			frappe.qb.from_(si)
			.select(si.name, si.return_against)
			.where(si.name.isin([i.group or i.id for i in notes]))
			.run()
		)
	credits = [
		Credit(
			i.group or i.id,
			CreditKind.CREDIT_NOTE,
			i.customer,
			company,
			"",
			-i.outstanding,
			i.posting_date,
			against.get(i.group or i.id) or None,
		)
		for i in notes
	]
	if customers is not None and not customers:
		return positive, credits
	ple = frappe.qb.DocType("Payment Ledger Entry")
	query = (
		frappe.qb.from_(ple)
		.select(ple.voucher_type, ple.voucher_no, ple.party, Min(ple.posting_date), Sum(ple.amount))
		.where(
			(ple.company == company)
			& (ple.delinked == 0)
			& (ple.party_type == "Customer")
			& (ple.account_type == "Receivable")
			& ple.voucher_type.isin(["Payment Entry", "Journal Entry"])
			& (ple.against_voucher_type == ple.voucher_type)
			& (ple.against_voucher_no == ple.voucher_no)
			& (ple.posting_date <= as_of)
		)
		.groupby(ple.voucher_type, ple.voucher_no, ple.party)
		.having(Sum(ple.amount) <= -0.005)
	)
	if customers is not None:
		query = query.where(ple.party.isin(customers))
	kinds = {"Payment Entry": CreditKind.PAYMENT, "Journal Entry": CreditKind.JOURNAL_ENTRY}
	for voucher_type, voucher, customer, posted, amount in query.run():
		credits.append(
			Credit(voucher, kinds[voucher_type], customer, company, "", -to_money(amount), getdate(posted))
		)
	return positive, credits


def _ledger_moves_after(company: str, as_of: date, customers: list[str] | None) -> bool:
	ple = frappe.qb.DocType("Payment Ledger Entry")
	query = (
		frappe.qb.from_(ple)
		.select(ple.name)
		.where((ple.company == company) & (ple.posting_date > as_of) & (ple.delinked == 0))
		.limit(1)
	)
	if customers is not None:
		query = query.where((ple.party_type == "Customer") & ple.party.isin(customers))
	return bool(query.run())


def _ledger_balances(company: str, as_of: date, customers: list[str] | None):
	"""Per invoice: the Payment Ledger summed up to ``as_of`` (company currency)."""
	ple = frappe.qb.DocType("Payment Ledger Entry")
	own = (ple.voucher_no == ple.against_voucher_no) & (ple.voucher_type == ple.against_voucher_type)
	# The grouping follows the (against_voucher_no, against_voucher_type) index; the voucher type is
	# checked afterwards, since a condition on it makes MariaDB sort the whole ledger instead.
	balance = (
		frappe.qb.from_(ple)
		.select(
			ple.against_voucher_no.as_("invoice"),
			ple.against_voucher_type.as_("voucher_type"),
			Max(ple.party).as_("customer"),
			Min(Case().when(own, ple.posting_date)).as_("posting_date"),
			Max(Case().when(own, ple.due_date)).as_("due_date"),
			Sum(ple.amount).as_("outstanding"),
		)
		.where(
			(ple.delinked == 0)
			& (ple.company == company)
			& (ple.party_type == "Customer")
			& (ple.account_type == "Receivable")
			& (ple.posting_date <= as_of)
		)
		.groupby(ple.against_voucher_no, ple.against_voucher_type)
		.having(Abs(Sum(ple.amount)) >= 0.005)
	)
	if customers is not None:
		balance = balance.where(ple.party.isin(customers))
	return balance


def _invoice_balances(company: str, as_of: date, customers: list[str] | None):
	"""Per open invoice: its outstanding_amount, in company currency."""
	si = frappe.qb.DocType("Sales Invoice")
	currency = frappe.get_cached_value("Company", company, "default_currency")
	# outstanding_amount is kept in the receivable account's currency
	outstanding = (
		Case()
		.when(si.party_account_currency == currency, si.outstanding_amount)
		.else_(si.outstanding_amount * si.conversion_rate)
	)
	query = (
		frappe.qb.from_(si)
		.select(
			si.name.as_("invoice"),
			ValueWrapper("Sales Invoice").as_("voucher_type"),
			si.customer,
			si.posting_date,
			si.due_date,
			outstanding.as_("outstanding"),
		)
		.where(
			(si.docstatus == 1)
			& (si.company == company)
			& (si.outstanding_amount != 0)
			& (si.posting_date <= as_of)
		)
	)
	if customers is not None:
		query = query.where(si.customer.isin(customers))
	return query


def _parse_open_items(rows, term_paid_known: bool) -> tuple[list[AgingItem], dict[str, str]]:
	dates: dict[str, date] = {}
	fromisoformat = date.fromisoformat
	items: list[AgingItem] = []
	append = items.append
	invoices: dict[str, str] = {}
	for (text,) in rows:
		voucher_type, invoice, customer, posting, due, outstanding, records = text.split("\x1f")
		if voucher_type != "Sales Invoice" or not posting:
			continue
		posting = dates.get(posting) or dates.setdefault(posting, fromisoformat(posting))
		outstanding = Decimal(outstanding)
		if abs(outstanding) < CENT:
			continue
		invoices[invoice] = customer
		if not records or records == "*":
			due = dates.get(due) or dates.setdefault(due, fromisoformat(due))
			append(AgingItem(invoice, customer, due, posting, outstanding, invoice))
			continue
		parts = [record.split("|") for record in records.split(",")]
		for p in parts:
			p[2] = dates.get(p[2]) or dates.setdefault(p[2], fromisoformat(p[2]))
			p[3] = Decimal(p[3])
		if len(parts) == 1:
			name, _idx, due_on, base, _amount, _paid = parts[0]
			left = split_single(base, outstanding)
			if left:
				append(AgingItem(name, customer, due_on, posting, left, invoice))
			continue
		paid = term_paid_known and any(p[5].strip("0.") for p in parts)
		if not paid and outstanding >= sum(p[3] for p in parts):
			# nothing paid: every row is open in full (the split's identity, without the call)
			for name, _idx, due_on, base, _amount, _paid in parts:
				if base:
					append(AgingItem(name, customer, due_on, posting, base, invoice))
			continue
		amounts = [
			RowAmount(name, due_on, base, _term_paid(base, amount, term) if paid else ZERO, int(idx))
			for name, idx, due_on, base, amount, term in parts
		]
		split = split_outstanding(amounts, outstanding)
		for r in amounts:
			left = split[r.id]
			if left:
				append(AgingItem(r.id, customer, r.due_date, posting, left, invoice))
	return items, invoices


def _term_paid(base: Decimal, amount: str, paid: str) -> Decimal:
	"""What ERPNext recorded as paid against a row's term, in company currency."""
	if not paid.strip("0."):
		return ZERO
	paid = Decimal(paid)
	return paid if Decimal(amount) == base else to_money(paid * base / Decimal(amount))


CENT = Decimal("0.005")


def split_single(amount: Decimal, outstanding: Decimal) -> Decimal:
	"""``split_outstanding`` of a one-row schedule: the invoice's outstanding clamped to the row."""
	return amount if outstanding >= amount else (outstanding if outstanding > 0 else ZERO)


def read_payment_terms(row_ids: list[str]) -> dict[str, str | None]:
	ps = frappe.qb.DocType("Payment Schedule")
	out: dict[str, str | None] = {}
	for start in range(0, len(row_ids), 5000):
		chunk = row_ids[start : start + 5000]
		out.update(frappe.qb.from_(ps).select(ps.name, ps.payment_term).where(ps.name.isin(chunk)).run())
	return out


def read_case_levels(company: str, customers: Iterable[str] | None = None) -> dict[str, tuple[str, int]]:
	"""(open case, dunning level) per payment-schedule row in an open case."""
	cc = frappe.qb.DocType("Collection Case")
	item = frappe.qb.DocType("Collection Case Item")
	query = (
		frappe.qb.from_(item)
		.join(cc)
		.on((cc.name == item.parent) & (item.parenttype == "Collection Case"))
		.select(item.payment_schedule, cc.name, item.level)
		.where((cc.company == company) & cc.status.notin(CLOSED))
	)
	if customers is not None:
		customers = list(customers)
		if not customers:
			return {}
		query = query.where(cc.customer.isin(customers))
	return {row: (case, level or 0) for row, case, level in query.run()}


# ---------------------------------------------------------------- schedules, payments and promises


@dataclass(frozen=True, slots=True)
class ScheduleRow:
	id: str
	invoice: str
	customer: str
	due_date: date
	amount: Decimal
	idx: int


CASH_JOURNALS = ("Bank Entry", "Cash Entry")


def read_invoice_reductions(invoices: list[str], until: date) -> dict[str, list[tuple[date, Decimal, bool]]]:
	"""What took each invoice down, per day up to ``until``: (day, amount, is cash).

	Cash is a Payment Entry or a bank or cash Journal Entry; credit notes, write-offs and other
	journals reduce what is owed without being collected.
	"""
	if not invoices:
		return {}
	ple = frappe.qb.DocType("Payment Ledger Entry")
	je = frappe.qb.DocType("Journal Entry")
	cash = (
		Case()
		.when(ple.voucher_type == "Payment Entry", 1)
		.when(je.voucher_type.isin(CASH_JOURNALS), 1)
		.else_(0)
	)
	out: dict[str, list[tuple[date, Decimal, bool]]] = defaultdict(list)
	for start in range(0, len(invoices), 5000):
		rows = (
			frappe.qb.from_(ple)
			.left_join(je)
			.on((ple.voucher_type == "Journal Entry") & (je.name == ple.voucher_no))
			.select(ple.against_voucher_no, ple.posting_date, cash.as_("cash"), Sum(ple.amount))
			.where(
				(ple.delinked == 0)
				& (ple.against_voucher_type == "Sales Invoice")
				& ple.against_voucher_no.isin(invoices[start : start + 5000])
				& ((ple.voucher_type != "Sales Invoice") | (ple.voucher_no != ple.against_voucher_no))
				& (ple.posting_date <= until)
			)
			.groupby(ple.against_voucher_no, ple.posting_date, cash)
			.orderby(ple.posting_date)
			.run()
		)
		for invoice, day, is_cash, amount in rows:
			if amount:
				out[invoice].append((getdate(day), -to_money(amount), bool(is_cash)))
	return out


def instalment_payments(
	rows: list[ScheduleRow], reductions: dict[str, list[tuple[date, Decimal, bool]]]
) -> tuple[list[Payment], dict[str, Decimal]]:
	"""Each day's reductions of an invoice spread over its rows by the engine's split (earliest due
	first). Returns the cash per row and day as payments, and the other reductions per row."""
	by_invoice: dict[str, list[ScheduleRow]] = defaultdict(list)
	for r in rows:
		by_invoice[r.invoice].append(r)
	payments: list[Payment] = []
	adjusted: dict[str, Decimal] = defaultdict(lambda: ZERO)
	for invoice, rs in by_invoice.items():
		days = reductions.get(invoice)
		if not days:
			continue
		amounts = [RowAmount(r.id, r.due_date, r.amount, ZERO, r.idx) for r in rs]
		total = sum((r.amount for r in rs), ZERO)
		before = split_outstanding(amounts, total)
		taken = ZERO
		for day, amount, is_cash in days:
			taken += amount
			after = split_outstanding(amounts, total - taken)
			for r in rs:
				delta = before[r.id] - after[r.id]
				if not delta:
					continue
				if is_cash:
					payments.append(Payment(r.id, day, delta))
				else:
					adjusted[r.id] += delta
			before = after
	return payments, dict(adjusted)


def read_collection_window(
	company: str, start: date, end: date, customers: list[str] | None = None
) -> tuple[list[ScheduleRow], list[Payment], dict[str, Decimal], list[Promise]]:
	"""Schedule rows that fall due, are promised or are paid in [start, end], with their cash
	payments up to ``end``, their non-cash reductions and the pending promises of their customers.
	Four grouped queries (and one per 5,000 invoices for rows and payments)."""
	if customers is not None and not customers:
		return [], [], {}, []
	si = frappe.qb.DocType("Sales Invoice")
	ps = frappe.qb.DocType("Payment Schedule")
	ple = frappe.qb.DocType("Payment Ledger Entry")
	pp = frappe.qb.DocType("Payment Promise")
	ppi = frappe.qb.DocType("Payment Promise Item")
	base = (si.docstatus == 1) & (si.is_return == 0) & (si.company == company)
	if customers is not None:
		base = base & si.customer.isin(customers)
	due = (
		frappe.qb.from_(si)
		.join(ps)
		.on((ps.parent == si.name) & (ps.parenttype == "Sales Invoice"))
		.select(si.name)
		.distinct()
		.where(base & ps.due_date[start:end])
	)
	paid = (
		frappe.qb.from_(ple)
		.select(ple.against_voucher_no)
		.distinct()
		.where(
			(ple.delinked == 0)
			& (ple.company == company)
			& (ple.against_voucher_type == "Sales Invoice")
			& ple.posting_date[start:end]
			& ((ple.voucher_type != "Sales Invoice") | (ple.voucher_no != ple.against_voucher_no))
		)
	)
	if customers is not None:
		paid = paid.where(ple.party.isin(customers))
	promised = (
		frappe.qb.from_(pp)
		.join(ppi)
		.on((ppi.parent == pp.name) & (ppi.parenttype == "Payment Promise"))
		.select(ppi.sales_invoice)
		.distinct()
		.where((pp.company == company) & (pp.status == "Pending") & pp.promised_date[start:end])
	)
	if customers is not None:
		promised = promised.where(pp.customer.isin(customers))
	plan = frappe.qb.DocType("Payment Plan")
	plan_item = frappe.qb.DocType("Payment Plan Item")
	plan_row = frappe.qb.DocType("Payment Plan Instalment")
	planned = (
		frappe.qb.from_(plan)
		.join(plan_item)
		.on((plan_item.parent == plan.name) & (plan_item.parenttype == "Payment Plan"))
		.join(plan_row)
		.on((plan_row.parent == plan.name) & (plan_row.parenttype == "Payment Plan"))
		.select(plan_item.reference_name)
		.distinct()
		.where(
			(plan.company == company)
			& (plan.docstatus == 1)
			& plan.status.isin(PLAN_DATED)
			& (plan_item.reference_doctype == "Sales Invoice")
			& plan_row.due_date[start:end]
		)
	)
	if customers is not None:
		planned = planned.where(plan.customer.isin(customers))
	invoices = sorted({r[0] for q in (due, paid, promised, planned) for r in q.run() if r[0]})
	rows: list[ScheduleRow] = []
	for chunk in range(0, len(invoices), 5000):
		for name, invoice, customer, due_date, amount, idx in (
			frappe.qb.from_(si)
			.join(ps)
			.on((ps.parent == si.name) & (ps.parenttype == "Sales Invoice"))
			.select(ps.name, si.name, si.customer, ps.due_date, ps.base_payment_amount, ps.idx)
			.where(base & si.name.isin(invoices[chunk : chunk + 5000]))
			.run()
		):
			rows.append(ScheduleRow(name, invoice, customer, getdate(due_date), to_money(amount), idx))
	payments, adjusted = instalment_payments(rows, read_invoice_reductions(invoices, end))
	promises = read_promises(company, sorted({r.customer for r in rows}), statuses=("Pending",))
	return rows, payments, adjusted, promises


def read_deposit_window(
	company: str, start: date, end: date, customers: list[str] | None = None
) -> tuple[list[ScheduleRow], list[Payment]]:
	"""Expected deposits falling due or paid in [start, end], as schedule rows, and the advances
	received against their orders up to ``end``, spread over each order's deposits earliest due
	first (as the deposits themselves are settled). Deposits whose order was invoiced unpaid are
	left out: the invoice's own schedule carries that expectation. Two grouped queries."""
	if customers is not None and not customers:
		return [], []
	ed = frappe.qb.DocType("Expected Deposit")
	query = (
		frappe.qb.from_(ed)
		.select(ed.name, ed.sales_order, ed.customer, ed.due_date, ed.amount)
		.where((ed.company == company) & ed.status.notin(["Cancelled", "Invoiced"]))
		.orderby(ed.sales_order)
		.orderby(ed.due_date)
		.orderby(ed.creation)
	)
	if customers is not None:
		query = query.where(ed.customer.isin(customers))
	by_order: dict[str, list[ScheduleRow]] = defaultdict(list)
	for i, (name, order, customer, due, amount) in enumerate(query.run()):
		by_order[order].append(ScheduleRow(name, order, customer, getdate(due), to_money(amount), i))
	if not by_order:
		return [], []
	pe = frappe.qb.DocType("Payment Entry")
	per = frappe.qb.DocType("Payment Entry Reference")
	advances = (
		frappe.qb.from_(per)
		.join(pe)
		.on(pe.name == per.parent)
		.select(per.reference_name, pe.posting_date, per.allocated_amount)
		.where(
			(per.reference_doctype == "Sales Order")
			& per.reference_name.isin(list(by_order))
			& (pe.docstatus == 1)
			& (pe.posting_date <= end)
		)
		.orderby(pe.posting_date)
		.orderby(pe.name)
		.run()
	)
	payments: list[Payment] = []
	room = {r.id: r.amount for rows in by_order.values() for r in rows}
	for order, day, amount in advances:
		left = to_money(amount)
		for row in by_order[order]:
			take = min(room[row.id], left)
			if take > 0:
				payments.append(Payment(row.id, getdate(day), take))
				room[row.id] -= take
				left -= take
	rows = [
		r
		for rows in by_order.values()
		for r in rows
		if start <= r.due_date <= end
		or any(p.instalment == r.id and start <= p.posting_date <= end for p in payments)
	]
	keep = {r.id for r in rows}
	return rows, [p for p in payments if p.instalment in keep]


# plans whose dates the forecasts use: running or kept (a broken or cancelled plan gave its items
# back to their own dates)
PLAN_DATED = ("Active", "Completed")


def read_plan_schedules(
	company: str, customers: list[str] | None = None, statuses: Iterable[str] = PLAN_DATED
) -> list[PlanSchedule]:
	"""Submitted Payment Plans in ``statuses`` with their covered items and instalments: two queries.

	A covered invoice without a payment schedule is known to the case as "<invoice>#1" and to the
	reports by the invoice's name: both are given."""
	if customers is not None and not customers:
		return []
	pp = frappe.qb.DocType("Payment Plan")
	query = (
		frappe.qb.from_(pp)
		.select(pp.name, pp.customer, pp.covered_amount, pp.status)
		.where((pp.company == company) & (pp.docstatus == 1) & pp.status.isin(list(statuses)))
	)
	if customers is not None:
		query = query.where(pp.customer.isin(customers))
	heads = query.run(as_dict=True)
	if not heads:
		return []
	names = [h.name for h in heads]
	item = frappe.qb.DocType("Payment Plan Item")
	row = frappe.qb.DocType("Payment Plan Instalment")
	items: dict[str, list[str]] = defaultdict(list)
	for parent, schedule_row, reference in (
		frappe.qb.from_(item)
		.select(item.parent, item.payment_schedule, item.reference_name)
		.where((item.parenttype == "Payment Plan") & item.parent.isin(names))
		.orderby(item.idx)
		.run()
	):
		items[parent].append(schedule_row)
		if schedule_row == f"{reference}#1":
			items[parent].append(reference)
	instalments: dict[str, list[tuple[str, date, Decimal]]] = defaultdict(list)
	for parent, name, due, amount in (
		frappe.qb.from_(row)
		.select(row.parent, row.name, row.due_date, row.amount)
		.where((row.parenttype == "Payment Plan") & row.parent.isin(names))
		.orderby(row.due_date)
		.run()
	):
		instalments[parent].append((name, getdate(due), to_money(amount)))
	return [
		PlanSchedule(
			h.name,
			h.customer,
			to_money(h.covered_amount),
			tuple(items[h.name]),
			tuple(instalments[h.name]),
			broken=h.status == PlanStatus.BROKEN,
		)
		for h in heads
	]


def read_plan_outcomes(company: str, customers: list[str] | None = None) -> list[PlanOutcome]:
	"""Every submitted Payment Plan with its status, covered amount and the day it ended."""
	if customers is not None and not customers:
		return []
	pp = frappe.qb.DocType("Payment Plan")
	query = (
		frappe.qb.from_(pp)
		.select(pp.name, pp.status, pp.covered_amount, pp.completed_on, pp.broken_on)
		.where((pp.company == company) & (pp.docstatus == 1) & pp.status.isin([s.value for s in PlanStatus]))
	)
	if customers is not None:
		query = query.where(pp.customer.isin(customers))
	return [
		PlanOutcome(
			name,
			PlanStatus(status),
			to_money(amount),
			getdate(completed or broken) if (completed or broken) else None,
		)
		for name, status, amount, completed, broken in query.run()
	]


@dataclass(frozen=True, slots=True)
class PlanSpan:
	"""When a plan held its items: from its activation to the day it ended (None: still active)."""

	plan: str
	items: frozenset[str]  # covered rows and, for the reports reading an invoice whole, its name
	active_from: date
	active_until: date | None

	def active_on(self, day: date) -> bool:
		return self.active_from <= day and (self.active_until is None or day < self.active_until)


def read_plan_spans(company: str, customers: list[str] | None = None) -> list[PlanSpan]:
	"""Plans that became active (accepted, and approved when they needed it), with the days they
	held their items: until completed, broken or cancelled."""
	if customers is not None and not customers:
		return []
	pp = frappe.qb.DocType("Payment Plan")
	query = (
		frappe.qb.from_(pp)
		.select(
			pp.name,
			pp.docstatus,
			pp.status,
			pp.accepted_on,
			pp.needs_approval,
			pp.approved_on,
			pp.completed_on,
			pp.broken_on,
			pp.modified,
		)
		.where((pp.company == company) & (pp.docstatus >= 1) & (pp.accepted == 1))
	)
	if customers is not None:
		query = query.where(pp.customer.isin(customers))
	heads = [
		h
		for h in query.run(as_dict=True)
		if h.accepted_on and (not h.needs_approval or h.approved_on) and h.status != "Proposed"
	]
	if not heads:
		return []
	item = frappe.qb.DocType("Payment Plan Item")
	covered: dict[str, set[str]] = defaultdict(set)
	for parent, row, invoice in (
		frappe.qb.from_(item)
		.select(item.parent, item.payment_schedule, item.reference_name)
		.where((item.parenttype == "Payment Plan") & item.parent.isin([h.name for h in heads]))
		.run()
	):
		covered[parent].update((row, invoice))
	out = []
	for h in heads:
		start = getdate(max(h.accepted_on, h.approved_on) if h.needs_approval else h.accepted_on)
		end = (
			h.completed_on
			or h.broken_on
			or (h.modified if h.docstatus == 2 or h.status == "Cancelled" else None)
		)
		out.append(PlanSpan(h.name, frozenset(covered[h.name]), start, getdate(end) if end else None))
	return out


PROMISE_STATUS = ledger.PROMISE_STATUS
DISPUTE_STATUS = ledger.DISPUTE_STATUS


def read_promises(
	company: str,
	customers: list[str] | None = None,
	statuses: Iterable[str] | None = None,
	promised_between: tuple[date, date] | None = None,
) -> list[Promise]:
	"""Payment Promises of any status (unless ``statuses`` says), as engine promises."""
	return ledger.read_promises(
		company, customers, tuple(PROMISE_STATUS) if statuses is None else statuses, promised_between
	)


def read_disputes(
	company: str,
	customers: list[str] | None = None,
	opened_until: date | None = None,
	user: str | None = None,
	opened_from: date | None = None,
) -> list[Dispute]:
	"""Collection Disputes, open and closed, as the user may see them (no reason: "Not Given")."""
	disputes = ledger.read_disputes(
		company,
		customers,
		statuses=tuple(DISPUTE_STATUS),
		opened_from=opened_from,
		opened_until=opened_until,
		visible_to=user or frappe.session.user,
	)
	return [d if d.reason else replace(d, reason=NOT_GIVEN) for d in disputes]


NOT_GIVEN = "Not Given"


# ---------------------------------------------------------------- collector worklist


@dataclass
class CustomerFacts:
	"""What the score needs beyond the ledger, per customer."""

	kept_or_broken: int = 0
	broken: int = 0
	open_disputes: int = 0
	disputed_amount: Decimal = ZERO
	pending_promises: int = 0
	promised_amount: Decimal = ZERO
	next_promise_date: date | None = None


def read_customer_facts(company: str, customers: list[str]) -> dict[str, CustomerFacts]:
	"""Promises (closed and pending) and open disputes per customer: two grouped queries."""
	out: dict[str, CustomerFacts] = defaultdict(CustomerFacts)
	if not customers:
		return out
	pp = frappe.qb.DocType("Payment Promise")
	for customer, status, count, amount, first in (
		frappe.qb.from_(pp)
		.select(pp.customer, pp.status, Count(pp.name), Sum(pp.amount), Min(pp.promised_date))
		.where((pp.company == company) & pp.customer.isin(customers) & (pp.docstatus < 2))
		.groupby(pp.customer, pp.status)
		.run()
	):
		facts = out[customer]
		if status in ("Kept", "Broken"):
			facts.kept_or_broken += count
			if status == "Broken":
				facts.broken += count
		elif status == "Pending":
			facts.pending_promises = count
			facts.promised_amount = to_money(amount)
			facts.next_promise_date = getdate(first) if first else None
	cd = frappe.qb.DocType("Collection Dispute")
	for customer, count, amount in (
		frappe.qb.from_(cd)
		.select(cd.customer, Count(cd.name), Sum(cd.amount))
		.where(
			(cd.company == company) & cd.customer.isin(customers) & (cd.status == "Open") & (cd.docstatus < 2)
		)
		.groupby(cd.customer)
		.run()
	):
		out[customer].open_disputes = count
		out[customer].disputed_amount = to_money(amount)
	return out


# ---------------------------------------------------------------- KPIs


def read_credit_sales(
	company: str, start: date, end: date, customers: list[str] | None = None
) -> dict[tuple[int, int], Decimal]:
	"""Credit sales per (year, month): submitted Sales Invoices net of returns, company currency."""
	if customers is not None and not customers:
		return {}
	si = frappe.qb.DocType("Sales Invoice")
	year, month = Extract(DatePart.year, si.posting_date), Extract(DatePart.month, si.posting_date)
	query = (
		frappe.qb.from_(si)
		.select(year, month, Sum(si.base_grand_total))
		.where((si.docstatus == 1) & (si.company == company) & si.posting_date[start:end])
		.groupby(year, month)
	)
	if customers is not None:
		query = query.where(si.customer.isin(customers))
	return {(int(y), int(m)): to_money(total) for y, m, total in query.run()}


def read_sent_messages(
	company: str, start: date, end: date, customers: list[str] | None = None
) -> list[SentMessage]:
	"""Messages sent in [start, end] (steps sent, one message per message key) and their invoices."""
	if customers is not None and not customers:
		return []
	ca = frappe.qb.DocType("Collection Action")
	query = (
		frappe.qb.from_(ca)
		.select(ca.name, ca.message_key, ca.action_date, ca.reference_name)
		.where(
			(ca.company == company)
			& (ca.action_type == "Step")
			& (ca.status == "Sent")
			& (ca.reference_doctype == "Sales Invoice")
			& ca.action_date[start:end]
		)
	)
	if customers is not None:
		query = query.where(ca.customer.isin(customers))
	messages: dict[str, list] = defaultdict(list)
	for name, key, day, invoice in query.run():
		messages[key or name].append((getdate(day), invoice))
	return [
		SentMessage(key, min(d for d, _i in rows), tuple(sorted({i for _d, i in rows if i})))
		for key, rows in messages.items()
	]


def invoice_cash(invoices: list[str], until: date) -> list[Payment]:
	"""Cash received per invoice and day, as engine payments keyed by invoice."""
	return [
		Payment(invoice, day, amount)
		for invoice, days in read_invoice_reductions(invoices, until).items()
		for day, amount, is_cash in days
		if is_cash
	]
