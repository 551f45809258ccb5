"""Expected vs actual collections per period, and a 13-week cash projection.

Expected vs actual, over a window cut into periods (weeks or months, the first and last clipped to
the window): expected in a period = the outstanding, at the start of the window, of instalments
whose effective date falls in the period; the effective date is the promised date while a promise
is pending, else the due date. Actual = payments applied to instalments, dated in the period.
Measuring what is expected at the start of the window, not of each period, makes the totals of a
window the same whatever the periods: a payment inside the window is collected, not un-expected.

The projection (``project_cash``) sorts every open instalment into one of four places:

1. Disputed: the part under open dispute is not expected until the dispute is resolved.
2. At risk: an instalment whose promise was broken (and carries no pending promise), or that is
   more than ``at_risk_days`` past due and past the date its customer usually pays.
3. A week (or "later", past the horizon): a pending promise's date when it is still ahead; else the
   customer's usual date, due date + the customer's own average days late (customers without
   history take the average of those with one), when that is still ahead.
4. Past its usual date but not yet at risk: expected now (week 1) with a probability that falls
   in a straight line from 1 on the customer's usual date to 0 on the day it turns at risk; the
   rest is at risk. A customer who usually pays 60 days late is, at 70 days, far likelier to pay
   than one who usually pays on time.
Every open amount lands in exactly one place: the rows add up to the open receivables.

Payment plans (``PlanSchedule``): the items an active plan covers are expected on the plan's
instalment dates, not their own. What the covered items still owe is the plan's open part: what was
paid on them since the plan began fills the plan instalments earliest first (``engine.plans``), so
each open plan instalment is expected on its date (in week 1 once its date has passed: an active
plan is within its grace). In expected vs actual, what the covered items still owed at the window's
start is expected on the plan dates in the window. Items of a broken plan are at risk in the
projection, like those of a broken promise; a cancelled plan changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from dunning_plus.engine.errors import EngineError, _
from dunning_plus.engine.money import ZERO, to_money
from dunning_plus.engine.plans import PlanInstalment, allocate_paid, paid_toward
from dunning_plus.engine.promises import Dispute, Payment, Promise, PromiseStatus, disputed_amounts


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


@dataclass(frozen=True)
class PlanSchedule:
	"""A payment plan as the forecasts see it: the items it covers and its instalments."""

	plan: str
	customer: str
	covered: Decimal  # what the covered items owed when the plan was offered
	items: tuple[str, ...]  # the covered instalments (schedule rows, deposits)
	instalments: tuple[tuple[str, date, Decimal], ...]  # (id, date, amount)
	broken: bool = False


def plan_open(
	plan: PlanSchedule, owed: Decimal, placeable: Decimal | None = None
) -> list[tuple[str, date, Decimal]]:
	"""The open part of each plan instalment, earliest first, when the covered items still owe
	``owed``: what was paid toward the plan fills its instalments earliest first. ``placeable``
	(default ``owed``) is what is spread over the open instalments, earliest first; less when part
	of it is held elsewhere (a dispute), and whatever exceeds the instalments goes on the last, so
	the pieces always add up to ``placeable``."""
	placeable = owed if placeable is None else placeable
	rows = sorted(plan.instalments, key=lambda r: (r[1], r[0]))
	if not rows or placeable <= 0:
		return []
	filled = allocate_paid(
		[PlanInstalment(d, a) for _id, d, a in rows], paid_toward(plan.covered, max(owed, ZERO))
	)
	left = placeable
	out = []
	for (name, day, _amount), inst in zip(rows, filled, strict=True):
		take = min(inst.open, left)
		if take > 0:
			out.append((name, day, take))
			left -= take
	if left > 0:
		name, day, _amount = rows[-1]
		if out and out[-1][0] == name:
			out[-1] = (name, day, out[-1][2] + left)
		else:
			out.append((name, day, left))
	return out


def periods_between(start: date, end: date, by: str = "month") -> list[Period]:
	"""The ISO weeks (Monday to Sunday) or calendar months that [start, end] touches, the first and
	the last clipped to it: no period starts before ``start`` or ends after ``end``."""
	if end < start:
		raise EngineError(_("The period ends ({0}) before it starts ({1})."), end, start)
	out = []
	if by == "week":
		cur = start - timedelta(days=start.weekday())
		while cur <= end:
			iso = cur.isocalendar()
			out.append(Period(f"{iso[0]}-W{iso[1]:02d}", max(cur, start), min(cur + timedelta(days=6), end)))
			cur += timedelta(days=7)
		return out
	if by != "month":
		raise EngineError(_("Periods are by week or by month, not {0}."), by)
	y, m = start.year, start.month
	while date(y, m, 1) <= end:
		first = date(y, m, 1)
		nxt = date(y + (m == 12), m % 12 + 1, 1)
		out.append(Period(f"{y}-{m:02d}", max(first, start), min(nxt - timedelta(days=1), end)))
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
	plans: Iterable[PlanSchedule] = (),
) -> list[PeriodRow]:
	"""Expected and actual collections per period (and per group, when ``group_of`` is given).

	``periods`` are consecutive and make the window (as ``periods_between`` gives them); what is
	expected is measured at the window's start, so any cut of one window has the same totals.
	Lines covered by one of ``plans`` are expected on the plan's dates (the module's rules); a plan
	instalment's group is the group of the plan's first covered line."""
	lines = list(lines)
	if not periods:
		return []
	window_start = periods[0].start
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

	present = {ln.instalment for ln in lines}
	plan_of: dict[str, PlanSchedule] = {}
	for plan in plans:
		for item in plan.items:
			if item in present:
				plan_of.setdefault(item, plan)
	owed_at_start: dict[str, Decimal] = {}
	plan_group: dict[str, str | None] = {}
	for ln in lines:
		grp = group_of(ln.instalment) if group_of else None
		pays = paid_by_item.get(ln.instalment, ())
		paid_before = sum((p.amount for p in pays if p.posting_date < window_start), ZERO)
		open_amt = ln.amount - paid_before
		plan = plan_of.get(ln.instalment)
		if plan is not None:
			owed_at_start[plan.plan] = owed_at_start.get(plan.plan, ZERO) + max(open_amt, ZERO)
			plan_group.setdefault(plan.plan, grp)
		else:
			period = find(eff[ln.instalment])
			if period is not None and open_amt > 0:
				row(period, grp).expected += open_amt
		for p in pays:
			pp = find(p.posting_date)
			if pp is not None and p.amount > 0:
				row(pp, grp).actual += p.amount
	for plan in {p.plan: p for p in plan_of.values()}.values():
		for _name, day, amount in plan_open(plan, owed_at_start.get(plan.plan, ZERO)):
			period = find(day)
			if period is not None:
				row(period, plan_group.get(plan.plan)).expected += amount
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


class Bucket(StrEnum):
	WEEK = "week"
	LATER = "later"
	AT_RISK = "at_risk"
	DISPUTED = "disputed"


@dataclass
class WeekRow:
	week: int  # 1..weeks; then weeks + 1 = later, + 2 = at risk, + 3 = disputed
	start: date | None
	end: date | None
	amount: Decimal = ZERO
	items: int = 0
	bucket: Bucket = Bucket.WEEK


AT_RISK_DAYS = 90


def collection_probability(days_overdue: int, days_late: float, at_risk_days: int = AT_RISK_DAYS) -> float:
	"""The chance an instalment ``days_overdue`` past due is still collected soon, for a customer who
	usually pays ``days_late`` days late: 1 up to the usual date, falling in a straight line to 0 on
	the day it turns at risk (``at_risk_days`` past due), 0 after; an instalment not yet at its
	customer's usual date is not at risk whatever its age."""
	usual = max(days_late, 0.0)
	if days_overdue <= usual:
		return 1.0
	if days_overdue > at_risk_days:
		return 0.0
	return (at_risk_days - days_overdue) / (at_risk_days - usual)


def project_cash(
	items: Iterable[OpenItem],
	as_of: date,
	days_late: Mapping[str, float],
	promises: Iterable[Promise] = (),
	weeks: int = 13,
	fallback_days_late: float | None = None,
	disputes: Iterable[Dispute] = (),
	at_risk_days: int = AT_RISK_DAYS,
	plans: Iterable[PlanSchedule] = (),
) -> list[WeekRow]:
	"""Expected receipts per week for ``weeks`` weeks from ``as_of``, then the rows "later",
	"at risk" and "disputed" (the module's rules). ``promises`` of any status: pending ones place
	their items, broken ones put them at risk. ``plans``: active ones place their covered items on
	the plan's dates (one row item per plan instalment), broken ones put them at risk."""
	if weeks < 1:
		raise EngineError(_("A projection needs at least one week."))
	if at_risk_days < 1:
		raise EngineError(_("Instalments turn at risk at least one day past due, not {0}."), at_risk_days)
	items = [it for it in items if it.outstanding > 0]
	if fallback_days_late is None:
		fallback_days_late = sum(days_late.values()) / len(days_late) if days_late else 0.0
	promised: dict[str, date] = {}
	broken: set[str] = set()
	for p in promises:
		if p.status == PromiseStatus.PENDING and p.promised_date >= as_of:
			for it in p.items:
				promised[it] = max(promised.get(it, p.promised_date), p.promised_date)
		elif p.status == PromiseStatus.BROKEN:
			broken.update(p.items)
	planned: dict[str, PlanSchedule] = {}
	for plan in plans:
		for item in plan.items:
			if plan.broken:
				broken.add(item)
			else:
				planned.setdefault(item, plan)
	owed: dict[str, Decimal] = {}
	placeable: dict[str, Decimal] = {}
	disputed = disputed_amounts(disputes, {it.instalment: it.outstanding for it in items}, as_of)
	rows = [
		WeekRow(i + 1, as_of + timedelta(days=7 * i), as_of + timedelta(days=7 * i + 6)) for i in range(weeks)
	]
	later = WeekRow(weeks + 1, as_of + timedelta(days=7 * weeks), None, bucket=Bucket.LATER)
	at_risk = WeekRow(weeks + 2, None, None, bucket=Bucket.AT_RISK)
	on_hold = WeekRow(weeks + 3, None, None, bucket=Bucket.DISPUTED)

	def put(row: WeekRow, amount: Decimal) -> None:
		if amount > 0:
			row.amount += amount
			row.items += 1

	def on(day: date) -> WeekRow:
		idx = max((day - as_of).days, 0) // 7
		return rows[idx] if idx < weeks else later

	for it in items:
		held = min(disputed.get(it.instalment, ZERO), it.outstanding)
		put(on_hold, held)
		left = it.outstanding - held
		plan = planned.get(it.instalment)
		if plan is not None:
			owed[plan.plan] = owed.get(plan.plan, ZERO) + it.outstanding
			placeable[plan.plan] = placeable.get(plan.plan, ZERO) + max(left, ZERO)
			continue
		if left <= 0:
			continue
		if it.instalment in promised:
			put(on(promised[it.instalment]), left)
			continue
		if it.instalment in broken:
			put(at_risk, left)
			continue
		lag = days_late.get(it.customer, fallback_days_late)
		usual = it.due_date + timedelta(days=round(lag))
		if usual >= as_of:
			put(on(usual), left)
			continue
		chance = collection_probability((as_of - it.due_date).days, lag, at_risk_days)
		expected = to_money(left * Decimal(str(chance))) if chance < 1 else left
		put(rows[0], expected)
		put(at_risk, left - expected)
	for plan in {p.plan: p for p in planned.values()}.values():
		if plan.plan not in owed:
			continue
		for _name, day, amount in plan_open(plan, owed[plan.plan], placeable[plan.plan]):
			put(on(day), amount)
	return [*rows, later, at_risk, on_hold]
