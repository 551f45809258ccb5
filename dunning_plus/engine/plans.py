"""Payment plans: an overdue balance paid in instalments instead of at once.

A plan covers items of a case (invoice payment-schedule rows, optionally expected deposits) and
schedules their outstanding as plan instalments. It books nothing: payments stay ERPNext's, and
what was paid on the covered items since the plan began counts toward the plan instalments in
date order. While a plan is active its covered items are not dunned; its instalments are reminded
by the policy's "plan" track. An instalment still unpaid after its date plus the policy's grace
breaks the plan (decided once); all paid completes it.

Rules:
- ``split_plan``: an optional down payment on the first date, then N equal instalments every K
  days; the rounding remainder goes on the last instalment, so the sum is always the total.
- ``check_plan``: the sum equals the covered outstanding to the cent, dates strictly increase and
  start on or after the offer date, amounts are positive, at most ``max_instalments`` and at most
  ``max_days`` long (errors); above ``approval_amount`` or ``approval_days`` it needs approval.
- ``allocate_paid``: the amount paid toward the plan fills the instalments earliest first, each up
  to its amount. It is a function of the total paid, so partial payments in any order never mark
  an instalment paid twice, and a cancelled payment simply lowers the total.
- ``plan_state``: Completed when every instalment is paid; Broken when an instalment is unpaid
  after its date plus grace; a Broken, Completed or Cancelled plan never changes state again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from itertools import pairwise

from dunning_plus.engine.errors import EngineError, Problem, _
from dunning_plus.engine.money import ZERO, to_money


class PlanError(EngineError):
	"""A payment plan cannot be made or checked as asked. ``problems`` lists every problem."""

	def __init__(self, problems: list[Problem]):
		self.problems = problems
		super().__init__("\n".join(str(p) for p in problems))

	def translated(self, translate) -> str:
		return "\n".join(translate(p.template).format(*p.args) for p in self.problems)


class PlanStatus(StrEnum):
	PROPOSED = "Proposed"
	ACTIVE = "Active"
	COMPLETED = "Completed"
	BROKEN = "Broken"
	CANCELLED = "Cancelled"


FINAL = frozenset({PlanStatus.COMPLETED, PlanStatus.BROKEN, PlanStatus.CANCELLED})


@dataclass(frozen=True)
class PlanInstalment:
	due_date: date
	amount: Decimal
	paid: Decimal = ZERO

	@property
	def open(self) -> Decimal:
		return self.amount - self.paid

	@property
	def is_paid(self) -> bool:
		return self.paid >= self.amount


@dataclass(frozen=True)
class PlanLimits:
	max_instalments: int = 12
	max_days: int = 365
	approval_amount: Decimal | None = None  # above it the plan needs approval
	approval_days: int | None = None  # longer than this it needs approval


@dataclass(frozen=True)
class PlanCheck:
	needs_approval: bool
	reasons: tuple[Problem, ...] = field(default_factory=tuple)  # why it needs approval


def split_plan(
	total: Decimal,
	count: int,
	first_date: date,
	every_days: int,
	down_payment: Decimal = ZERO,
	precision: int = 2,
) -> list[PlanInstalment]:
	"""``count`` equal instalments every ``every_days`` days from ``first_date`` (after an optional
	down payment on ``first_date``, which moves the first equal instalment one period later)."""
	total, down_payment = to_money(total, precision), to_money(down_payment, precision)
	problems = []
	if total <= 0:
		problems.append(Problem(_("There is nothing outstanding to put in a plan.")))
	if count < 1:
		problems.append(Problem(_("A plan needs at least one instalment.")))
	if every_days < 1:
		problems.append(Problem(_("Instalments must be at least one day apart.")))
	if down_payment < 0:
		problems.append(Problem(_("The down payment cannot be negative.")))
	elif down_payment >= total > 0:
		problems.append(
			Problem(_("The down payment {0} covers the whole {1}: no plan is needed."), down_payment, total)
		)
	if problems:
		raise PlanError(problems)
	rest = total - down_payment
	unit = Decimal(1).scaleb(-precision)
	each = (rest / count).quantize(unit, rounding=ROUND_DOWN)
	if each <= 0:
		raise PlanError([Problem(_("{0} cannot be split into {1} instalments."), rest, count)])
	out = []
	start = first_date
	if down_payment > 0:
		out.append(PlanInstalment(first_date, down_payment))
		start = first_date + timedelta(days=every_days)
	for n in range(count):
		amount = each if n < count - 1 else rest - each * (count - 1)
		out.append(PlanInstalment(start + timedelta(days=every_days * n), amount))
	return out


def check_plan(
	instalments: Sequence[PlanInstalment], covered: Decimal, today: date, limits: PlanLimits
) -> PlanCheck:
	"""Raises :class:`PlanError` listing every problem; says whether the plan needs approval."""
	problems = []
	if not instalments:
		raise PlanError([Problem(_("A plan needs at least one instalment."))])
	total = sum((i.amount for i in instalments), ZERO)
	if to_money(total) != to_money(covered):
		problems.append(
			Problem(
				_("The instalments add up to {0} but the covered items owe {1}."),
				to_money(total),
				to_money(covered),
			)
		)
	for n, inst in enumerate(instalments, start=1):
		if inst.amount <= 0:
			problems.append(Problem(_("Instalment {0}: the amount must be more than zero."), n))
	if instalments[0].due_date < today:
		problems.append(
			Problem(
				_("The first instalment ({0}) cannot be before today ({1})."), instalments[0].due_date, today
			)
		)
	for n, (prev, cur) in enumerate(pairwise(instalments), start=2):
		if cur.due_date <= prev.due_date:
			problems.append(
				Problem(
					_("Instalment {0} ({1}) must be after instalment {2} ({3})."),
					n,
					cur.due_date,
					n - 1,
					prev.due_date,
				)
			)
	if len(instalments) > limits.max_instalments:
		problems.append(
			Problem(
				_("A plan can have at most {0} instalments, not {1}."),
				limits.max_instalments,
				len(instalments),
			)
		)
	days = (instalments[-1].due_date - today).days
	if days > limits.max_days:
		problems.append(
			Problem(_("A plan can last at most {0} days; this one lasts {1}."), limits.max_days, days)
		)
	if problems:
		raise PlanError(problems)
	reasons = []
	if limits.approval_amount is not None and total > limits.approval_amount:
		reasons.append(Problem(_("the amount {0} is above {1}"), to_money(total), limits.approval_amount))
	if limits.approval_days is not None and days > limits.approval_days:
		reasons.append(Problem(_("it lasts {0} days, more than {1}"), days, limits.approval_days))
	return PlanCheck(bool(reasons), tuple(reasons))


def paid_toward(covered_at_start: Decimal, still_owed: Decimal) -> Decimal:
	"""What was paid on the covered items since the plan began (never negative, never above them)."""
	return min(max(covered_at_start - still_owed, ZERO), covered_at_start)


def allocate_paid(instalments: Iterable[PlanInstalment], paid: Decimal) -> list[PlanInstalment]:
	"""Fills the instalments earliest first with ``paid``."""
	left = max(paid, ZERO)
	out = []
	for inst in sorted(instalments, key=lambda i: i.due_date):
		take = min(inst.amount, left)
		left -= take
		out.append(replace(inst, paid=take))
	return out


@dataclass(frozen=True)
class PlanState:
	status: PlanStatus
	broken_on: PlanInstalment | None = None  # the instalment that broke it
	next_due: PlanInstalment | None = None  # the first instalment not fully paid


def plan_state(
	status: PlanStatus, instalments: Sequence[PlanInstalment], on: date, grace_days: int = 0
) -> PlanState:
	"""The state a plan in ``status`` is in on ``on`` with ``instalments`` paid as given."""
	ordered = sorted(instalments, key=lambda i: i.due_date)
	next_due = next((i for i in ordered if not i.is_paid), None)
	if status in FINAL or status == PlanStatus.PROPOSED:
		return PlanState(status, next_due=next_due)
	if next_due is None:
		return PlanState(PlanStatus.COMPLETED)
	late = next((i for i in ordered if not i.is_paid and i.due_date + timedelta(days=grace_days) < on), None)
	if late is not None:
		return PlanState(PlanStatus.BROKEN, broken_on=late, next_due=next_due)
	return PlanState(PlanStatus.ACTIVE, next_due=next_due)
