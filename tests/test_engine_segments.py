"""Dunning segment rules: ordered per company, conditions on behaviour, and the policy they choose."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import book_for, instalment, standard_policy
from hypothesis import given
from hypothesis import strategies as st

from dunning_plus.engine.cadence import CustomerProfile, plan_cycle
from dunning_plus.engine.errors import PolicyError
from dunning_plus.engine.precedence import PolicySource, resolve_policy
from dunning_plus.engine.segments import (
	Range,
	SegmentFacts,
	SegmentRule,
	assign_segments,
	match_customer,
	preview_moves,
)


def facts(customer="A", company="Co", **kw) -> SegmentFacts:
	for k in ("overdue", "balance"):
		if k in kw:
			kw[k] = Decimal(str(kw[k]))
	return SegmentFacts(customer, company, **kw)


LATE = SegmentRule("Late payers", "Co", "Firm", order=10, avg_days_late=Range(30, None))
BIG = SegmentRule("Big balances", "Co", "Key Account", order=20, balance=Range(Decimal(50000), None))
NEW = SegmentRule("New customers", "Co", "Gentle", order=30, tenure_days=Range(None, 180))


def test_first_matching_rule_in_order_wins():
	f = facts(avg_days_late=45, balance=80000, tenure_days=900)
	m = match_customer([BIG, LATE, NEW], f)
	assert (m.rule, m.policy, m.segment) == ("Late payers", "Firm", "Late payers")
	assert m.why == "Average days late 45 (30-)"
	assert match_customer([BIG, NEW], facts(balance=10, tenure_days=900)) is None


def test_ranges_are_inclusive_and_open_ended():
	r = Range(Decimal(10), Decimal(20))
	assert Decimal(10) in r and Decimal(20) in r and Decimal(21) not in r and Decimal(9) not in r
	assert 10**9 in Range(5, None) and -(10**9) in Range(None, 5)


def test_every_condition_must_hold():
	rule = SegmentRule(
		"Risky disputers",
		"Co",
		"Strict",
		open_disputes=Range(1, None),
		broken_promises=Range(2, None),
		overdue=Range(Decimal(1000), None),
		risk_score=Range(40, 100),
	)
	hit = facts(open_disputes=1, broken_promises=2, overdue=1000, risk_score=55)
	assert rule.matches(hit)
	assert not rule.matches(facts(open_disputes=1, broken_promises=1, overdue=1000, risk_score=55))
	assert not rule.matches(facts(open_disputes=1, broken_promises=2, overdue=999, risk_score=55))
	assert not rule.matches(facts(open_disputes=1, broken_promises=2, overdue=1000, risk_score=100.5))


def test_group_and_territory_match_the_tree_below_them():
	rule = SegmentRule("Public EU", "Co", "Public", customer_group="Government", territory="Europe")
	assert rule.matches(
		facts(customer_groups=("Cities", "Government", "All"), territories=("Swiss", "Europe"))
	)
	assert not rule.matches(facts(customer_groups=("Retail",), territories=("Europe",)))
	assert not rule.matches(facts(customer_groups=("Government",), territories=("Asia",)))


def test_rules_of_other_companies_and_disabled_rules_never_match():
	other = SegmentRule("Other", "Co 2", "X")
	off = SegmentRule("Off", "Co", "Y", enabled=False)
	assert match_customer([other, off], facts()) is None
	out = assign_segments([other, off, LATE], [facts("A", avg_days_late=40), facts("B", "Co 2")])
	assert out[("Co", "A")].rule == "Late payers"
	assert out[("Co 2", "B")].rule == "Other"


def test_rule_needs_policy_company_and_sane_ranges():
	with pytest.raises(PolicyError) as exc:
		SegmentRule("R", "", "", balance=Range(Decimal(5), Decimal(1)), open_disputes=Range(-1, None))
	text = str(exc.value)
	assert "Segment rule R needs a company." in text
	assert "Segment rule R needs the policy it applies." in text
	assert "Segment rule R: the lowest Total balance is above the highest." in text
	assert "Segment rule R: Open disputes cannot be negative." in text
	SegmentRule("Early", "Co", "P", avg_days_late=Range(-30, -5))  # paying early is a behaviour too


def test_segment_rule_comes_after_customer_and_before_group():
	assert resolve_policy(customer="C", segment_rule="R", segment="G") == resolve_policy(customer="C")
	choice = resolve_policy(segment_rule="R", segment="G", company_default="D")
	assert (choice.policy, choice.source) == ("R", PolicySource.SEGMENT_RULE)
	assert resolve_policy(invoice="I", segment_rule="R").source == PolicySource.INVOICE
	assert resolve_policy(segment="G", company_default="D").source == PolicySource.SEGMENT


def test_book_applies_the_rule_policy_of_the_customer_in_its_company():
	std, firm, group = standard_policy("Std"), standard_policy("Firm"), standard_policy("Group")
	book = book_for(
		std, firm, group, segment_policies={"Retail": "Group"}, rule_policies={("Co", "ACME"): "Firm"}
	)
	prof = CustomerProfile("ACME", segment="Retail")
	inst = instalment(due="2024-02-01")
	assert book.choose(inst, prof).policy == "Firm"
	assert book.choose(instalment(due="2024-02-01", company="Co 2"), prof).policy == "Group"
	assert (
		book.choose(instalment(due="2024-02-01", customer="B"), CustomerProfile("B", policy="Std")).policy
		== "Std"
	)
	plan = plan_cycle([inst], inst.due_date.replace(day=5), book, {"ACME": prof})
	assert {a.policy for a in plan.actions} == {"Firm"}


def test_preview_counts_moves_between_policies():
	before = {"A": "Std", "B": "Std", "C": "Firm", "D": None}
	after = {"A": "Firm", "B": "Firm", "C": "Firm", "D": "Gentle"}
	p = preview_moves(before, after)
	assert [(m.before, m.after, m.customers) for m in p.moves] == [("Std", "Firm", 2), (None, "Gentle", 1)]
	assert (p.moving, p.unchanged) == (3, 1)


facts_strategy = st.builds(
	SegmentFacts,
	customer=st.sampled_from(["A", "B", "C"]),
	company=st.just("Co"),
	avg_days_late=st.floats(-30, 200, allow_nan=False),
	broken_promises=st.integers(0, 5),
	open_disputes=st.integers(0, 5),
	overdue=st.decimals(0, 10**6, places=2),
	balance=st.decimals(0, 10**6, places=2),
	tenure_days=st.integers(0, 5000),
	risk_score=st.floats(0, 100, allow_nan=False),
)
bounds = st.one_of(st.none(), st.integers(0, 100))


@st.composite
def rules(draw):
	out = []
	for i in range(draw(st.integers(0, 4))):
		lo, hi = draw(bounds), draw(bounds)
		if lo is not None and hi is not None and lo > hi:
			lo, hi = hi, lo
		out.append(
			SegmentRule(f"R{i}", "Co", f"P{i}", order=draw(st.integers(0, 3)), avg_days_late=Range(lo, hi))
		)
	return out


@given(rules(), facts_strategy)
def test_the_match_is_the_first_rule_in_order_that_matches(rs, f):
	m = match_customer(rs, f)
	matching = sorted((r for r in rs if r.matches(f)), key=lambda r: (r.order, r.name))
	if not matching:
		assert m is None
	else:
		assert (m.rule, m.policy) == (matching[0].name, matching[0].policy)
	# the order of the list given does not matter
	assert match_customer(list(reversed(rs)), f) == m


@given(
	st.dictionaries(st.sampled_from("ABCDEF"), st.sampled_from([None, "P", "Q"])),
	st.dictionaries(st.sampled_from("ABCDEF"), st.sampled_from([None, "P", "Q"])),
)
def test_preview_accounts_for_every_customer(before, after):
	p = preview_moves(before, after)
	assert p.moving + p.unchanged == len(set(before) | set(after))
	assert all(m.before != m.after for m in p.moves)


def test_rule_from_condition_rows_narrows_ranges():
	from dunning_plus.engine.segments import rule_from_conditions

	rule = rule_from_conditions(
		"R",
		"Co",
		"P",
		[
			("Average Days Late", "At Least", 10),
			("Average Days Late", "At Least", 20),
			("Total Balance", "At Most", 5000),
			("Open Disputes", "Exactly", 0),
		],
		order=5,
		customer_group="Retail",
	)
	assert rule.avg_days_late == Range(20.0, None)
	assert rule.balance == Range(None, Decimal(5000))
	assert rule.open_disputes == Range(0.0, 0.0)
	assert rule.matches(facts(avg_days_late=25, balance=4000, customer_groups=("Retail",)))
	assert not rule.matches(
		facts(avg_days_late=25, balance=4000, open_disputes=1, customer_groups=("Retail",))
	)
	with pytest.raises(PolicyError, match="unknown fact Mood"):
		rule_from_conditions("R", "Co", "P", [("Mood", "At Least", 1)])
	with pytest.raises(PolicyError, match="lowest Tenure"):
		rule_from_conditions(
			"R", "Co", "P", [("Tenure (Days)", "At Least", 10), ("Tenure (Days)", "At Most", 5)]
		)
