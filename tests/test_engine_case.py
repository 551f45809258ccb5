from datetime import date

import pytest
from conftest import day, money, standard_policy, step

from dunning_plus.engine.case import (
	ALLOWED,
	CaseEvent,
	CaseFacts,
	CaseState,
	CaseStatus,
	Transition,
	apply_event,
	derive_status,
)
from dunning_plus.engine.errors import TransitionError
from dunning_plus.engine.policy import Channel, StepKind

P = standard_policy()
R, L1, L2, FN, WO = (P.step(c) for c in ("R+3", "L1", "L2", "FN", "WO"))
DEP = P.step("DEP-3")
ESC = step("ESC", 20, StepKind.ESCALATION, channel=Channel.TASK, templates={})
D = date(2024, 3, 1)


def run(state: CaseState, *events) -> CaseState:
	for ev in events:
		if isinstance(ev, tuple):
			event, kw = ev
			state = apply_event(state, event, D, **kw)
		else:
			state = apply_event(state, ev, D)
	return state


def taken(s):
	return (CaseEvent.STEP_TAKEN, {"step": s})


# ----------------------------------------------------------------------------- allowed paths


def test_escalation_path_to_write_off_with_approval():
	s = CaseState()
	assert s.status == CaseStatus.OPEN and s.is_open
	s = run(s, taken(R))
	assert (s.status, s.level) == (CaseStatus.REMINDER, 0)
	s = run(s, taken(L1))
	assert (s.status, s.level) == (CaseStatus.DUNNING, 1)
	s = run(s, taken(L2))
	assert (s.status, s.level) == (CaseStatus.DUNNING, 2)
	s = run(s, taken(FN))
	assert (s.status, s.level) == (CaseStatus.FINAL_NOTICE, 2)
	s = run(s, taken(WO))  # a write-off proposal waits for approval
	assert s.status == CaseStatus.PENDING_APPROVAL and s.resume == CaseStatus.FINAL_NOTICE
	s = run(s, (CaseEvent.APPROVED, {"approved_status": CaseStatus.WRITTEN_OFF, "reason": "approved by CFO"}))
	assert s.status == CaseStatus.WRITTEN_OFF and not s.is_open
	s = run(s, CaseEvent.CLOSED)
	assert s.status == CaseStatus.CLOSED
	assert [t.target for t in s.history] == [
		CaseStatus.REMINDER,
		CaseStatus.DUNNING,
		CaseStatus.DUNNING,
		CaseStatus.FINAL_NOTICE,
		CaseStatus.PENDING_APPROVAL,
		CaseStatus.WRITTEN_OFF,
		CaseStatus.CLOSED,
	]


def test_write_off_event_from_pending_approval():
	s = run(CaseState(), taken(L1), taken(FN), CaseEvent.APPROVAL_REQUESTED)
	assert s.status == CaseStatus.PENDING_APPROVAL
	s = run(s, CaseEvent.WRITTEN_OFF)
	assert s.status == CaseStatus.WRITTEN_OFF
	assert s.history[-1].reason == "written_off"


def test_rejected_approval_returns_to_previous_state():
	s = run(CaseState(), taken(L1), taken(FN), taken(WO), CaseEvent.REJECTED)
	assert s.status == CaseStatus.FINAL_NOTICE
	s = run(CaseState(), taken(L1), taken(FN), taken(WO), CaseEvent.APPROVED)
	assert s.status == CaseStatus.FINAL_NOTICE  # approved without a target: back where it was


def test_a_step_never_moves_the_case_backwards():
	s = run(CaseState(), taken(L2), taken(R), taken(L1))
	assert (s.status, s.level) == (CaseStatus.DUNNING, 2)
	assert run(CaseState(), taken(DEP)).status == CaseStatus.REMINDER
	assert run(CaseState(), taken(L1), taken(ESC)).status == CaseStatus.ESCALATED


def test_dispute_pauses_and_resumes_previous_status():
	s = run(CaseState(), taken(R), taken(L1))
	s = run(s, (CaseEvent.DISPUTE_OPENED, {"reason": "pricing"}))
	assert (s.status, s.resume) == (CaseStatus.DISPUTED, CaseStatus.DUNNING) and s.is_open
	s = run(s, CaseEvent.DISPUTE_OPENED)  # a second dispute while disputed
	assert s.status == CaseStatus.DISPUTED
	s = run(s, CaseEvent.DISPUTE_CLOSED)
	assert (s.status, s.level) == (CaseStatus.DUNNING, 1)


def test_step_taken_while_paused_keeps_the_pause_and_raises_the_resume_state():
	s = run(CaseState(), taken(L1), CaseEvent.DISPUTE_OPENED, taken(FN))
	assert (s.status, s.resume) == (CaseStatus.DISPUTED, CaseStatus.FINAL_NOTICE)
	assert run(s, CaseEvent.DISPUTE_CLOSED).status == CaseStatus.FINAL_NOTICE


def test_promise_kept_closes_the_promise_not_the_case():
	s = run(CaseState(), taken(L1), CaseEvent.PROMISE_RECORDED)
	assert (s.status, s.resume) == (CaseStatus.PROMISED, CaseStatus.DUNNING)
	s = run(s, CaseEvent.PROMISE_KEPT)
	assert s.status == CaseStatus.DUNNING
	assert run(s, CaseEvent.PAID).status == CaseStatus.RESOLVED


def test_promise_broken_escalates_and_cancelled_resumes():
	s = run(CaseState(), taken(R), CaseEvent.PROMISE_RECORDED)
	broken = run(s, (CaseEvent.PROMISE_BROKEN, {"reason": "no payment by 2024-03-15"}))
	assert broken.status == CaseStatus.ESCALATED and broken.resume == CaseStatus.ESCALATED
	assert broken.history[-1].reason == "no payment by 2024-03-15"
	assert run(s, CaseEvent.PROMISE_CANCELLED).status == CaseStatus.REMINDER


def test_hold_and_release():
	s = run(CaseState(), taken(L1), CaseEvent.HOLD)
	assert s.status == CaseStatus.ON_HOLD
	assert run(s, CaseEvent.HOLD_RELEASED).status == CaseStatus.DUNNING


def test_paid_resolved_reopened_closed():
	s = run(CaseState(), taken(R), taken(L1), CaseEvent.PAID)
	assert s.status == CaseStatus.RESOLVED and s.history[-1].reason == "paid"
	s = run(s, (CaseEvent.REOPENED, {"reason": "payment cancelled"}))
	assert (s.status, s.level) == (CaseStatus.DUNNING, 1)  # back where it was when paid
	s = run(s, CaseEvent.PAID, CaseEvent.CLOSED)
	assert s.status == CaseStatus.CLOSED
	assert [t.event for t in s.history][-4:] == [
		CaseEvent.PAID,
		CaseEvent.REOPENED,
		CaseEvent.PAID,
		CaseEvent.CLOSED,
	]


def test_reopen_fresh_case_goes_to_open():
	s = run(CaseState(), CaseEvent.PAID, CaseEvent.REOPENED)
	assert s.status == CaseStatus.OPEN
	s = run(CaseState(), taken(L1), CaseEvent.APPROVAL_REQUESTED, CaseEvent.WRITTEN_OFF, CaseEvent.REOPENED)
	assert s.status == CaseStatus.DUNNING


def test_paid_while_disputed_resolves():
	assert run(CaseState(), taken(L1), CaseEvent.DISPUTE_OPENED, CaseEvent.PAID).status == CaseStatus.RESOLVED


def test_history_records_event_reason_and_day():
	s = apply_event(CaseState(), "step_taken", day("2024-02-12"), reason="L1 sent", step=L1)
	s = apply_event(s, CaseEvent.DISPUTE_OPENED, day("2024-02-14"), reason="damaged goods")
	assert s.history == (
		Transition(CaseEvent.STEP_TAKEN, CaseStatus.OPEN, CaseStatus.DUNNING, day("2024-02-12"), "L1 sent"),
		Transition(
			CaseEvent.DISPUTE_OPENED,
			CaseStatus.DUNNING,
			CaseStatus.DISPUTED,
			day("2024-02-14"),
			"damaged goods",
		),
	)


def test_apply_event_does_not_mutate_the_old_state():
	s0 = CaseState()
	s1 = apply_event(s0, CaseEvent.STEP_TAKEN, D, step=L1)
	assert s0.status == CaseStatus.OPEN and s0.history == ()
	assert s1.status == CaseStatus.DUNNING


# ----------------------------------------------------------------------------- disallowed transitions


def state_in(status: CaseStatus) -> CaseState:
	return CaseState(status=status, resume=CaseStatus.DUNNING, level=1)


@pytest.mark.parametrize("event", list(CaseEvent))
@pytest.mark.parametrize("status", list(CaseStatus))
def test_transition_table_is_enforced(status, event):
	s = state_in(status)
	kw = {"step": L1} if event == CaseEvent.STEP_TAKEN else {}
	if status in ALLOWED[event]:
		after = apply_event(s, event, D, **kw)
		assert after.history[-1] == Transition(event, status, after.status, D, after.history[-1].reason)
	else:
		with pytest.raises(TransitionError) as exc:
			apply_event(s, event, D, **kw)
		assert str(exc.value) == f"A case in status {status.value} cannot take the event {event.value}."


def test_closed_takes_nothing():
	closed = run(CaseState(), CaseEvent.PAID, CaseEvent.CLOSED)
	for event in CaseEvent:
		with pytest.raises(TransitionError):
			apply_event(closed, event, D, step=L1)


@pytest.mark.parametrize(
	"events, bad",
	[
		((), CaseEvent.DISPUTE_CLOSED),
		((taken(L1),), CaseEvent.DISPUTE_CLOSED),
		((taken(L1),), CaseEvent.PROMISE_KEPT),
		((taken(L1),), CaseEvent.APPROVED),
		((taken(L1),), CaseEvent.REOPENED),
		((taken(L1),), CaseEvent.CLOSED),
		((taken(L1), CaseEvent.DISPUTE_OPENED), CaseEvent.WRITTEN_OFF),
		((taken(L1),), CaseEvent.WRITTEN_OFF),
		((taken(L1), CaseEvent.DISPUTE_OPENED), CaseEvent.PROMISE_RECORDED),
		((CaseEvent.PAID,), CaseEvent.PAID),
		((CaseEvent.PAID,), taken(L1)),
	],
)
def test_disallowed_transitions_raise(events, bad):
	s = run(CaseState(), *events)
	with pytest.raises(TransitionError, match=r"cannot take the event"):
		run(s, bad)


def test_step_event_needs_a_step():
	with pytest.raises(TransitionError, match=r"A step event needs the step that was taken."):
		apply_event(CaseState(), CaseEvent.STEP_TAKEN, D)


def test_approval_cannot_lead_to_a_paused_status():
	s = run(CaseState(), taken(L1), CaseEvent.APPROVAL_REQUESTED)
	with pytest.raises(TransitionError, match=r"active or ended status"):
		apply_event(s, CaseEvent.APPROVED, D, approved_status=CaseStatus.DISPUTED)


def test_unknown_event_name():
	with pytest.raises(ValueError):
		apply_event(CaseState(), "teleported", D)


# ----------------------------------------------------------------------------- derive_status


@pytest.mark.parametrize(
	"facts, expected",
	[
		(CaseFacts(outstanding=money(0)), (CaseStatus.RESOLVED, 0)),
		(CaseFacts(outstanding=money(-5), level=2), (CaseStatus.RESOLVED, 2)),
		(CaseFacts(outstanding=money(0), written_off=True, level=3), (CaseStatus.WRITTEN_OFF, 3)),
		(CaseFacts(outstanding=money(10)), (CaseStatus.OPEN, 0)),
		(CaseFacts(outstanding=money(10), strongest_step=R), (CaseStatus.REMINDER, 0)),
		(CaseFacts(outstanding=money(10), strongest_step=DEP), (CaseStatus.REMINDER, 0)),
		(CaseFacts(outstanding=money(10), strongest_step=L2), (CaseStatus.DUNNING, 2)),
		(CaseFacts(outstanding=money(10), strongest_step=L1, level=2), (CaseStatus.DUNNING, 2)),
		(CaseFacts(outstanding=money(10), strongest_step=FN, level=2), (CaseStatus.FINAL_NOTICE, 2)),
		(CaseFacts(outstanding=money(10), strongest_step=WO, level=2), (CaseStatus.FINAL_NOTICE, 2)),
		(CaseFacts(outstanding=money(10), strongest_step=ESC), (CaseStatus.ESCALATED, 0)),
		(CaseFacts(outstanding=money(10), strongest_step=L1, escalated=True), (CaseStatus.ESCALATED, 0)),
		(CaseFacts(outstanding=money(10), strongest_step=R, broken_promise=True), (CaseStatus.ESCALATED, 0)),
		(
			CaseFacts(outstanding=money(10), strongest_step=L1, broken_promise=True, promise_pending=True),
			(CaseStatus.PROMISED, 0),
		),
		(
			CaseFacts(outstanding=money(10), strongest_step=L1, promise_pending=True, fully_disputed=True),
			(CaseStatus.DISPUTED, 0),
		),
		(CaseFacts(outstanding=money(10), fully_disputed=True, on_hold=True), (CaseStatus.ON_HOLD, 0)),
		(
			CaseFacts(
				outstanding=money(10),
				strongest_step=FN,
				pending_approval=True,
				on_hold=True,
				fully_disputed=True,
				promise_pending=True,
				escalated=True,
			),
			(CaseStatus.ON_HOLD, 0),
		),
		# issue 15 item 7: a held case waiting for an approval shows On Hold (and so "Release Hold")
		(
			CaseFacts(outstanding=money(10), strongest_step=FN, pending_approval=True),
			(CaseStatus.PENDING_APPROVAL, 0),
		),
		(
			CaseFacts(outstanding=money(10), strongest_step=FN, pending_approval=True, on_hold=True),
			(CaseStatus.ON_HOLD, 0),
		),
		(CaseFacts(outstanding=money(0), pending_approval=True, on_hold=True), (CaseStatus.RESOLVED, 0)),
	],
)
def test_derive_status(facts, expected):
	assert derive_status(facts) == expected
