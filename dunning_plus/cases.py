"""Collection cases: computed from scratch from ERPNext's ledger and the case's records.

``compute_case`` is pure read: the items in view (open instalments whose first step has been
reached, or that already had a step), their levels and pauses, balances, the status the engine's
``derive_status`` gives, the next action and the risk score. ``refresh_case`` writes that onto the
one open Collection Case of the customer and company (reopening the case a cancelled payment had
closed, or opening a new one), so after any sequence of documents every case equals a fresh
recompute. Events mark (company, customer) pairs dirty; ``flush`` refreshes them once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import frappe
from frappe import _
from frappe.query_builder import Case
from frappe.query_builder.functions import Count, Max, Min
from frappe.utils import add_to_date, cint, get_datetime, getdate, now_datetime, nowdate

from dunning_plus import ledger
from dunning_plus.engine.cadence import HoldReason, next_step, plan_cycle
from dunning_plus.engine.case import CaseFacts, CaseStatus, derive_status
from dunning_plus.engine.money import ZERO, to_money
from dunning_plus.engine.policy import SEVERITY, PolicyStep, Track
from dunning_plus.engine.promises import disputed_amounts
from dunning_plus.engine.score import Behaviour, score_customer
from dunning_plus.policies import policy_book

CLOSED = ("Resolved", "Written Off", "Closed")
UNREAD = object()  # a value the caller has not read (as opposed to None, read and empty)
PAUSED_BY = {
	HoldReason.PROMISE: "Promise",
	HoldReason.DISPUTE: "Dispute",
	HoldReason.BLOCKED: "Block",
	HoldReason.CREDIT: "Credit",
	HoldReason.PLAN: "Plan",
}
# Step actions that went (or are going) out: an item's level and last step count only these, not a
# step that waits for approval or review, or one that was dropped or skipped.
SENT = ("Queued", "Sent", "To Print")
WAITING = ("Pending Approval", "Proposed")
CASE_FIELDS = (
	"policy",
	"status",
	"current_level",
	"collector",
	"currency",
	"outstanding_amount",
	"open_credit_amount",
	"overdue_amount",
	"not_due_amount",
	"dunned_amount",
	"disputed_amount",
	"promised_amount",
	"payment_plan",
	"next_action",
	"next_action_date",
	"sla_due",
	"hold_reason",
	"hold_until",
	"risk_score",
	"score_explanation",
	"score_drivers",
)
ITEM_FIELDS = (
	"reference_doctype",
	"reference_name",
	"payment_schedule",
	"payment_term",
	"due_date",
	"payment_amount",
	"outstanding",
	"credit_applied",
	"disputed_amount",
	"track",
	"level",
	"last_step",
	"last_step_date",
	"pending_step",
	"paused_by",
	"paused_until",
	"currency",
)


def open_case_name(company: str, customer: str) -> str | None:
	# frappe.qb, not frappe.db.get_value: it is read once or twice per customer in a run, and the
	# filter form costs more to build than the indexed query costs to run
	cc = frappe.qb.DocType("Collection Case")
	found = (
		frappe.qb.from_(cc)
		.select(cc.name)
		.where((cc.company == company) & (cc.customer == customer) & cc.status.notin(CLOSED))
		.orderby(cc.creation, order=frappe.qb.desc)
		.limit(1)
		.run()
	)
	return found[0][0] if found else None


def open_case_names(company: str, customers: list[str]) -> dict[str, str]:
	"""``open_case_name`` for many customers in one query."""
	if not customers:
		return {}
	cc = frappe.qb.DocType("Collection Case")
	rows = (
		frappe.qb.from_(cc)
		.select(cc.customer, cc.name)
		.where((cc.company == company) & cc.customer.isin(customers) & cc.status.notin(CLOSED))
		.orderby(cc.creation)
		.run()
	)
	return dict(rows)  # the latest wins, as in open_case_name


@dataclass
class CaseData:
	"""A customer's ledger view already read by the caller (the cycle reads a whole batch at once)."""

	instalments: list  # with the open credits netted (ledger.read_position)
	book: object
	profiles: dict
	promises: list = field(default_factory=list)
	disputes: list = field(default_factory=list)
	credits: list = field(default_factory=list)
	planned: dict = field(default_factory=dict)  # schedule row -> its active payment plan
	# the customer's latest proposed plan (None: none), when the caller read it for many customers
	proposed_plan: object = UNREAD


def compute_case(
	company: str,
	customer: str,
	as_of: date | None = None,
	case_name: str | object | None = UNREAD,
	data: CaseData | None = None,
	ctx: CaseContext | None = None,
) -> frappe._dict:
	"""The case as a fresh recompute gives it; ``case_name`` is the open case, None when the customer
	has none (looked up when not given)."""
	as_of = getdate(as_of or nowdate())
	if case_name is UNREAD:
		case_name = open_case_name(company, customer)
	ctx = ctx or CaseContext.load(company, [customer], as_of)
	if data is None:
		instalments, credits, _netting = ledger.read_position(company, [customer])
		data = CaseData(
			instalments=instalments,
			book=policy_book(company),
			profiles=ledger.read_customers([customer]),
			promises=ledger.read_promises(company, [customer]),
			disputes=ledger.read_disputes(company, [customer]),
			credits=credits,
			planned=ledger.read_planned(company, [customer]),
		)
	instalments, book, profiles = data.instalments, data.book, data.profiles
	promises, disputes = data.promises, data.disputes
	profile = profiles.get(customer)
	plan = plan_cycle(instalments, as_of, book, profiles, promises, disputes, data.planned)
	holds = {h.instalment.id: h for h in plan.holds}
	due_now = {a.instalment.id: a for a in plan.actions}
	history = ctx.history.get(customer, {})
	disputed = {}
	if disputes:
		disputed = disputed_amounts(disputes, {i.id: i.due for i in instalments}, as_of)

	items = []
	strongest: PolicyStep | None = None
	level = 0
	policies_used: list[str] = []
	# (priority, date, text): what waits for a person (approval, review) comes before any step
	next_candidates: list[tuple[int, date, str]] = []
	sla_candidates: list[datetime] = []
	for inst in instalments:
		choice = book.choose(inst, profile)
		policy = book.policies.get(choice.policy) if choice else None
		if policy is None:
			continue
		ts = policy.track(inst.track)
		if not ts.steps:
			continue
		if inst.track == Track.PLAN:
			# a plan instalment is not an item of the case: its reminders are the case's next actions
			nxt = _item_next(inst, policy, None, None, due_now.get(inst.id), as_of)
			if nxt:
				next_candidates.append((1, *nxt))
			continue
		days = (as_of - inst.due_date).days
		if days < ts.effective_offsets[0] and not inst.taken:
			continue
		if policy.name not in policies_used:
			policies_used.append(policy.name)
		actions = history.get(inst.id, [])
		sent = {h.step_code for h in actions if h.status in SENT}
		steps_sent = [policy.step(c) for c in inst.taken if c in ts.index_by_code and c in sent]
		item_level = max((s.level for s in steps_sent), default=0)
		last = max(steps_sent, key=lambda s: ts.index_by_code[s.code], default=None)
		for s in steps_sent:
			if strongest is None or SEVERITY[s.kind] > SEVERITY[strongest.kind]:
				strongest = s
		level = max(level, item_level)
		last_actions = [h for h in actions if last and h.step_code == last.code and h.status in SENT]
		last_date = getdate(last_actions[-1].action_date) if last_actions else None
		if last and last.sla_hours and last_actions:
			sla_candidates.append(add_to_date(get_datetime(last_actions[-1].creation), hours=last.sla_hours))
		waiting = [h for h in actions if h.status in WAITING and h.step_code in ts.index_by_code]
		pending_step = None
		if waiting:
			w = waiting[-1]
			step = policy.step(w.step_code)
			pending_step = f"{step.code} ({_(w.status)})"
			verb = _("Approve or drop {0} ({1})") if w.status == "Pending Approval" else _("Review {0} ({1})")
			next_candidates.append((0, getdate(w.action_date), verb.format(_(step.title), step.code)))
		hold = holds.get(inst.id)
		paused_by = PAUSED_BY.get(hold.reason) if hold else None
		if not waiting:  # a step waiting for a person is the item's next action already
			nxt = _item_next(inst, policy, hold, paused_by, due_now.get(inst.id), as_of)
			if nxt:
				next_candidates.append((1, *nxt))
		items.append(
			frappe._dict(
				reference_doctype="Sales Order" if inst.track.value == "deposit" else "Sales Invoice",
				reference_name=inst.invoice,
				payment_schedule=inst.id,
				payment_term=inst.payment_term or None,
				due_date=inst.due_date,
				payment_amount=float(inst.amount or inst.outstanding),
				outstanding=float(inst.outstanding),
				credit_applied=float(inst.credit),
				disputed_amount=float(disputed.get(inst.id, ZERO)),
				track="Deposit" if inst.track.value == "deposit" else "Invoice",
				level=item_level,
				last_step=last.code if last else None,
				last_step_date=last_date,
				pending_step=pending_step,
				paused_by=paused_by,
				paused_until=hold.until if hold and paused_by else None,
				currency=inst.currency,
				_inst=inst,
			)
		)

	in_view = sum((i._inst.outstanding for i in items), ZERO)
	instalments = [i for i in instalments if i.track != Track.PLAN]  # receivables only from here
	# The customer's whole open position, in view of a step or not; overdue and not yet due are
	# what is owed once the open credits are netted.
	outstanding = sum((i.outstanding for i in instalments), ZERO)
	overdue = sum((max(i.due, ZERO) for i in instalments if i.due_date < as_of), ZERO)
	not_due = sum((max(i.due, ZERO) for i in instalments if i.due_date >= as_of), ZERO)
	open_credit = sum((c.amount for c in data.credits if c.customer == customer), ZERO)
	dunned = sum(
		(
			max(i._inst.due - to_money(i.disputed_amount), ZERO)
			for i in items
			if not i.paused_by and i._inst.due_date < as_of
		),
		ZERO,
	)
	item_ids = {i.payment_schedule for i in items}
	promised = sum((p.amount for p in promises if item_ids & set(p.items)), ZERO)
	open_items = [i for i in items if i.outstanding > 0]
	facts = CaseFacts(
		outstanding=in_view,
		strongest_step=strongest,
		level=level,
		pending_approval=customer in ctx.pending_approval,
		on_hold=bool(profile and profile.block and profile.block.active_on(as_of)),
		fully_disputed=bool(open_items) and all(i.paused_by == "Dispute" for i in open_items),
		promise_pending=bool(open_items)
		and all(i.paused_by in ("Promise", "Dispute") for i in open_items)
		and any(i.paused_by == "Promise" for i in open_items),
		plan_active=bool(open_items)
		and all(i.paused_by in ("Plan", "Dispute", "Credit") for i in open_items)
		and any(i.paused_by == "Plan" for i in open_items),
		broken_promise=ctx.latest_promise.get(customer) == "Broken",
		escalated=bool(case_name) and case_name in ctx.escalated,
		written_off=bool(case_name) and case_name in ctx.written_off,
	)
	status, level = derive_status(facts)
	score = _score(customer, as_of, instalments, ctx)  # receivables only
	next_candidates.sort()
	show_next = next_candidates and status.value not in CLOSED
	case = frappe._dict(
		company=company,
		customer=customer,
		policy=policies_used[0] if policies_used else None,
		status=status.value,
		current_level=level,
		collector=(profile.collector if profile else None) or ctx.default_collector,
		currency=items[0].currency if items else None,
		outstanding_amount=float(outstanding),
		open_credit_amount=float(open_credit),
		overdue_amount=float(overdue),
		not_due_amount=float(not_due),
		dunned_amount=float(dunned),
		disputed_amount=sum(i.disputed_amount for i in items),
		promised_amount=float(promised),
		payment_plan=_live_plan(company, customer, data.planned, data.proposed_plan),
		next_action=next_candidates[0][2] if show_next else None,
		next_action_date=next_candidates[0][1] if show_next else None,
		sla_due=min(sla_candidates) if sla_candidates else None,
		hold_reason=profile.block.reason if facts.on_hold else None,
		hold_until=profile.block.until if facts.on_hold else None,
		risk_score=score.score if score else 0,
		score_explanation=score.explain() if score else None,
		score_drivers=json.dumps(
			{d.name: {"value": round(d.raw, 2), "points": round(d.points, 4)} for d in score.drivers},
			sort_keys=True,
		)
		if score
		else None,
		items=[{k: i[k] for k in ITEM_FIELDS} for i in items],
	)
	return case


def _live_plan(company: str, customer: str, planned: dict, proposed=UNREAD) -> str | None:
	"""The case's active payment plan, else its latest proposed one."""
	if planned:
		return sorted(set(planned.values()))[-1]
	if proposed is UNREAD:
		return proposed_plans(company, [customer]).get(customer)
	return proposed


def proposed_plans(company: str, customers: list[str]) -> dict[str, str]:
	"""Each customer's latest proposed (submitted, not yet active) payment plan, in one query."""
	if not customers:
		return {}
	pp = frappe.qb.DocType("Payment Plan")
	rows = (
		frappe.qb.from_(pp)
		.select(pp.customer, pp.name)
		.where(
			(pp.company == company)
			& pp.customer.isin(customers)
			& (pp.docstatus == 1)
			& (pp.status == "Proposed")
		)
		.orderby(pp.creation)
		.run()
	)
	return dict(rows)  # the latest wins


def _item_next(inst, policy, hold, paused_by, due_action, as_of) -> tuple[date, str] | None:
	if due_action is not None:
		return as_of, f"{_(due_action.step.title)} ({due_action.step.code})"
	if paused_by == "Credit":
		return as_of, _("Reconcile the open credits with this invoice")
	if paused_by == "Promise" and hold.until:
		return hold.until + timedelta(days=1), _("Check promise")
	if paused_by == "Plan":
		return None  # the plan's own instalments carry the next action
	if not paused_by:
		nxt = next_step(inst, policy, as_of)
		if nxt:
			return nxt[1], f"{_(nxt[0].title)} ({nxt[0].code})"
	return None


class CaseContext:
	"""The facts a case recompute needs beyond the ledger, read once for many customers."""

	def __init__(self):
		self.history: dict[str, dict[str, list]] = {}
		self.pending_approval: set[str] = set()
		self.latest_promise: dict[str, str] = {}
		self.escalated: set[str] = set()
		self.written_off: set[str] = set()
		self.days_late: dict[str, float] = {}
		self.promises_closed: dict[str, list[str]] = {}
		self.open_disputes: dict[str, int] = {}
		self.since: dict[str, date] = {}
		self.largest = ZERO
		self.default_collector: str | None = None

	@classmethod
	def load(cls, company: str, customers: list[str], as_of: date) -> CaseContext:
		ctx = cls()
		if not customers:
			return ctx
		ca = frappe.qb.DocType("Collection Action")
		for r in (
			frappe.qb.from_(ca)
			.select(
				ca.customer,
				ca.payment_schedule,
				ca.step_code,
				ca.level,
				ca.action_date,
				ca.creation,
				ca.status,
				ca.collection_case,
				ca.action_type,
				ca.step_kind,
			)
			.where((ca.company == company) & ca.customer.isin(customers))
			.orderby(ca.creation)
			.run(as_dict=True)
		):
			if r.action_type == "Step":
				ctx.history.setdefault(r.customer, {}).setdefault(r.payment_schedule, []).append(r)
				if r.status == "Pending Approval":
					ctx.pending_approval.add(r.customer)
			elif r.action_type == "Decision" and r.status == "Done" and r.collection_case:
				if r.step_kind == "Escalation":
					ctx.escalated.add(r.collection_case)
				elif r.step_kind == "Write-off Proposal":
					ctx.written_off.add(r.collection_case)
		pp = frappe.qb.DocType("Payment Promise")
		for r in (
			frappe.qb.from_(pp)
			.select(pp.customer, pp.status)
			.where((pp.company == company) & pp.customer.isin(customers) & (pp.status != "Cancelled"))
			.orderby(pp.recorded_on)
			.orderby(pp.creation)
			.run(as_dict=True)
		):
			ctx.latest_promise[r.customer] = r.status
			if r.status in ("Kept", "Broken"):
				ctx.promises_closed.setdefault(r.customer, []).append(r.status)
		cd = frappe.qb.DocType("Collection Dispute")
		for customer, count in (
			frappe.qb.from_(cd)
			.select(cd.customer, Count("*"))
			.where((cd.company == company) & cd.customer.isin(customers) & (cd.status == "Open"))
			.groupby(cd.customer)
			.run()
		):
			ctx.open_disputes[customer] = count
		# tenure runs from the customer's first submitted invoice with the company, not from when the
		# Customer record was made (imported or created on the day of the first sale: always 0 days)
		si = frappe.qb.DocType("Sales Invoice")
		ctx.since = {
			name: getdate(first)
			for name, first in frappe.qb.from_(si)
			.select(si.customer, Min(si.posting_date))
			.where(
				(si.docstatus == 1)
				& (si.is_return == 0)
				& (si.company == company)
				& (si.posting_date <= as_of)
				& si.customer.isin(customers)
			)
			.groupby(si.customer)
			.run()
		}
		ctx.days_late = ledger.read_days_late(customers, as_of - timedelta(days=365))
		cc = frappe.qb.DocType("Collection Case")
		largest = (
			frappe.qb.from_(cc)
			.select(Max(cc.outstanding_amount))
			.where((cc.company == company) & cc.status.notin(CLOSED))
			.run()[0][0]
		)
		ctx.largest = to_money(largest or 0)
		ctx.default_collector = frappe.db.get_single_value("Dunning Plus Settings", "default_collector")
		return ctx

	def add_steps(self, customer: str, rows: list[dict]) -> None:
		"""Steps just written by the caller, so the recompute sees them without reading them back."""
		for r in rows:
			self.history.setdefault(customer, {}).setdefault(r["payment_schedule"], []).append(
				frappe._dict(r)
			)
			if r.get("status") == "Pending Approval":
				self.pending_approval.add(customer)


def _score(customer: str, as_of: date, instalments, ctx: CaseContext):
	balance = sum((max(i.due, ZERO) for i in instalments), ZERO)
	if balance <= 0:
		return None
	overdue = sum((max(i.due, ZERO) for i in instalments if i.due_date < as_of), ZERO)
	closed = ctx.promises_closed.get(customer, [])
	since = ctx.since.get(customer)
	return score_customer(
		Behaviour(
			customer=customer,
			balance=balance,
			overdue=overdue,
			avg_days_late=ctx.days_late.get(customer, 0.0),
			promises_made=len(closed),
			promises_broken=closed.count("Broken"),
			open_disputes=ctx.open_disputes.get(customer, 0),
			tenure_days=(as_of - since).days if since else 0,
		),
		max(ctx.largest, balance),
	)


def refresh_case(
	company: str,
	customer: str,
	as_of: date | None = None,
	data: CaseData | None = None,
	ctx: CaseContext | None = None,
) -> str | None:
	"""Writes the recomputed case; returns its name (None when there is nothing to collect).

	The stored case is read and compared as plain rows and written only when it differs, so an
	unchanged case costs two reads; a new case is inserted through its controller."""
	as_of = getdate(as_of or nowdate())
	if data is None:  # the cycle brings its batch's plans up to date before reading
		from dunning_plus.plans import refresh_plans

		refresh_plans(company, [customer], as_of)
	name = open_case_name(company, customer)
	view = compute_case(company, customer, as_of, name, data, ctx)
	if not name:
		if not view["items"]:
			return None
		name = cases_to_reopen(company, {customer: view}).get(customer)
	current = _read_cases([name]).get(name) if name else None
	case = _to_store(view, name, current, as_of)
	if current is None:
		_insert_case(company, as_of, case)
	elif _signature(current) != _signature(case):
		_write_changed([(case, current)])
	if case.status in CLOSED:
		release_credit_hold(company, customer, case.name)
	return case.name


def refresh_batch(
	company: str, as_of: date, data: dict[str, CaseData], ctx: CaseContext
) -> dict[str, str | None]:
	"""``refresh_case`` for the customers of one batch at once (customer -> case, None when there is
	nothing to collect), in a number of statements that does not grow with the customers: their open
	cases, proposed plans and stored rows are read in one query each, the changed cases written in one
	statement per hundred, their item rows deleted and inserted in one statement each way, and the
	new cases inserted in one, numbered from their naming series in one step.

	The caller holds the customers' locks and brought their plans up to date (the cycle does both for
	its batch). Where something on the site reacts to a new Collection Case (a Notification, Webhook,
	Assignment Rule, Server Script, naming rule, SLA or another app's hook), new cases go through the
	controller one by one instead, so whatever listens sees each of them."""
	customers = list(data)
	names = open_case_names(company, customers)
	proposed = proposed_plans(company, [c for c in customers if not data[c].planned])
	views = {}
	for customer in customers:
		d = data[customer]
		if not d.planned:
			d = replace(d, proposed_plan=proposed.get(customer))
		views[customer] = compute_case(company, customer, as_of, names.get(customer), d, ctx)
	names.update(cases_to_reopen(company, {c: v for c, v in views.items() if c not in names and v["items"]}))
	stored = _read_cases(list(names.values()))
	out: dict[str, frappe._dict | None] = {}
	new, changed = [], []
	for customer in customers:
		name = names.get(customer)
		if not name and not views[customer]["items"]:
			out[customer] = None
			continue
		current = stored.get(name) if name else None
		case = out[customer] = _to_store(views[customer], name, current, as_of)
		if current is None:
			new.append(case)
		elif _signature(current) != _signature(case):
			changed.append((case, current))
	if new and _new_case_listeners():
		for case in new:
			_insert_case(company, as_of, case)
	elif new:
		_insert_cases(company, as_of, new)
	_write_changed(changed)
	for customer, case in out.items():
		if case is not None and case.status in CLOSED:
			release_credit_hold(company, customer, case.name)
	return {customer: case.name if case else None for customer, case in out.items()}


def _to_store(view, name: str | None, current, as_of: date) -> frappe._dict:
	"""The case as it is to be stored: the recompute, with what only the stored case knows (a
	settled case's items, its resolution and the day it was resolved)."""
	case = frappe._dict({k: view[k] for k in CASE_FIELDS}, name=name, customer=view["customer"])
	if view["status"] in CLOSED and not view["items"] and current:
		# A settled case keeps its items, at zero, as the record of what it collected (and so a
		# cancelled payment can find the case it closed).
		settled = {"outstanding": 0, "disputed_amount": 0, "paused_by": None, "paused_until": None}
		case["items"] = [
			frappe._dict({**{k: r.get(k) for k in ITEM_FIELDS}, **settled}) for r in current["items"]
		]
	else:
		case["items"] = [frappe._dict(r) for r in view["items"]]
	if view["status"] in CLOSED:
		resolved = current and current.get("resolution")
		case["resolution"] = resolved or ("Written Off" if view["status"] == "Written Off" else "Paid")
		case["resolved_on"] = current.get("resolved_on") if resolved else as_of
	else:
		case["resolution"] = case["resolved_on"] = None
	return case


def _insert_case(company: str, as_of: date, case) -> None:
	"""A new case through its controller (named, validated, and seen by whatever listens)."""
	doc = frappe.new_doc("Collection Case")
	doc.update(
		{
			"company": company,
			"customer": case.customer,
			# set here: with the link checks skipped, nothing fetches it
			"customer_name": _customer_names([case.customer]).get(case.customer),
			"opened_on": as_of,
			**{k: case[k] for k in CASE_FIELDS},
		}
	)
	doc.update({"resolution": case.resolution, "resolved_on": case.resolved_on})
	doc.flags.ignore_permissions = True
	# every link comes from the ledger just read (customer, company, policy, collector, plan): the
	# run opens a case for most customers on its first day, and checking them costs a query each
	doc.flags.ignore_links = True
	doc.insert()
	case.name = doc.name
	_insert_items([(case.name, idx, r) for idx, r in enumerate(case["items"], start=1)])
	_mark_invoices([case])
	_collectors_changed({case.collector})


NEW_CASE_FIELDS = (
	"name",
	"creation",
	"modified",
	"owner",
	"modified_by",
	"docstatus",
	"idx",
	"naming_series",
	"company",
	"customer",
	"customer_name",
	"opened_on",
	*CASE_FIELDS,
	"resolution",
	"resolved_on",
)


def _insert_cases(company: str, as_of: date, new: list) -> None:
	"""New cases in one statement, named from the doctype's naming series as the controller would."""
	from frappe.model.naming import get_default_naming_series

	series = get_default_naming_series("Collection Case") or "COLL-CASE-.YYYY.-"
	names = reserve_names(series, len(new))
	customer_names = _customer_names([c.customer for c in new])
	now, user = now_datetime(), frappe.session.user
	rows = []
	for case, name in zip(new, names, strict=True):
		case.name = name
		rows.append(
			(
				name,
				now,
				now,
				user,
				user,
				0,
				0,
				series,
				company,
				case.customer,
				customer_names.get(case.customer),
				as_of,
				*(_db(case[k]) for k in CASE_FIELDS),
				case.resolution,
				case.resolved_on,
			)
		)
	ledger.fast_insert("Collection Case", NEW_CASE_FIELDS, rows)
	_insert_items([(case.name, idx, r) for case in new for idx, r in enumerate(case["items"], start=1)])
	_mark_invoices(new)
	_collectors_changed({c.collector for c in new})


def reserve_names(series: str, count: int) -> list[str]:
	"""``count`` names of a naming series in one step: the series' counter moves by ``count`` under
	its row lock (as Frappe's getseries moves it by one), and each name is made the way Frappe makes
	it from that number."""
	from frappe.model.naming import NamingSeries, parse_naming_series

	naming = NamingSeries(series)
	prefix = naming.get_prefix()
	s = frappe.qb.DocType("Series")
	found = frappe.qb.from_(s).select(s.current).where(s.name == prefix).for_update().run()
	if found and found[0][0] is not None:
		start = cint(found[0][0])
		frappe.qb.update(s).set(s.current, start + count).where(s.name == prefix).run()
	elif found:
		start = 0
		frappe.qb.update(s).set(s.current, count).where(s.name == prefix).run()
	else:
		start = 0
		frappe.qb.into(s).columns(s.name, s.current).insert(prefix, count).run()
	numbers = iter(range(start + 1, start + count + 1))
	return [
		parse_naming_series(
			naming.series, number_generator=lambda _p, digits: str(next(numbers)).zfill(digits)
		)
		for _ in range(count)
	]


LISTENERS = (
	("Notification", "document_type", {"enabled": 1}),
	("Webhook", "webhook_doctype", {"enabled": 1}),
	("Assignment Rule", "document_type", {"disabled": 0}),
	("Server Script", "reference_doctype", {"disabled": 0}),
	("Document Naming Rule", "document_type", {"disabled": 0}),
	("Service Level Agreement", "document_type", {"enabled": 1}),
)


def _new_case_listeners() -> bool:
	"""Whether anything on the site reacts to a Collection Case being made."""
	if "Collection Case" in (frappe.get_hooks("doc_events") or {}):
		return True
	return any(
		frappe.db.exists(doctype, {field: "Collection Case", **filters})
		for doctype, field, filters in LISTENERS
	)


def _customer_names(customers: list[str]) -> dict[str, str]:
	if not customers:
		return {}
	c = frappe.qb.DocType("Customer")
	return dict(frappe.qb.from_(c).select(c.name, c.customer_name).where(c.name.isin(customers)).run())


def _read_cases(names: list[str]) -> dict[str, frappe._dict]:
	"""The stored cases and their item rows, two queries for any number of them."""
	if not names:
		return {}
	cc = frappe.qb.DocType("Collection Case")
	item = frappe.qb.DocType("Collection Case Item")
	parents = {
		r.name: r
		for r in frappe.qb.from_(cc)
		.select(cc.name, cc.resolution, cc.resolved_on, *[cc[f] for f in CASE_FIELDS])
		.where(cc.name.isin(names))
		.run(as_dict=True)
	}
	for r in parents.values():
		r["items"] = []
	for r in (
		frappe.qb.from_(item)
		.select(item.parent, item.name, item.idx, *[item[f] for f in ITEM_FIELDS])
		.where(item.parent.isin(names) & (item.parenttype == "Collection Case"))
		.orderby(item.parent)
		.orderby(item.idx)
		.run(as_dict=True)
	):
		parents[r.pop("parent")]["items"].append(r)
	return parents


def _comment(case_name: str, text: str) -> None:
	frappe.get_doc(
		{
			"doctype": "Comment",
			"comment_type": "Info",
			"reference_doctype": "Collection Case",
			"reference_name": case_name,
			"content": text,
		}
	).insert(ignore_permissions=True)


def _write_changed(pairs: list[tuple]) -> None:
	"""The recomputed fields of the changed cases (``(case, stored)`` pairs), one statement per hundred
	cases, and the item rows that changed: a row whose place and values are the same stays as it is;
	the others are deleted and written anew, in one statement each way (a daily run changes a few
	rows of a case, not the hundred it may hold).

	Only computed fields change here (the one-open-case rule holds by construction), so the
	controller's save path has nothing to check."""
	if not pairs:
		return
	fields = (*CASE_FIELDS, "resolution", "resolved_on")
	frappe.db.bulk_update(
		"Collection Case", {case.name: {k: case.get(k) for k in fields} for case, _ in pairs}
	)
	stale, fresh = [], []
	for case, current in pairs:
		frappe.clear_document_cache("Collection Case", case.name)
		stored = {(r.idx, _row_signature(r)): r.name for r in current.get("items") or ()}
		for idx, r in enumerate(case.get("items"), start=1):
			if stored.pop((idx, _row_signature(r)), None) is None:
				fresh.append((case.name, idx, r))
		stale.extend(stored.values())
	if stale:
		item = frappe.qb.DocType("Collection Case Item")
		frappe.qb.from_(item).delete().where(
			(item.parenttype == "Collection Case") & item.name.isin(stale)
		).run()
	_insert_items(fresh)
	_mark_invoices([case for case, _ in pairs])
	for case, current in pairs:
		if current.status != case.status:
			_comment(case.name, _("Status {0} → {1}").format(_(current.status), _(case.status)))
	_collectors_changed(
		{
			u
			for case, current in pairs
			if current.collector != case.collector
			for u in (current.collector, case.collector)
		}
	)


ITEM_ROW_FIELDS = (
	"name",
	"creation",
	"modified",
	"owner",
	"modified_by",
	"docstatus",
	"parent",
	"parenttype",
	"parentfield",
	"idx",
	*ITEM_FIELDS,
)


def _insert_items(rows_at: list[tuple[str, int, dict]]) -> None:
	"""Item rows ``(case, place, values)`` of any number of cases, in one statement per 500."""
	now, user = now_datetime(), frappe.session.user
	rows = [
		(
			frappe.generate_hash(length=10),
			now,
			now,
			user,
			user,
			0,
			parent,
			"Collection Case",
			"items",
			idx,
			*(_db(r.get(k)) for k in ITEM_FIELDS),
		)
		for parent, idx, r in rows_at
	]
	if rows:
		ledger.fast_insert("Collection Case Item", ITEM_ROW_FIELDS, rows)


def _db(value):
	return None if value == "" else value


def cases_to_reopen(company: str, views: dict) -> dict[str, str]:
	"""For customers without an open case (customer -> recomputed view): the resolved case a cancel
	reopens, the latest one that held one of the view's items; one query for all of them."""
	rows = [i["payment_schedule"] for view in views.values() for i in view["items"]]
	if not rows:
		return {}
	item = frappe.qb.DocType("Collection Case Item")
	cc = frappe.qb.DocType("Collection Case")
	found = (
		frappe.qb.from_(item)
		.join(cc)
		.on((cc.name == item.parent) & (item.parenttype == "Collection Case"))
		.select(cc.customer, cc.name)
		.distinct()
		.where(
			item.payment_schedule.isin(rows)
			& (cc.company == company)
			& cc.customer.isin(list(views))
			& (cc.status == "Resolved")
		)
		.orderby(cc.creation)
		.run()
	)
	return dict(found)  # the latest wins


def _norm(value):
	"""One form per value whether it came from the database or from a fresh compute."""
	kind = type(value)
	if kind is str:  # the most common: names, codes, statuses
		return value or None
	if value is None:
		return None
	if kind is float or kind is int:  # not bool, whose type is bool
		return round(float(value), 6)
	if isinstance(value, datetime | date):
		return str(value)
	return value


def _row_signature(row) -> tuple:
	return tuple(_norm(row.get(k)) for k in ITEM_FIELDS)


def _signature(case) -> tuple:
	return (
		tuple(_norm(case.get(k)) for k in (*CASE_FIELDS, "resolution")),
		tuple(_row_signature(r) for r in case.get("items") or ()),
	)


def _mark_invoices(cases_: list) -> None:
	"""Shows the case and each invoice's level on the Sales Invoices of the cases: one statement per
	level, whatever the number of cases (an invoice has one customer, and a customer one open case)."""
	levels: dict[str, int] = {}
	case_of: dict[str, str] = {}
	for case in cases_:
		for row in case.get("items"):
			if row.reference_doctype == "Sales Invoice":
				levels[row.reference_name] = max(levels.get(row.reference_name, 0), row.level or 0)
				case_of[case.customer] = case.name
	if not levels:
		return
	si = frappe.qb.DocType("Sales Invoice")
	by_level: dict[int, list[str]] = {}
	for inv, lvl in levels.items():
		by_level.setdefault(lvl, []).append(inv)
	if len(case_of) == 1:
		case = next(iter(case_of.values()))
	else:
		case = Case()
		for customer, name in case_of.items():
			case = case.when(si.customer == customer, name)
		case = case.else_(si.collection_case)
	for lvl, invoices in sorted(by_level.items()):
		frappe.qb.update(si).set(si.current_dunning_level, lvl).set(si.collection_case, case).where(
			si.name.isin(invoices)
		).run()


def _collectors_changed(users: set) -> None:
	"""Who collects a case sees its customer (and nobody else through this case)."""
	from dunning_plus.permissions import sync_customer_permissions

	users = users - {None}
	if users:
		sync_customer_permissions(users)


def release_credit_hold(company: str, customer: str, case_name: str | None = None) -> bool:
	"""Resolution releases a credit hold once the customer has no open case left anywhere."""
	if not frappe.db.get_value("Customer", customer, "dunning_credit_hold"):
		return False
	if frappe.db.exists("Collection Case", {"customer": customer, "status": ["not in", CLOSED]}):
		return False
	frappe.db.set_value("Customer", customer, "dunning_credit_hold", 0)
	if case_name:
		_comment(case_name, _("Credit hold released: the case is settled"))
	return True


# ---------------------------------------------------------------- dirty tracking for events


def mark_dirty(company: str | None, customer: str | None) -> None:
	if not company or not customer:
		return
	pending = frappe.flags.dunning_plus_dirty
	if pending is None:
		pending = frappe.flags.dunning_plus_dirty = set()
	if not pending:
		frappe.db.before_commit.add(flush)
	pending.add((company, customer))


def flush() -> None:
	pending, frappe.flags.dunning_plus_dirty = frappe.flags.dunning_plus_dirty, None
	if pending:
		refresh_cases(sorted(pending))


def refresh_cases(pairs: Iterable[tuple[str, str]], as_of: date | None = None) -> list[str]:
	names = []
	for company, customer in pairs:
		name = refresh_case(company, customer, as_of)
		if name:
			names.append(name)
	return names


def case_for(company: str, customer: str) -> str | None:
	return open_case_name(company, customer)


def status_of(name: str) -> CaseStatus:
	return CaseStatus(frappe.db.get_value("Collection Case", name, "status"))
