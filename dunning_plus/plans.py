"""Payment plans, the Frappe side: offer, check (the engine's rules), approve, accept, activate,
follow the payments ERPNext books on the covered items, complete, break, cancel.

A plan schedules; it never books. Its covered items (invoice payment-schedule rows or expected
deposits) keep their ERPNext outstanding; what was paid on them since the plan was offered fills the
plan instalments earliest first (``engine.plans``). While it is Active the cycle holds the covered
items and reminds the plan instalments with the policy's plan track instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

import frappe
from frappe import _
from frappe.utils import cint, flt, fmt_money, getdate, now_datetime, nowdate

from dunning_plus import ledger
from dunning_plus.audit import record_decision
from dunning_plus.engine.errors import EngineError
from dunning_plus.engine.money import ZERO, to_money
from dunning_plus.engine.plans import (
	PlanError,
	PlanInstalment,
	PlanLimits,
	PlanStatus,
	allocate_paid,
	check_plan,
	paid_toward,
	plan_state,
	split_plan,
)
from dunning_plus.policies import policy_book, throw_engine_error

LIVE = ("Proposed", "Active")


def settings():
	return frappe.get_cached_doc("Dunning Plus Settings")


def limits() -> PlanLimits:
	cfg = settings()
	return PlanLimits(
		max_instalments=cint(cfg.plan_max_instalments) or 12,
		max_days=cint(cfg.plan_max_days) or 365,
		approval_amount=to_money(cfg.plan_approval_amount) if flt(cfg.plan_approval_amount) > 0 else None,
		approval_days=cint(cfg.plan_approval_days) or None,
	)


def approver_role() -> str:
	return settings().plan_approval_role or "Collections Manager"


def money(amount, currency: str | None) -> str:
	return fmt_money(flt(amount), currency=currency)


# ------------------------------------------------------------------------------ offer


def default_items(case_doc) -> list[dict]:
	"""The case's open items a plan can cover: not disputed, not covered by credit or another plan."""
	taken = set(ledger.read_planned(case_doc.company, [case_doc.customer]))
	taken |= set(_proposed_rows(case_doc.company, case_doc.customer))
	return [
		{
			"reference_doctype": r.reference_doctype,
			"reference_name": r.reference_name,
			"payment_schedule": r.payment_schedule,
		}
		for r in case_doc.items
		if flt(r.outstanding) - flt(r.get("credit_applied")) > 0
		and not flt(r.disputed_amount)
		and r.paused_by not in ("Dispute", "Credit", "Plan")
		and r.payment_schedule not in taken
	]


def offer(
	case_doc,
	instalment_count: int,
	every_days: int,
	start_date: str | date | None = None,
	down_payment: float = 0,
	accepted: bool = False,
):
	"""A draft plan over the case's default items, split into equal instalments (editable)."""
	items = default_items(case_doc)
	if not items:
		frappe.throw(
			_(
				"The case has no open item a plan can cover (disputed items and items already in a plan are left out)."
			),
			title=_("Nothing to Plan"),
		)
	doc = frappe.get_doc(
		{
			"doctype": "Payment Plan",
			"collection_case": case_doc.name,
			"customer": case_doc.customer,
			"company": case_doc.company,
			"start_date": getdate(start_date or nowdate()),
			"instalment_count": cint(instalment_count),
			"every_days": cint(every_days),
			"down_payment": flt(down_payment),
			"items": items,
		}
	)
	resolve_items(doc)
	make_instalments(doc)
	doc.accepted = 1 if accepted else 0
	return doc


def resolve_items(doc) -> Decimal:
	"""Fills each item from the ledger (term, due date, what it owes after credits); returns the total."""
	if not doc.items:
		frappe.throw(_("Add at least one item to the plan."), title=_("No Items"))
	open_rows = {i.id: i for i in ledger.read_position(doc.company, [doc.customer], with_taken=False)[0]}
	seen = set()
	total = ZERO
	currencies = set()
	for row in doc.items:
		inst = open_rows.get(row.payment_schedule)
		if inst is None or inst.invoice != row.reference_name or inst.track.value == "plan" or inst.due <= 0:
			frappe.throw(
				_("Row {0}: {1} has nothing outstanding for customer {2} on that payment term.").format(
					row.idx, frappe.bold(row.reference_name), frappe.bold(doc.customer)
				),
				title=_("Invalid Item"),
			)
		if row.payment_schedule in seen:
			frappe.throw(
				_("Row {0}: the item is in the plan twice.").format(row.idx), title=_("Invalid Item")
			)
		seen.add(row.payment_schedule)
		row.reference_doctype = "Sales Order" if inst.track.value == "deposit" else "Sales Invoice"
		row.payment_term, row.due_date = inst.payment_term or None, inst.due_date
		row.outstanding, row.currency = float(inst.due), inst.currency
		currencies.add(inst.currency)
		total += inst.due
	if len(currencies) > 1:
		frappe.throw(_("All items of a plan must be in one currency."), title=_("Invalid Item"))
	doc.currency = currencies.pop()
	doc.covered_amount = float(total)
	return total


def make_instalments(doc) -> None:
	"""Equal instalments from the offer terms (down payment, count, every so many days)."""
	try:
		rows = split_plan(
			to_money(doc.covered_amount),
			cint(doc.instalment_count),
			getdate(doc.start_date),
			cint(doc.every_days),
			to_money(doc.down_payment),
		)
	except EngineError as e:
		throw_engine_error(e, _("Cannot Split the Plan"))
	doc.set(
		"instalments",
		[
			{
				"due_date": r.due_date,
				"amount": float(r.amount),
				"paid_amount": 0,
				"status": "Open",
				"currency": doc.currency,
			}
			for r in rows
		],
	)


def _proposed_rows(company: str, customer: str, exclude: str | None = None) -> list[str]:
	pp = frappe.qb.DocType("Payment Plan")
	item = frappe.qb.DocType("Payment Plan Item")
	query = (
		frappe.qb.from_(pp)
		.join(item)
		.on((item.parent == pp.name) & (item.parenttype == "Payment Plan"))
		.select(item.payment_schedule)
		.where(
			(pp.company == company) & (pp.customer == customer) & (pp.docstatus == 1) & pp.status.isin(LIVE)
		)
	)
	if exclude:
		query = query.where(pp.name != exclude)
	return [r[0] for r in query.run()]


def validate(doc) -> None:
	"""The engine's rules on the plan, the items against the ledger, one live plan per item."""
	case = frappe.db.get_value("Collection Case", doc.collection_case, ["customer", "company"], as_dict=True)
	if not case or case.customer != doc.customer or case.company != doc.company:
		frappe.throw(
			_("Collection Case {0} is not a case of {1} in {2}.").format(
				doc.collection_case, doc.customer, doc.company
			),
			title=_("Invalid Plan"),
		)
	covered = resolve_items(doc)
	clash = set(_proposed_rows(doc.company, doc.customer, exclude=doc.name)) & {
		r.payment_schedule for r in doc.items
	}
	if clash:
		names = sorted({r.reference_name for r in doc.items if r.payment_schedule in clash})
		frappe.throw(
			_("{0} is already in another proposed or active plan.").format(", ".join(names)),
			title=_("Invalid Plan"),
		)
	for row in doc.instalments:
		row.currency = doc.currency
	rows = [PlanInstalment(getdate(r.due_date), to_money(r.amount)) for r in doc.instalments]
	try:
		result = check_plan(rows, covered, getdate(nowdate()), limits())
	except PlanError as e:
		throw_engine_error(e, _("Invalid Plan"))
	doc.needs_approval = 1 if result.needs_approval else 0
	doc.approval_reasons = (
		"; ".join(
			_(r.template).format(*(money(a, doc.currency) if isinstance(a, Decimal) else a for a in r.args))
			for r in result.reasons
		)
		or None
	)
	doc.next_due_date = rows[0].due_date if rows else None


# ------------------------------------------------------------------------------ lifecycle


def submitted(doc) -> None:
	"""Offered: Proposed until accepted (and approved when it needs approval), then Active."""
	doc.db_set("status", "Proposed")
	record_decision(
		doc.collection_case,
		doc.company,
		doc.customer,
		"Decision",
		_("Payment plan {0} offered: {1} in {2} instalments from {3}").format(
			doc.name,
			money(doc.covered_amount, doc.currency),
			len(doc.instalments),
			frappe.format(doc.start_date, "Date"),
		),
		reference=doc,
		step_kind="Payment Plan",
	)
	if doc.needs_approval:
		_request_approval(doc)
	if doc.accepted:
		accept(doc, "Collector")
	else:
		_refresh_case(doc)


def _request_approval(doc) -> None:
	from dunning_plus.delivery import users_with_role

	role = approver_role()
	for user in users_with_role(role)[:5]:
		frappe.get_doc(
			{
				"doctype": "ToDo",
				"allocated_to": user,
				"role": role,
				"reference_type": "Payment Plan",
				"reference_name": doc.name,
				"date": nowdate(),
				"priority": "High",
				"description": _("Approve payment plan {0} for {1} ({2}): {3}").format(
					doc.name,
					doc.customer,
					money(doc.covered_amount, doc.currency),
					doc.approval_reasons or "",
				),
			}
		).insert(ignore_permissions=True)


def approve(doc) -> None:
	role = approver_role()
	if role not in frappe.get_roles():
		frappe.throw(
			_("Only a user with the role {0} can approve a payment plan.").format(frappe.bold(_(role))),
			frappe.PermissionError,
		)
	if doc.docstatus != 1 or doc.status != "Proposed" or not doc.needs_approval or doc.approved_by:
		frappe.throw(_("Only a proposed plan waiting for approval can be approved."), title=_("Not Allowed"))
	doc.db_set({"approved_by": frappe.session.user, "approved_on": now_datetime()})
	_close_todos(doc)
	record_decision(
		doc.collection_case,
		doc.company,
		doc.customer,
		"Decision",
		_("Payment plan {0} approved").format(doc.name),
		reference=doc,
		step_kind="Payment Plan",
	)
	_maybe_activate(doc)


def accept(doc, via: str) -> None:
	"""The customer agreed to the plan (told the collector, or accepted it on the collection page)."""
	if doc.docstatus != 1 or doc.status != "Proposed":
		frappe.throw(_("Only a proposed plan can be accepted."), title=_("Not Allowed"))
	if via not in ("Collector", "Customer"):
		frappe.throw(_("A plan is accepted by the customer, directly or through the collector."))
	doc.db_set({"accepted": 1, "accepted_on": now_datetime(), "accepted_via": via})
	by = (
		_("by the customer via the collection page")
		if via == "Customer"
		else _("by the customer, recorded by {0}").format(frappe.session.user)
	)
	record_decision(
		doc.collection_case,
		doc.company,
		doc.customer,
		"Decision",
		_("Payment plan {0} accepted {1}").format(doc.name, by),
		reference=doc,
		step_kind="Payment Plan",
	)
	_maybe_activate(doc)


def _maybe_activate(doc) -> None:
	if doc.status != "Proposed" or not doc.accepted or (doc.needs_approval and not doc.approved_by):
		_refresh_case(doc)
		return
	doc.db_set("status", "Active")
	record_decision(
		doc.collection_case,
		doc.company,
		doc.customer,
		"Decision",
		_("Payment plan {0} is active: dunning is paused on {1} items until it completes or breaks").format(
			doc.name, len(doc.items)
		),
		reference=doc,
		step_kind="Payment Plan",
	)
	_refresh_case(doc)


def cancelled(doc) -> None:
	"""Cancelled with a reason: dunning resumes on what remains, at the level each item had."""
	doc.db_set("status", "Cancelled")
	_close_todos(doc)
	record_decision(
		doc.collection_case,
		doc.company,
		doc.customer,
		"Decision",
		_("Payment plan {0} cancelled: {1}. Dunning resumes.").format(doc.name, doc.cancel_reason),
		reference=doc,
		step_kind="Payment Plan",
	)
	_refresh_case(doc)


def _close_todos(doc) -> None:
	todo = frappe.qb.DocType("ToDo")
	frappe.qb.update(todo).set(todo.status, "Closed").where(
		(todo.reference_type == "Payment Plan") & (todo.reference_name == doc.name) & (todo.status == "Open")
	).run()


def _refresh_case(doc) -> None:
	from dunning_plus import cases

	cases.mark_dirty(doc.company, doc.customer)
	cases.flush()


# ------------------------------------------------------------------------------ following payments


def refresh_plans(company: str, customers: Iterable[str], as_of=None) -> list[tuple[str, str]]:
	"""Brings the active plans of ``customers`` up to date with the ledger; returns (plan, new status)
	for each plan that completed or broke. Idempotent: a rerun finds nothing to change."""
	customers = list(customers)
	if not customers:
		return []
	as_of = getdate(as_of or nowdate())
	pp = frappe.qb.DocType("Payment Plan")
	plans = (
		frappe.qb.from_(pp)
		.select(pp.name, pp.customer, pp.covered_amount, pp.paid_amount, pp.next_due_date, pp.currency)
		.where(
			(pp.company == company)
			& pp.customer.isin(customers)
			& (pp.docstatus == 1)
			& (pp.status == "Active")
		)
		.run(as_dict=True)
	)
	if not plans:
		return []
	names = [p.name for p in plans]
	item = frappe.qb.DocType("Payment Plan Item")
	rows = frappe.qb.DocType("Payment Plan Instalment")
	covered: dict[str, list[str]] = {}
	for parent, row in (
		frappe.qb.from_(item).select(item.parent, item.payment_schedule).where(item.parent.isin(names)).run()
	):
		covered.setdefault(parent, []).append(row)
	schedule: dict[str, list] = {}
	for r in (
		frappe.qb.from_(rows)
		.select(rows.name, rows.parent, rows.due_date, rows.amount, rows.paid_amount, rows.status)
		.where(rows.parent.isin(names))
		.orderby(rows.due_date)
		.run(as_dict=True)
	):
		schedule.setdefault(r.parent, []).append(r)
	open_rows = {
		i.id: i
		for i in ledger.read_position(company, sorted({p.customer for p in plans}), with_taken=False)[0]
	}
	book = policy_book(company)
	profiles = ledger.read_customers({p.customer for p in plans})
	changed = []
	for p in plans:
		mine = [open_rows[r] for r in covered.get(p.name, []) if r in open_rows]
		still = sum((max(i.due, ZERO) for i in mine), ZERO)
		paid = paid_toward(to_money(p.covered_amount), still)
		stored = schedule.get(p.name, [])
		filled = allocate_paid(
			[PlanInstalment(getdate(r.due_date), to_money(r.amount)) for r in stored], paid
		)
		for r, f in zip(stored, filled, strict=True):
			status = _instalment_status(f, as_of)
			if to_money(r.paid_amount) != f.paid or r.status != status:
				frappe.db.set_value(
					"Payment Plan Instalment",
					r.name,
					{"paid_amount": float(f.paid), "status": status},
					update_modified=False,
				)
		state = plan_state(
			PlanStatus.ACTIVE, filled, as_of, _grace_days(book, mine, profiles.get(p.customer), company)
		)
		values = {
			"paid_amount": float(paid),
			"next_due_date": state.next_due.due_date if state.next_due else None,
		}
		if state.status == PlanStatus.COMPLETED:
			values.update(status="Completed", completed_on=as_of)
		elif state.status == PlanStatus.BROKEN:
			values.update(status="Broken", broken_on=as_of)
		if (
			to_money(p.paid_amount) != paid
			or getdate(p.next_due_date) != values["next_due_date"]
			or "status" in values
		):
			frappe.db.set_value("Payment Plan", p.name, values)
		if "status" in values:
			_ended(p, values["status"], state, as_of)
			changed.append((p.name, values["status"]))
	return changed


def _instalment_status(inst: PlanInstalment, as_of: date) -> str:
	if inst.is_paid:
		return "Paid"
	if inst.due_date < as_of:
		return "Overdue"
	return "Partly Paid" if inst.paid > 0 else "Open"


def _grace_days(book, instalments, profile, company: str) -> int:
	"""The grace days of the policy that applies to the plan's items (the company default when paid)."""
	choice = book.choose(instalments[0], profile) if instalments else None
	name = choice.policy if choice else book.company_defaults.get(company)
	policy = book.policies.get(name) if name else None
	return policy.grace_days if policy else 0


def _ended(plan, status: str, state, as_of: date) -> None:
	doc = frappe.get_doc("Payment Plan", plan.name)
	if status == "Completed":
		record_decision(
			doc.collection_case,
			doc.company,
			doc.customer,
			"Decision",
			_("Payment plan {0} completed: {1} paid").format(
				doc.name, money(doc.covered_amount, doc.currency)
			),
			reference=doc,
			step_kind="Payment Plan",
		)
		return
	from dunning_plus.tasks import _escalate

	collector = frappe.db.get_value("Collection Case", doc.collection_case, "collector")
	from dunning_plus.delivery import users_with_role

	broken = state.broken_on
	_escalate(
		doc.collection_case,
		doc.company,
		doc.customer,
		f"plan-broken::{doc.name}",
		_(
			"Payment plan {0} of {1} is broken: the instalment of {2} due {3} is unpaid. Dunning resumes on what remains."
		).format(
			doc.name, doc.customer, money(broken.open, doc.currency), frappe.format(broken.due_date, "Date")
		),
		[collector or (users_with_role("Collections Manager") or [None])[0]],
		reference=doc,
	)


def check_active_plans(as_of=None) -> int:
	"""Hourly: active plans follow the payments and break on their dates; returns how many ended."""
	from dunning_plus import cases

	day = getdate(as_of or nowdate())
	pp = frappe.qb.DocType("Payment Plan")
	by_company: dict[str, list[str]] = {}
	for company, customer in (
		frappe.qb.from_(pp)
		.select(pp.company, pp.customer)
		.distinct()
		.where((pp.docstatus == 1) & (pp.status == "Active"))
		.run()
	):
		by_company.setdefault(company, []).append(customer)
	ended = 0
	for company, customers in by_company.items():
		changed = refresh_plans(company, customers, day)
		ended += len(changed)
		for customer in sorted(
			{frappe.db.get_value("Payment Plan", name, "customer") for name, _status in changed}
		):
			cases.refresh_case(company, customer, day)
	return ended
