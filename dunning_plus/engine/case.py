"""The collection case state machine.

    open -> reminder -> dunning (levels) -> final notice -> escalated
      any active state -> disputed | promised | on plan | pending approval | on hold -> back to where it was
      any open state -> resolved (paid / dispute closed) | written off (approved) -> closed
      resolved | written off -> reopened (a payment or credit note was cancelled)

Each transition records the event, the day and the reason. :func:`derive_status` computes the
same status from facts alone, so a case can always be recomputed from scratch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum

from dunning_plus.engine.errors import TransitionError, _
from dunning_plus.engine.policy import PolicyStep, StepKind


class CaseStatus(StrEnum):
	OPEN = "Open"
	REMINDER = "Reminder"
	DUNNING = "Dunning"
	FINAL_NOTICE = "Final Notice"
	ESCALATED = "Escalated"
	DISPUTED = "Disputed"
	PROMISED = "Promised"
	ON_PLAN = "On Plan"
	PENDING_APPROVAL = "Pending Approval"
	ON_HOLD = "On Hold"
	RESOLVED = "Resolved"
	WRITTEN_OFF = "Written Off"
	CLOSED = "Closed"


class CaseEvent(StrEnum):
	STEP_TAKEN = "step_taken"
	DISPUTE_OPENED = "dispute_opened"
	DISPUTE_CLOSED = "dispute_closed"
	PROMISE_RECORDED = "promise_recorded"
	PROMISE_KEPT = "promise_kept"
	PROMISE_BROKEN = "promise_broken"
	PROMISE_CANCELLED = "promise_cancelled"
	PLAN_ACTIVE = "plan_active"
	PLAN_ENDED = "plan_ended"
	APPROVAL_REQUESTED = "approval_requested"
	APPROVED = "approved"
	REJECTED = "rejected"
	HOLD = "hold"
	HOLD_RELEASED = "hold_released"
	ESCALATED = "escalated"
	PAID = "paid"
	WRITTEN_OFF = "written_off"
	REOPENED = "reopened"
	CLOSED = "closed"


ACTIVE = frozenset(
	{CaseStatus.OPEN, CaseStatus.REMINDER, CaseStatus.DUNNING, CaseStatus.FINAL_NOTICE, CaseStatus.ESCALATED}
)
PAUSED = frozenset(
	{
		CaseStatus.DISPUTED,
		CaseStatus.PROMISED,
		CaseStatus.ON_PLAN,
		CaseStatus.PENDING_APPROVAL,
		CaseStatus.ON_HOLD,
	}
)
OPEN_STATES = ACTIVE | PAUSED
ENDED = frozenset({CaseStatus.RESOLVED, CaseStatus.WRITTEN_OFF})
TERMINAL = frozenset({CaseStatus.CLOSED})

# Ranking of the active states: a step never moves a case backwards.
_RANK = {
	CaseStatus.OPEN: 0,
	CaseStatus.REMINDER: 1,
	CaseStatus.DUNNING: 2,
	CaseStatus.FINAL_NOTICE: 3,
	CaseStatus.ESCALATED: 4,
}

_STEP_STATUS = {
	StepKind.REMINDER: CaseStatus.REMINDER,
	StepKind.DEPOSIT_REMINDER: CaseStatus.REMINDER,
	StepKind.DUNNING: CaseStatus.DUNNING,
	StepKind.FINAL_NOTICE: CaseStatus.FINAL_NOTICE,
	StepKind.ESCALATION: CaseStatus.ESCALATED,
}

# event -> the states it may be applied in
ALLOWED: dict[CaseEvent, frozenset[CaseStatus]] = {
	CaseEvent.STEP_TAKEN: ACTIVE | PAUSED,
	CaseEvent.DISPUTE_OPENED: ACTIVE | {CaseStatus.PROMISED, CaseStatus.ON_HOLD, CaseStatus.DISPUTED},
	CaseEvent.DISPUTE_CLOSED: frozenset({CaseStatus.DISPUTED}),
	CaseEvent.PROMISE_RECORDED: ACTIVE | {CaseStatus.PROMISED, CaseStatus.ON_HOLD},
	CaseEvent.PROMISE_KEPT: frozenset({CaseStatus.PROMISED}),
	CaseEvent.PROMISE_BROKEN: frozenset({CaseStatus.PROMISED}),
	CaseEvent.PROMISE_CANCELLED: frozenset({CaseStatus.PROMISED}),
	CaseEvent.PLAN_ACTIVE: ACTIVE | {CaseStatus.PROMISED, CaseStatus.ON_HOLD},
	# completed, broken or cancelled: dunning resumes where it was
	CaseEvent.PLAN_ENDED: frozenset({CaseStatus.ON_PLAN}),
	CaseEvent.APPROVAL_REQUESTED: ACTIVE | {CaseStatus.PENDING_APPROVAL},
	CaseEvent.APPROVED: frozenset({CaseStatus.PENDING_APPROVAL}),
	CaseEvent.REJECTED: frozenset({CaseStatus.PENDING_APPROVAL}),
	CaseEvent.HOLD: ACTIVE | {CaseStatus.ON_HOLD},
	CaseEvent.HOLD_RELEASED: frozenset({CaseStatus.ON_HOLD}),
	CaseEvent.ESCALATED: ACTIVE | PAUSED,
	CaseEvent.PAID: OPEN_STATES,
	# A write-off is only ever booked on an approval.
	CaseEvent.WRITTEN_OFF: frozenset({CaseStatus.PENDING_APPROVAL}),
	CaseEvent.REOPENED: ENDED,
	CaseEvent.CLOSED: ENDED,
}


@dataclass(frozen=True)
class Transition:
	event: CaseEvent
	source: CaseStatus
	target: CaseStatus
	on: date
	reason: str = ""


@dataclass(frozen=True)
class CaseState:
	status: CaseStatus = CaseStatus.OPEN
	level: int = 0
	resume: CaseStatus = CaseStatus.OPEN  # the active state a pause returns to
	history: tuple[Transition, ...] = field(default_factory=tuple)

	@property
	def is_open(self) -> bool:
		return self.status in OPEN_STATES


def apply_event(
	state: CaseState,
	event: CaseEvent | str,
	on: date,
	reason: str = "",
	step: PolicyStep | None = None,
	approved_status: CaseStatus | None = None,
) -> CaseState:
	"""The state after ``event``; raises :class:`TransitionError` for a transition not allowed."""
	event = CaseEvent(event)
	if state.status not in ALLOWED[event]:
		raise TransitionError(
			_("A case in status {0} cannot take the event {1}."), state.status.value, event.value
		)
	if event in (CaseEvent.PAID, CaseEvent.WRITTEN_OFF, CaseEvent.CLOSED) and not reason:
		reason = event.value
	level = state.level
	# Paused and ended states remember the active state they return to (on resume / reopen).
	resume = state.resume if state.status in PAUSED | ENDED else state.status
	target: CaseStatus

	if event == CaseEvent.STEP_TAKEN:
		if step is None:
			raise TransitionError(_("A step event needs the step that was taken."))
		if step.kind == StepKind.WRITE_OFF:
			target = CaseStatus.PENDING_APPROVAL
		else:
			stepped = _STEP_STATUS[step.kind]
			if step.kind == StepKind.DUNNING:
				level = max(level, step.level)
			best = stepped if _RANK[stepped] > _RANK[resume] else resume
			if state.status in PAUSED:
				# The step is recorded; the case stays paused and resumes at the stronger state.
				resume, target = best, state.status
			else:
				target = best
	elif event in (CaseEvent.DISPUTE_OPENED,):
		target = CaseStatus.DISPUTED
	elif event == CaseEvent.PROMISE_RECORDED:
		target = CaseStatus.PROMISED
	elif event == CaseEvent.PLAN_ACTIVE:
		target = CaseStatus.ON_PLAN
	elif event == CaseEvent.APPROVAL_REQUESTED:
		target = CaseStatus.PENDING_APPROVAL
	elif event == CaseEvent.HOLD:
		target = CaseStatus.ON_HOLD
	elif event in (
		CaseEvent.DISPUTE_CLOSED,
		CaseEvent.PROMISE_CANCELLED,
		CaseEvent.PLAN_ENDED,
		CaseEvent.REJECTED,
		CaseEvent.HOLD_RELEASED,
	):
		target = resume
	elif event == CaseEvent.APPROVED:
		target = approved_status or resume
		if target not in ACTIVE | ENDED:
			raise TransitionError(
				_("An approval can only lead to an active or ended status, not {0}."), target
			)
	elif event == CaseEvent.PROMISE_KEPT:
		# The promise closes; the case resolves only when everything is paid (PAID).
		target = resume
	elif event in (CaseEvent.PROMISE_BROKEN, CaseEvent.ESCALATED):
		target = CaseStatus.ESCALATED
	elif event == CaseEvent.PAID:
		target = CaseStatus.RESOLVED
	elif event == CaseEvent.WRITTEN_OFF:
		target = CaseStatus.WRITTEN_OFF
	elif event == CaseEvent.REOPENED:
		target = resume if resume in ACTIVE else CaseStatus.OPEN
	else:  # CLOSED
		target = CaseStatus.CLOSED

	if target in ACTIVE:
		resume = target
	return replace(
		state,
		status=target,
		level=level,
		resume=resume,
		history=(*state.history, Transition(event, state.status, target, on, reason)),
	)


@dataclass(frozen=True)
class CaseFacts:
	"""Everything :func:`derive_status` needs, read fresh from the ledger and the case's records."""

	outstanding: object  # Decimal; total still owed on the case's items
	strongest_step: PolicyStep | None = None  # the strongest step taken on an open item
	level: int = 0
	pending_approval: bool = False
	on_hold: bool = False
	fully_disputed: bool = False  # every open item is held by an open dispute
	promise_pending: bool = False  # every open, undisputed item is covered by a pending promise
	plan_active: bool = False  # every open, undisputed item is covered by an active payment plan
	broken_promise: bool = False  # a promise broke and was not superseded
	written_off: bool = False
	escalated: bool = False


def derive_status(facts: CaseFacts) -> tuple[CaseStatus, int]:
	"""The case status and level that the facts imply (used to recompute a case from scratch)."""
	if facts.outstanding <= 0:
		return (CaseStatus.WRITTEN_OFF if facts.written_off else CaseStatus.RESOLVED), facts.level
	# A hold is a person's explicit decision and stops everything, approvals included: it shows first,
	# so the case offers "Release Hold" whatever else waits on it.
	if facts.on_hold:
		return CaseStatus.ON_HOLD, facts.level
	if facts.pending_approval:
		return CaseStatus.PENDING_APPROVAL, facts.level
	if facts.fully_disputed:
		return CaseStatus.DISPUTED, facts.level
	if facts.plan_active:
		return CaseStatus.ON_PLAN, facts.level
	if facts.promise_pending:
		return CaseStatus.PROMISED, facts.level
	if facts.escalated or facts.broken_promise:
		return CaseStatus.ESCALATED, facts.level
	step = facts.strongest_step
	if step is None:
		return CaseStatus.OPEN, facts.level
	if step.kind == StepKind.WRITE_OFF:
		return CaseStatus.FINAL_NOTICE, facts.level
	return _STEP_STATUS[step.kind], max(facts.level, step.level)
