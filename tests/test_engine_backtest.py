"""Backtest: the day-by-day replay shared by `dunning-plus simulate` and the in-site backtest."""

import json
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dunning_plus.engine.backtest import History, HistoryRow, allocate, backtest, replay, summarize, week_of
from dunning_plus.engine.cadence import CustomerProfile, PolicyBook
from dunning_plus.engine.errors import LedgerError
from dunning_plus.engine.policy import policy_from_dict
from dunning_plus.engine.promises import Payment

POLICY = {
	"name": "BT",
	"calendar": {"weekend": []},
	"steps": [
		{"code": "R+3", "offset": 3, "kind": "reminder", "template": "R"},
		{"code": "L1", "offset": 10, "kind": "dunning", "level": 1, "template": "L"},
	],
}


def book(data=POLICY) -> PolicyBook:
	policy = policy_from_dict(data)
	return PolicyBook({policy.name: policy}, {"Co": policy.name})


def row(id_, customer, due, amount, posted=date(2026, 1, 1), term=""):
	return HistoryRow(
		id=id_,
		invoice=id_.split("/")[0],
		customer=customer,
		company="Co",
		due_date=due,
		amount=Decimal(amount),
		posting_date=posted,
		payment_term=term,
	)


def history() -> History:
	return History(
		rows=[
			row("A/1", "C1", date(2026, 1, 10), 100),
			row("B/1", "C1", date(2026, 1, 10), 50),
			row("C/1", "C2", date(2026, 1, 12), 80),
		],
		payments=[Payment("A/1", date(2026, 1, 15), Decimal(100))],
		customers={
			"C1": CustomerProfile("C1", email="ap@c1.example", language="de"),
			"C2": CustomerProfile("C2"),  # no address: its messages become tasks
		},
	)


def test_backtest_counts_messages_customers_levels_and_reminders_paid_soon():
	h = history()
	out = backtest(h, book(), date(2026, 1, 1), date(2026, 1, 31))
	assert out["messages"] == 4
	assert out["messages_by_week"] == [
		{"week": "2026-01-12", "step": "R+3", "channel": "email", "messages": 1},
		{"week": "2026-01-12", "step": "R+3", "channel": "task", "messages": 1},
		{"week": "2026-01-19", "step": "L1", "channel": "email", "messages": 1},
		{"week": "2026-01-19", "step": "L1", "channel": "task", "messages": 1},
	]
	assert out["customers_touched"] == 2
	assert out["items_by_step"] == [{"step": "R+3", "items": 3}, {"step": "L1", "items": 2}]
	# A and B on the 13th, B on the 20th; A was paid on the 15th, two days after its reminder
	assert (out["reminders_sent"], out["reminders_paid_soon"]) == (3, 1)
	assert out["paid_soon_share"] == pytest.approx(1 / 3, abs=1e-4)
	json.dumps(out)  # plain data


def test_a_payment_on_the_step_day_stops_the_step():
	h = history()
	h.payments.append(Payment("B/1", date(2026, 1, 13), Decimal(50)))
	out = backtest(h, book(), date(2026, 1, 1), date(2026, 1, 31))
	lines = {(r["step"], r["channel"]): r["items"] for r in out["messages_by_step"]}
	assert lines[("R+3", "email")] == 1  # only A on the 13th; B never reminded
	assert ("L1", "email") not in lines


def test_the_policy_calendar_moves_steps_off_weekends():
	data = {**POLICY, "calendar": {"weekend": ["saturday", "sunday"]}}
	# due Wed 2026-01-14: R+3 on Saturday the 17th fires on Monday the 19th
	h = History(rows=[row("A/1", "C1", date(2026, 1, 14), 100)], payments=[], customers=history().customers)
	result = replay(h, book(data), date(2026, 1, 1), date(2026, 1, 20))
	fired = [(p.on, a.step.code) for p in result.plans for a in p.actions]
	assert fired == [(date(2026, 1, 19), "R+3")]


def test_the_replay_reads_the_history_without_changing_it():
	h = history()
	before = (list(h.rows), list(h.payments))
	replay(h, book(), date(2026, 1, 1), date(2026, 2, 28))
	assert (h.rows, h.payments) == before


def test_same_history_same_numbers():
	a = backtest(history(), book(), date(2026, 1, 1), date(2026, 2, 28))
	b = summarize(
		replay(history(), book(), date(2026, 1, 1), date(2026, 2, 28)),
		history(),
		3,
		book().policies["BT"].steps,
	)
	assert a == b


def test_allocate_goes_to_the_term_first_then_earliest_due():
	rows = [
		row("X/1", "C1", date(2026, 1, 10), 100, term="T1"),
		row("X/2", "C1", date(2026, 2, 10), 100, term="T2"),
	]
	applied: dict = {}
	assert allocate(rows, Decimal(150), "T2", applied) == [("X/2", Decimal(100)), ("X/1", Decimal(50))]
	assert allocate(rows, Decimal(80), None, applied) == [("X/1", Decimal(50))]


def test_bad_period_and_empty_book_are_refused():
	with pytest.raises(LedgerError):
		replay(history(), book(), date(2026, 2, 1), date(2026, 1, 1))
	with pytest.raises(LedgerError):
		replay(history(), PolicyBook({}), date(2026, 1, 1), date(2026, 1, 2))


def test_week_of_is_the_monday():
	assert week_of(date(2026, 1, 18)) == date(2026, 1, 12)


def replay_every_row(history: History, book: PolicyBook, start: date, end: date):
	"""The obvious replay: every open row planned every day (what the real cycle does on a site)."""
	from datetime import timedelta

	from dunning_plus.engine.cadence import plan_cycle

	taken: dict = {}
	out = []
	day = start
	while day <= end:
		paid: dict = {}
		for p in history.payments:
			if p.posting_date <= day:
				paid[p.instalment] = paid.get(p.instalment, 0) + p.amount
		instalments = [
			r.on(r.amount - paid.get(r.id, 0), taken.get(r.id, ()))
			for r in history.rows
			if r.posting_date <= day and r.amount - paid.get(r.id, 0) > 0
		]
		plan = plan_cycle(instalments, day, book, history.customers, history.promises, history.disputes)
		for a in plan.actions:
			taken[a.instalment.id] = (*taken.get(a.instalment.id, ()), a.step.code)
		out.append(
			sorted((m.customer, m.lead.code, tuple(sorted(a.key for a in m.actions))) for m in plan.messages)
		)
		day += timedelta(days=1)
	return out


@settings(max_examples=60, deadline=None)
@given(
	st.lists(
		st.tuples(
			st.integers(0, 3),  # customer
			st.integers(0, 40),  # posted, days after 2026-01-01
			st.integers(0, 45),  # due, days after posting
			st.integers(1, 300),  # amount
			st.one_of(st.none(), st.tuples(st.integers(0, 90), st.integers(1, 300))),  # a payment
		),
		min_size=1,
		max_size=12,
	),
	st.sampled_from([0, 150]),  # minimum overdue amount
	st.booleans(),  # weekends off
)
def test_planning_only_woken_customers_sends_what_planning_every_row_sends(items, minimum, weekends):
	from datetime import timedelta

	data = {
		"name": "BT",
		"minimum_amount": minimum,
		"calendar": {"weekend": ["saturday", "sunday"] if weekends else []},
		"steps": [
			{"code": "R-3", "offset": -3, "kind": "reminder", "template": "R"},
			{"code": "R+3", "offset": 3, "kind": "reminder", "template": "R"},
			{"code": "L1", "offset": 10, "kind": "dunning", "level": 1, "template": "L"},
			{"code": "L2", "offset": 30, "kind": "dunning", "level": 2, "template": "L"},
		],
	}
	base = date(2026, 1, 1)
	rows, payments = [], []
	for n, (c, posted, due, amount, pay) in enumerate(items):
		posted_on = base + timedelta(days=posted)
		rows.append(row(f"I{n}/1", f"C{c}", posted_on + timedelta(days=due), amount, posted=posted_on))
		if pay:
			payments.append(
				Payment(f"I{n}/1", posted_on + timedelta(days=pay[0]), Decimal(min(pay[1], amount)))
			)
	customers = {f"C{c}": CustomerProfile(f"C{c}", email="x@y.example") for c in range(4)}
	h = History(rows=rows, payments=payments, customers=customers)
	end = base + timedelta(days=120)
	fast = replay(h, book(data), base, end)
	got = [
		sorted((m.customer, m.lead.code, tuple(sorted(a.key for a in m.actions))) for m in p.messages)
		for p in fast.plans
	]
	assert got == replay_every_row(h, book(data), base, end)
