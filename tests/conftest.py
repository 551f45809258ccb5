"""Shared builders for the engine tests: a standard policy, instalments and a policy book.

Calendar used throughout: 2024-01-01 is a Monday, so 2024-01-06/07 and 2024-02-03/04 are weekends.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from dunning_plus.engine.cadence import Instalment, PolicyBook
from dunning_plus.engine.policy import Channel, Policy, PolicyStep, StepKind

TPL = {"default": "Reminder EN", "de": "Mahnung DE"}


def money(value) -> Decimal:
	return Decimal(str(value))


def day(text: str) -> date:
	return date.fromisoformat(text)


def step(code: str, offset: int, kind: StepKind | str = StepKind.REMINDER, **kw) -> PolicyStep:
	kind = StepKind(kind)
	kw.setdefault("templates", dict(TPL))
	if kind == StepKind.WRITE_OFF:
		kw.setdefault("approval_role", "Finance Manager")
	return PolicyStep(code=code, offset_days=offset, kind=kind, **kw)


def standard_steps() -> tuple[PolicyStep, ...]:
	"""Invoice track: R-7, R+3, L1 (+10), L2 (+24), FN (+38), WO (+60); deposit track: DEP-3, DEP+2."""
	return (
		step("DEP-3", -3, StepKind.DEPOSIT_REMINDER),
		step("DEP+2", 2, StepKind.DEPOSIT_REMINDER),
		step("R-7", -7),
		step("R+3", 3),
		step("L1", 10, StepKind.DUNNING, level=1, owner="AR team", fee=money(10), sla_hours=48),
		step("L2", 24, StepKind.DUNNING, level=2, fee=money(20), interest_rate=money(5)),
		step("FN", 38, StepKind.FINAL_NOTICE, approval_role="Accounts Manager", credit_hold=True),
		step("WO", 60, StepKind.WRITE_OFF, channel=Channel.TASK, templates={}),
	)


def standard_policy(name: str = "Standard", **kw) -> Policy:
	kw.setdefault("steps", standard_steps())
	return Policy(name=name, **kw)


def instalment(
	id: str = "INV-1/1",
	due: date | str = "2024-02-02",
	outstanding=1000,
	customer: str = "ACME",
	company: str = "Co",
	**kw,
) -> Instalment:
	if isinstance(due, str):
		due = day(due)
	kw.setdefault("invoice", id.split("/")[0])
	return Instalment(
		id=id, customer=customer, company=company, due_date=due, outstanding=money(outstanding), **kw
	)


def book_for(*policies: Policy, company: str = "Co", default: str | None = None, **kw) -> PolicyBook:
	default = default or policies[0].name
	return PolicyBook(policies={p.name: p for p in policies}, company_defaults={company: default}, **kw)


@pytest.fixture
def policy() -> Policy:
	return standard_policy()


@pytest.fixture
def book(policy) -> PolicyBook:
	return book_for(policy)
