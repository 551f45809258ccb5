"""Which policy applies to an item, and which dunning blocks are in force.

The most specific policy wins: invoice > customer > segment rule (behaviour, ``engine.segments``) >
customer group > company default. A dunning block on
a customer or an invoice suppresses every step until its end date (inclusive); a block without an
end date holds until it is lifted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from dunning_plus.engine.errors import EngineError, _


class PolicySource(StrEnum):
	INVOICE = "invoice"
	CUSTOMER = "customer"
	SEGMENT_RULE = "segment_rule"  # a Dunning Segment Rule the customer's behaviour matched
	SEGMENT = "segment"  # the customer group's policy
	COMPANY = "company"


@dataclass(frozen=True)
class PolicyChoice:
	policy: str
	source: PolicySource


def resolve_policy(
	invoice: str | None = None,
	customer: str | None = None,
	segment: str | None = None,
	company_default: str | None = None,
	segment_rule: str | None = None,
) -> PolicyChoice | None:
	"""The policy name that applies and where it came from; ``None`` when nothing is configured.

	``segment`` is the customer group's policy, ``segment_rule`` the policy of the segment rule the
	customer's behaviour matched (it comes before the group's)."""
	for name, source in (
		(invoice, PolicySource.INVOICE),
		(customer, PolicySource.CUSTOMER),
		(segment_rule, PolicySource.SEGMENT_RULE),
		(segment, PolicySource.SEGMENT),
		(company_default, PolicySource.COMPANY),
	):
		if name:
			return PolicyChoice(name, source)
	return None


class BlockScope(StrEnum):
	CUSTOMER = "customer"
	INVOICE = "invoice"


@dataclass(frozen=True)
class Block:
	scope: BlockScope
	reference: str
	reason: str
	until: date | None = None  # inclusive; None = until lifted
	since: date | None = None

	def __post_init__(self):
		if not self.reason or not self.reason.strip():
			raise EngineError(_("A dunning block on {0} needs a reason."), self.reference)
		if self.until and self.since and self.until < self.since:
			raise EngineError(
				_("The dunning block on {0} ends ({1}) before it starts ({2})."),
				self.reference,
				self.until,
				self.since,
			)

	def active_on(self, day: date) -> bool:
		if self.since and day < self.since:
			return False
		return self.until is None or day <= self.until


def active_block(blocks: list[Block | None] | tuple[Block | None, ...], day: date) -> Block | None:
	"""The first block in force on ``day`` (invoice blocks are passed before customer blocks)."""
	for block in blocks:
		if block is not None and block.active_on(day):
			return block
	return None


def expired_blocks(blocks: list[Block], day: date) -> list[Block]:
	"""Blocks whose end date has passed on ``day``: the daily expiry job lifts these."""
	return [b for b in blocks if b.until is not None and b.until < day]
