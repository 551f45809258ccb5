"""Expected vs actual collections per period, and a 13-week cash projection.

Expected in a period = the outstanding, at the start of the period, of instalments whose effective
date falls in it; the effective date is the promised date while a promise is pending, else the
due date. Actual = payments applied to instalments, dated in the period.

The projection puts each open instalment in the week it is expected to be paid: a pending
promise's date, else due date + the customer's own average days late (the fallback average for a
customer with no history). Anything expected before the start lands in week 1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from dunning_plus.engine.errors import EngineError, _
from dunning_plus.engine.money import ZERO
from dunning_plus.engine.promises import Payment, Promise, PromiseStatus


@dataclass(frozen=True, slots=True)
class ScheduleLine:
	instalment: str
	customer: str
	due_date: date
	amount: Decimal  # the instalment's amount (positive)


@dataclass(frozen=True)
class Period:
	label: str
	start: date
	end: date  # inclusive


@dataclass
class PeriodRow:
	period: Period
	group: str | None
	expected: Decimal = ZERO
	actual: Decimal = ZERO

	@property
	def variance(self) -> Decimal:
		return self.actual - self.expected

	@property
	def ratio(self) -> float | None:
		return float(self.actual / self.expected) if self.expected else None


def periods_between(start: date, end: date, by: str = "month") -> list[Period]:
	if end < start:
		raise EngineError(_("The period ends ({0}) before it starts ({1})."), end, start)
	out = []
	if by == "week":
		cur = start - timedelta(days=start.weekday())
		while cur <= end:
			iso = cur.isocalendar()
			out.append(Period(f"{iso[0]}-W{iso[1]:02d}", cur, cur + timedelta(days=6)))
			cur += timedelta(days=7)
		return out
	if by != "month":
		raise EngineError(_("Periods are by week or by month, not {0}."), by)
	y, m = start.year, start.month
	while date(y, m, 1) <= end:
		first = date(y, m, 1)
		nxt = date(y + (m == 12), m % 12 + 1, 1)
		out.append(Period(f"{y}-{m:02d}", first, nxt - timedelta(days=1)))
		y, m = nxt.year, nxt.month
	return out


def effective_dates(lines: Iterable[ScheduleLine], promises: Iterable[Promise]) -> dict[str, date]:
	dates = {ln.instalment: ln.due_date for ln in lines}
	for p in promises:
		if p.status != PromiseStatus.PENDING:
			continue
		for item in p.items:
			if item in dates:
				dates[item] = p.promised_date
	return dates


def expected_vs_actual(
	lines: Iterable[ScheduleLine],
	payments: Iterable[Payment],
	periods: list[Period],
	promises: Iterable[Promise] = (),
	group_of: Callable[[str], str | None] | None = None,
) -> list[PeriodRow]:
	"""Expected and actual collections per period (and per group, when ``group_of`` is given)."""
	lines = list(lines)
	eff = effective_dates(lines, promises)
	paid_by_item: dict[str, list[Payment]] = {}
	for p in payments:
		paid_by_item.setdefault(p.instalment, []).append(p)
	rows: dict[tuple[str, str | None], PeriodRow] = {}

	def row(period: Period, group: str | None) -> PeriodRow:
		k = (period.label, group)
		r = rows.get(k)
		if r is None:
			r = rows[k] = PeriodRow(period, group)
		return r

	starts = [p.start for p in periods]
	from bisect import bisect_right

	def find(day: date) -> Period | None:
		i = bisect_right(starts, day) - 1
		if i >= 0 and day <= periods[i].end:
			return periods[i]
		return None

	for ln in lines:
		grp = group_of(ln.instalment) if group_of else None
		pays = paid_by_item.get(ln.instalment, ())
		when = eff[ln.instalment]
		period = find(when)
		if period is not None:
			paid_before = sum((p.amount for p in pays if p.posting_date < period.start), ZERO)
			open_amt = ln.amount - paid_before
			if open_amt > 0:
				row(period, grp).expected += open_amt
		for p in pays:
			pp = find(p.posting_date)
			if pp is not None and p.amount > 0:
				row(pp, grp).actual += p.amount
	order = {p.label: i for i, p in enumerate(periods)}
	for period in periods:
		if not group_of:
			row(period, None)
	return sorted(rows.values(), key=lambda r: (order[r.period.label], r.group or ""))


@dataclass(frozen=True, slots=True)
class OpenItem:
	instalment: str
	customer: str
	due_date: date
	outstanding: Decimal


@dataclass
class WeekRow:
	week: int  # 1..weeks; weeks + 1 = later
	start: date
	end: date | None
	amount: Decimal = ZERO
	items: int = 0


def project_cash(
	items: Iterable[OpenItem],
	as_of: date,
	days_late: Mapping[str, float],
	promises: Iterable[Promise] = (),
	weeks: int = 13,
	fallback_days_late: float | None = None,
) -> list[WeekRow]:
	"""Expected receipts per week for ``weeks`` weeks from ``as_of``, plus a final "later" row."""
	if weeks < 1:
		raise EngineError(_("A projection needs at least one week."))
	items = list(items)
	if fallback_days_late is None:
		fallback_days_late = sum(days_late.values()) / len(days_late) if days_late else 0.0
	promised: dict[str, date] = {}
	for p in promises:
		if p.status == PromiseStatus.PENDING:
			for it in p.items:
				promised[it] = p.promised_date
	rows = [
		WeekRow(i + 1, as_of + timedelta(days=7 * i), as_of + timedelta(days=7 * i + 6)) for i in range(weeks)
	]
	later = WeekRow(weeks + 1, as_of + timedelta(days=7 * weeks), None)
	for it in items:
		if it.outstanding <= 0:
			continue
		when = promised.get(it.instalment)
		if when is None:
			lag = days_late.get(it.customer, fallback_days_late)
			when = it.due_date + timedelta(days=round(lag))
		idx = max((when - as_of).days, 0) // 7
		target = rows[idx] if idx < weeks else later
		target.amount += it.outstanding
		target.items += 1
	return [*rows, later]
