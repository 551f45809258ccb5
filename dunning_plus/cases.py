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
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import frappe
from frappe import _
from frappe.query_builder.functions import Count, Max, Min
from frappe.utils import add_to_date, get_datetime, getdate, now_datetime, nowdate

from dunning_plus import ledger
from dunning_plus.engine.cadence import HoldReason, next_step, plan_cycle
from dunning_plus.engine.case import CaseFacts, CaseStatus, derive_status
from dunning_plus.engine.money import ZERO, to_money
from dunning_plus.engine.policy import SEVERITY, PolicyStep, Track
from dunning_plus.engine.promises import disputed_amounts
from dunning_plus.engine.score import Behaviour, score_customer
from dunning_plus.policies import policy_book

CLOSED = ("Resolved", "Written Off", "Closed")
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


def compute_case(
	company: str,
	customer: str,
	as_of: date | None = None,
	case_name: str | None = None,
	data: CaseData | None = None,
	ctx: CaseContext | None = None,
) -> frappe._dict:
	as_of = getdate(as_of or nowdate())
	case_name = case_name or open_case_name(company, customer)
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
		payment_plan=_live_plan(company, customer, data.planned),
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


def _live_plan(company: str, customer: str, planned: dict) -> str | None:
	"""The case's active payment plan, else its latest proposed one."""
	if planned:
		return sorted(set(planned.values()))[-1]
	pp = frappe.qb.DocType("Payment Plan")
	found = (
		frappe.qb.from_(pp)
		.select(pp.name)
		.where(
			(pp.company == company)
			& (pp.customer == customer)
			& (pp.docstatus == 1)
			& (pp.status == "Proposed")
		)
		.orderby(pp.creation, order=frappe.qb.desc)
		.limit(1)
		.run()
	)
	return found[0][0] if found else None


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
		name = _case_to_reopen(company, customer, view)
	current = _read_case(name) if name else None
	case = frappe._dict({k: view[k] for k in CASE_FIELDS}, name=name)
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
	if current is None:
		doc = frappe.new_doc("Collection Case")
		doc.update(
			{
				"company": company,
				"customer": customer,
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
		_write_items(case)
		_mark_invoices(case)
		_collector_changed(None, case.collector)
	elif _signature(current) != _signature(case):
		_write_computed(case, current)
		_mark_invoices(case)
		if current.status != case.status:
			_comment(case.name, _("Status {0} → {1}").format(_(current.status), _(case.status)))
		if current.collector != case.collector:
			_collector_changed(current.collector, case.collector)
	if case.status in CLOSED:
		release_credit_hold(company, customer, case.name)
	return case.name


def _read_case(name: str) -> frappe._dict:
	cc = frappe.qb.DocType("Collection Case")
	item = frappe.qb.DocType("Collection Case Item")
	parent = (
		frappe.qb.from_(cc)
		.select(cc.name, cc.resolution, cc.resolved_on, *[cc[f] for f in CASE_FIELDS])
		.where(cc.name == name)
		.run(as_dict=True)[0]
	)
	parent["items"] = (
		frappe.qb.from_(item)
		.select(item.name, item.idx, *[item[f] for f in ITEM_FIELDS])
		.where((item.parent == name) & (item.parenttype == "Collection Case"))
		.orderby(item.idx)
		.run(as_dict=True)
	)
	return parent


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


def _write_computed(doc, current) -> None:
	"""The recomputed fields, and the item rows that changed: a row whose place and values are the
	same stays as it is; the others are deleted and written anew, in one statement each way
	(a daily run changes a few rows of a case, not the hundred it may hold).

	Only computed fields change here (the one-open-case rule holds by construction), so the
	controller's save path has nothing to check."""
	values = {k: doc.get(k) for k in (*CASE_FIELDS, "resolution", "resolved_on")}
	frappe.db.set_value("Collection Case", doc.name, values)
	stored = {(r.idx, _row_signature(r)): r.name for r in current.get("items") or ()}
	fresh = []
	for idx, r in enumerate(doc.get("items"), start=1):
		if stored.pop((idx, _row_signature(r)), None) is None:
			fresh.append((idx, r))
	if stored:
		item = frappe.qb.DocType("Collection Case Item")
		frappe.qb.from_(item).delete().where(
			(item.parent == doc.name)
			& (item.parenttype == "Collection Case")
			& item.name.isin(list(stored.values()))
		).run()
	_write_items(doc, fresh)


def _write_items(doc, rows_at: list[tuple[int, dict]] | None = None) -> None:
	"""Inserts the case's item rows (``rows_at``: only these, with their places) in one statement."""
	now, user = now_datetime(), frappe.session.user
	fields = (
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
	rows = [
		(
			frappe.generate_hash(length=10),
			now,
			now,
			user,
			user,
			0,
			doc.name,
			"Collection Case",
			"items",
			idx,
			*(_db(r.get(k)) for k in ITEM_FIELDS),
		)
		for idx, r in (enumerate(doc.get("items"), start=1) if rows_at is None else rows_at)
	]
	if rows:
		ledger.fast_insert("Collection Case Item", fields, rows)


def _db(value):
	return None if value == "" else value


def _case_to_reopen(company: str, customer: str, view) -> str | None:
	"""The resolved case a cancel reopens: the latest one that held one of these items."""
	rows = [i["payment_schedule"] for i in view["items"]]
	item = frappe.qb.DocType("Collection Case Item")
	cc = frappe.qb.DocType("Collection Case")
	found = (
		frappe.qb.from_(item)
		.join(cc)
		.on((cc.name == item.parent) & (item.parenttype == "Collection Case"))
		.select(cc.name)
		.where(
			item.payment_schedule.isin(rows)
			& (cc.company == company)
			& (cc.customer == customer)
			& (cc.status == "Resolved")
		)
		.orderby(cc.creation, order=frappe.qb.desc)
		.limit(1)
		.run()
	)
	return found[0][0] if found else None


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


def _mark_invoices(doc) -> None:
	"""Shows the case and each invoice's level on the Sales Invoices of the case."""
	levels: dict[str, int] = {}
	for row in doc.get("items"):
		if row.reference_doctype == "Sales Invoice":
			levels[row.reference_name] = max(levels.get(row.reference_name, 0), row.level or 0)
	if not levels:
		return
	si = frappe.qb.DocType("Sales Invoice")
	by_level: dict[int, list[str]] = {}
	for inv, lvl in levels.items():
		by_level.setdefault(lvl, []).append(inv)
	for lvl, invoices in by_level.items():
		frappe.qb.update(si).set(si.current_dunning_level, lvl).set(si.collection_case, doc.name).where(
			si.name.isin(invoices)
		).run()


def _collector_changed(before: str | None, after: str | None) -> None:
	"""Who collects the case sees its customer (and nobody else through this case)."""
	from dunning_plus.permissions import sync_customer_permissions

	sync_customer_permissions({before, after} - {None})


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
