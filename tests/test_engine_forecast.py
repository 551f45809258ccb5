from datetime import timedelta

import pytest
from conftest import day, money
from hypothesis import given, settings
from hypothesis import strategies as st

from dunning_plus.engine.errors import EngineError
from dunning_plus.engine.forecast import (
	Bucket,
	OpenItem,
	Period,
	PlanSchedule,
	ScheduleLine,
	collection_probability,
	effective_dates,
	expected_vs_actual,
	periods_between,
	plan_open,
	project_cash,
)
from dunning_plus.engine.money import ZERO as ZERO_MONEY
from dunning_plus.engine.promises import Dispute, Payment, Promise, PromiseStatus

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
		# I3: 800 open when the window starts; the 300 paid early in January is January's actual
		("2024-02", None, money(800), money(900)),
		("2024-03", None, money(500), money(500)),  # I2 at its promised date
	]
	assert rows[0].variance == money(-100) and rows[0].ratio == pytest.approx(0.9)
	assert rows[1].ratio == pytest.approx(900 / 800)
	# a window starting in February: I3's early 300 was paid before it, so 500 is left to expect
	feb_mar = expected_vs_actual(
		LINES, PAYMENTS, periods_between(day("2024-02-01"), day("2024-03-31")), [PROMISE]
	)
	assert table(feb_mar) == [
		("2024-02", None, money(500), money(900)),
		("2024-03", None, money(500), money(500)),
	]


def test_promise_no_longer_pending_uses_the_due_date():
	kept = Promise(
		"PTP", "Beta", day("2024-03-05"), money(500), ("I2",), day("2024-02-08"), status=PromiseStatus.KEPT
	)
	rows = expected_vs_actual(LINES, PAYMENTS, Q1, promises=[kept])
	assert [r.expected for r in rows] == [money(1000), money(1300), money(0)]
	assert rows[2].ratio is None
	assert effective_dates(LINES, [PROMISE])["I2"] == day("2024-03-05")
	assert effective_dates(LINES, [kept])["I2"] == day("2024-02-10")


def test_fully_paid_before_the_window_expects_nothing():
	lines = [ScheduleLine("I9", "ACME", day("2024-02-15"), money(100))]
	payments = [Payment("I9", day("2024-01-30"), money(100))]
	rows = expected_vs_actual(lines, payments, periods_between(day("2024-02-01"), day("2024-03-31")))
	assert table(rows) == [("2024-02", None, 0, 0), ("2024-03", None, 0, 0)]
	# paid early inside the window: expected when due, collected when paid
	assert table(expected_vs_actual(lines, payments, Q1)) == [
		("2024-01", None, 0, money(100)),
		("2024-02", None, money(100), 0),
		("2024-03", None, 0, 0),
	]


def test_expected_vs_actual_by_group():
	group = {ln.instalment: ln.customer for ln in LINES}
	rows = expected_vs_actual(LINES, PAYMENTS, Q1, promises=[PROMISE], group_of=group.get)
	assert table(rows) == [
		("2024-01", "ACME", money(1000), money(900)),
		("2024-02", "ACME", money(800), money(900)),
		("2024-03", "Beta", money(500), money(500)),
	]


def test_periods_between_by_month():
	assert Q1 == [
		Period("2024-01", day("2024-01-01"), day("2024-01-31")),
		Period("2024-02", day("2024-02-01"), day("2024-02-29")),
		Period("2024-03", day("2024-03-01"), day("2024-03-31")),
	]
	# clipped to the window: no period starts before it or ends after it
	over_year = periods_between(day("2023-12-15"), day("2024-01-02"))
	assert [(p.label, p.start, p.end) for p in over_year] == [
		("2023-12", day("2023-12-15"), day("2023-12-31")),
		("2024-01", day("2024-01-01"), day("2024-01-02")),
	]
	one_day = periods_between(day("2026-10-01"), day("2026-12-01"))
	assert (one_day[-1].label, one_day[-1].start, one_day[-1].end) == (
		"2026-12",
		day("2026-12-01"),
		day("2026-12-01"),
	)


def test_periods_between_by_week():
	weeks = periods_between(day("2024-01-03"), day("2024-01-15"), by="week")
	assert [(p.label, p.start, p.end) for p in weeks] == [
		("2024-W01", day("2024-01-03"), day("2024-01-07")),
		("2024-W02", day("2024-01-08"), day("2024-01-14")),
		("2024-W03", day("2024-01-15"), day("2024-01-15")),
	]
	assert periods_between(day("2024-12-31"), day("2024-12-31"), by="week")[0].label == "2025-W01"


def test_periods_between_errors():
	with pytest.raises(EngineError, match=r"The period ends \(2024-01-01\) before it starts \(2024-02-01\)."):
		periods_between(day("2024-02-01"), day("2024-01-01"))
	with pytest.raises(EngineError, match=r"Periods are by week or by month, not day."):
		periods_between(day("2024-01-01"), day("2024-02-01"), by="day")


def test_a_window_has_the_same_totals_by_week_and_by_month():
	"""The defect: a month and the weeks of the same dates expected different totals (each period
	measured what was open at its own start) and weeks ran past the window's dates."""
	start, end = day("2024-01-10"), day("2024-03-20")
	lines = [*LINES, ScheduleLine("I4", "Beta", day("2024-03-25"), money(700))]  # due after the window
	totals = {}
	for by in ("month", "week"):
		periods = periods_between(start, end, by)
		assert periods[0].start == start and periods[-1].end == end
		rows = expected_vs_actual(lines, PAYMENTS, periods, promises=[PROMISE])
		totals[by] = (sum(r.expected for r in rows), sum(r.actual for r in rows))
	assert totals["month"] == totals["week"] == (money(2300), money(2300))


@settings(max_examples=150, deadline=None)
@given(
	st.lists(
		st.tuples(
			st.integers(0, 120),
			st.integers(1, 900),
			st.lists(st.tuples(st.integers(-30, 150), st.integers(1, 400)), max_size=3),
		),
		max_size=12,
	),
	st.integers(0, 60),
	st.integers(0, 80),
)
def test_window_totals_do_not_depend_on_the_periods(specs, offset, length):
	base = day("2024-01-01")
	lines, payments = [], []
	for n, (due, amount, pays) in enumerate(specs):
		lines.append(ScheduleLine(f"R{n}", "C", base + timedelta(days=due), money(amount)))
		payments += [Payment(f"R{n}", base + timedelta(days=d), money(a)) for d, a in pays]
	start = base + timedelta(days=offset)
	end = start + timedelta(days=length)
	by_month = expected_vs_actual(lines, payments, periods_between(start, end, "month"))
	by_week = expected_vs_actual(lines, payments, periods_between(start, end, "week"))
	for rows in (by_month, by_week):
		assert all(start <= r.period.start <= r.period.end <= end for r in rows)
	assert sum(r.expected for r in by_month) == sum(r.expected for r in by_week)
	assert sum(r.actual for r in by_month) == sum(r.actual for r in by_week)


AS_OF = day("2024-03-04")  # a Monday


def test_project_cash():
	items = [
		OpenItem("A", "X", day("2024-03-01"), money(100)),  # X pays 10 days late -> 11 Mar: week 2
		OpenItem("B", "Y", day("2024-03-04"), money(200)),  # Y has no history: fallback 15 -> 19 Mar: week 3
		# 63 days past due, Z usually pays 20 days late: (90 - 63) / (90 - 20) of it now, the rest at risk
		OpenItem("C", "Z", day("2024-01-01"), money(300)),
		OpenItem("D", "X", day("2024-01-01"), money(400)),  # promised for 28 Mar -> week 4
		OpenItem("E", "X", day("2024-05-01"), money(500)),  # beyond the horizon -> later
		OpenItem("F", "X", day("2024-03-05"), money(0)),  # nothing outstanding
	]
	promise = Promise("PTP", "X", day("2024-03-28"), money(400), ("D",), day("2024-03-01"))
	rows = project_cash(items, AS_OF, {"X": 10, "Z": 20}, promises=[promise], weeks=4)
	assert [(r.week, r.bucket, r.start, r.end, r.amount, r.items) for r in rows] == [
		(1, Bucket.WEEK, day("2024-03-04"), day("2024-03-10"), money("115.71"), 1),
		(2, Bucket.WEEK, day("2024-03-11"), day("2024-03-17"), money(100), 1),
		(3, Bucket.WEEK, day("2024-03-18"), day("2024-03-24"), money(200), 1),
		(4, Bucket.WEEK, day("2024-03-25"), day("2024-03-31"), money(400), 1),
		(5, Bucket.LATER, day("2024-04-01"), None, money(500), 1),
		(6, Bucket.AT_RISK, None, None, money("184.29"), 1),
		(7, Bucket.DISPUTED, None, None, 0, 0),
	]
	assert sum(r.amount for r in rows) == money(1500)


def test_long_overdue_broken_promises_and_disputes_are_not_expected_in_the_weeks():
	"""The defect: every open amount landed inside the horizon, most of it in week 1: 110 days late,
	broken promises and disputed amounts alike."""
	items = [
		OpenItem("OLD", "X", AS_OF - timedelta(days=110), money(1000)),  # X usually pays 5 days late
		OpenItem("BRK", "X", AS_OF - timedelta(days=20), money(300)),
		OpenItem("DSP", "X", AS_OF + timedelta(days=3), money(500)),  # 200 of it disputed
		OpenItem("NEW", "X", AS_OF + timedelta(days=10), money(100)),
	]
	broken = Promise(
		"P1",
		"X",
		AS_OF - timedelta(days=10),
		money(300),
		("BRK",),
		AS_OF - timedelta(days=15),
		PromiseStatus.BROKEN,
	)
	dispute = Dispute("D1", "X", money(200), ("DSP",), AS_OF - timedelta(days=2))
	rows = project_cash(items, AS_OF, {"X": 5}, promises=[broken], disputes=[dispute])
	by = {r.bucket: r for r in rows if r.bucket != Bucket.WEEK}
	weeks = [r for r in rows if r.bucket == Bucket.WEEK]
	assert len(weeks) == 13
	assert (by[Bucket.AT_RISK].amount, by[Bucket.AT_RISK].items) == (money(1300), 2)
	assert (by[Bucket.DISPUTED].amount, by[Bucket.DISPUTED].items) == (money(200), 1)
	assert by[Bucket.LATER].amount == 0
	# the undisputed 300 at 03-07 + 5 days (week 2), the new one at 03-14 + 5 days (week 3)
	assert [(r.week, r.amount) for r in weeks if r.amount] == [(2, money(300)), (3, money(100))]
	assert weeks[0].amount == 0
	assert sum(r.amount for r in rows) == money(1900)


def test_a_customer_who_usually_pays_late_is_not_at_risk_before_that():
	item = OpenItem("A", "SLOW", AS_OF - timedelta(days=100), money(400))
	rows = project_cash([item], AS_OF, {"SLOW": 120})  # expected 20 days from now
	assert [(r.week, r.amount) for r in rows if r.amount] == [(3, money(400))]
	rows = project_cash([item], AS_OF, {"SLOW": 95})  # 5 days past its usual date, 100 past due
	assert [(r.bucket, r.amount) for r in rows if r.amount] == [(Bucket.AT_RISK, money(400))]
	# a shorter limit puts more at risk
	item = OpenItem("B", "X", AS_OF - timedelta(days=40), money(100))
	assert project_cash([item], AS_OF, {"X": 10})[0].amount == money("62.50")  # (90 - 40) / 80
	assert project_cash([item], AS_OF, {"X": 10}, at_risk_days=30)[0].amount == 0


def test_a_pending_promise_wins_over_a_broken_one_and_a_past_one_does_not_count():
	item = OpenItem("A", "X", AS_OF - timedelta(days=30), money(100))
	broken = Promise(
		"P1",
		"X",
		AS_OF - timedelta(days=20),
		money(100),
		("A",),
		AS_OF - timedelta(days=25),
		PromiseStatus.BROKEN,
	)
	again = Promise("P2", "X", AS_OF + timedelta(days=9), money(100), ("A",), AS_OF - timedelta(days=1))
	rows = project_cash([item], AS_OF, {"X": 0}, promises=[broken, again])
	assert [(r.week, r.amount) for r in rows if r.amount] == [(2, money(100))]
	# a pending promise whose date has passed (not yet marked broken) places nothing
	lapsed = Promise("P3", "X", AS_OF - timedelta(days=2), money(100), ("A",), AS_OF - timedelta(days=9))
	rows = project_cash([item], AS_OF, {"X": 0}, promises=[lapsed])
	assert [(r.bucket, r.amount) for r in rows if r.amount] == [
		(Bucket.WEEK, money("66.67")),
		(Bucket.AT_RISK, money("33.33")),
	]


def test_collection_probability():
	assert collection_probability(-5, 10) == 1.0
	assert collection_probability(10, 10) == 1.0
	assert collection_probability(50, 10) == pytest.approx(0.5)
	assert collection_probability(90, 10) == 0.0
	assert collection_probability(91, 10) == 0.0
	assert collection_probability(100, 120) == 1.0


@settings(max_examples=150, deadline=None)
@given(
	st.lists(
		st.tuples(st.integers(-60, 200), st.integers(1, 5000), st.sampled_from(["X", "Y", "Z"])), max_size=15
	),
	st.integers(0, 5000),
	st.integers(1, 20),
)
def test_every_open_amount_lands_in_exactly_one_row(specs, disputed, weeks):
	items = [OpenItem(f"R{n}", c, AS_OF - timedelta(days=d), money(a)) for n, (d, a, c) in enumerate(specs)]
	disputes = (
		[Dispute("D", "X", money(disputed), tuple(i.instalment for i in items), AS_OF)]
		if disputed and items
		else []
	)
	rows = project_cash(items, AS_OF, {"X": 12, "Y": 40}, disputes=disputes, weeks=weeks)
	assert len(rows) == weeks + 3
	assert all(r.amount >= 0 for r in rows)
	assert sum(r.amount for r in rows) == sum(i.outstanding for i in items)


def test_project_cash_explicit_fallback_and_default_horizon():
	items = [OpenItem("B", "Y", day("2024-03-04"), money(200))]
	rows = project_cash(items, AS_OF, {"X": 30}, fallback_days_late=0)
	assert (
		len(rows) == 16 and rows[13].week == 14 and rows[13].bucket == Bucket.LATER and rows[13].end is None
	)
	assert [r.bucket for r in rows[14:]] == [Bucket.AT_RISK, Bucket.DISPUTED]
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
	with pytest.raises(EngineError, match=r"at least one day past due, not 0."):
		project_cash([], AS_OF, {}, at_risk_days=0)


# ---------------------------------------------------------------- payment plans

PLAN = PlanSchedule(
	"PLAN-1",
	"X",
	money(900),
	("A", "B"),
	(
		("P1", day("2024-03-08"), money(300)),
		("P2", day("2024-03-22"), money(300)),
		("P3", day("2024-04-05"), money(300)),
	),
)


def test_plan_open_fills_the_paid_part_earliest_first():
	assert plan_open(PLAN, money(900)) == [
		("P1", day("2024-03-08"), money(300)),
		("P2", day("2024-03-22"), money(300)),
		("P3", day("2024-04-05"), money(300)),
	]
	# 400 paid: P1 paid, P2 has 200 left
	assert plan_open(PLAN, money(500)) == [
		("P2", day("2024-03-22"), money(200)),
		("P3", day("2024-04-05"), money(300)),
	]
	# part held elsewhere (a dispute): the last instalments carry less
	assert plan_open(PLAN, money(900), money(500)) == [
		("P1", day("2024-03-08"), money(300)),
		("P2", day("2024-03-22"), money(200)),
	]
	# the covered items owe more than the plan (a payment cancelled): the excess on the last
	assert plan_open(PLAN, money(950))[-1] == ("P3", day("2024-04-05"), money(350))
	assert plan_open(PLAN, ZERO_MONEY) == []


@given(
	st.lists(st.integers(1, 10_000), min_size=1, max_size=6),
	st.integers(0, 80_000),
	st.integers(0, 80_000),
)
@settings(max_examples=200)
def test_plan_open_always_adds_up_to_what_is_placed(amounts, owed_cents, held_cents):
	plan = PlanSchedule(
		"P",
		"X",
		sum((money(a) for a in amounts), ZERO_MONEY),
		("A",),
		tuple((f"R{n}", AS_OF + timedelta(days=7 * n), money(a)) for n, a in enumerate(amounts)),
	)
	owed = money(owed_cents) / 100
	placeable = max(owed - money(held_cents) / 100, ZERO_MONEY)
	pieces = plan_open(plan, owed, placeable)
	assert sum((p[2] for p in pieces), ZERO_MONEY) == placeable
	assert all(p[2] > 0 for p in pieces)
	assert len({p[0] for p in pieces}) == len(pieces)


def test_project_cash_puts_planned_items_on_the_plan_dates():
	items = [
		OpenItem("A", "X", day("2024-01-01"), money(400)),  # 70 days late: would be partly at risk
		OpenItem("B", "X", day("2024-02-01"), money(100)),
		OpenItem("C", "X", day("2024-01-01"), money(50)),  # not in the plan
	]
	# 400 of the 900 covered paid since the plan began: P1 paid, 200 of P2 and P3 open
	rows = project_cash(items, AS_OF, {"X": 0}, plans=[PLAN], weeks=4)
	# C (not planned): 63 days late, 30 % now, the rest at risk; P2 on 22 March (week 3); P3 on
	# 5 April, past the 4 weeks: later
	assert [(r.week, r.amount, r.items) for r in rows if r.amount] == [
		(1, money("15.00"), 1),
		(3, money(200), 1),
		(5, money(300), 1),
		(6, money("35.00"), 1),
	]
	assert sum((r.amount for r in rows), ZERO_MONEY) == money(550)  # every open amount once
	# without the plan the old items are expected now or at risk
	plain = project_cash(items, AS_OF, {"X": 0}, weeks=4)
	assert plain[4].amount == ZERO_MONEY and plain[5].amount > 0


def test_project_cash_plan_instalment_past_its_date_is_expected_now():
	items = [OpenItem("A", "X", day("2024-01-01"), money(900))]
	late = PlanSchedule("PL", "X", money(900), ("A",), (("P1", AS_OF - timedelta(days=2), money(900)),))
	rows = project_cash(items, AS_OF, {"X": 0}, plans=[late], weeks=4)
	assert rows[0].amount == money(900) and rows[0].items == 1


def test_project_cash_broken_plan_is_at_risk_and_disputes_come_first():
	items = [OpenItem("A", "X", AS_OF, money(900))]
	broken = PlanSchedule("PL", "X", money(900), ("A",), (("P1", AS_OF, money(900)),), broken=True)
	rows = project_cash(items, AS_OF, {"X": 0}, plans=[broken], weeks=2)
	assert {r.bucket: r.amount for r in rows if r.amount} == {Bucket.AT_RISK: money(900)}
	dispute = Dispute("D1", "X", money(100), ("A",), AS_OF - timedelta(days=1))
	active = PlanSchedule(
		"PL",
		"X",
		money(900),
		("A",),
		(("P1", AS_OF, money(450)), ("P2", AS_OF + timedelta(days=7), money(450))),
	)
	rows = project_cash(items, AS_OF, {"X": 0}, plans=[active], weeks=2, disputes=[dispute])
	assert [(r.bucket, r.amount) for r in rows if r.amount] == [
		(Bucket.WEEK, money(450)),
		(Bucket.WEEK, money(350)),
		(Bucket.DISPUTED, money(100)),
	]


def test_expected_vs_actual_uses_the_plan_dates():
	lines = [
		ScheduleLine("A", "X", day("2023-11-15"), money(600)),  # due before the window
		ScheduleLine("B", "X", day("2023-12-15"), money(300)),
		ScheduleLine("C", "X", day("2024-01-10"), money(100)),  # not in the plan
	]
	plan = PlanSchedule(
		"PL",
		"X",
		money(900),
		("A", "B"),
		(
			("P1", day("2023-12-20"), money(300)),
			("P2", day("2024-01-20"), money(300)),
			("P3", day("2024-02-20"), money(300)),
		),
	)
	payments = [
		Payment("A", day("2023-12-20"), money(300)),  # P1, before the window
		Payment("A", day("2024-01-22"), money(300)),  # P2, in January
	]
	rows = expected_vs_actual(lines, payments, Q1, plans=[plan])
	assert table(rows) == [
		("2024-01", None, money(400), money(300)),  # P2 300 + C 100
		("2024-02", None, money(300), ZERO_MONEY),  # P3
		("2024-03", None, ZERO_MONEY, ZERO_MONEY),
	]
	# the same window by week has the same totals
	weekly = expected_vs_actual(
		lines, payments, periods_between(Q1[0].start, Q1[-1].end, "week"), plans=[plan]
	)
	assert sum((r.expected for r in weekly), ZERO_MONEY) == money(700)
	# without the plan A and B fell due before the window: only C is expected
	assert sum((r.expected for r in expected_vs_actual(lines, payments, Q1)), ZERO_MONEY) == money(100)
	# grouped: the plan's instalments take the group of its first covered line
	grouped = expected_vs_actual(lines, payments, Q1, plans=[plan], group_of=lambda i: "G" + i)
	assert {(r.period.label, r.group): r.expected for r in grouped if r.expected} == {
		("2024-01", "GA"): money(300),
		("2024-01", "GC"): money(100),
		("2024-02", "GA"): money(300),
	}
