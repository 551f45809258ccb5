"""Collection KPIs, with the definitions of ``shared/domain.md``.

- Standard DSO = ending AR / credit sales in the period x days in the period.
- Countback DSO: from ending AR subtract each month's credit sales, newest first, adding that
  month's days; for the last, partial month add remainder / that month's sales x its days.
  If AR exceeds every month given, the result is the days of all months (a lower bound).
- Best possible DSO: the same method using only current (not yet due) AR.
- ADD (average days delinquent) = DSO - best possible DSO.
- CEI = (beginning AR + credit sales - ending total AR) / (beginning AR + credit sales - ending
  current AR) x 100, with the credit sales of the whole period (one period, not averaged months).
- Promise-kept rate = kept / promises whose date fell in the period, by count and by amount.
- Plan kept rate = plans completed / plans that ended (completed or broken) in the period, by
  count and by the amount they covered; cancelled plans do not count, as cancelled promises.
- Share of overdue under a plan = overdue outstanding of items covered by an active plan / all
  overdue outstanding (by the items' own due dates), as of a date.
- Reminder -> payment conversion = share of sent messages followed by a payment on one of their
  items within N days.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from dunning_plus.engine.errors import EngineError, _
from dunning_plus.engine.plans import PlanStatus
from dunning_plus.engine.promises import Dispute, Payment, Promise, PromiseStatus


@dataclass(frozen=True)
class SalesPeriod:
	"""Credit sales of one period (usually a month) and its length in days."""

	sales: Decimal
	days: int


def standard_dso(ending_ar: Decimal, credit_sales: Decimal, days: int) -> float | None:
	if days <= 0:
		raise EngineError(_("A DSO period needs at least one day."))
	if credit_sales <= 0:
		return None
	return float(ending_ar) / float(credit_sales) * days


def countback_dso(ending_ar: Decimal, periods: Sequence[SalesPeriod]) -> float:
	"""Countback DSO; ``periods`` newest first."""
	remaining = float(ending_ar)
	total_days = 0.0
	if remaining <= 0:
		return 0.0
	for p in periods:
		sales = float(p.sales)
		if remaining > sales:
			remaining -= sales
			total_days += p.days
			continue
		if sales > 0:
			total_days += remaining / sales * p.days
		return total_days
	return total_days


def best_possible_dso(
	current_ar: Decimal, periods: Sequence[SalesPeriod], method: str = "countback"
) -> float | None:
	if method == "countback":
		return countback_dso(current_ar, periods)
	return standard_dso(current_ar, sum((p.sales for p in periods), Decimal(0)), sum(p.days for p in periods))


def average_days_delinquent(dso: float | None, best: float | None) -> float | None:
	if dso is None or best is None:
		return None
	return dso - best


def cei(
	beginning_ar: Decimal, credit_sales: Decimal, ending_total_ar: Decimal, ending_current_ar: Decimal
) -> float | None:
	collectible = beginning_ar + credit_sales - ending_current_ar
	if collectible <= 0:
		return None
	return float(beginning_ar + credit_sales - ending_total_ar) / float(collectible) * 100


@dataclass(frozen=True)
class Rate:
	count: float | None
	amount: float | None
	numerator: int
	denominator: int

	def as_dict(self) -> dict:
		return {
			"count_rate": self.count,
			"amount_rate": self.amount,
			"numerator": self.numerator,
			"denominator": self.denominator,
		}


def promise_kept_rate(promises: Iterable[Promise], start: date, end: date) -> Rate:
	"""Kept / promises whose date fell in [start, end]; cancelled promises do not count."""
	due = [p for p in promises if start <= p.promised_date <= end and p.status != PromiseStatus.CANCELLED]
	return _rate([p for p in due if p.status == PromiseStatus.KEPT], due)


def _rate(kept: list, of: list) -> Rate:
	"""How many of ``of`` were kept, by count and by amount (each item has an ``amount``)."""
	amount_of = sum((p.amount for p in of), Decimal(0))
	amount_kept = sum((p.amount for p in kept), Decimal(0))
	return Rate(
		count=len(kept) / len(of) if of else None,
		amount=float(amount_kept / amount_of) if amount_of else None,
		numerator=len(kept),
		denominator=len(of),
	)


@dataclass(frozen=True)
class PlanOutcome:
	name: str
	status: PlanStatus
	amount: Decimal  # what the plan covered
	ended_on: date | None = None  # the day it completed or broke


def plan_kept_rate(plans: Iterable[PlanOutcome], start: date, end: date) -> Rate:
	"""Completed / plans that completed or broke in [start, end], by count and by covered amount."""
	ended = [
		p
		for p in plans
		if p.status in (PlanStatus.COMPLETED, PlanStatus.BROKEN) and p.ended_on and start <= p.ended_on <= end
	]
	return _rate([p for p in ended if p.status == PlanStatus.COMPLETED], ended)


@dataclass(frozen=True)
class OverdueShare:
	planned: Decimal
	overdue: Decimal

	@property
	def share(self) -> float | None:
		return float(self.planned / self.overdue) if self.overdue > 0 else None


def overdue_under_plan(
	items: Iterable[tuple[str, date, Decimal]], planned: Iterable[str], as_of: date
) -> OverdueShare:
	"""Of the outstanding past due on ``as_of`` (items as (id, due date, outstanding)), the part on
	items covered by an active plan (``planned``)."""
	planned = set(planned)
	overdue = planned_amount = Decimal(0)
	for item, due, outstanding in items:
		if due < as_of and outstanding > 0:
			overdue += outstanding
			if item in planned:
				planned_amount += outstanding
	return OverdueShare(planned_amount, overdue)


@dataclass(frozen=True)
class SentMessage:
	key: str
	sent_on: date
	items: tuple[str, ...]


def reminder_conversion(
	messages: Iterable[SentMessage], payments: Iterable[Payment], within_days: int = 14
) -> Rate:
	"""Share of messages followed by a payment on one of their items within ``within_days``."""
	by_item: dict[str, list[date]] = {}
	for p in payments:
		if p.amount > 0:
			by_item.setdefault(p.instalment, []).append(p.posting_date)
	msgs = list(messages)
	converted = 0
	for m in msgs:
		last = m.sent_on + timedelta(days=within_days)
		if any(m.sent_on <= d <= last for item in m.items for d in by_item.get(item, ())):
			converted += 1
	return Rate(
		count=converted / len(msgs) if msgs else None,
		amount=None,
		numerator=converted,
		denominator=len(msgs),
	)


def average_days_late(
	payments: Iterable[Payment], due_dates: Mapping[str, date], customer_of: Mapping[str, str]
) -> dict[str, float]:
	"""Amount-weighted average days paid after the due date (early payments count as 0), per customer."""
	weighted: dict[str, float] = {}
	amounts: dict[str, float] = {}
	for p in payments:
		due = due_dates.get(p.instalment)
		cust = customer_of.get(p.instalment)
		if due is None or cust is None or p.amount <= 0:
			continue
		late = max((p.posting_date - due).days, 0)
		amt = float(p.amount)
		weighted[cust] = weighted.get(cust, 0.0) + late * amt
		amounts[cust] = amounts.get(cust, 0.0) + amt
	return {c: weighted[c] / amounts[c] for c in weighted if amounts[c]}


@dataclass(frozen=True)
class DisputeAge:
	open_count: int
	open_amount: Decimal
	average_open_days: float | None
	oldest_open_days: int | None
	closed_count: int
	average_days_to_resolve: float | None


def dispute_aging(disputes: Iterable[Dispute], as_of: date) -> DisputeAge:
	open_ages = []
	open_amount = Decimal(0)
	resolve_days = []
	for d in disputes:
		if d.opened_on > as_of:
			continue
		if d.open_on(as_of):
			open_ages.append((as_of - d.opened_on).days)
			open_amount += d.amount
		elif d.resolved_on:
			resolve_days.append((d.resolved_on - d.opened_on).days)
	return DisputeAge(
		open_count=len(open_ages),
		open_amount=open_amount,
		average_open_days=sum(open_ages) / len(open_ages) if open_ages else None,
		oldest_open_days=max(open_ages) if open_ages else None,
		closed_count=len(resolve_days),
		average_days_to_resolve=sum(resolve_days) / len(resolve_days) if resolve_days else None,
	)


def month_periods(
	sales_by_month: Mapping[tuple[int, int], Decimal], end: date, months: int
) -> list[SalesPeriod]:
	"""Monthly sales periods ending with ``end``'s month, newest first (for countback DSO)."""
	out = []
	y, m = end.year, end.month
	for _i in range(months):
		first = date(y, m, 1)
		nxt = date(y + (m == 12), m % 12 + 1, 1)
		days = (min(nxt - timedelta(days=1), end) - first).days + 1
		out.append(SalesPeriod(sales_by_month.get((y, m), Decimal(0)), days))
		y, m = (y - 1, 12) if m == 1 else (y, m - 1)
	return out
