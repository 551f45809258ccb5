"""Promises to pay and disputes: what they pause, when a promise is kept or broken.

- A pending promise pauses the items it covers until its date plus grace days.
- Kept: payments on the covered items dated on or before the promised date reach the promised amount.
- Broken: the promised date plus grace has passed and it was not kept. Broken promises go to a
  person and the cadence resumes.
- An open dispute takes its amount out of dunning; an item whose whole outstanding is disputed is
  paused (when the policy pauses on dispute).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from dunning_plus.engine.errors import EngineError, _
from dunning_plus.engine.money import ZERO


class PromiseStatus(StrEnum):
	PENDING = "pending"
	KEPT = "kept"
	BROKEN = "broken"
	CANCELLED = "cancelled"


class DisputeStatus(StrEnum):
	OPEN = "open"
	RESOLVED = "resolved"
	REJECTED = "rejected"


@dataclass(frozen=True)
class Payment:
	"""Money applied to one instalment on a date (a payment, a credit note, a journal entry)."""

	instalment: str
	posting_date: date
	amount: Decimal


@dataclass(frozen=True)
class Promise:
	name: str
	customer: str
	promised_date: date
	amount: Decimal
	items: tuple[str, ...]
	recorded_on: date
	status: PromiseStatus = PromiseStatus.PENDING
	recorded_by: str | None = None

	def __post_init__(self):
		if self.amount <= 0:
			raise EngineError(_("A promise to pay needs an amount above zero."))
		if not self.items:
			raise EngineError(_("A promise to pay must cover at least one item."))
		if self.promised_date < self.recorded_on:
			raise EngineError(
				_("The promised date {0} is before the day the promise was recorded ({1})."),
				self.promised_date,
				self.recorded_on,
			)


@dataclass(frozen=True)
class Dispute:
	name: str
	customer: str
	amount: Decimal
	items: tuple[str, ...]
	opened_on: date
	reason: str = ""
	status: DisputeStatus = DisputeStatus.OPEN
	resolved_on: date | None = None
	owner: str | None = None

	def __post_init__(self):
		if self.amount <= 0:
			raise EngineError(_("A dispute needs a disputed amount above zero."))
		if not self.items:
			raise EngineError(_("A dispute must name at least one disputed item."))
		if self.resolved_on and self.resolved_on < self.opened_on:
			raise EngineError(_("A dispute cannot be resolved before it was opened."))

	def open_on(self, day: date) -> bool:
		if day < self.opened_on:
			return False
		if self.status == DisputeStatus.OPEN:
			return True
		return self.resolved_on is not None and day < self.resolved_on


def paid_towards(promise: Promise, payments: Iterable[Payment], by: date) -> Decimal:
	items = set(promise.items)
	return sum(
		(
			p.amount
			for p in payments
			if p.instalment in items and promise.recorded_on <= p.posting_date <= by and p.amount > 0
		),
		ZERO,
	)


def promise_status(
	promise: Promise, payments: Iterable[Payment], on: date, grace_days: int = 0
) -> PromiseStatus:
	"""The status of a promise on ``on``, from the payments made against the items it covers."""
	if promise.status == PromiseStatus.CANCELLED:
		return PromiseStatus.CANCELLED
	payments = list(payments)
	if paid_towards(promise, payments, min(on, promise.promised_date)) >= promise.amount:
		return PromiseStatus.KEPT
	if on > promise.promised_date + timedelta(days=grace_days):
		return PromiseStatus.BROKEN
	return PromiseStatus.PENDING


def promise_pauses(promise: Promise, on: date, grace_days: int = 0) -> bool:
	return promise.status == PromiseStatus.PENDING and on <= promise.promised_date + timedelta(
		days=grace_days
	)


def promised_until(promises: Iterable[Promise], on: date, grace_days: int = 0) -> dict[str, date]:
	"""For each item covered by a pending promise in force on ``on``: the day its pause ends."""
	out: dict[str, date] = {}
	for p in promises:
		if p.recorded_on <= on and promise_pauses(p, on, grace_days):
			end = p.promised_date + timedelta(days=grace_days)
			for item in p.items:
				if item not in out or out[item] < end:
					out[item] = end
	return out


def disputed_amounts(
	disputes: Iterable[Dispute], outstanding: Mapping[str, Decimal], on: date
) -> dict[str, Decimal]:
	"""The amount under open dispute per item on ``on``.

	A dispute over several items spreads its amount over them in the order given, each up to its
	outstanding; several disputes on one item add up, capped at the item's outstanding.
	"""
	out: dict[str, Decimal] = {}
	for d in disputes:
		if not d.open_on(on):
			continue
		left = d.amount
		for item in d.items:
			if left <= 0:
				break
			room = outstanding.get(item, ZERO) - out.get(item, ZERO)
			take = min(left, room)
			if take > 0:
				out[item] = out.get(item, ZERO) + take
				left -= take
	return out


@dataclass
class PromiseOutcome:
	promise: Promise
	status: PromiseStatus
	paid: Decimal = ZERO
	changed: bool = False
	notes: list[str] = field(default_factory=list)


def review_promises(
	promises: Iterable[Promise], payments: Iterable[Payment], on: date, grace_days: int = 0
) -> list[PromiseOutcome]:
	"""Re-evaluates pending promises on ``on``: which became kept, which broke (to escalate)."""
	payments = list(payments)
	outcomes = []
	for p in promises:
		if p.status != PromiseStatus.PENDING:
			continue
		status = promise_status(p, payments, on, grace_days)
		outcomes.append(
			PromiseOutcome(
				promise=p,
				status=status,
				paid=paid_towards(p, payments, min(on, p.promised_date)),
				changed=status != p.status,
			)
		)
	return outcomes
