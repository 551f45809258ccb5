"""Allocation of advances to payment-schedule rows: worked numbers, errors, invariants."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from conftest import day, money
from hypothesis import given, settings
from hypothesis import strategies as st

from dunning_plus.engine.allocation import (
	Advance,
	AllocationRule,
	ScheduleRow,
	allocate,
	validate_allocations,
)
from dunning_plus.engine.errors import AllocationError, CurrencyMismatchError
from dunning_plus.engine.money import to_money

# Invoice SINV-1 of 10,000 on a 30/30/40 schedule.
T1 = ScheduleRow("SINV-1/1", "SINV-1", day("2024-01-31"), money(3000), "EUR", "Deposit 30", customer="ACME")
T2 = ScheduleRow("SINV-1/2", "SINV-1", day("2024-02-29"), money(3000), "EUR", "Delivery 30", customer="ACME")
T3 = ScheduleRow(
	"SINV-1/3", "SINV-1", day("2024-03-31"), money(4000), "EUR", "Acceptance 40", customer="ACME"
)
ROWS = [T3, T1, T2]  # deliberately out of order


def adv(unallocated, terms=(), currency="EUR", customer="ACME"):
	return Advance("PE-1", money(unallocated), currency, tuple(terms), customer)


def result(allocs):
	return [(a.row.id, a.amount) for a in allocs]


def test_earliest_due_first():
	assert result(allocate(adv(5000), ROWS)) == [("SINV-1/1", money(3000)), ("SINV-1/2", money(2000))]
	assert result(allocate(adv(12000), ROWS, "earliest_due")) == [
		("SINV-1/1", money(3000)),
		("SINV-1/2", money(3000)),
		("SINV-1/3", money(4000)),
	]


def test_earliest_due_with_a_smaller_requested_amount():
	assert result(allocate(adv(5000), ROWS, amount="1000.004")) == [("SINV-1/1", money(1000))]


def test_matching_term_first_then_earliest_due():
	allocs = allocate(adv(5000, terms=["Acceptance 40"]), ROWS, AllocationRule.MATCHING_TERM)
	assert result(allocs) == [("SINV-1/3", money(4000)), ("SINV-1/1", money(1000))]
	# No matching term: plain earliest due.
	assert result(allocate(adv(5000), ROWS, "matching_term")) == result(allocate(adv(5000), ROWS))


def test_proportional_to_outstanding():
	assert result(allocate(adv(5000), ROWS, "proportional")) == [
		("SINV-1/3", money(2000)),
		("SINV-1/1", money(1500)),
		("SINV-1/2", money(1500)),
	]
	full = allocate(adv(20000), ROWS, "proportional")
	assert sum(a.amount for a in full) == money(10000)


def test_proportional_hands_leftover_cents_out_exactly():
	rows = [
		ScheduleRow(f"R{i}", "SINV-2", date(2024, 1, 10 + i), money(10), "EUR", customer="ACME")
		for i in range(3)
	]
	allocs = allocate(adv(10), rows, "proportional")
	# 3.333... each: the leftover cent goes to the earliest due row.
	assert result(allocs) == [("R0", money("3.34")), ("R1", money("3.33")), ("R2", money("3.33"))]
	assert sum(a.amount for a in allocs) == money(10)


def test_manual_allocation():
	allocs = allocate(
		adv(5000), ROWS, "manual", manual={"SINV-1/2": 1000, "SINV-1/3": "500.005", "SINV-1/1": 0}
	)
	assert result(allocs) == [("SINV-1/2", money(1000)), ("SINV-1/3", money("500.01"))]


@pytest.mark.parametrize(
	"kwargs, error, message",
	[
		(
			{"manual": {"SINV-1/1": 3000.01}},
			AllocationError,
			"Cannot allocate 3000.01 to SINV-1 (Deposit 30): only 3000 is outstanding.",
		),
		({"manual": {"SINV-1/1": -1}}, AllocationError, "The amount allocated to SINV-1 cannot be negative."),
		(
			{"manual": {"SINV-9/1": 1}},
			AllocationError,
			"Payment schedule row SINV-9/1 is not open for this customer.",
		),
		(
			{"manual": {"SINV-1/1": 3000, "SINV-1/3": 2001}},
			AllocationError,
			"The allocations add up to 5001.00 but payment PE-1 has only 5000 unallocated.",
		),
		(
			{"manual": {"SINV-1/1": 3000}, "amount": 2000},
			AllocationError,
			"The allocations add up to 3000.00 but only 2000.00 of payment PE-1 is to be allocated.",
		),
	],
)
def test_manual_allocation_errors(kwargs, error, message):
	with pytest.raises(error) as exc:
		allocate(adv(5000), ROWS, "manual", **kwargs)
	assert str(exc.value) == message


def test_over_allocation_rejected():
	with pytest.raises(AllocationError) as exc:
		allocate(adv(5000), ROWS, amount=6000)
	assert str(exc.value) == "Cannot allocate 6000.00: payment PE-1 has only 5000 unallocated."


def test_negative_amount_rejected():
	with pytest.raises(AllocationError, match=r"The amount to allocate cannot be negative."):
		allocate(adv(5000), ROWS, amount=-1)
	with pytest.raises(AllocationError, match=r"Payment PE-1 has a negative unallocated amount."):
		allocate(adv(-1), ROWS)


def test_wrong_customer_rejected():
	other = ScheduleRow("SINV-7/1", "SINV-7", day("2024-01-31"), money(10), "EUR", customer="Globex")
	with pytest.raises(AllocationError) as exc:
		allocate(adv(5000), [*ROWS, other])
	assert str(exc.value) == "Invoice SINV-7 belongs to customer Globex, not to ACME who made payment PE-1."
	# Without a customer on the advance the check cannot apply.
	assert allocate(adv(5000, customer=None), [other])[0].amount == money(10)


def test_currency_mismatch_rejected():
	usd = ScheduleRow("SINV-8/1", "SINV-8", day("2024-01-31"), money(10), "USD", customer="ACME")
	with pytest.raises(CurrencyMismatchError) as exc:
		allocate(adv(5000), [T1, usd])
	assert isinstance(exc.value, AllocationError)
	assert (
		str(exc.value) == "Invoice SINV-8 is in USD but payment PE-1 is in EUR: allocate within one currency."
	)


def test_bad_rows_rejected():
	with pytest.raises(AllocationError, match=r"SINV-1/1 is listed twice"):
		allocate(adv(5000), [T1, T1])
	neg = ScheduleRow("N/1", "N", day("2024-01-31"), money(-5), "EUR")
	with pytest.raises(AllocationError, match=r"N/1 has a negative outstanding"):
		allocate(adv(5000), [neg])
	with pytest.raises(ValueError):
		allocate(adv(5000), ROWS, "random")


def test_nothing_to_allocate():
	assert allocate(adv(0), ROWS) == []
	assert allocate(adv(0), ROWS, "proportional") == []
	paid = ScheduleRow("P/1", "P", day("2024-01-31"), money(0), "EUR")
	assert allocate(adv(100), [paid]) == []
	assert allocate(adv(100), [paid], "proportional") == []


def test_validate_allocations():
	assert validate_allocations(adv(5000), [(T1, money(3000)), (T2, money(2000))]) == money(5000)
	with pytest.raises(AllocationError, match=r"only 3000 is outstanding"):
		validate_allocations(adv(5000), [(T1, money(3001))])
	with pytest.raises(AllocationError, match=r"cannot be negative"):
		validate_allocations(adv(5000), [(T1, money(-1))])
	with pytest.raises(AllocationError, match=r"add up to 6000 but payment PE-1 has only 5000"):
		validate_allocations(adv(5000), [(T1, money(3000)), (T2, money(3000))])


# ----------------------------------------------------------------------------- invariants

cents = st.integers(0, 500_000).map(lambda c: Decimal(c).scaleb(-2))


@st.composite
def allocation_cases(draw):
	n = draw(st.integers(1, 8))
	terms = ["A", "B", "C"]
	rows = [
		ScheduleRow(
			f"R{i}",
			f"INV-{draw(st.integers(1, 3))}",
			date(2024, 1, 1) + timedelta(days=draw(st.integers(0, 90))),
			draw(cents),
			"EUR",
			draw(st.sampled_from(terms)),
		)
		for i in range(n)
	]
	advance = Advance("PE", draw(cents), "EUR", tuple(draw(st.lists(st.sampled_from(terms), max_size=2))))
	requested = draw(st.none() | st.integers(0, 100).map(lambda pct: advance.unallocated * pct / 100))
	return advance, rows, requested


@settings(max_examples=200, deadline=None)
@given(allocation_cases(), st.sampled_from(["earliest_due", "matching_term", "proportional"]))
def test_property_allocation_invariants(case, rule):
	advance, rows, requested = case
	allocs = allocate(advance, rows, rule, amount=requested)
	budget = advance.unallocated if requested is None else to_money(requested)
	total = sum((a.amount for a in allocs), Decimal(0))
	assert len({a.row.id for a in allocs}) == len(allocs)
	for a in allocs:
		assert Decimal(0) <= a.amount <= a.row.outstanding
		assert a.amount == a.amount.quantize(Decimal("0.01"))
	assert total <= advance.unallocated
	assert total <= budget
	assert total == min(budget, sum((r.outstanding for r in rows), Decimal(0)))
	if rule != "proportional" and allocs:
		# Sequential rules fill every row but the last one they touch.
		assert all(a.amount == a.row.outstanding for a in allocs[:-1])


@settings(max_examples=200, deadline=None)
@given(allocation_cases(), st.data())
def test_property_manual_allocation_invariants(case, data):
	advance, rows, _requested = case
	manual = {
		r.id: data.draw(st.integers(0, int(r.outstanding * 100)).map(lambda c: Decimal(c).scaleb(-2)))
		for r in rows
	}
	wanted = sum(manual.values(), Decimal(0))
	if wanted > advance.unallocated:
		with pytest.raises(AllocationError):
			allocate(advance, rows, "manual", manual=manual)
		return
	allocs = allocate(advance, rows, "manual", manual=manual)
	assert {a.row.id: a.amount for a in allocs} == {k: v for k, v in manual.items() if v}
	assert all(0 < a.amount <= a.row.outstanding for a in allocs)
