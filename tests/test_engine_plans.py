from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dunning_plus.engine.cadence import HoldReason, Instalment, PolicyBook, plan_cycle
from dunning_plus.engine.money import ZERO
from dunning_plus.engine.plans import (
	PlanError,
	PlanInstalment,
	PlanLimits,
	PlanStatus,
	allocate_paid,
	check_plan,
	paid_toward,
	plan_state,
	split_plan,
)
from dunning_plus.engine.policy import Track, policy_from_dict

TODAY = date(2026, 5, 4)
LIMITS = PlanLimits(max_instalments=12, max_days=365, approval_amount=Decimal(5000), approval_days=120)


def test_split_puts_the_rounding_remainder_on_the_last_instalment():
	plan = split_plan(Decimal("1000.00"), 3, TODAY, 30)
	assert [(i.due_date, i.amount) for i in plan] == [
		(TODAY, Decimal("333.33")),
		(TODAY + timedelta(days=30), Decimal("333.33")),
		(TODAY + timedelta(days=60), Decimal("333.34")),
	]


def test_a_down_payment_comes_first_and_the_rest_is_split_after_it():
	plan = split_plan(Decimal(1000), 2, TODAY, 14, down_payment=Decimal(200))
	assert [(i.due_date, i.amount) for i in plan] == [
		(TODAY, Decimal(200)),
		(TODAY + timedelta(days=14), Decimal(400)),
		(TODAY + timedelta(days=28), Decimal(400)),
	]


@pytest.mark.parametrize(
	"args, message",
	[
		((Decimal(0), 3, TODAY, 30), "nothing outstanding"),
		((Decimal(100), 0, TODAY, 30), "at least one instalment"),
		((Decimal(100), 2, TODAY, 0), "at least one day apart"),
		((Decimal("0.01"), 3, TODAY, 30), "cannot be split into 3"),
	],
)
def test_bad_splits_are_refused(args, message):
	with pytest.raises(PlanError, match=message):
		split_plan(*args)


def test_every_problem_of_a_plan_is_reported_together():
	plan = [
		PlanInstalment(TODAY - timedelta(days=1), Decimal(100)),
		PlanInstalment(TODAY - timedelta(days=1), Decimal(0)),
	]
	with pytest.raises(PlanError) as e:
		check_plan(plan, Decimal(150), TODAY, LIMITS)
	text = str(e.value)
	for part in (
		"add up to 100.00 but the covered items owe 150.00",
		"Instalment 2: the amount",
		"cannot be before today",
		"must be after instalment 1",
	):
		assert part in text


def test_limits_refuse_and_thresholds_ask_for_approval():
	many = split_plan(Decimal(1300), 13, TODAY, 7)
	with pytest.raises(PlanError, match="at most 12 instalments"):
		check_plan(many, Decimal(1300), TODAY, LIMITS)
	long = split_plan(Decimal(1000), 2, TODAY, 400)
	with pytest.raises(PlanError, match="at most 365 days"):
		check_plan(long, Decimal(1000), TODAY, LIMITS)
	small = check_plan(split_plan(Decimal(1000), 4, TODAY, 30), Decimal(1000), TODAY, LIMITS)
	assert not small.needs_approval
	big = check_plan(split_plan(Decimal(6000), 6, TODAY, 30), Decimal(6000), TODAY, LIMITS)
	assert big.needs_approval
	assert [str(r) for r in big.reasons] == [
		"the amount 6000.00 is above 5000",
		"it lasts 150 days, more than 120",
	]


def test_payments_fill_instalments_in_date_order_and_completion_and_breaking():
	plan = split_plan(Decimal(900), 3, TODAY, 30)
	paid = allocate_paid(plan, paid_toward(Decimal(900), Decimal(500)))  # 400 paid so far
	assert [i.paid for i in paid] == [Decimal(300), Decimal(100), ZERO]
	state = plan_state(PlanStatus.ACTIVE, paid, TODAY + timedelta(days=31), grace_days=2)
	assert (state.status, state.next_due.due_date) == (PlanStatus.ACTIVE, TODAY + timedelta(days=30))
	state = plan_state(PlanStatus.ACTIVE, paid, TODAY + timedelta(days=33), grace_days=2)
	assert (state.status, state.broken_on.due_date) == (PlanStatus.BROKEN, TODAY + timedelta(days=30))
	done = allocate_paid(plan, Decimal(900))
	assert plan_state(PlanStatus.ACTIVE, done, TODAY + timedelta(days=400)).status == PlanStatus.COMPLETED


def test_broken_is_decided_once():
	plan = split_plan(Decimal(900), 3, TODAY, 30)
	# paying everything later does not un-break a broken plan, nor does anything move a final one
	for final in (PlanStatus.BROKEN, PlanStatus.COMPLETED, PlanStatus.CANCELLED):
		assert plan_state(final, allocate_paid(plan, Decimal(900)), TODAY).status == final
		assert plan_state(final, allocate_paid(plan, ZERO), TODAY + timedelta(days=99)).status == final
	# a proposed plan is not yet running: it cannot break
	assert plan_state(PlanStatus.PROPOSED, plan, TODAY + timedelta(days=99)).status == PlanStatus.PROPOSED


money = st.integers(min_value=1, max_value=10_000_000).map(lambda c: Decimal(c) / 100)


@settings(max_examples=300, deadline=None)
@given(total=money, count=st.integers(1, 24), every=st.integers(1, 45), down=st.integers(0, 90))
def test_the_split_always_sums_to_the_covered_outstanding(total, count, every, down):
	down_payment = (total * down / 100).quantize(Decimal("0.01")) if down else ZERO
	try:
		plan = split_plan(total, count, TODAY, every, down_payment=down_payment)
	except PlanError:
		return  # too small to split or the down payment covers it all
	assert sum((i.amount for i in plan), ZERO) == total
	assert all(i.amount > 0 for i in plan)
	assert all(b.due_date > a.due_date for a, b in pairwise(plan))
	limits = PlanLimits(max_instalments=100, max_days=100_000)
	assert not check_plan(plan, total, TODAY, limits).needs_approval


@settings(max_examples=300, deadline=None)
@given(total=money, count=st.integers(1, 12), payments=st.lists(money, max_size=8), data=st.data())
def test_partial_payments_in_any_order_never_pay_an_instalment_twice(total, count, payments, data):
	try:
		plan = split_plan(total, count, TODAY, 30)
	except PlanError:
		return
	order = data.draw(st.permutations(payments))
	paid_so_far = ZERO
	for p in order:
		paid_so_far += p
		filled = allocate_paid(plan, paid_toward(total, max(total - paid_so_far, ZERO)))
		assert all(ZERO <= i.paid <= i.amount for i in filled)
		assert sum((i.paid for i in filled), ZERO) == min(paid_so_far, total)
		# earlier instalments are always filled first: after the first open one, nothing is paid
		first_open = next((n for n, i in enumerate(filled) if not i.is_paid), len(filled))
		assert all(i.paid == 0 for i in filled[first_open + 1 :])
	# the same total in any order gives the same instalments
	again = allocate_paid(plan, paid_toward(total, max(total - sum(payments, ZERO), ZERO)))
	assert again == allocate_paid(plan, paid_toward(total, max(total - sum(order, ZERO), ZERO)))


def test_the_cycle_holds_planned_items_and_reminds_plan_instalments():
	policy = policy_from_dict(
		{
			"name": "P",
			"steps": [
				{
					"code": "L1",
					"offset_days": 10,
					"kind": "dunning",
					"level": 1,
					"templates": {"default": "T"},
				},
				{"code": "P-3", "offset_days": -3, "kind": "plan_reminder", "templates": {"default": "T"}},
				{"code": "P+2", "offset_days": 2, "kind": "plan_reminder", "templates": {"default": "T"}},
			],
		}
	)
	assert [s.code for s in policy.track(Track.PLAN).steps] == ["P-3", "P+2"]
	book = PolicyBook({"P": policy}, {"Co": "P"})
	item = Instalment("ROW-1", "INV-1", "C1", "Co", TODAY - timedelta(days=20), Decimal(900), "EUR")
	plan_row = Instalment(
		"PLAN-1#2", "PLAN-1", "C1", "Co", TODAY + timedelta(days=3), Decimal(300), "EUR", track=Track.PLAN
	)
	out = plan_cycle([item, plan_row], TODAY, book, planned={"ROW-1": "PLAN-1"})
	assert [(a.instalment.id, a.step.code) for a in out.actions] == [("PLAN-1#2", "P-3")]
	assert [(h.instalment.id, h.reason, h.detail) for h in out.holds] == [
		("ROW-1", HoldReason.PLAN, "PLAN-1")
	]
	# without the plan the item is dunned again, at its own level
	out = plan_cycle([item], TODAY, book)
	assert [a.step.code for a in out.actions] == ["L1"]


def test_an_active_plan_pauses_the_case_and_its_end_resumes_it():
	from dunning_plus.engine.case import (
		CaseEvent,
		CaseFacts,
		CaseState,
		CaseStatus,
		apply_event,
		derive_status,
	)

	state = apply_event(CaseState(CaseStatus.DUNNING, level=1), CaseEvent.PLAN_ACTIVE, TODAY)
	assert (state.status, state.resume) == (CaseStatus.ON_PLAN, CaseStatus.DUNNING)
	assert apply_event(state, CaseEvent.PLAN_ENDED, TODAY).status == CaseStatus.DUNNING
	assert derive_status(CaseFacts(outstanding=Decimal(5), level=1, plan_active=True)) == (
		CaseStatus.ON_PLAN,
		1,
	)
