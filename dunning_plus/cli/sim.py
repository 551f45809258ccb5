"""The daily collection cycle over a ledger, day by day: the same engine the ERPNext scheduler runs.

Each day: payments and credit notes dated that day are applied, the engine plans the due steps,
the steps are recorded as taken (so a rerun of the day sends nothing new) and, in the demo, the
response model lets reminded customers pay some items earlier.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from dunning_plus.cli.ledger import Ledger, PaymentDoc
from dunning_plus.engine.backtest import History, HistoryRow, Replay, replay
from dunning_plus.engine.cadence import CyclePlan, PolicyBook
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
	history: History | None = None
	replay: Replay | None = None

	def as_store_results(self) -> dict:
		return {"actions": self.actions, "messages": self.messages, "runs": self.runs}


def book_of(ledger: Ledger) -> PolicyBook:
	return PolicyBook(
		policies=ledger.policies,
		company_defaults={ledger.company: ledger.company_default} if ledger.company_default else {},
		segment_policies=ledger.segment_policies,
	)


def history_of(ledger: Ledger) -> History:
	"""The ledger as the engine's backtest history (invoice overrides and blocks included)."""
	blocks = {
		inv.name: Block(BlockScope.INVOICE, inv.name, inv.block_reason, inv.block_until)
		for inv in ledger.invoices.values()
		if inv.block_reason
	}
	policies_of = {inv.name: inv.policy for inv in ledger.invoices.values() if inv.policy}
	rows = [
		HistoryRow(
			id=r.id,
			invoice=r.invoice,
			customer=r.customer,
			company=r.company,
			due_date=r.due_date,
			amount=r.amount,
			posting_date=r.posting_date,
			currency=r.currency,
			payment_term=r.payment_term,
			track=r.track,
			policy=policies_of.get(r.invoice),
			block=blocks.get(r.invoice),
		)
		for r in ledger.rows.values()
	]
	movable = [
		ledger.payments.get(doc) is None or ledger.payments[doc].kind == "Payment Entry"
		for doc, _p in ledger.applied
	]
	return History(
		rows=rows,
		payments=[p for _doc, p in ledger.applied],
		customers=ledger.profiles(),
		promises=list(ledger.promises),
		disputes=list(ledger.disputes),
		movable=movable,
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
	"""Runs the cycle for every day from ``start`` to ``end`` inclusive (``engine.backtest.replay``).

	``respond(customer) -> (responsiveness, _)`` turns on the demo's response model and rewrites the
	ledger's payment dates accordingly; without it the ledger is only read (a backtest).
	"""
	if end < start:
		raise LedgerError(_("The simulation ends ({0}) before it starts ({1})."), end, start)
	book = book or book_of(ledger)
	if not book.policies:
		raise LedgerError(_("The ledger has no dunning policy to simulate."))
	res = SimResult(start, end)
	history = history_of(ledger)

	def pull_forward(day: date, plan: CyclePlan):
		"""A reminded customer pays the message's items 2 to 10 days later, with their chance."""
		for m in plan.messages:
			if m.channel == Channel.TASK and m.lead.kind.value != "escalation":
				continue
			chance, _x = respond(m.customer)
			rng = random.Random(f"{seed}:{m.key}")
			if rng.random() >= chance:
				continue
			when = day + timedelta(days=rng.randint(2, 10))
			for a in m.actions:
				yield a.instalment.id, when

	result = replay(history, book, start, end, progress=progress, respond=pull_forward if respond else None)
	for plan in result.plans:
		_record(res, plan, plan.on)
	res.taken.update(result.taken)
	res.pulled_forward = result.pulled_forward
	res.history, res.replay = history, result
	if respond is not None:
		_rewrite_payments(ledger, result.payments)
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


def _rewrite_payments(ledger: Ledger, payments: list[Payment]) -> None:
	"""Writes the response model's new payment dates back into the ledger."""
	applied = []
	for (doc, _old), p in zip(ledger.applied, payments, strict=True):
		applied.append((doc, p))
		pd = ledger.payments.get(doc)
		if pd is not None and pd.posting_date != p.posting_date:
			ledger.payments[doc] = PaymentDoc(
				pd.name, pd.customer, p.posting_date, pd.amount, pd.currency, pd.kind
			)
	applied.sort(key=lambda a: (a[1].posting_date, a[0]))
	ledger.applied = applied
