from datetime import date

import pytest
from conftest import day, money

from dunning_plus.engine.errors import EngineError
from dunning_plus.engine.kpis import (
	PlanOutcome,
	SalesPeriod,
	SentMessage,
	average_days_delinquent,
	average_days_late,
	best_possible_dso,
	cei,
	countback_dso,
	dispute_aging,
	month_periods,
	overdue_under_plan,
	plan_kept_rate,
	promise_kept_rate,
	reminder_conversion,
	standard_dso,
)
from dunning_plus.engine.plans import PlanStatus
from dunning_plus.engine.promises import Dispute, DisputeStatus, Payment, Promise, PromiseStatus

# Newest first: 100k, 80k, 70k in three 30-day months.
MONTHS = [SalesPeriod(money(100_000), 30), SalesPeriod(money(80_000), 30), SalesPeriod(money(70_000), 30)]


def test_countback_dso_domain_example():
	# AR 212k: 30 + 30 + 32/70 x 30 = 73.714... days
	assert countback_dso(money(212_000), MONTHS) == pytest.approx(60 + 32 / 70 * 30)
	assert countback_dso(money(212_000), MONTHS) == pytest.approx(73.714, abs=1e-3)


@pytest.mark.parametrize(
	"ar, expected",
	[
		(0, 0.0),
		(-50, 0.0),
		(50_000, 15.0),
		(100_000, 30.0),  # exactly the newest month
		(180_000, 60.0),
		(250_000, 90.0),
		(400_000, 90.0),  # more than every month: the days of all months (a lower bound)
	],
)
def test_countback_dso_edges(ar, expected):
	assert countback_dso(money(ar), MONTHS) == pytest.approx(expected)


def test_countback_dso_month_without_sales():
	periods = [SalesPeriod(money(0), 31), SalesPeriod(money(100), 30)]
	assert countback_dso(money(50), periods) == pytest.approx(31 + 15)


def test_standard_dso():
	assert standard_dso(money(212_000), money(250_000), 90) == pytest.approx(76.32)
	assert standard_dso(money(212_000), money(0), 90) is None
	with pytest.raises(EngineError, match=r"A DSO period needs at least one day."):
		standard_dso(money(1), money(1), 0)


def test_best_possible_dso_and_add():
	best = best_possible_dso(money(60_000), MONTHS)
	assert best == pytest.approx(18.0)
	assert best_possible_dso(money(60_000), MONTHS, method="standard") == pytest.approx(60 / 250 * 90)
	dso = countback_dso(money(212_000), MONTHS)
	assert average_days_delinquent(dso, best) == pytest.approx(73.714285 - 18.0, abs=1e-5)
	assert average_days_delinquent(None, best) is None
	assert average_days_delinquent(dso, None) is None


def test_cei():
	# (200k + 250k - 212k) / (200k + 250k - 60k) x 100 = 238 / 390 x 100
	assert cei(money(200_000), money(250_000), money(212_000), money(60_000)) == pytest.approx(
		61.0256, abs=1e-4
	)
	# Everything collected: 100 %.
	assert cei(money(100), money(50), money(20), money(20)) == pytest.approx(100.0)
	assert cei(money(0), money(0), money(0), money(0)) is None


def ptp(name, promised, amount, status):
	return Promise(name, "ACME", day(promised), money(amount), ("A/1",), day("2024-01-01"), status=status)


def test_promise_kept_rate_by_count_and_amount():
	promises = [
		ptp("P1", "2024-03-05", 100, PromiseStatus.KEPT),
		ptp("P2", "2024-03-10", 300, PromiseStatus.BROKEN),
		ptp("P3", "2024-03-31", 100, PromiseStatus.KEPT),
		ptp("P4", "2024-03-15", 999, PromiseStatus.CANCELLED),  # does not count
		ptp("P5", "2024-04-01", 999, PromiseStatus.KEPT),  # outside the period
		ptp("P6", "2024-03-20", 500, PromiseStatus.PENDING),
	]
	rate = promise_kept_rate(promises, day("2024-03-01"), day("2024-03-31"))
	assert (rate.numerator, rate.denominator) == (2, 4)
	assert rate.count == pytest.approx(0.5)
	assert rate.amount == pytest.approx(200 / 1000)
	assert rate.as_dict() == {"count_rate": 0.5, "amount_rate": 0.2, "numerator": 2, "denominator": 4}
	empty = promise_kept_rate(promises, day("2025-01-01"), day("2025-01-31"))
	assert (empty.count, empty.amount, empty.denominator) == (None, None, 0)


def test_reminder_conversion():
	msgs = [
		SentMessage("m1", day("2024-03-01"), ("A/1", "A/2")),
		SentMessage("m2", day("2024-03-01"), ("B/1",)),
		SentMessage("m3", day("2024-03-01"), ("C/1",)),
		SentMessage("m4", day("2024-03-01"), ("D/1",)),
	]
	pays = [
		Payment("A/2", day("2024-03-15"), money(10)),  # day 14: within
		Payment("B/1", day("2024-03-16"), money(10)),  # day 15: too late
		Payment("C/1", day("2024-02-28"), money(10)),  # before the message
		Payment("D/1", day("2024-03-02"), money(-10)),  # a reversal
	]
	rate = reminder_conversion(msgs, pays, within_days=14)
	assert (rate.numerator, rate.denominator, rate.count) == (1, 4, 0.25)
	assert reminder_conversion(msgs, pays, within_days=15).numerator == 2
	assert reminder_conversion([], pays).count is None


def test_average_days_late_is_amount_weighted_with_early_as_zero():
	due = {"A/1": day("2024-03-01"), "A/2": day("2024-03-01"), "B/1": day("2024-03-01")}
	cust = {"A/1": "ACME", "A/2": "ACME", "B/1": "Beta"}
	pays = [
		Payment("A/1", day("2024-03-11"), money(100)),  # 10 days late
		Payment("A/2", day("2024-02-20"), money(300)),  # early: 0
		Payment("B/1", day("2024-03-31"), money(50)),  # 30 days late
		Payment("X/1", day("2024-03-31"), money(50)),  # unknown item
		Payment("B/1", day("2024-04-30"), money(-50)),  # reversal ignored
	]
	assert average_days_late(pays, due, cust) == {"ACME": pytest.approx(2.5), "Beta": pytest.approx(30.0)}


def test_dispute_aging():
	as_of = date(2024, 3, 31)
	disputes = [
		Dispute("D1", "A", money(100), ("A/1",), day("2024-03-01")),  # open 30 days
		Dispute("D2", "A", money(50), ("A/2",), day("2024-03-21")),  # open 10 days
		Dispute(
			"D3",
			"A",
			money(70),
			("A/3",),
			day("2024-01-01"),
			status=DisputeStatus.RESOLVED,
			resolved_on=day("2024-01-11"),
		),
		Dispute(
			"D4",
			"A",
			money(70),
			("A/4",),
			day("2024-02-01"),
			status=DisputeStatus.RESOLVED,
			resolved_on=day("2024-03-02"),
		),
		Dispute(
			"D5",
			"A",
			money(20),
			("A/5",),
			day("2024-03-01"),
			status=DisputeStatus.RESOLVED,
			resolved_on=day("2024-04-10"),
		),
		Dispute("D6", "A", money(20), ("A/6",), day("2024-04-01")),  # opened after the as-of date
	]
	out = dispute_aging(disputes, as_of)
	assert (out.open_count, out.open_amount) == (3, money(170))  # D5 is still open on 31 March
	assert out.average_open_days == pytest.approx((30 + 10 + 30) / 3)
	assert out.oldest_open_days == 30
	assert out.closed_count == 2 and out.average_days_to_resolve == pytest.approx((10 + 30) / 2)
	none = dispute_aging([], as_of)
	assert (none.open_count, none.average_open_days, none.oldest_open_days, none.average_days_to_resolve) == (
		0,
		None,
		None,
		None,
	)


def test_month_periods():
	sales = {(2024, 3): money(30), (2024, 2): money(20), (2023, 12): money(5)}
	assert month_periods(sales, day("2024-03-15"), 3) == [
		SalesPeriod(money(30), 15),  # the current month counts up to the end date
		SalesPeriod(money(20), 29),  # leap year
		SalesPeriod(money(0), 31),
	]
	assert month_periods(sales, day("2024-01-31"), 2) == [
		SalesPeriod(money(0), 31),
		SalesPeriod(money(5), 31),
	]
	# Feeds countback directly.
	periods = month_periods(
		{(2024, 4): money(100_000), (2024, 3): money(80_000), (2024, 2): money(70_000)}, day("2024-04-30"), 3
	)
	assert countback_dso(money(212_000), periods) == pytest.approx(30 + 31 + 32 / 70 * 29)


def test_plan_kept_rate_counts_plans_that_ended_in_the_period():
	plans = [
		PlanOutcome("P1", PlanStatus.COMPLETED, money(1000), date(2024, 3, 10)),
		PlanOutcome("P2", PlanStatus.BROKEN, money(3000), date(2024, 3, 20)),
		PlanOutcome("P3", PlanStatus.COMPLETED, money(500), date(2024, 4, 2)),  # April
		PlanOutcome("P4", PlanStatus.CANCELLED, money(700), date(2024, 3, 5)),  # never counts
		PlanOutcome("P5", PlanStatus.ACTIVE, money(900)),  # still running
	]
	rate = plan_kept_rate(plans, date(2024, 3, 1), date(2024, 3, 31))
	assert (rate.numerator, rate.denominator) == (1, 2)
	assert rate.count == pytest.approx(0.5) and rate.amount == pytest.approx(0.25)
	empty = plan_kept_rate(plans, date(2024, 5, 1), date(2024, 5, 31))
	assert empty.count is None and empty.amount is None and empty.denominator == 0


def test_overdue_under_plan():
	as_of = date(2024, 3, 1)
	items = [
		("A", date(2024, 1, 10), money(600)),  # overdue, planned
		("B", date(2024, 2, 10), money(400)),  # overdue
		("C", date(2024, 3, 1), money(1000)),  # due today: not overdue
		("D", date(2024, 1, 1), money(-50)),  # a credit: not overdue debt
	]
	share = overdue_under_plan(items, {"A", "C"}, as_of)
	assert (share.planned, share.overdue) == (money(600), money(1000))
	assert share.share == pytest.approx(0.6)
	assert overdue_under_plan([], {"A"}, as_of).share is None
