"""Cadence: which step is due on which day, holds, catch-up, grouping, idempotency.

Standard policy (see conftest): invoice track R-7, R+3, L1 (+10, owner "AR team", fee 10),
L2 (+24, fee 20, 5 % interest), FN (+38, approval, credit hold), WO (+60, task, approval);
deposit track DEP-3, DEP+2.
"""

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from conftest import book_for, day, instalment, money, standard_policy, step
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dunning_plus.engine.cadence import (
	CustomerProfile,
	HoldReason,
	PolicyBook,
	action_key,
	make_key,
	next_step,
	plan_cycle,
)
from dunning_plus.engine.calendar import NO_CALENDAR, BusinessCalendar
from dunning_plus.engine.case import CaseEvent, CaseFacts, CaseState, CaseStatus, apply_event, derive_status
from dunning_plus.engine.policy import Channel, Policy, PolicyStep, StepKind, Track
from dunning_plus.engine.precedence import Block, BlockScope
from dunning_plus.engine.promises import Dispute, DisputeStatus, Promise, PromiseStatus


def codes(plan) -> list[str]:
	return [a.step.code for a in plan.actions]


def holds(plan) -> list[tuple[str, HoldReason]]:
	return [(h.instalment.id, h.reason) for h in plan.holds]


def take(items, plan):
	"""The instalments with the steps the plan emitted added to their ``taken``."""
	done: dict[str, list[str]] = {}
	for a in plan.actions:
		done.setdefault(a.instalment.id, []).append(a.step.code)
	return [replace(i, taken=(*i.taken, *done.get(i.id, ()))) for i in items]


# ----------------------------------------------------------------------------- the worked example


def test_domain_worked_example_end_to_end(policy, book):
	# 1. Invoice issued on Net 30 -> reminders scheduled for D-7 and D+3.
	posted = day("2024-01-03")
	inv = instalment("INV-1/1", due=posted + timedelta(days=30), outstanding=1000, posting_date=posted)
	assert inv.due_date == day("2024-02-02")  # a Friday
	sched = {s.code: d for s, d in policy.schedule(inv.due_date)}
	assert sched["R-7"] == day("2024-01-26") and sched["R+3"] == day("2024-02-05")
	assert next_step(inv, policy, day("2024-01-20")) == (policy.step("R-7"), day("2024-01-26"))
	case = CaseState()

	assert plan_cycle([inv], day("2024-01-25"), book).actions == []

	plan = plan_cycle([inv], day("2024-01-26"), book)
	assert codes(plan) == ["R-7"]
	(msg,) = plan.messages
	assert (msg.customer, msg.lead.code, msg.total, msg.template) == (
		"ACME",
		"R-7",
		money(1000),
		"Reminder EN",
	)
	assert plan.actions[0].days_overdue == -7
	inv = take([inv], plan)[0]
	case = apply_event(case, CaseEvent.STEP_TAKEN, plan.on, step=plan.actions[0].step)
	assert case.status == CaseStatus.REMINDER

	# Nothing new on the due date itself; the next action is the D+3 reminder.
	assert plan_cycle([inv], day("2024-02-02"), book).actions == []
	assert next_step(inv, policy, day("2024-02-02")) == (policy.step("R+3"), day("2024-02-05"))

	plan = plan_cycle([inv], day("2024-02-05"), book)
	assert codes(plan) == ["R+3"] and plan.actions[0].days_overdue == 3
	inv = take([inv], plan)[0]

	# 2. No payment -> dunning level 1, owner "AR team".
	plan = plan_cycle([inv], day("2024-02-12"), book)
	assert codes(plan) == ["L1"]
	action = plan.actions[0]
	assert action.step.owner == "AR team" and action.step.level == 1 and action.skipped == ()
	assert plan.messages[0].fee == money(10)
	inv = take([inv], plan)[0]
	case = apply_event(case, CaseEvent.STEP_TAKEN, plan.on, step=action.step)
	assert (case.status, case.level) == (CaseStatus.DUNNING, 1)

	# 3. Customer disputes the item -> routed to the finance manager; dunning paused on it.
	dispute = Dispute(
		"DSP-1",
		"ACME",
		money(1000),
		("INV-1/1",),
		day("2024-02-14"),
		reason="pricing",
		owner="Finance Manager",
	)
	case = apply_event(case, CaseEvent.DISPUTE_OPENED, day("2024-02-14"), reason="pricing")
	assert case.status == CaseStatus.DISPUTED
	plan = plan_cycle([inv], day("2024-02-26"), book, disputes=[dispute])  # L2 would be due today
	assert plan.actions == [] and holds(plan) == [("INV-1/1", HoldReason.DISPUTE)]

	# 4. Partial payment arrives while disputed: balance drops, the item stays paused ...
	inv = replace(inv, outstanding=money(600))
	plan = plan_cycle([inv], day("2024-02-27"), book, disputes=[dispute])
	assert plan.actions == [] and holds(plan) == [("INV-1/1", HoldReason.DISPUTE)]
	# ... and once the dispute is closed, the next action goes out on the remaining balance at once.
	closed = replace(dispute, status=DisputeStatus.RESOLVED, resolved_on=day("2024-02-28"))
	case = apply_event(case, CaseEvent.DISPUTE_CLOSED, day("2024-02-28"))
	assert case.status == CaseStatus.DUNNING
	plan = plan_cycle([inv], day("2024-02-28"), book, disputes=[closed])
	assert codes(plan) == ["L2"] and plan.messages[0].total == money(600)
	assert plan.messages[0].interest == money("2.14")  # 600 x 5 % x 26 / 365
	inv = take([inv], plan)[0]
	case = apply_event(case, CaseEvent.STEP_TAKEN, plan.on, step=plan.actions[0].step)
	assert (case.status, case.level) == (CaseStatus.DUNNING, 2)
	assert next_step(inv, policy, day("2024-02-28")) == (policy.step("FN"), day("2024-03-11"))

	# 5. Rest paid -> nothing due any more; the case resolves.
	paid = replace(inv, outstanding=money(0))
	plan = plan_cycle([paid], day("2024-03-11"), book)
	assert plan.actions == [] and plan.holds == [] and plan.messages == []
	case = apply_event(case, CaseEvent.PAID, day("2024-03-04"))
	assert case.status == CaseStatus.RESOLVED
	assert derive_status(CaseFacts(outstanding=money(0), strongest_step=policy.step("L2"), level=2)) == (
		CaseStatus.RESOLVED,
		2,
	)
	assert [t.event for t in case.history] == [
		CaseEvent.STEP_TAKEN,
		CaseEvent.STEP_TAKEN,
		CaseEvent.DISPUTE_OPENED,
		CaseEvent.DISPUTE_CLOSED,
		CaseEvent.STEP_TAKEN,
		CaseEvent.PAID,
	]


# ----------------------------------------------------------------------------- catch-up, taken, reruns


def test_catch_up_after_a_month_takes_only_the_highest_due_step(book):
	a = instalment("A/1", due="2024-01-02", taken=("R-7", "R+3"))
	b = instalment("B/1", due="2024-01-10")
	plan = plan_cycle([a, b], day("2024-02-15"), book)  # a: 44 days late, b: 36
	by_id = {x.instalment.id: x for x in plan.actions}
	assert len(plan.actions) == 2
	assert by_id["A/1"].step.code == "FN" and by_id["A/1"].skipped == ("L1", "L2")
	assert by_id["B/1"].step.code == "L2" and by_id["B/1"].skipped == ("R-7", "R+3", "L1")
	assert plan.counts_by_step() == {"FN": 1, "L2": 1}
	(msg,) = plan.messages
	assert msg.lead.code == "FN" and len(msg.actions) == 2


def test_catch_up_after_a_week(book):
	inst = instalment(due="2024-02-02", taken=("R-7",))
	plan = plan_cycle([inst], day("2024-02-14"), book)
	assert codes(plan) == ["L1"]
	assert plan.actions[0].skipped == ("R+3",)
	assert plan.actions[0].fire_date == day("2024-02-12")  # the day it was due, not today


def test_taken_steps_are_never_re_emitted(book):
	inst = instalment(due="2024-02-02", taken=("R-7", "R+3", "L1"))
	assert plan_cycle([inst], day("2024-02-14"), book).actions == []
	# A stronger step already taken (e.g. by hand) also covers the weaker ones.
	inst = instalment(due="2024-02-02", taken=("L2",))
	plan = plan_cycle([inst], day("2024-02-14"), book)
	assert plan.actions == [] and plan.holds == []
	# Unknown codes (a step removed from the policy) are ignored.
	inst = instalment(due="2024-02-02", taken=("OLD",))
	assert codes(plan_cycle([inst], day("2024-02-14"), book)) == ["L1"]


def test_rerun_same_day_with_taken_emits_nothing(book):
	items = [
		instalment("A/1", due="2024-01-02"),
		instalment("A/2", due="2024-02-20"),
		instalment("B/1", due="2024-01-25", customer="Beta"),
	]
	on = day("2024-02-13")
	first = plan_cycle(items, on, book)
	assert sorted(codes(first)) == ["FN", "L1", "R-7"]
	again = plan_cycle(take(items, first), on, book)
	assert again.actions == [] and again.messages == []


# ----------------------------------------------------------------------------- business calendar


def test_step_on_saturday_waits_for_monday(book):
	inst = instalment(due="2024-01-03", taken=("R-7",))  # D+3 = Saturday 6 Jan
	for d in ("2024-01-06", "2024-01-07"):
		plan = plan_cycle([inst], day(d), book)
		assert plan.actions == []
		(hold,) = plan.holds
		assert hold.reason == HoldReason.NOT_BUSINESS_DAY
		assert hold.until == day("2024-01-08") and hold.step.code == "R+3"
	plan = plan_cycle([inst], day("2024-01-08"), book)
	assert codes(plan) == ["R+3"]
	assert plan.actions[0].fire_date == day("2024-01-08") and plan.actions[0].days_overdue == 5


def test_weekend_without_a_due_step_is_not_a_hold(book):
	inst = instalment(due="2024-01-03", taken=("R-7", "R+3"))
	assert plan_cycle([inst], day("2024-01-06"), book).holds == []


def test_holiday_shifts_the_step():
	cal = BusinessCalendar.build(holidays=[day("2024-02-05")])
	book = book_for(standard_policy(calendar=cal))
	inst = instalment(due="2024-02-02", taken=("R-7",))  # D+3 = Monday 5 Feb, a holiday
	plan = plan_cycle([inst], day("2024-02-05"), book)
	assert plan.actions == [] and plan.holds[0].until == day("2024-02-06")
	plan = plan_cycle([inst], day("2024-02-06"), book)
	assert codes(plan) == ["R+3"] and plan.actions[0].fire_date == day("2024-02-06")


def test_calendar_without_weekend_sends_on_saturday():
	book = book_for(standard_policy(calendar=NO_CALENDAR))
	inst = instalment(due="2024-01-03", taken=("R-7",))
	assert codes(plan_cycle([inst], day("2024-01-06"), book)) == ["R+3"]


# ----------------------------------------------------------------------------- blocks


def test_invoice_block_holds_until_its_end_date(book):
	block = Block(BlockScope.INVOICE, "INV-1", "Credit note pending", until=day("2024-02-15"))
	inst = instalment(due="2024-02-02", taken=("R-7", "R+3"), block=block)
	plan = plan_cycle([inst], day("2024-02-15"), book)
	assert plan.actions == []
	(hold,) = plan.holds
	assert (hold.reason, hold.until, hold.detail) == (
		HoldReason.BLOCKED,
		day("2024-02-15"),
		"Credit note pending",
	)
	assert codes(plan_cycle([inst], day("2024-02-16"), book)) == ["L1"]


def test_customer_block_holds_every_item(book):
	block = Block(BlockScope.CUSTOMER, "ACME", "Insolvency proceedings")
	customers = {"ACME": CustomerProfile("ACME", block=block)}
	items = [instalment("A/1", due="2024-01-02"), instalment("A/2", due="2024-01-20")]
	other = instalment("B/1", due="2024-01-02", customer="Beta")
	plan = plan_cycle([*items, other], day("2024-02-20"), book, customers)
	assert holds(plan) == [("A/1", HoldReason.BLOCKED), ("A/2", HoldReason.BLOCKED)]
	assert [a.instalment.id for a in plan.actions] == ["B/1"]


def test_block_not_yet_started_does_not_hold(book):
	block = Block(BlockScope.INVOICE, "INV-1", "Audit", since=day("2024-03-01"))
	inst = instalment(due="2024-02-02", block=block, taken=("R-7", "R+3"))
	assert codes(plan_cycle([inst], day("2024-02-12"), book)) == ["L1"]


# ----------------------------------------------------------------------------- promises


def promise(items=("INV-1/1",), promised="2024-02-20", recorded="2024-02-06", amount=1000, **kw):
	return Promise("PTP-1", "ACME", day(promised), money(amount), tuple(items), day(recorded), **kw)


def test_promise_pauses_until_its_date_then_dunning_resumes(book):
	inst = instalment(due="2024-02-02", taken=("R-7", "R+3"))
	p = promise()
	for d in ("2024-02-12", "2024-02-20"):
		plan = plan_cycle([inst], day(d), book, promises=[p])
		assert plan.actions == []
		assert [(h.reason, h.until) for h in plan.holds] == [(HoldReason.PROMISE, day("2024-02-20"))]
	# The day after the promised date the (unchanged, pending) promise no longer pauses.
	plan = plan_cycle([inst], day("2024-02-21"), book, promises=[p])
	assert codes(plan) == ["L1"]


def test_promise_pause_includes_policy_grace_days():
	policy = standard_policy(grace_days=3)  # L1 at D+13 = Thursday 15 Feb
	book = book_for(policy)
	inst = instalment(due="2024-02-02", taken=("R-7", "R+3"))
	p = promise(promised="2024-02-20")
	plan = plan_cycle([inst], day("2024-02-23"), book, promises=[p])
	assert [(h.reason, h.until) for h in plan.holds] == [(HoldReason.PROMISE, day("2024-02-23"))]
	assert codes(plan_cycle([inst], day("2024-02-26"), book, promises=[p])) == ["L1"]


def test_promise_only_pauses_the_items_it_covers_and_only_once_recorded(book):
	a = instalment("INV-1/1", due="2024-02-02", taken=("R-7", "R+3"))
	b = instalment("INV-2/1", due="2024-02-02", taken=("R-7", "R+3"))
	p = promise(items=("INV-1/1",), recorded="2024-02-13", promised="2024-02-20")
	plan = plan_cycle([a, b], day("2024-02-12"), book, promises=[p])  # not recorded yet
	assert sorted(a.instalment.id for a in plan.actions) == ["INV-1/1", "INV-2/1"]
	plan = plan_cycle([a, b], day("2024-02-13"), book, promises=[p])
	assert holds(plan) == [("INV-1/1", HoldReason.PROMISE)]
	assert [x.instalment.id for x in plan.actions] == ["INV-2/1"]


def test_cancelled_or_kept_promise_does_not_pause(book):
	inst = instalment(due="2024-02-02", taken=("R-7", "R+3"))
	for status in (PromiseStatus.CANCELLED, PromiseStatus.BROKEN):
		assert codes(plan_cycle([inst], day("2024-02-12"), book, promises=[promise(status=status)])) == ["L1"]


def test_policy_can_opt_out_of_promise_pause():
	book = book_for(standard_policy(pause_on_promise=False))
	inst = instalment(due="2024-02-02", taken=("R-7", "R+3"))
	assert codes(plan_cycle([inst], day("2024-02-12"), book, promises=[promise()])) == ["L1"]


# ----------------------------------------------------------------------------- disputes


def dispute(amount, items=("INV-1/1",), opened="2024-02-06", **kw):
	return Dispute("DSP-1", "ACME", money(amount), tuple(items), day(opened), reason="damaged goods", **kw)


def test_fully_disputed_item_is_held(book):
	inst = instalment(due="2024-02-02", taken=("R-7", "R+3"))
	plan = plan_cycle([inst], day("2024-02-12"), book, disputes=[dispute(1500)])
	assert plan.actions == []
	(hold,) = plan.holds
	assert (hold.reason, hold.detail) == (HoldReason.DISPUTE, "1000")  # capped at the outstanding


def test_partially_disputed_item_is_dunned_for_the_rest(book):
	inst = instalment(due="2024-02-02", taken=("R-7", "R+3"))
	plan = plan_cycle([inst], day("2024-02-12"), book, disputes=[dispute(300)])
	assert codes(plan) == ["L1"]
	assert plan.actions[0].amount == money(700) and plan.messages[0].total == money(700)


def test_dispute_before_it_opens_or_after_it_is_resolved_has_no_effect(book):
	inst = instalment(due="2024-02-02", taken=("R-7", "R+3"))
	later = dispute(1000, opened="2024-02-13")
	assert codes(plan_cycle([inst], day("2024-02-12"), book, disputes=[later])) == ["L1"]
	done = dispute(1000, status=DisputeStatus.RESOLVED, resolved_on=day("2024-02-10"))
	assert plan_cycle([inst], day("2024-02-12"), book, disputes=[done]).actions[0].amount == money(1000)


def test_policy_can_opt_out_of_dispute_pause():
	book = book_for(standard_policy(pause_on_dispute=False))
	inst = instalment(due="2024-02-02", taken=("R-7", "R+3"))
	for amount in (300, 1000):
		plan = plan_cycle([inst], day("2024-02-12"), book, disputes=[dispute(amount)])
		assert codes(plan) == ["L1"] and plan.actions[0].amount == money(1000)


def test_dispute_over_two_items_spreads_in_order(book):
	a = instalment("INV-1/1", due="2024-02-02", outstanding=400, taken=("R-7", "R+3"))
	b = instalment("INV-1/2", due="2024-02-02", outstanding=400, taken=("R-7", "R+3"))
	plan = plan_cycle([a, b], day("2024-02-12"), book, disputes=[dispute(500, items=("INV-1/1", "INV-1/2"))])
	assert holds(plan) == [("INV-1/1", HoldReason.DISPUTE)]
	assert [(x.instalment.id, x.amount) for x in plan.actions] == [("INV-1/2", money(300))]


# ----------------------------------------------------------------------------- minimum amount


def test_minimum_amount_holds_only_steps_after_due():
	book = book_for(standard_policy(minimum_amount=money(100)))
	late = instalment("A/1", due="2024-02-02", outstanding=50, taken=("R-7", "R+3"))
	soon = instalment("A/2", due="2024-02-19", outstanding=30)
	plan = plan_cycle([late, soon], day("2024-02-12"), book)
	assert [(a.instalment.id, a.step.code) for a in plan.actions] == [("A/2", "R-7")]
	(hold,) = plan.holds
	assert (hold.instalment.id, hold.reason, hold.step.code, hold.detail) == (
		"A/1",
		HoldReason.BELOW_MINIMUM,
		"L1",
		"50",
	)


def test_minimum_amount_is_per_customer_total():
	book = book_for(standard_policy(minimum_amount=money(100)))
	items = [
		instalment("A/1", due="2024-02-02", outstanding=50, taken=("R-7", "R+3")),
		instalment("A/2", due="2024-02-05", outstanding=60, taken=("R-7", "R+3", "L1")),  # overdue, no step
		instalment("B/1", due="2024-02-02", outstanding=90, customer="Beta", taken=("R-7", "R+3")),
	]
	plan = plan_cycle(items, day("2024-02-12"), book)
	assert [a.instalment.id for a in plan.actions] == ["A/1"]  # 50 + 60 >= 100
	assert holds(plan) == [("B/1", HoldReason.BELOW_MINIMUM)]


def test_minimum_amount_counts_only_the_undisputed_part():
	book = book_for(standard_policy(minimum_amount=money(100)))
	inst = instalment("INV-1/1", due="2024-02-02", outstanding=150, taken=("R-7", "R+3"))
	plan = plan_cycle([inst], day("2024-02-12"), book, disputes=[dispute(100)])
	assert holds(plan) == [("INV-1/1", HoldReason.BELOW_MINIMUM)]


def test_minimum_amount_for_late_deposits_counts_deposits():
	"""A large late deposit is reminded even when no invoice is overdue (fixed: was held at 0)."""
	book = book_for(standard_policy(minimum_amount=money(100)))
	dep = instalment("SO-1/1", due="2024-01-10", outstanding=10000, track=Track.DEPOSIT, taken=("DEP-3",))
	assert codes(plan_cycle([dep], day("2024-01-12"), book)) == ["DEP+2"]
	small = replace(dep, outstanding=money(20))
	assert holds(plan_cycle([small], day("2024-01-12"), book)) == [("SO-1/1", HoldReason.BELOW_MINIMUM)]


# ----------------------------------------------------------------------------- policy selection


def test_no_policy_and_disabled_policy_hold():
	off = standard_policy("Off", enabled=False)
	book = PolicyBook(policies={"Off": off}, company_defaults={"Co": "Off"})
	plan = plan_cycle([instalment(due="2024-02-02")], day("2024-02-12"), book)
	assert [(h.reason, h.detail) for h in plan.holds] == [(HoldReason.POLICY_DISABLED, "Off")]
	empty = PolicyBook(policies={})
	plan = plan_cycle([instalment(due="2024-02-02")], day("2024-02-12"), empty)
	assert [(h.reason, h.detail) for h in plan.holds] == [(HoldReason.NO_POLICY, "")]
	plan = plan_cycle([instalment(due="2024-02-02", policy="Ghost")], day("2024-02-12"), empty)
	assert [(h.reason, h.detail) for h in plan.holds] == [(HoldReason.NO_POLICY, "Ghost")]


def test_zero_outstanding_is_skipped_silently(book):
	plan = plan_cycle([instalment(outstanding=0), instalment("X/1", outstanding=-5)], day("2024-02-12"), book)
	assert plan.actions == [] and plan.holds == [] and plan.evaluated == 2


def test_policy_precedence_in_the_book():
	std = standard_policy()
	soft = Policy("Soft", (step("S+30", 30),))
	vip = Policy("VIP", (step("V+20", 20),))
	inv = Policy("Inv", (step("I+5", 5),))
	book = PolicyBook(
		policies={p.name: p for p in (std, soft, vip, inv)},
		company_defaults={"Co": "Standard"},
		segment_policies={"Retail": "Soft"},
	)
	customers = {
		"Seg": CustomerProfile("Seg", segment="Retail"),
		"Own": CustomerProfile("Own", segment="Retail", policy="VIP"),
	}
	items = [
		instalment("D/1", due="2024-01-01", customer="Plain"),
		instalment("S/1", due="2024-01-01", customer="Seg"),
		instalment("O/1", due="2024-01-01", customer="Own"),
		instalment("I/1", due="2024-01-01", customer="Own", policy="Inv"),
	]
	plan = plan_cycle(items, day("2024-02-01"), book, customers)
	assert {a.instalment.id: (a.policy, a.step.code) for a in plan.actions} == {
		"D/1": ("Standard", "L2"),
		"S/1": ("Soft", "S+30"),
		"O/1": ("VIP", "V+20"),
		"I/1": ("Inv", "I+5"),
	}


# ----------------------------------------------------------------------------- grouping


def test_items_of_one_customer_make_one_message_led_by_the_strongest(book):
	items = [
		instalment("INV-3/1", due="2024-02-09", taken=("R-7",), outstanding=300),  # R+3 due 12 Feb
		instalment("INV-1/1", due="2024-01-10", taken=("R-7", "R+3", "L1"), outstanding=100),  # L2
		instalment("INV-2/1", due="2024-02-02", taken=("R-7", "R+3"), outstanding=200),  # L1
	]
	plan = plan_cycle(items, day("2024-02-12"), book, {"ACME": CustomerProfile("ACME", language="de-CH")})
	(msg,) = plan.messages
	assert [(a.instalment.id, a.step.code) for a in msg.actions] == [
		("INV-1/1", "L2"),
		("INV-2/1", "L1"),
		("INV-3/1", "R+3"),
	]
	assert msg.lead.code == "L2" and msg.fee == money(20)
	assert msg.total == money(600)
	assert msg.template == "Mahnung DE"
	assert msg.language == "de-CH"
	assert not msg.needs_approval and not msg.credit_hold and msg.approval_role is None
	# Interest only on the L2 item: 100 x 5 % x 33 / 365 = 0.45
	assert msg.interest == money("0.45")


def test_final_notice_in_a_message_needs_approval_and_sets_credit_hold(book):
	items = [
		instalment("INV-1/1", due="2024-01-02", taken=("R-7", "R+3", "L1", "L2")),  # FN at +38
		instalment("INV-2/1", due="2024-02-02", taken=("R-7", "R+3")),  # L1
	]
	(msg,) = plan_cycle(items, day("2024-02-12"), book).messages
	assert msg.lead.code == "FN"
	assert msg.needs_approval and msg.approval_role == "Accounts Manager" and msg.credit_hold


def test_two_customers_two_messages(book):
	items = [
		instalment("B/1", due="2024-02-02", customer="Beta", taken=("R-7", "R+3")),
		instalment("A/1", due="2024-02-02", customer="Alpha", taken=("R-7", "R+3")),
		instalment("A/2", due="2024-02-19", customer="Alpha"),
	]
	customers = {"Beta": CustomerProfile("Beta", email="ap@beta.example")}
	plan = plan_cycle(items, day("2024-02-12"), book, customers)
	assert [(m.customer, len(m.actions), m.lead.code) for m in plan.messages] == [
		("Alpha", 2, "L1"),
		("Beta", 1, "L1"),
	]
	assert plan.messages[1].email == "ap@beta.example" and plan.messages[0].email is None


def test_channels_and_currencies_split_messages(book):
	items = [
		instalment("INV-1/1", due="2023-12-01", taken=("R-7", "R+3", "L1", "L2", "FN")),  # WO (task)
		instalment("INV-2/1", due="2024-02-02", taken=("R-7", "R+3")),  # L1 (email)
		instalment("INV-3/1", due="2024-02-02", taken=("R-7", "R+3"), currency="EUR"),  # L1, EUR
	]
	plan = plan_cycle(items, day("2024-02-12"), book)
	assert sorted((m.currency, m.channel.value, m.lead.code) for m in plan.messages) == [
		("EUR", "email", "L1"),
		("USD", "email", "L1"),
		("USD", "task", "WO"),
	]
	wo = next(m for m in plan.messages if m.channel == Channel.TASK)
	assert wo.approval_role == "Finance Manager" and wo.template is None


# ----------------------------------------------------------------------------- keys, deposits, next_step


def test_idempotency_keys_are_deterministic_and_distinct(book):
	inst = instalment(due="2024-02-02", taken=("R-7", "R+3"))
	k1 = plan_cycle([inst], day("2024-02-12"), book).actions[0].key
	k2 = plan_cycle([inst], day("2024-02-13"), book).actions[0].key
	assert k1 == k2 == action_key("Co", "ACME", "INV-1/1", "L1")
	assert len(k1) == 32 and int(k1, 16) >= 0
	keys = {
		action_key("Co", "ACME", "INV-1/1", "L1"),
		action_key("Co", "ACME", "INV-1/1", "L2"),
		action_key("Co", "ACME", "INV-1/2", "L1"),
		action_key("Co", "Beta", "INV-1/1", "L1"),
		action_key("Co2", "ACME", "INV-1/1", "L1"),
	}
	assert len(keys) == 5
	# Parts are separated, so shifting text between parts changes the key.
	assert make_key("ab", "c") != make_key("a", "bc")


def test_message_key_does_not_depend_on_input_order(book):
	items = [
		instalment("A/1", due="2024-02-02", taken=("R-7", "R+3")),
		instalment("A/2", due="2024-01-10", taken=("R-7", "R+3", "L1")),
	]
	m1 = plan_cycle(items, day("2024-02-12"), book).messages[0]
	m2 = plan_cycle(items[::-1], day("2024-02-12"), book).messages[0]
	assert m1.key == m2.key and m1 == m2
	assert m1.key != plan_cycle(items[:1], day("2024-02-12"), book).messages[0].key


def test_deposit_steps_apply_only_to_deposit_instalments(book):
	dep = instalment("SO-1/1", due="2024-01-10", track=Track.DEPOSIT)
	inv = instalment("INV-1/1", due="2024-01-10")
	plan = plan_cycle([dep, inv], day("2024-01-08"), book)  # D-2: DEP-3 (Sun 7th -> Mon 8th); R-7
	assert {a.instalment.id: a.step.code for a in plan.actions} == {"SO-1/1": "DEP-3", "INV-1/1": "R-7"}
	plan = plan_cycle(take([dep, inv], plan), day("2024-01-12"), book)  # D+2
	assert {a.instalment.id: a.step.code for a in plan.actions} == {"SO-1/1": "DEP+2"}
	# Long after: the deposit track has nothing stronger than DEP+2.
	dep_done = replace(dep, taken=("DEP-3", "DEP+2"))
	assert plan_cycle([dep_done], day("2024-06-03"), book).actions == []


def test_next_step(policy):
	inst = instalment(due="2024-02-02")
	assert next_step(inst, policy, day("2024-01-01")) == (policy.step("R-7"), day("2024-01-26"))
	# R-7 is due today and not taken: the next step is the one after it.
	assert next_step(inst, policy, day("2024-01-26")) == (policy.step("R+3"), day("2024-02-05"))
	taken = replace(inst, taken=("R-7", "R+3", "L1"))
	assert next_step(taken, policy, day("2024-02-12")) == (policy.step("L2"), day("2024-02-26"))
	ahead = replace(inst, taken=("L2",))
	assert next_step(ahead, policy, day("2024-02-12")) == (policy.step("FN"), day("2024-03-11"))
	assert next_step(replace(inst, taken=("WO",)), policy, day("2024-02-12")) is None
	assert next_step(inst, policy, day("2024-12-31")) is None
	dep = instalment("SO-1/1", due="2024-01-10", track=Track.DEPOSIT)
	assert next_step(dep, policy, day("2024-01-01")) == (policy.step("DEP-3"), day("2024-01-08"))


def test_same_input_gives_equal_plans(book):
	items = [
		instalment("A/1", due="2024-01-02"),
		instalment("A/2", due="2024-02-20"),
		instalment("B/1", due="2024-01-25", customer="Beta", block=None),
		instalment("C/1", due="2024-01-25", customer="Gamma"),
	]
	p = [promise(items=("C/1",), recorded="2024-02-01")]
	d = [dispute(10, items=("A/1",))]
	one = plan_cycle(items, day("2024-02-13"), book, promises=p, disputes=d)
	two = plan_cycle(iter(items), day("2024-02-13"), book, promises=iter(p), disputes=iter(d))
	assert one == two
	assert one.actions and one.holds


# ----------------------------------------------------------------------------- property tests

START = date(2024, 1, 1)
CUSTOMERS = ("Alpha", "Beta", "Gamma")


@st.composite
def policies(draw) -> Policy:
	offsets = draw(st.lists(st.integers(-30, 120), min_size=1, max_size=7, unique=True).map(sorted))
	non_positive = sum(1 for o in offsets if o <= 0)
	n_reminders = draw(st.integers(non_positive, len(offsets)))
	steps = [step(f"R{o}", o) for o in offsets[:n_reminders]]
	strong = offsets[n_reminders:]
	final = bool(strong) and draw(st.booleans())
	for level, o in enumerate(strong[:-1] if final else strong, start=1):
		steps.append(step(f"L{level}", o, StepKind.DUNNING, level=level))
	if final:
		steps.append(step("FN", strong[-1], StepKind.FINAL_NOTICE))
	dep = draw(st.lists(st.integers(-10, 20), max_size=3, unique=True).map(sorted))
	steps += [step(f"D{o}", o, StepKind.DEPOSIT_REMINDER) for o in dep]
	holidays = draw(st.lists(st.dates(START, START + timedelta(days=200)), max_size=5))
	return Policy(
		name="Gen",
		steps=tuple(steps),
		grace_days=draw(st.integers(0, 5)),
		minimum_amount=draw(st.sampled_from([Decimal(0), Decimal(100)])),
		calendar=BusinessCalendar.build(holidays=holidays, weekend=draw(st.sampled_from([(5, 6), (), (4,)]))),
	)


@st.composite
def scenarios(draw):
	policy = draw(policies())
	n = draw(st.integers(1, 6))
	items = []
	for i in range(n):
		track = draw(st.sampled_from([Track.INVOICE, Track.DEPOSIT]))
		track_codes = [s.code for s in policy.track(track).steps]
		taken = draw(st.lists(st.sampled_from(track_codes), max_size=2, unique=True)) if track_codes else []
		items.append(
			instalment(
				f"I{i}",
				due=START + timedelta(days=draw(st.integers(0, 120))),
				outstanding=draw(st.sampled_from([0, 40, 250, 1000])),
				customer=draw(st.sampled_from(CUSTOMERS)),
				track=track,
				taken=tuple(taken),
			)
		)
	disputes = []
	if draw(st.booleans()):
		target = draw(st.sampled_from(items)).id
		disputes.append(Dispute("D", "x", Decimal(draw(st.sampled_from([10, 500, 2000]))), (target,), START))
	return policy, items, disputes


PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(scenarios(), st.integers(0, 200))
def test_property_rerun_after_taking_emits_nothing(scenario, day_offset):
	policy, items, disputes = scenario
	book = book_for(policy)
	on = START + timedelta(days=day_offset)
	plan = plan_cycle(items, on, book, disputes=disputes)
	by_id = {i.id: i for i in items}
	seen = set()
	for a in plan.actions:
		inst = by_id[a.instalment.id]
		assert a.step.code not in inst.taken
		ts = policy.track(inst.track)
		assert all(ts.index_by_code.get(c, -1) < a.step_index for c in inst.taken)
		assert a.step.track == inst.track
		assert a.instalment.id not in seen  # at most one step per instalment and run: never a burst
		seen.add(a.instalment.id)
		assert policy.calendar.is_business_day(on) and a.fire_date <= on
	again = plan_cycle(take(items, plan), on, book, disputes=disputes)
	assert again.actions == [] and again.messages == []
	assert plan == plan_cycle(items, on, book, disputes=disputes)


@PROPERTY_SETTINGS
@given(scenarios(), st.lists(st.integers(0, 200), min_size=1, max_size=15, unique=True).map(sorted))
def test_property_each_step_is_emitted_at_most_once_over_time(scenario, day_offsets):
	policy, items, disputes = scenario
	book = book_for(policy)
	emitted: set[str] = set()
	for offset in day_offsets:
		plan = plan_cycle(items, START + timedelta(days=offset), book, disputes=disputes)
		for a in plan.actions:
			assert a.key not in emitted
			emitted.add(a.key)
		items = take(items, plan)
	for inst in items:
		assert len(inst.taken) == len(set(inst.taken))


def test_email_without_address_falls_back_to_a_task(policy):
	from dunning_plus.engine.cadence import Message
	from dunning_plus.engine.policy import Channel

	step = next(s for s in policy.steps if s.channel == Channel.EMAIL)
	assert step.channel == Channel.EMAIL
	with_email = Message("Co", "A", "USD", Channel.EMAIL, policy.name, step, [], email="ap@a.example")
	without = Message("Co", "A", "USD", Channel.EMAIL, policy.name, step, [], email=None)
	assert with_email.delivery_channel == Channel.EMAIL
	assert without.delivery_channel == Channel.TASK


@given(scenarios(), st.lists(st.integers(0, 200), min_size=1, max_size=10, unique=True).map(sorted))
def test_property_a_resolution_cache_kept_across_days_changes_no_plan(scenario, day_offsets):
	"""The backtest keeps the policy resolution from day to day: the plans are those of fresh runs."""
	policy, items, disputes = scenario
	book = book_for(policy)
	kept: dict = {}
	for offset in day_offsets:
		on = START + timedelta(days=offset)
		fresh = plan_cycle(items, on, book, disputes=disputes)
		cached = plan_cycle(items, on, book, disputes=disputes, resolutions=kept)
		assert [(a.key, a.fire_date, a.amount) for a in cached.actions] == [
			(a.key, a.fire_date, a.amount) for a in fresh.actions
		]
		assert [(h.instalment.id, h.reason, h.until) for h in cached.holds] == [
			(h.instalment.id, h.reason, h.until) for h in fresh.holds
		]
		assert [m.key for m in cached.messages] == [m.key for m in fresh.messages]
		items = take(items, fresh)


def test_weekend_hold_names_the_next_business_day_for_every_item(book):
	items = [instalment(f"INV-{n}/1", due="2024-01-03") for n in range(3)]
	plan = plan_cycle(items, day("2024-01-06"), book)  # a Saturday, R+3 due
	assert [(h.reason, h.until) for h in plan.holds] == [(HoldReason.NOT_BUSINESS_DAY, day("2024-01-08"))] * 3
	assert plan.actions == []
