import pytest
from conftest import day

from dunning_plus.engine.errors import EngineError
from dunning_plus.engine.precedence import (
	Block,
	BlockScope,
	PolicySource,
	active_block,
	expired_blocks,
	resolve_policy,
)


@pytest.mark.parametrize(
	"kwargs, expected",
	[
		(
			{"invoice": "I", "customer": "C", "segment": "S", "company_default": "D"},
			("I", PolicySource.INVOICE),
		),
		({"customer": "C", "segment": "S", "company_default": "D"}, ("C", PolicySource.CUSTOMER)),
		({"segment": "S", "company_default": "D"}, ("S", PolicySource.SEGMENT)),
		({"company_default": "D"}, ("D", PolicySource.COMPANY)),
		({"invoice": "", "customer": None, "company_default": "D"}, ("D", PolicySource.COMPANY)),
	],
)
def test_most_specific_policy_wins(kwargs, expected):
	choice = resolve_policy(**kwargs)
	assert (choice.policy, choice.source) == expected


def test_no_policy_configured_gives_none():
	assert resolve_policy() is None
	assert resolve_policy(invoice="", customer="", segment=None, company_default=None) is None


def test_block_active_until_end_date_inclusive():
	b = Block(BlockScope.CUSTOMER, "ACME", "Legal review", until=day("2024-03-31"))
	assert b.active_on(day("2024-01-01"))
	assert b.active_on(day("2024-03-31"))
	assert not b.active_on(day("2024-04-01"))


def test_indefinite_block_holds_until_lifted():
	b = Block(BlockScope.INVOICE, "INV-1", "Credit note pending")
	assert b.active_on(day("2024-01-01"))
	assert b.active_on(day("2099-12-31"))


def test_block_with_since_date():
	b = Block(BlockScope.INVOICE, "INV-1", "Audit", since=day("2024-02-01"), until=day("2024-02-10"))
	assert not b.active_on(day("2024-01-31"))
	assert b.active_on(day("2024-02-01"))
	assert b.active_on(day("2024-02-10"))
	assert not b.active_on(day("2024-02-11"))


def test_active_block_returns_first_in_force():
	inv = Block(BlockScope.INVOICE, "INV-1", "Invoice block", until=day("2024-01-10"))
	cust = Block(BlockScope.CUSTOMER, "ACME", "Customer block")
	assert active_block([inv, cust], day("2024-01-05")) is inv
	assert active_block([inv, cust], day("2024-01-11")) is cust
	assert active_block([None, cust], day("2024-01-05")) is cust
	assert active_block((inv, None), day("2024-01-11")) is None
	assert active_block([], day("2024-01-11")) is None


def test_expired_blocks():
	old = Block(BlockScope.CUSTOMER, "A", "r", until=day("2024-01-09"))
	today = Block(BlockScope.CUSTOMER, "B", "r", until=day("2024-01-10"))
	forever = Block(BlockScope.CUSTOMER, "C", "r")
	assert expired_blocks([old, today, forever], day("2024-01-10")) == [old]
	assert expired_blocks([old, today, forever], day("2024-01-11")) == [old, today]


def test_block_needs_reason():
	with pytest.raises(EngineError, match=r"A dunning block on ACME needs a reason."):
		Block(BlockScope.CUSTOMER, "ACME", "  ")


def test_block_cannot_end_before_it_starts():
	with pytest.raises(EngineError, match=r"ends \(2024-01-01\) before it starts \(2024-02-01\)"):
		Block(BlockScope.CUSTOMER, "ACME", "r", since=day("2024-02-01"), until=day("2024-01-01"))
