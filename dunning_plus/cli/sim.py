"""The daily collection cycle over a ledger, day by day: the same engine the ERPNext scheduler runs.

Each day: payments and credit notes dated that day are applied, the engine plans the due steps,
the steps are recorded as taken (so a rerun of the day sends nothing new) and, in the demo, the
response model lets reminded customers pay some items earlier.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from dunning_plus.cli.ledger import Ledger, PaymentDoc
from dunning_plus.engine.cadence import CyclePlan, Instalment, PolicyBook, plan_cycle
from dunning_plus.engine.errors import LedgerError, _
from dunning_plus.engine.money import ZERO
from dunning_plus.engine.policy import Channel
from dunning_plus.engine.precedence import Block, BlockScope
from dunning_plus.engine.promises import Payment


@dataclass
class SimResult:
	start: date
	end: date
	actions: list[tuple] = field(default_factory=list)  # rows for the store's actions table
	messages: list[tuple] = field(default_factory=list)
	runs: list[tuple] = field(default_factory=list)
	taken: dict[str, tuple[str, ...]] = field(default_factory=dict)
	sent: list[tuple[str, date, tuple[str, ...]]] = field(default_factory=list)  # (key, day, items)
	by_step: dict[tuple[str, str], list[int]] = field(
		default_factory=dict
	)  # (step, channel) -> [msgs, items]
	holds: dict[str, int] = field(default_factory=dict)
	evaluated: int = 0
	pulled_forward: int = 0
	pending_approval: int = 0

	def as_store_results(self) -> dict:
		return {"actions": self.actions, "messages": self.messages, "runs": self.runs}


def book_of(ledger: Ledger) -> PolicyBook:
	return PolicyBook(
		policies=ledger.policies,
		company_defaults={ledger.company: ledger.company_default} if ledger.company_default else {},
		segment_policies=ledger.segment_policies,
	)


def simulate(
	ledger: Ledger,
	start: date,
	end: date,
	respond: Callable[[str], tuple[float, bool]] | None = None,
	seed: int = 42,
	progress: Callable[[int], None] | None = None,
	book: PolicyBook | None = None,
) -> SimResult:
	"""Runs the cycle for every day from ``start`` to ``end`` inclusive.

	``respond(customer) -> (responsiveness, _)`` turns on the demo's response model and rewrites the
	ledger's payment dates accordingly; without it the ledger is only read (a backtest).
	"""
	if end < start:
		raise LedgerError(_("The simulation ends ({0}) before it starts ({1})."), end, start)
	book = book or book_of(ledger)
	if not book.policies:
		raise LedgerError(_("The ledger has no dunning policy to simulate."))
	res = SimResult(start, end)
	profiles = ledger.profiles()

	# Payment events in a heap; an event moved earlier by the response model is re-pushed and
	# its old entry is ignored when popped (its seq no longer matches).
	events: list[list] = []  # [day_ordinal, doc, Payment], index = event id
	live_seq: list[int] = []  # event id -> seq of its live heap entry
	heap: list[tuple[int, int, int]] = []  # (day_ordinal, seq, event id)
	for i, (doc, p) in enumerate(ledger.applied):
		events.append([p.posting_date.toordinal(), doc, p])
		live_seq.append(i)
		heap.append((p.posting_date.toordinal(), i, i))
	heapq.heapify(heap)
	pending_by_row: dict[str, list[int]] = {}
	for i, (doc, p) in enumerate(ledger.applied):
		if ledger.payments.get(doc) is None or ledger.payments[doc].kind == "Payment Entry":
			pending_by_row.setdefault(p.instalment, []).append(i)
	next_seq = len(events)

	paid: dict[str, Decimal] = {}
	rows = sorted(ledger.rows.values(), key=lambda r: r.posting_date)
	visible = 0
	blocks = {
		inv.name: Block(BlockScope.INVOICE, inv.name, inv.block_reason, inv.block_until)
		for inv in ledger.invoices.values()
		if inv.block_reason
	}
	policies_of = {inv.name: inv.policy for inv in ledger.invoices.values() if inv.policy}
	promises = sorted(ledger.promises, key=lambda p: p.recorded_on)
	taken = res.taken

	day = start
	n_day = 0
	while day <= end:
		day_ord = day.toordinal()
		while heap and heap[0][0] <= day_ord:
			_ord, seq, i = heapq.heappop(heap)
			if live_seq[i] != seq:
				continue
			p = events[i][2]
			paid[p.instalment] = paid.get(p.instalment, ZERO) + p.amount
		while visible < len(rows) and rows[visible].posting_date <= day:
			visible += 1
		instalments = []
		for r in rows[:visible]:
			left = r.amount - paid.get(r.id, ZERO)
			if left <= 0:
				continue
			instalments.append(
				r.instalment(left, policies_of.get(r.invoice), blocks.get(r.invoice), taken.get(r.id, ()))
			)
		live_promises = [
			p for p in promises if p.recorded_on <= day and p.promised_date + timedelta(days=60) >= day
		]
		plan = plan_cycle(instalments, day, book, profiles, live_promises, ledger.disputes)
		_record(res, plan, day)
		for a in plan.actions:
			taken[a.instalment.id] = (*taken.get(a.instalment.id, ()), a.step.code)

		if respond is not None:
			for m in plan.messages:
				if m.channel == Channel.TASK and m.lead.kind.value != "escalation":
					continue
				chance, _x = respond(m.customer)
				rng = random.Random(f"{seed}:{m.key}")
				if rng.random() >= chance:
					continue
				when = day + timedelta(days=rng.randint(2, 10))
				for a in m.actions:
					for i in pending_by_row.get(a.instalment.id, ()):
						ev = events[i]
						if ev[0] > when.toordinal():
							# Move the payment earlier; its old heap entry goes stale.
							ev[0] = when.toordinal()
							ev[2] = Payment(ev[2].instalment, when, ev[2].amount)
							live_seq[i] = next_seq
							heapq.heappush(heap, (ev[0], next_seq, i))
							next_seq += 1
							res.pulled_forward += 1
		n_day += 1
		if progress:
			progress(n_day)
		day += timedelta(days=1)

	if respond is not None:
		_rewrite_payments(ledger, events)
	return res


def _record(res: SimResult, plan: CyclePlan, day: date) -> None:
	res.evaluated += plan.evaluated
	iso = day.isoformat()
	for m in plan.messages:
		for a in m.actions:
			res.actions.append(
				(
					a.key,
					iso,
					a.instalment.customer,
					a.instalment.id,
					a.step.code,
					a.step.channel.value,
					str(a.amount),
					",".join(a.skipped),
					m.key,
				)
			)
		res.messages.append(
			(
				m.key,
				iso,
				m.customer,
				m.channel.value,
				m.lead.code,
				len(m.actions),
				str(m.total),
				str(m.fee),
				m.template,
				int(m.needs_approval),
			)
		)
		k = (m.lead.code, m.delivery_channel.value)
		counts = res.by_step.setdefault(k, [0, 0])
		counts[0] += 1
		counts[1] += len(m.actions)
		if m.needs_approval:
			res.pending_approval += 1
		if m.delivery_channel != Channel.TASK:
			res.sent.append((m.key, day, tuple(a.instalment.id for a in m.actions)))
	for h in plan.holds:
		res.holds[h.reason.value] = res.holds.get(h.reason.value, 0) + 1
	res.runs.append((iso, plan.evaluated, len(plan.actions), len(plan.messages), len(plan.holds)))


def _rewrite_payments(ledger: Ledger, events: list[list]) -> None:
	"""Writes the response model's new payment dates back into the ledger."""
	applied = []
	for _ord, doc, p in events:
		applied.append((doc, p))
		pd = ledger.payments.get(doc)
		if pd is not None and pd.posting_date != p.posting_date:
			ledger.payments[doc] = PaymentDoc(
				pd.name, pd.customer, p.posting_date, pd.amount, pd.currency, pd.kind
			)
	applied.sort(key=lambda a: (a[1].posting_date, a[0]))
	ledger.applied = applied
