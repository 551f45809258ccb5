"""The in-memory ledger the runner works on: ERPNext's receivable documents, reduced to what the
engine needs. Loaded from SQLite (store.py) or ERPNext CSV exports (csv_import.py)."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from dunning_plus.engine.cadence import CustomerProfile, Instalment
from dunning_plus.engine.money import ZERO
from dunning_plus.engine.policy import Policy, Track
from dunning_plus.engine.precedence import Block, BlockScope
from dunning_plus.engine.promises import Dispute, Payment, Promise


@dataclass
class Customer:
	name: str
	customer_group: str = "All Customer Groups"
	territory: str = "All Territories"
	language: str = "en"
	email: str | None = None
	collector: str | None = None
	policy: str | None = None
	block_reason: str | None = None
	block_until: date | None = None
	since: date | None = None

	def profile(self, segment_policy: bool = True) -> CustomerProfile:
		block = None
		if self.block_reason:
			block = Block(BlockScope.CUSTOMER, self.name, self.block_reason, self.block_until)
		return CustomerProfile(
			name=self.name,
			segment=self.customer_group,
			policy=self.policy,
			block=block,
			language=self.language,
			email=self.email,
			collector=self.collector,
		)


@dataclass
class Invoice:
	name: str
	customer: str
	company: str
	posting_date: date
	currency: str
	grand_total: Decimal
	is_return: bool = False
	return_against: str | None = None
	policy: str | None = None
	block_reason: str | None = None
	block_until: date | None = None


@dataclass
class ScheduleRow:
	"""A Payment Schedule row of a Sales Invoice, or an expected deposit of a Sales Order."""

	id: str
	invoice: str  # the Sales Invoice, or the Sales Order for a deposit
	customer: str
	company: str
	idx: int
	payment_term: str
	due_date: date
	amount: Decimal
	currency: str
	posting_date: date
	track: Track = Track.INVOICE

	def instalment(
		self, outstanding: Decimal, policy: str | None, block: Block | None, taken: tuple[str, ...]
	) -> Instalment:
		"""The row as the engine sees it on a day it still owes ``outstanding``."""
		return Instalment(
			id=self.id,
			invoice=self.invoice,
			customer=self.customer,
			company=self.company,
			due_date=self.due_date,
			outstanding=outstanding,
			currency=self.currency,
			payment_term=self.payment_term,
			posting_date=self.posting_date,
			track=self.track,
			policy=policy,
			block=block,
			taken=taken,
			amount=self.amount,
		)


@dataclass
class PaymentDoc:
	"""A Payment Entry (or a credit note) and where its money went."""

	name: str
	customer: str
	posting_date: date
	amount: Decimal
	currency: str
	kind: str = "Payment Entry"  # or "Credit Note", "Journal Entry"


@dataclass
class Ledger:
	company: str
	currency: str
	customers: dict[str, Customer] = field(default_factory=dict)
	invoices: dict[str, Invoice] = field(default_factory=dict)
	rows: dict[str, ScheduleRow] = field(default_factory=dict)
	payments: dict[str, PaymentDoc] = field(default_factory=dict)
	applied: list[tuple[str, Payment]] = field(default_factory=list)  # (payment doc, application to a row)
	promises: list[Promise] = field(default_factory=list)
	disputes: list[Dispute] = field(default_factory=list)
	policies: dict[str, Policy] = field(default_factory=dict)
	company_default: str | None = None
	segment_policies: dict[str, str] = field(default_factory=dict)

	# -- views as of a date -------------------------------------------------------------------
	def applications(self) -> list[Payment]:
		return [p for _doc, p in self.applied]

	def paid_index(self) -> PaidIndex:
		return PaidIndex(self.applications())

	def outstanding_as_of(self, as_of: date, index: PaidIndex | None = None) -> dict[str, Decimal]:
		index = index or self.paid_index()
		return {
			r.id: r.amount - index.paid(r.id, as_of) for r in self.rows.values() if r.posting_date <= as_of
		}

	def instalments(
		self, as_of: date, taken: dict[str, tuple[str, ...]] | None = None, index: PaidIndex | None = None
	) -> list[Instalment]:
		index = index or self.paid_index()
		taken = taken or {}
		out = []
		for r in self.rows.values():
			if r.posting_date > as_of:
				continue
			outstanding = r.amount - index.paid(r.id, as_of)
			if outstanding <= 0:
				continue
			inv = self.invoices.get(r.invoice)
			block = None
			if inv is not None and inv.block_reason:
				block = Block(BlockScope.INVOICE, inv.name, inv.block_reason, inv.block_until)
			out.append(r.instalment(outstanding, inv.policy if inv else None, block, taken.get(r.id, ())))
		return out

	def profiles(self) -> dict[str, CustomerProfile]:
		return {c.name: c.profile() for c in self.customers.values()}

	def credit_sales_by_month(self) -> dict[tuple[int, int], Decimal]:
		out: dict[tuple[int, int], Decimal] = {}
		for inv in self.invoices.values():
			if inv.is_return:
				continue
			k = (inv.posting_date.year, inv.posting_date.month)
			out[k] = out.get(k, ZERO) + inv.grand_total
		return out


class PaidIndex:
	"""Cumulative applications per row, answering "paid on this row up to day D" by bisection."""

	def __init__(self, applications: list[Payment]):
		per: dict[str, list[tuple[int, Decimal]]] = {}
		for p in sorted(applications, key=lambda p: (p.instalment, p.posting_date)):
			per.setdefault(p.instalment, []).append((p.posting_date.toordinal(), p.amount))
		self._days: dict[str, list[int]] = {}
		self._cum: dict[str, list[Decimal]] = {}
		for row, entries in per.items():
			days, cum, run = [], [], ZERO
			for d, amt in entries:
				run += amt
				days.append(d)
				cum.append(run)
			self._days[row], self._cum[row] = days, cum

	def paid(self, row: str, as_of: date) -> Decimal:
		days = self._days.get(row)
		if not days:
			return ZERO
		i = bisect_right(days, as_of.toordinal())
		return self._cum[row][i - 1] if i else ZERO
