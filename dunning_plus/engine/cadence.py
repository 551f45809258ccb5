"""Cadence: which step is due for which instalment on a given day, grouped into messages.

Rules, in the order they are applied to each instalment:

1. Nothing for an instalment with nothing outstanding once the customer's open credits are netted
   against it (``engine.credits``; held as covered by credit), or without an applicable, enabled policy.
2. A dunning block (invoice, then customer) in force holds the instalment.
3. An active payment plan covering it holds it (its plan instalments are reminded on the plan
   track instead); a pending promise covering it holds it until the promised date plus grace
   (policy may opt out).
4. An open dispute takes its amount out; fully disputed items are held (policy may opt out).
5. The step due is the highest step whose (grace-adjusted) offset has been reached. If a step
   of that rank or higher was already taken, nothing is due. Catch-up: after downtime only the
   highest due step is taken; the lower ones it jumps over are reported as skipped, never sent.
6. Nothing is sent on a day that is not a business day of the policy's calendar: a step whose
   date falls on a weekend or holiday fires on the next business day.
7. Steps after the due date are held while the customer's overdue dunnable amount (on the same
   track: invoices, or deposits) is below the policy's minimum.

Due actions are grouped per company, customer, currency and channel into one message that lists
every item at its own step; the strongest step leads (template, fee, approval).
Every action has a deterministic idempotency key built from (case, instalment, step).
"""

from __future__ import annotations

import gc
import hashlib
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from operator import attrgetter
from typing import NamedTuple

from dunning_plus.engine.channels import ChannelChoice, Reach, choose_channel
from dunning_plus.engine.money import ZERO, to_money
from dunning_plus.engine.policy import Channel, Policy, PolicyStep, Track
from dunning_plus.engine.precedence import Block, PolicyChoice, resolve_policy
from dunning_plus.engine.promises import Dispute, Promise, disputed_amounts, promised_until


@dataclass(frozen=True, slots=True)
class Instalment:
	"""One payment-schedule row of an invoice (or an expected deposit of a sales order)."""

	id: str
	invoice: str
	customer: str
	company: str
	due_date: date
	outstanding: Decimal
	currency: str = "USD"
	payment_term: str = ""
	posting_date: date | None = None
	track: Track = Track.INVOICE
	policy: str | None = None  # the invoice's own policy override
	block: Block | None = None  # the invoice's own dunning block
	taken: tuple[str, ...] = ()  # codes of the steps already taken for this instalment
	amount: Decimal | None = None  # the instalment's original amount, when known
	credit: Decimal = ZERO  # open credits of the customer netted against it (engine.credits)

	@property
	def due(self) -> Decimal:
		"""What is still owed on it: the outstanding less the open credits netted against it."""
		return self.outstanding - self.credit


@dataclass(frozen=True)
class CustomerProfile:
	name: str
	segment: str | None = None
	policy: str | None = None
	block: Block | None = None
	language: str | None = None
	email: str | None = None
	collector: str | None = None
	mobile: str | None = None
	has_address: bool | None = None  # None: not known (letters go out)


@dataclass
class PolicyBook:
	"""The configured policies and the defaults that decide which one applies."""

	policies: Mapping[str, Policy]
	company_defaults: Mapping[str, str] = field(default_factory=dict)
	segment_policies: Mapping[str, str] = field(default_factory=dict)  # customer group -> policy
	# (company, customer) -> the policy of the segment rule the customer matched (engine.segments)
	rule_policies: Mapping[tuple[str, str], str] = field(default_factory=dict)

	def choose(self, instalment: Instalment, customer: CustomerProfile | None) -> PolicyChoice | None:
		return resolve_policy(
			invoice=instalment.policy,
			customer=customer.policy if customer else None,
			segment=self.segment_policies.get(customer.segment) if customer and customer.segment else None,
			company_default=self.company_defaults.get(instalment.company),
			segment_rule=self.rule_policies.get((instalment.company, instalment.customer)),
		)


class HoldReason(StrEnum):
	CREDIT = "credit"  # covered by the customer's open credits
	PLAN = "plan"  # covered by an active payment plan (its instalments are reminded instead)
	NO_POLICY = "no_policy"
	POLICY_DISABLED = "policy_disabled"
	BLOCKED = "blocked"
	PROMISE = "promise"
	DISPUTE = "dispute"
	NOT_BUSINESS_DAY = "not_business_day"
	BELOW_MINIMUM = "below_minimum"


class DueAction(NamedTuple):
	"""One step due on one instalment. A named tuple, not a frozen dataclass: a first run builds one
	for most open items, and a tuple is built four times faster (``benchmarks/engine_throughput.py``)."""

	instalment: Instalment
	policy: str
	step: PolicyStep
	step_index: int
	fire_date: date
	amount: Decimal  # outstanding less open credits and any disputed part
	days_overdue: int
	skipped: tuple[str, ...]
	key: str


@dataclass(frozen=True, slots=True)
class Hold:
	instalment: Instalment
	reason: HoldReason
	until: date | None = None
	detail: str = ""
	step: PolicyStep | None = None  # the step that would otherwise be due, if any


@dataclass
class Message:
	"""One consolidated communication to one customer: every due item at its own step."""

	company: str
	customer: str
	currency: str
	channel: Channel
	policy: str
	lead: PolicyStep
	actions: list[DueAction]
	language: str | None = None
	email: str | None = None
	lead_index: int = -1
	mobile: str | None = None
	has_address: bool | None = None

	@property
	def total(self) -> Decimal:
		return sum((a.amount for a in self.actions), ZERO)

	@property
	def fee(self) -> Decimal:
		return self.lead.fee

	@property
	def interest(self) -> Decimal:
		total = ZERO
		for a in self.actions:
			if a.step.interest_rate and a.days_overdue > 0:
				total += a.amount * a.step.interest_rate / 100 * a.days_overdue / 365
		return to_money(total)

	@property
	def channel_choice(self) -> ChannelChoice:
		"""The first of the lead step's channels the customer can receive, and why (``engine.channels``)."""
		channels = (
			(self.channel, *self.lead.fallbacks) if self.lead.channel == self.channel else (self.channel,)
		)
		return choose_channel(channels, Reach(self.email, self.mobile, self.has_address))

	@property
	def delivery_channel(self) -> Channel:
		"""How the message actually goes out: the first channel that reaches the customer; when none
		does, a task for the collector (who phones or finds the address)."""
		return self.channel_choice.channel

	@property
	def template(self) -> str | None:
		return self.lead.template_for(self.language)

	@property
	def needs_approval(self) -> bool:
		return any(a.step.needs_approval for a in self.actions)

	@property
	def approval_role(self) -> str | None:
		if self.lead.approval_role:
			return self.lead.approval_role
		return next((a.step.approval_role for a in self.actions if a.step.approval_role), None)

	@property
	def credit_hold(self) -> bool:
		return any(a.step.credit_hold for a in self.actions)

	@property
	def key(self) -> str:
		return make_key("message", *sorted(a.key for a in self.actions))


@dataclass
class CyclePlan:
	on: date
	actions: list[DueAction]
	holds: list[Hold]
	messages: list[Message]
	evaluated: int

	def counts_by_step(self) -> dict[str, int]:
		out: dict[str, int] = {}
		for a in self.actions:
			out[a.step.code] = out.get(a.step.code, 0) + 1
		return out


def make_key(*parts: object) -> str:
	"""A deterministic 32-character key for any tuple of identifying parts."""
	raw = "\x1f".join(str(p) for p in parts).encode()
	return hashlib.blake2b(raw, digest_size=16).hexdigest()


def action_key(company: str, customer: str, instalment: str, step: str) -> str:
	"""The idempotency key of taking ``step`` on ``instalment`` within the case (company, customer)."""
	return make_key(company, customer, instalment, step)


def plan_cycle(
	instalments: Iterable[Instalment],
	on: date,
	book: PolicyBook,
	customers: Mapping[str, CustomerProfile] | None = None,
	promises: Iterable[Promise] = (),
	disputes: Iterable[Dispute] = (),
	planned: Mapping[str, str] | None = None,
	resolutions: dict | None = None,
) -> CyclePlan:
	"""Decides every step due on ``on``. Pure: the same inputs always give the same plan.

	``planned`` maps the instalments an active payment plan covers to the plan: they are held.
	``resolutions`` is a cache of which policy applies to which customer's items, that a caller
	planning many days with the same ``book`` and ``customers`` (the backtest) keeps from day to day;
	it holds nothing that depends on the day."""
	# The plan allocates many small objects and creates no reference cycles: the cyclic garbage
	# collector would only rescan the (possibly million) live instalments again and again.
	paused = gc.isenabled()
	gc.disable()
	try:
		return _plan_cycle(instalments, on, book, customers, promises, disputes, planned or {}, resolutions)
	finally:
		if paused:
			gc.enable()


def _plan_cycle(instalments, on, book, customers, promises, disputes, planned, resolutions) -> CyclePlan:
	customers = customers or {}
	instalments = instalments if isinstance(instalments, list) else list(instalments)
	promises = list(promises)
	disputes = list(disputes)

	# Pauses are computed once per run, keyed by instalment id.
	pause_grace = {p.customer: 0 for p in promises}
	held_until: dict[str, date] = {}
	if promises:
		grace_by_customer = _promise_grace(promises, instalments, book, customers)
		for p in promises:
			pause_grace[p.customer] = grace_by_customer.get(p.customer, 0)
		for p in promises:
			for item, end in promised_until([p], on, pause_grace[p.customer]).items():
				if item not in held_until or held_until[item] < end:
					held_until[item] = end
	disputed: dict[str, Decimal] = {}
	if disputes:
		items = {item for d in disputes for item in d.items}
		disputed = disputed_amounts(
			disputes, {i.id: i.outstanding - i.credit for i in instalments if i.id in items}, on
		)

	on_ord = on.toordinal()
	actions: list[DueAction] = []
	holds: list[Hold] = []
	overdue_total: dict[tuple[str, str, str, Track], Decimal] = {}
	# (invoice policy, customer, company, track) -> (policy, choice, track steps, customer block)
	resolved: dict[tuple, tuple] = {} if resolutions is None else resolutions
	# id(calendar) -> None on a business day, else the next business day (when the step fires)
	held_to: dict[int, date | None] = {}
	shifted: dict[tuple[int, int], date] = {}  # (calendar id, day ordinal) -> business day
	blake2b = hashlib.blake2b
	new_action = tuple.__new__
	# the actions grouped as they are made, per message (see group_messages)
	groups: dict[tuple, list[DueAction]] = {}

	# the overdue total per customer only serves the minimum amount
	count_overdue = any(p.minimum_amount for p in book.policies.values())

	for inst in instalments:
		due = inst.outstanding
		if inst.credit:
			if due <= 0:
				continue
			due = due - inst.credit
			if due <= 0:
				holds.append(Hold(inst, HoldReason.CREDIT, detail=str(inst.credit)))
				continue
		elif due <= 0:
			continue
		customer = inst.customer
		company = inst.company
		cache_key = (inst.policy, customer, company, inst.track)
		hit = resolved.get(cache_key)
		if hit is None:
			hit = resolved[cache_key] = _resolve(inst, book, customers.get(customer))
		# the policy's fields the loop needs, read once per customer and track (see _resolve)
		(
			policy,
			choice,
			cust_block,
			offsets,
			by_code,
			steps,
			codes,
			pname,
			on_promise,
			on_dispute,
			calendar,
			prefix,
		) = hit
		if policy is None:
			holds.append(Hold(inst, HoldReason.NO_POLICY, detail=choice.policy if choice else ""))
			continue
		if offsets is None:
			holds.append(Hold(inst, HoldReason.POLICY_DISABLED, detail=pname))
			continue

		block = inst.block if inst.block is not None and inst.block.active_on(on) else None
		if block is None and cust_block is not None and cust_block.active_on(on):
			block = cust_block
		if block is not None:
			holds.append(Hold(inst, HoldReason.BLOCKED, until=block.until, detail=block.reason))
			continue
		iid = inst.id
		if planned and iid in planned:
			holds.append(Hold(inst, HoldReason.PLAN, detail=planned[iid]))
			continue
		if held_until and on_promise and iid in held_until:
			holds.append(Hold(inst, HoldReason.PROMISE, until=held_until[iid]))
			continue
		amount = due
		if disputed and iid in disputed and on_dispute:
			amount = amount - disputed[iid]
			if amount <= 0:
				holds.append(Hold(inst, HoldReason.DISPUTE, detail=str(disputed[iid])))
				continue

		due_ord = inst.due_date.toordinal()
		days = on_ord - due_ord
		if days > 0 and count_overdue:
			k = (company, customer, inst.currency, inst.track)
			overdue_total[k] = overdue_total.get(k, ZERO) + amount

		idx = bisect_right(offsets, days) - 1
		if idx < 0:
			continue
		last = -1
		if inst.taken:
			for code in inst.taken:
				i = by_code.get(code, -1)
				if i > last:
					last = i
			if idx <= last:
				continue
		step = steps[idx]
		cal_id = id(calendar)
		if cal_id in held_to:
			until = held_to[cal_id]
		else:
			until = held_to[cal_id] = None if calendar.is_business_day(on) else calendar.next_business_day(on)
		if until is not None:
			holds.append(Hold(inst, HoldReason.NOT_BUSINESS_DAY, until=until, step=step))
			continue
		fire_ord = due_ord + offsets[idx]
		sk = (cal_id, fire_ord)
		fire = shifted.get(sk)
		if fire is None:
			fire = shifted[sk] = calendar.next_business_day(date.fromordinal(fire_ord))
		code = step.code
		# action_key(company, customer, iid, code), with the case's part of it made once per customer
		key = blake2b(f"{prefix}{iid}\x1f{code}".encode(), digest_size=16).hexdigest()
		# DueAction's fields in order; tuple.__new__ skips the named tuple's Python-level __new__
		action = new_action(
			DueAction,
			(
				inst,
				pname,
				step,
				idx,
				fire,
				amount,
				days,
				codes[last + 1 : idx] if idx - last > 1 else (),
				key,
			),
		)
		actions.append(action)
		gk = (company, customer, inst.currency, step.channel, pname)
		group = groups.get(gk)
		if group is None:
			groups[gk] = [action]
		else:
			group.append(action)

	# The minimum overdue amount applies to steps after the due date, per customer, currency and track.
	kept = _above_minimum(actions, book, overdue_total, holds)
	messages = _messages(groups, customers) if kept is actions else group_messages(kept, customers)
	return CyclePlan(on=on, actions=kept, holds=holds, messages=messages, evaluated=len(instalments))


def _resolve(inst: Instalment, book: PolicyBook, cust: CustomerProfile | None) -> tuple:
	"""Which policy applies to the items of ``inst``'s customer on its track, and the fields of it the
	planner reads for every item: (policy, choice, customer block, effective offsets, step index by
	code, steps, step codes, policy name, pause on promise, pause on dispute, calendar, the case's
	prefix of the action keys). The offsets are None when the policy is disabled; everything after the
	choice is None without a policy."""
	choice = book.choose(inst, cust)
	policy = book.policies.get(choice.policy) if choice else None
	block = cust.block if cust is not None else None
	if policy is None:
		return (None, choice, block, None, None, None, None, None, False, False, None, None)
	if not policy.enabled:
		return (policy, choice, block, None, None, None, None, policy.name, False, False, None, None)
	ts = policy.track(inst.track)
	return (
		policy,
		choice,
		block,
		ts.effective_offsets,
		ts.index_by_code,
		ts.steps,
		ts.codes,
		policy.name,
		policy.pause_on_promise,
		policy.pause_on_dispute,
		policy.calendar,
		f"{inst.company}\x1f{inst.customer}\x1f",
	)


def _above_minimum(
	actions: list[DueAction], book: PolicyBook, overdue_total: dict, holds: list
) -> list[DueAction]:
	"""The actions left once the steps after the due date of a customer whose overdue total (per
	company, currency and track) is below the policy's minimum are held; ``actions`` itself when none
	is."""
	minimum_of = {name: p.minimum_amount for name, p in book.policies.items() if p.minimum_amount}
	if not minimum_of:
		return actions
	floor = max(minimum_of.values())
	below = {k: total for k, total in overdue_total.items() if total < floor}
	if not below:
		return actions
	customers = {k[1] for k in below}
	kept = []
	for a in actions:
		inst = a.instalment
		if inst.customer in customers and a.step.offset_days > 0:
			total = below.get((inst.company, inst.customer, inst.currency, inst.track))
			minimum = minimum_of.get(a.policy)
			if total is not None and minimum and total < minimum:
				holds.append(Hold(inst, HoldReason.BELOW_MINIMUM, detail=str(total), step=a.step))
				continue
		kept.append(a)
	return kept if len(kept) < len(actions) else actions


def group_messages(actions: Iterable[DueAction], customers: Mapping[str, CustomerProfile]) -> list[Message]:
	"""One message per company, customer, currency, channel and policy; the strongest step (by severity,
	then rank in the policy) leads, and the items are listed by due date."""
	groups: dict[tuple, list[DueAction]] = {}
	for a in actions:
		inst = a.instalment
		k = (inst.company, inst.customer, inst.currency, a.step.channel, a.policy)
		acts = groups.get(k)
		if acts is None:
			groups[k] = [a]
		else:
			acts.append(a)
	return _messages(groups, customers)


def _messages(
	groups: dict[tuple, list[DueAction]], customers: Mapping[str, CustomerProfile]
) -> list[Message]:
	out = []
	for (company, customer, currency, channel, policy), acts in groups.items():
		lead = acts[0]
		if len(acts) > 1:
			# the distinct steps of the group are few: rank those, not every action
			steps = {id(a.step): a for a in acts}
			if len(steps) > 1:
				lead = max(steps.values(), key=_lead_rank)
			acts.sort(key=_item_order)
		cust = customers.get(customer)
		out.append(
			Message(
				company=company,
				customer=customer,
				currency=currency,
				channel=channel,
				policy=policy,
				lead=lead.step,
				lead_index=lead.step_index,
				actions=acts,
				language=cust.language if cust else None,
				email=cust.email if cust else None,
				mobile=cust.mobile if cust else None,
				has_address=cust.has_address if cust else None,
			)
		)
	out.sort(key=lambda m: (m.company, m.customer, m.currency, m.channel))
	return out


# C-level sort keys: the lead is the strongest step (severity, then rank); items are listed by due date
_lead_rank = attrgetter("step.severity", "step_index")
_item_order = attrgetter("instalment.due_date", "instalment.id")


def next_step(instalment: Instalment, policy: Policy, on: date) -> tuple[PolicyStep, date] | None:
	"""The next step not yet taken or due for ``instalment`` after ``on``, with the day it fires."""
	ts = policy.track(instalment.track)
	days = on.toordinal() - instalment.due_date.toordinal()
	idx = bisect_right(ts.effective_offsets, days) - 1
	last = max((ts.index_by_code.get(c, -1) for c in instalment.taken), default=-1)
	nxt = max(idx, last) + 1
	if nxt >= len(ts.steps):
		return None
	fire = policy.calendar.next_business_day(instalment.due_date + timedelta(days=ts.effective_offsets[nxt]))
	return ts.steps[nxt], fire


def _promise_grace(
	promises: list[Promise],
	instalments: list[Instalment],
	book: PolicyBook,
	customers: Mapping[str, CustomerProfile],
) -> dict[str, int]:
	"""Grace days of the policy that applies to each promising customer's items."""
	wanted = {p.customer for p in promises}
	out: dict[str, int] = {}
	for inst in instalments:
		if inst.customer in wanted and inst.customer not in out:
			choice = book.choose(inst, customers.get(inst.customer))
			policy = book.policies.get(choice.policy) if choice else None
			out[inst.customer] = policy.grace_days if policy else 0
	return out
