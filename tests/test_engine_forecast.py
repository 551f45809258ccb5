import pytest
from conftest import day, money

from dunning_plus.engine.errors import EngineError
from dunning_plus.engine.forecast import (
	OpenItem,
	Period,
	ScheduleLine,
	effective_dates,
	expected_vs_actual,
	periods_between,
	project_cash,
)
from dunning_plus.engine.promises import Payment, Promise, PromiseStatus

Q1 = periods_between(day("2024-01-01"), day("2024-03-31"))
LINES = [
	ScheduleLine("I1", "ACME", day("2024-01-15"), money(1000)),
	ScheduleLine("I2", "Beta", day("2024-02-10"), money(500)),
	ScheduleLine("I3", "ACME", day("2024-02-20"), money(800)),
]
PAYMENTS = [
	Payment("I1", day("2024-01-20"), money(600)),
	Payment("I1", day("2024-02-03"), money(400)),
	Payment("I3", day("2024-01-25"), money(300)),  # paid early, before February
	Payment("I3", day("2024-02-21"), money(500)),
	Payment("I2", day("2024-03-04"), money(500)),
	Payment("I2", day("2024-05-01"), money(1)),  # outside every period
]
PROMISE = Promise("PTP", "Beta", day("2024-03-05"), money(500), ("I2",), day("2024-02-08"))


def table(rows):
	return [(r.period.label, r.group, r.expected, r.actual) for r in rows]


def test_expected_vs_actual_with_promise_and_early_partial_payment():
	rows = expected_vs_actual(LINES, PAYMENTS, Q1, promises=[PROMISE])
	assert table(rows) == [
		("2024-01", None, money(1000), money(900)),
		("2024-02", None, money(500), money(900)),  # I3: 800 less the 300 paid in January; I2 moved
		("2024-03", None, money(500), money(500)),  # I2 at its promised date
	]
	assert rows[0].variance == money(-100) and rows[0].ratio == pytest.approx(0.9)
	assert rows[1].ratio == pytest.approx(1.8)


def test_promise_no_longer_pending_uses_the_due_date():
	kept = Promise(
		"PTP", "Beta", day("2024-03-05"), money(500), ("I2",), day("2024-02-08"), status=PromiseStatus.KEPT
	)
	rows = expected_vs_actual(LINES, PAYMENTS, Q1, promises=[kept])
	assert [r.expected for r in rows] == [money(1000), money(1000), money(0)]
	assert rows[2].ratio is None
	assert effective_dates(LINES, [PROMISE])["I2"] == day("2024-03-05")
	assert effective_dates(LINES, [kept])["I2"] == day("2024-02-10")


def test_fully_paid_before_the_period_expects_nothing():
	lines = [ScheduleLine("I9", "ACME", day("2024-02-15"), money(100))]
	rows = expected_vs_actual(lines, [Payment("I9", day("2024-01-30"), money(100))], Q1)
	assert table(rows) == [
		("2024-01", None, 0, money(100)),
		("2024-02", None, 0, 0),
		("2024-03", None, 0, 0),
	]


def test_expected_vs_actual_by_group():
	group = {ln.instalment: ln.customer for ln in LINES}
	rows = expected_vs_actual(LINES, PAYMENTS, Q1, promises=[PROMISE], group_of=group.get)
	assert table(rows) == [
		("2024-01", "ACME", money(1000), money(900)),
		("2024-02", "ACME", money(500), money(900)),
		("2024-03", "Beta", money(500), money(500)),
	]


def test_periods_between_by_month():
	assert Q1 == [
		Period("2024-01", day("2024-01-01"), day("2024-01-31")),
		Period("2024-02", day("2024-02-01"), day("2024-02-29")),
		Period("2024-03", day("2024-03-01"), day("2024-03-31")),
	]
	over_year = periods_between(day("2023-12-15"), day("2024-01-02"))
	assert [(p.label, p.start, p.end) for p in over_year] == [
		("2023-12", day("2023-12-01"), day("2023-12-31")),
		("2024-01", day("2024-01-01"), day("2024-01-31")),
	]


def test_periods_between_by_week():
	weeks = periods_between(day("2024-01-03"), day("2024-01-15"), by="week")
	assert [(p.label, p.start, p.end) for p in weeks] == [
		("2024-W01", day("2024-01-01"), day("2024-01-07")),
		("2024-W02", day("2024-01-08"), day("2024-01-14")),
		("2024-W03", day("2024-01-15"), day("2024-01-21")),
	]
	assert periods_between(day("2024-12-31"), day("2024-12-31"), by="week")[0].label == "2025-W01"


def test_periods_between_errors():
	with pytest.raises(EngineError, match=r"The period ends \(2024-01-01\) before it starts \(2024-02-01\)."):
		periods_between(day("2024-02-01"), day("2024-01-01"))
	with pytest.raises(EngineError, match=r"Periods are by week or by month, not day."):
		periods_between(day("2024-01-01"), day("2024-02-01"), by="day")


AS_OF = day("2024-03-04")  # a Monday


def test_project_cash():
	items = [
		OpenItem("A", "X", day("2024-03-01"), money(100)),  # X pays 10 days late -> 11 Mar: week 2
		OpenItem("B", "Y", day("2024-03-04"), money(200)),  # Y has no history: fallback 15 -> 19 Mar: week 3
		OpenItem("C", "Z", day("2024-01-01"), money(300)),  # long overdue: 21 Jan -> week 1
		OpenItem("D", "X", day("2024-01-01"), money(400)),  # promised for 28 Mar -> week 4
		OpenItem("E", "X", day("2024-05-01"), money(500)),  # beyond the horizon -> later
		OpenItem("F", "X", day("2024-03-05"), money(0)),  # nothing outstanding
	]
	promise = Promise("PTP", "X", day("2024-03-28"), money(400), ("D",), day("2024-03-01"))
	rows = project_cash(items, AS_OF, {"X": 10, "Z": 20}, promises=[promise], weeks=4)
	assert [(r.week, r.start, r.end, r.amount, r.items) for r in rows] == [
		(1, day("2024-03-04"), day("2024-03-10"), money(300), 1),
		(2, day("2024-03-11"), day("2024-03-17"), money(100), 1),
		(3, day("2024-03-18"), day("2024-03-24"), money(200), 1),
		(4, day("2024-03-25"), day("2024-03-31"), money(400), 1),
		(5, day("2024-04-01"), None, money(500), 1),
	]
	assert sum(r.amount for r in rows) == money(1500)


def test_project_cash_explicit_fallback_and_default_horizon():
	items = [OpenItem("B", "Y", day("2024-03-04"), money(200))]
	rows = project_cash(items, AS_OF, {"X": 30}, fallback_days_late=0)
	assert len(rows) == 14 and rows[-1].week == 14 and rows[-1].end is None
	assert rows[0].amount == money(200)
	# No history at all: due date as is.
	rows = project_cash([OpenItem("B", "Y", day("2024-03-12"), money(200))], AS_OF, {})
	assert [r.week for r in rows if r.amount] == [2]


def test_project_cash_ignores_non_pending_promises():
	items = [OpenItem("D", "X", day("2024-03-05"), money(400))]
	cancelled = Promise(
		"PTP", "X", day("2024-03-28"), money(400), ("D",), day("2024-03-01"), status=PromiseStatus.CANCELLED
	)
	rows = project_cash(items, AS_OF, {"X": 0}, promises=[cancelled], weeks=4)
	assert rows[0].amount == money(400)


def test_project_cash_needs_a_week():
	with pytest.raises(EngineError, match=r"A projection needs at least one week."):
		project_cash([], AS_OF, {}, weeks=0)
