"""Allocation of an advance (a received payment) to invoice payment-schedule rows.

Rules: earliest due first; matching payment term first (then earliest due); proportional to each
row's outstanding; or by hand. Invariants, whatever the rule: no row gets more than its
outstanding, the total never exceeds the advance's unallocated amount, no amount is negative, and
all rows share the advance's currency.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum

from dunning_plus.engine.errors import AllocationError, CurrencyMismatchError, _
from dunning_plus.engine.money import ZERO, to_money


class AllocationRule(StrEnum):
	EARLIEST_DUE = "earliest_due"
	MATCHING_TERM = "matching_term"
	PROPORTIONAL = "proportional"
	MANUAL = "manual"


@dataclass(frozen=True)
class Advance:
	name: str
	unallocated: Decimal
	currency: str
	payment_terms: tuple[str, ...] = ()  # the terms the advance was received for, if any
	customer: str | None = None


@dataclass(frozen=True)
class ScheduleRow:
	id: str
	invoice: str
	due_date: date
	outstanding: Decimal
	currency: str
	payment_term: str = ""
	customer: str | None = None


@dataclass(frozen=True)
class Allocation:
	row: ScheduleRow
	amount: Decimal


def allocate(
	advance: Advance,
	rows: Iterable[ScheduleRow],
	rule: AllocationRule | str = AllocationRule.EARLIEST_DUE,
	amount: Decimal | None = None,
	manual: Mapping[str, Decimal] | None = None,
	precision: int = 2,
) -> list[Allocation]:
	"""Allocates up to ``amount`` (default: all that is unallocated) of ``advance`` to ``rows``."""
	rule = AllocationRule(rule)
	rows = list(rows)
	_check(advance, rows)
	budget = advance.unallocated if amount is None else to_money(amount, precision)
	if budget < 0:
		raise AllocationError(_("The amount to allocate cannot be negative."))
	if budget > advance.unallocated:
		raise AllocationError(
			_("Cannot allocate {0}: payment {1} has only {2} unallocated."),
			budget,
			advance.name,
			advance.unallocated,
		)
	if rule == AllocationRule.MANUAL:
		out = _manual(advance, rows, manual or {}, precision)
		total = sum((a.amount for a in out), ZERO)
		if amount is not None and total > budget:
			raise AllocationError(
				_("The allocations add up to {0} but only {1} of payment {2} is to be allocated."),
				total,
				budget,
				advance.name,
			)
		return out
	open_rows = [r for r in rows if r.outstanding > 0]
	if rule == AllocationRule.PROPORTIONAL:
		return _proportional(open_rows, budget, precision)
	ordered = sorted(open_rows, key=lambda r: (r.due_date, r.invoice, r.id))
	if rule == AllocationRule.MATCHING_TERM:
		terms = set(advance.payment_terms)
		ordered = [r for r in ordered if r.payment_term in terms] + [
			r for r in ordered if r.payment_term not in terms
		]
	return _sequential(ordered, budget)


def _check(advance: Advance, rows: list[ScheduleRow]) -> None:
	if advance.unallocated < 0:
		raise AllocationError(_("Payment {0} has a negative unallocated amount."), advance.name)
	seen = set()
	for r in rows:
		if r.id in seen:
			raise AllocationError(_("Payment schedule row {0} is listed twice."), r.id)
		seen.add(r.id)
		if r.currency != advance.currency:
			raise CurrencyMismatchError(
				_("Invoice {0} is in {1} but payment {2} is in {3}: allocate within one currency."),
				r.invoice,
				r.currency,
				advance.name,
				advance.currency,
			)
		if advance.customer and r.customer and r.customer != advance.customer:
			raise AllocationError(
				_("Invoice {0} belongs to customer {1}, not to {2} who made payment {3}."),
				r.invoice,
				r.customer,
				advance.customer,
				advance.name,
			)
		if r.outstanding < 0:
			raise AllocationError(_("Payment schedule row {0} has a negative outstanding."), r.id)


def _sequential(rows: list[ScheduleRow], budget: Decimal) -> list[Allocation]:
	out = []
	for r in rows:
		if budget <= 0:
			break
		take = min(budget, r.outstanding)
		out.append(Allocation(r, take))
		budget -= take
	return out


def _proportional(rows: list[ScheduleRow], budget: Decimal, precision: int) -> list[Allocation]:
	total = sum((r.outstanding for r in rows), ZERO)
	if total <= 0 or budget <= 0:
		return []
	if budget >= total:
		return [Allocation(r, r.outstanding) for r in rows]
	unit = Decimal(1).scaleb(-precision)
	# Largest remainder: round every share down, then hand out the leftover units one by one.
	shares = []
	for r in rows:
		exact = budget * r.outstanding / total
		floor = exact.quantize(unit, rounding=ROUND_DOWN)
		shares.append([r, floor, exact - floor])
	left = budget - sum((s[1] for s in shares), ZERO)
	for s in sorted(shares, key=lambda s: (-s[2], s[0].due_date, s[0].id)):
		if left < unit:
			break
		if s[1] + unit <= s[0].outstanding:
			s[1] += unit
			left -= unit
	return [Allocation(r, amt) for r, amt, _rem in shares if amt > 0]


def _manual(
	advance: Advance, rows: list[ScheduleRow], manual: Mapping[str, Decimal], precision: int
) -> list[Allocation]:
	by_id = {r.id: r for r in rows}
	out = []
	total = ZERO
	for row_id, raw in manual.items():
		row = by_id.get(row_id)
		if row is None:
			raise AllocationError(_("Payment schedule row {0} is not open for this customer."), row_id)
		amt = to_money(raw, precision)
		if amt < 0:
			raise AllocationError(_("The amount allocated to {0} cannot be negative."), row.invoice)
		if amt > row.outstanding:
			raise AllocationError(
				_("Cannot allocate {0} to {1} ({2}): only {3} is outstanding."),
				amt,
				row.invoice,
				row.payment_term or row.id,
				row.outstanding,
			)
		total += amt
		if amt:
			out.append(Allocation(row, amt))
	validate_total(advance, total)
	return out


def validate_total(advance: Advance, total: Decimal) -> None:
	if total > advance.unallocated:
		raise AllocationError(
			_("The allocations add up to {0} but payment {1} has only {2} unallocated."),
			total,
			advance.name,
			advance.unallocated,
		)


def validate_allocations(advance: Advance, allocations: Iterable[tuple[ScheduleRow, Decimal]]) -> Decimal:
	"""Checks hand-edited allocations (rows, amounts); returns their total."""
	pairs = list(allocations)
	_check(advance, [r for r, _a in pairs])
	total = ZERO
	for row, amt in pairs:
		if amt < 0:
			raise AllocationError(_("The amount allocated to {0} cannot be negative."), row.invoice)
		if amt > row.outstanding:
			raise AllocationError(
				_("Cannot allocate {0} to {1} ({2}): only {3} is outstanding."),
				amt,
				row.invoice,
				row.payment_term or row.id,
				row.outstanding,
			)
		total += amt
	validate_total(advance, total)
	return total
