from datetime import date
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from dunning_plus.engine.schedule import RowAmount, split_outstanding

ROWS = [
	RowAmount("r1", date(2026, 1, 31), D("300")),
	RowAmount("r2", date(2026, 3, 2), D("300")),
	RowAmount("r3", date(2026, 4, 1), D("400")),
]


def test_untouched_invoice_owes_every_row():
	assert split_outstanding(ROWS, D("1000")) == {"r1": D("300"), "r2": D("300"), "r3": D("400")}


def test_payment_without_term_goes_earliest_due_first():
	assert split_outstanding(ROWS, D("550")) == {"r1": D("0"), "r2": D("150"), "r3": D("400")}


def test_payment_naming_a_term_stays_on_its_row():
	rows = [ROWS[0], RowAmount("r2", date(2026, 3, 2), D("300"), term_paid=D("300")), ROWS[2]]
	assert split_outstanding(rows, D("700")) == {"r1": D("300"), "r2": D("0"), "r3": D("400")}
	# plus a credit note of 100 without a term: earliest open row
	assert split_outstanding(rows, D("600")) == {"r1": D("200"), "r2": D("0"), "r3": D("400")}


def test_cancelled_payment_gives_back_latest_due_first():
	rows = [RowAmount(r.id, r.due_date, r.amount, term_paid=r.amount) for r in ROWS]
	# the schedule says all paid, the ledger says 500 is owed again
	assert split_outstanding(rows, D("500")) == {"r1": D("0"), "r2": D("100"), "r3": D("400")}


def test_outstanding_is_clamped():
	assert sum(split_outstanding(ROWS, D("5000")).values()) == D("1000")
	assert sum(split_outstanding(ROWS, D("-20")).values()) == D("0")
	assert split_outstanding([], D("10")) == {}


@settings(max_examples=200, deadline=None)
@given(
	amounts=st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=6),
	term_paid=st.lists(st.integers(min_value=0, max_value=12_000), min_size=6, max_size=6),
	outstanding=st.integers(min_value=-1000, max_value=70_000),
)
def test_rows_always_add_up_and_stay_in_bounds(amounts, term_paid, outstanding):
	rows = [
		RowAmount(f"r{i}", date(2026, 1, 1 + i), D(a), term_paid=D(term_paid[i]))
		for i, a in enumerate(amounts)
	]
	out = split_outstanding(rows, D(outstanding))
	total = sum(D(a) for a in amounts)
	assert sum(out.values()) == min(max(D(outstanding), D(0)), total)
	for r in rows:
		assert D(0) <= out[r.id] <= r.amount
