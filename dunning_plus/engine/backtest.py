"""Backtest: replays the daily cycle over a history of invoices and payments, day by day, with the
same planner (``cadence.plan_cycle``) and the policy's own business calendar as the real cycle.

One entry point, ``replay``, serves the standalone ``dunning-plus simulate`` and the in-site
backtest of a Dunning Policy: both give the same numbers on the same history. ``summarize`` turns
the replay into the figures both show:

- messages per week (Monday) by leading step and the channel they would have gone out on;
- customers touched (at least one message);
- items that reached each step (a step, or a later one, was taken for the item);
- reminders that went to items paid in full within ``paid_within`` days anyway: every item line of a
  message sent to the customer (email or letter, not a task for a person), and of those the ones whose
  outstanding reached zero within that many days after the message (the quieter policy's gain).

Each day: the payments dated up to that day are applied, then the engine plans the due steps of the
invoices posted by then, the steps are recorded as taken (a step is never taken twice) and the
messages are counted. The history is only read.
"""

from __future__ import annotations

import gc
import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from dunning_plus.engine.cadence import CustomerProfile, CyclePlan, Instalment, PolicyBook, plan_cycle
from dunning_plus.engine.errors import LedgerError, _
from dunning_plus.engine.money import ZERO
from dunning_plus.engine.policy import Channel, Track
from dunning_plus.engine.precedence import Block
from dunning_plus.engine.promises import Dispute, Payment, Promise

PAID_WITHIN_DAYS = 3
PROMISE_VISIBLE_DAYS = 60  # a promise stops pausing dunning this long after its date


@dataclass(frozen=True, slots=True)
class HistoryRow:
	"""A payment-schedule row with its original amount, as it was when its invoice was posted."""

	id: str
	invoice: str
	customer: str
	company: str
	due_date: date
	amount: Decimal
	posting_date: date
	currency: str = "USD"
	payment_term: str = ""
	track: Track = Track.INVOICE
	policy: str | None = None
	block: Block | None = None

	def on(self, outstanding: Decimal, taken: tuple[str, ...]) -> Instalment:
		return Instalment(
			id=self.id,
			invoice=self.invoice,
			customer=self.customer,
			company=self.company,
			due_date=self.due_date,
			outstanding=outstanding,
			currency=self.currency,
			payment_term=self.payment_term,
			posting_date=self.posting_date,
			track=self.track,
			policy=self.policy,
			block=self.block,
			taken=taken,
			amount=self.amount,
		)


@dataclass
class History:
	rows: list[HistoryRow]
	payments: list[Payment]  # every application of money (payment, credit note) to a row, dated
	customers: Mapping[str, CustomerProfile] = field(default_factory=dict)
	promises: list[Promise] = field(default_factory=list)
	disputes: list[Dispute] = field(default_factory=list)
	movable: Sequence[bool] | None = None  # per payment: may the response model move it earlier


# respond(day, plan) -> [(row id, day)]: the movable payments of that row are moved to that day
# when they are later (the demo's response model); a backtest passes none.
Respond = Callable[[date, CyclePlan], Iterable[tuple[str, date]]]


@dataclass
class Replay:
	start: date
	end: date
	plans: list[CyclePlan]
	taken: dict[str, tuple[str, ...]]
	payments: list[Payment]  # the applications with their (possibly moved) dates, in input order
	pulled_forward: int = 0


def allocate(
	rows: Sequence[HistoryRow], amount: Decimal, term: str | None, applied: dict[str, Decimal]
) -> list[tuple[str, Decimal]]:
	"""How a payment (or credit note) of ``amount`` against one invoice lands on its rows: the row of
	``term`` first when given, then the earliest due, never more than a row still owes."""
	targets = sorted(rows, key=lambda r: (r.due_date, r.id))
	if term:
		targets = [r for r in targets if r.payment_term == term] + [
			r for r in targets if r.payment_term != term
		]
	out = []
	for r in targets:
		if amount <= 0:
			break
		room = r.amount - applied.get(r.id, ZERO)
		take = min(room, amount)
		if take > 0:
			out.append((r.id, take))
			applied[r.id] = applied.get(r.id, ZERO) + take
			amount -= take
	return out


def replay(
	history: History,
	book: PolicyBook,
	start: date,
	end: date,
	progress: Callable[[int], None] | None = None,
	respond: Respond | None = None,
) -> Replay:
	"""Runs the cycle for every day from ``start`` to ``end`` inclusive."""
	with _collector_paused():
		return _replay(history, book, start, end, progress, respond)


@contextmanager
def _collector_paused():
	"""A replay keeps millions of small objects alive (every day's plan) and makes no reference
	cycles: the cyclic garbage collector would only rescan them again and again (a third of the time
	of a year's replay, and more of its summary)."""
	paused = gc.isenabled()
	gc.disable()
	try:
		yield
	finally:
		if paused:
			gc.enable()


def _replay(history, book, start, end, progress, respond) -> Replay:
	if end < start:
		raise LedgerError(_("The simulation ends ({0}) before it starts ({1})."), end, start)
	if not book.policies:
		raise LedgerError(_("The ledger has no dunning policy to simulate."))
	payments = list(history.payments)
	movable = history.movable if history.movable is not None else [True] * len(payments)
	# Payment events in a heap; an event moved earlier is re-pushed and its old entry is ignored when
	# popped (its sequence number no longer matches).
	day_of = [p.posting_date.toordinal() for p in payments]
	live_seq = list(range(len(payments)))
	heap = [(day_of[i], i, i) for i in range(len(payments))]
	heapq.heapify(heap)
	next_seq = len(payments)
	by_row: dict[str, list[int]] = {}
	if respond is not None:
		for i, p in enumerate(payments):
			if movable[i]:
				by_row.setdefault(p.instalment, []).append(i)

	rows = sorted(history.rows, key=lambda r: r.posting_date)
	promises = sorted(history.promises, key=lambda p: p.recorded_on)
	paid: dict[str, Decimal] = {}
	taken: dict[str, tuple[str, ...]] = {}
	plans: list[CyclePlan] = []
	# Only the rows whose next step has come due are planned on a day: the plan's actions are those
	# of planning every open row, at a fraction of the work. A row wakes on its due date plus the
	# (grace-adjusted) offset of its next step and stays awake while a hold keeps the step. With a
	# minimum overdue amount (a per-customer total), or a customer's promises and disputes (spread
	# over their items), all open rows of a customer with an awake row are planned with it.
	whole_customer = any(p.minimum_amount for p in book.policies.values())
	with_pauses = {p.customer for p in history.promises} | {d.customer for d in history.disputes}
	open_by_customer: dict[str, dict[str, HistoryRow]] = {}
	wake_of: dict[str, int] = {}
	wake_at: dict[int, list[str]] = {}  # day ordinal -> the rows whose next step comes due that day
	awake: set[str] = set()
	customer_of: dict[str, str] = {}
	seen: dict[str, Instalment] = {}  # the row as last planned: reused while nothing about it changed
	tracks: dict[tuple, tuple | None] = {}
	resolutions: dict = {}  # the planner's policy resolution, kept from day to day

	def next_wake(row: HistoryRow, codes: tuple[str, ...]) -> int | None:
		key = (row.policy, row.customer, row.company, row.track)
		if key not in tracks:
			choice = book.choose(row, history.customers.get(row.customer))
			policy = book.policies.get(choice.policy) if choice else None
			ts = policy.track(row.track) if policy is not None and policy.enabled else None
			tracks[key] = (ts.effective_offsets, ts.index_by_code) if ts is not None and ts.steps else None
		hit = tracks[key]
		if hit is None:
			return None
		offsets, index = hit
		# the replay takes a row's steps in rising order: the last one taken is its highest
		nxt = index.get(codes[-1], -1) + 1 if codes else 0
		return row.due_date.toordinal() + offsets[nxt] if nxt < len(offsets) else None

	def schedule_wake(row: HistoryRow, codes: tuple[str, ...], today: int) -> None:
		w = next_wake(row, codes)
		if w is None:
			wake_of.pop(row.id, None)
		elif w <= today:
			wake_of[row.id] = w
			awake.add(row.id)
		else:
			wake_of[row.id] = w
			wake_at.setdefault(w, []).append(row.id)

	live_promises: list[Promise] = []  # recorded by the day, until PROMISE_VISIBLE_DAYS after their date
	next_promise = 0
	visible = 0
	pulled = 0
	day = start
	n_day = 0
	while day <= end:
		day_ord = day.toordinal()
		while heap and heap[0][0] <= day_ord:
			_ord, seq, i = heapq.heappop(heap)
			if live_seq[i] != seq:
				continue
			p = payments[i]
			paid[p.instalment] = paid.get(p.instalment, ZERO) + p.amount
		while visible < len(rows) and rows[visible].posting_date <= day:
			r = rows[visible]
			open_by_customer.setdefault(r.customer, {})[r.id] = r
			customer_of[r.id] = r.customer
			schedule_wake(r, (), day_ord)
			visible += 1
		for rid in wake_at.pop(day_ord, ()):
			if wake_of.get(rid) == day_ord:
				awake.add(rid)
		# the awake rows, with every open row of a customer that must be planned whole
		candidates = []
		whole: set[str] = set()
		for rid in sorted(awake):
			customer = customer_of[rid]
			if whole_customer or customer in with_pauses:
				whole.add(customer)
			else:
				candidates.append((rid, open_by_customer[customer][rid]))
		for customer in sorted(whole):
			candidates.extend(open_by_customer[customer].items())
		instalments = []
		settled = []
		for rid, r in candidates:
			left = r.amount - paid.get(rid, ZERO)
			if left > 0:
				codes = taken.get(rid, ())
				inst = seen.get(rid)
				if inst is None or inst.outstanding != left or inst.taken is not codes:
					inst = seen[rid] = r.on(left, codes)
				instalments.append(inst)
			else:
				settled.append(rid)  # money only ever arrives earlier, never leaves: it stays settled
		for rid in settled:
			del open_by_customer[customer_of[rid]][rid]
			seen.pop(rid, None)
			awake.discard(rid)
			wake_of.pop(rid, None)
		while next_promise < len(promises) and promises[next_promise].recorded_on <= day:
			live_promises.append(promises[next_promise])
			next_promise += 1
		if live_promises:
			live_promises = [
				p for p in live_promises if p.promised_date + timedelta(days=PROMISE_VISIBLE_DAYS) >= day
			]
		plan = plan_cycle(
			instalments,
			day,
			book,
			history.customers,
			live_promises,
			history.disputes,
			resolutions=resolutions,
		)
		plans.append(plan)
		for a in plan.actions:
			rid = a.instalment.id
			taken[rid] = (*taken.get(rid, ()), a.step.code)
			awake.discard(rid)
			schedule_wake(open_by_customer[a.instalment.customer][rid], taken[rid], day_ord)
		if respond is not None:
			for row, when in respond(day, plan):
				for i in by_row.get(row, ()):
					if day_of[i] > when.toordinal():
						day_of[i] = when.toordinal()
						payments[i] = Payment(payments[i].instalment, when, payments[i].amount)
						live_seq[i] = next_seq
						heapq.heappush(heap, (day_of[i], next_seq, i))
						next_seq += 1
						pulled += 1
		n_day += 1
		if progress:
			progress(n_day)
		day += timedelta(days=1)
	return Replay(start, end, plans, taken, payments, pulled)


def week_of(day: date) -> date:
	return day - timedelta(days=day.weekday())


def summarize(
	result: Replay, history: History, paid_within: int = PAID_WITHIN_DAYS, policy_steps: Sequence = ()
) -> dict:
	"""The figures of a backtest as plain data (dates as ISO strings), the same for every caller.

	``policy_steps`` (the steps of the policy, in order) decides the order of ``items_by_step`` and
	counts a step skipped by catch-up as reached when a later step was taken."""
	with _collector_paused():
		return _summarize(result, history, paid_within, policy_steps)


def _summarize(result: Replay, history: History, paid_within: int, policy_steps: Sequence) -> dict:
	# When each row was paid in full (after the replay's own payment dates).
	amount = {r.id: r.amount for r in history.rows}
	settled: dict[str, date] = {}
	running: dict[str, Decimal] = {}
	for p in sorted(result.payments, key=lambda p: (p.posting_date, p.instalment)):
		if p.instalment in settled:
			continue
		running[p.instalment] = running.get(p.instalment, ZERO) + p.amount
		if p.instalment in amount and running[p.instalment] >= amount[p.instalment]:
			settled[p.instalment] = p.posting_date

	weeks: dict[tuple[str, str, str], int] = {}
	by_step: dict[tuple[str, str], list[int]] = {}
	customers: set[str] = set()
	messages = lines = reminded = paid_soon = approvals = 0
	holds: dict[str, int] = {}
	evaluated = 0
	for plan in result.plans:
		evaluated += plan.evaluated
		for h in plan.holds:
			holds[h.reason.value] = holds.get(h.reason.value, 0) + 1
		week = week_of(plan.on).isoformat()
		for m in plan.messages:
			delivery = m.delivery_channel
			channel = delivery.value
			messages += 1
			lines += len(m.actions)
			customers.add(m.customer)
			if m.needs_approval:
				approvals += 1
			k = (week, m.lead.code, channel)
			weeks[k] = weeks.get(k, 0) + 1
			counts = by_step.setdefault((m.lead.code, channel), [0, 0])
			counts[0] += 1
			counts[1] += len(m.actions)
			if delivery == Channel.TASK:
				continue
			for a in m.actions:
				reminded += 1
				paid_on = settled.get(a.instalment.id)
				if paid_on is not None and 0 < (paid_on - plan.on).days <= paid_within:
					paid_soon += 1

	order = [s.code for s in policy_steps]
	index = {code: i for i, code in enumerate(order)}
	reached: dict[str, int] = dict.fromkeys(order, 0)
	for codes in result.taken.values():
		if order:
			top = max((index.get(c, -1) for c in codes), default=-1)
			for code in order[: top + 1]:
				reached[code] += 1
		else:
			for code in set(codes):
				reached[code] = reached.get(code, 0) + 1
	return {
		"period": {"from": result.start.isoformat(), "to": result.end.isoformat()},
		"days": len(result.plans),
		"invoices": len({r.invoice for r in history.rows}),
		"schedule_rows": len(history.rows),
		"evaluations": evaluated,
		"messages": messages,
		"item_lines": lines,
		"approvals_requested": approvals,
		"customers_touched": len(customers),
		"items_touched": len(result.taken),
		"messages_by_week": [
			{"week": w, "step": s, "channel": c, "messages": n} for (w, s, c), n in sorted(weeks.items())
		],
		"messages_by_step": [
			{"step": s, "channel": c, "messages": n[0], "items": n[1]}
			for (s, c), n in sorted(by_step.items())
		],
		"items_by_step": [{"step": code, "items": n} for code, n in reached.items()],
		"reminders_sent": reminded,
		"paid_within_days": paid_within,
		"reminders_paid_soon": paid_soon,
		"paid_soon_share": round(paid_soon / reminded, 4) if reminded else 0.0,
		"holds": dict(sorted(holds.items())),
	}


def backtest(
	history: History,
	book: PolicyBook,
	start: date,
	end: date,
	progress: Callable[[int], None] | None = None,
	paid_within: int = PAID_WITHIN_DAYS,
	policy: str | None = None,
) -> dict:
	"""Replays ``history`` and summarizes it; ``policy`` names the book's policy whose steps order
	the items-by-step figures (default: the only or first policy)."""
	result = replay(history, book, start, end, progress=progress)
	chosen = book.policies.get(policy) if policy else next(iter(book.policies.values()))
	return summarize(result, history, paid_within, chosen.steps if chosen is not None else ())
