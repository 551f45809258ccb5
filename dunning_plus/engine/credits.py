"""Open credits: what a customer has paid or been credited that no invoice has absorbed yet.

A credit note that keeps its own outstanding (ERPNext v15's "Update Outstanding for Self"), a
payment with an unallocated amount or a journal entry crediting the customer leaves the invoices'
outstanding unchanged in ERPNext until someone reconciles it. Dunning must not chase money the
customer does not owe: open credits are netted against the open invoice instalments before any
step is decided.

Rules (per customer and currency, invoice instalments only; deposits are not receivables):
1. A credit note returning an invoice goes first to that invoice's instalments, earliest due first.
2. What is left of every credit then goes to the remaining instalments, earliest due first (the
   oldest debt is settled first), credits taken in posting-date order.
3. An instalment never takes more than its outstanding; a credit never gives more than its amount.
   What no instalment takes stays an unused credit (the customer is in credit).

Nothing is booked: ERPNext's ledger is unchanged; the netting only decides what is dunned and is
shown beside the gross figures so the accountant knows what to reconcile.

The aging (``net_aging``) uses the same rules on its items: what each item still owes after the
credits is aged, the customer's open credits are shown beside, and what no item took (the customer
is in credit) lowers the customer's total, so the total is the customer's net position, however
ERPNext booked the return (reducing the invoice, or with the return's own outstanding).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum

from dunning_plus.engine.aging import AgingItem
from dunning_plus.engine.cadence import Instalment
from dunning_plus.engine.money import ZERO
from dunning_plus.engine.policy import Track


class CreditKind(StrEnum):
	CREDIT_NOTE = "credit_note"
	PAYMENT = "payment"
	JOURNAL_ENTRY = "journal_entry"


@dataclass(frozen=True)
class Credit:
	id: str  # the voucher: credit note, payment entry or journal entry
	kind: CreditKind
	customer: str
	company: str
	currency: str
	amount: Decimal  # > 0: what is still open
	posting_date: date
	against: str | None = None  # the invoice a credit note returns


@dataclass
class CreditNetting:
	"""The instalments with the credit each took (``Instalment.credit``), and where each credit went."""

	instalments: list[Instalment]
	used: dict[str, list[tuple[str, Decimal]]] = field(default_factory=dict)  # credit -> [(row, amount)]
	unused: dict[str, Decimal] = field(default_factory=dict)  # credit -> amount no row took

	def applied_to(self, instalment_id: str) -> Decimal:
		return sum((a for uses in self.used.values() for row, a in uses if row == instalment_id), ZERO)


def apply_credits(instalments: Iterable[Instalment], credits: Iterable[Credit]) -> CreditNetting:
	"""Nets ``credits`` against ``instalments``; the instalments come back in the same order."""
	instalments = list(instalments)
	credits = sorted(credits, key=lambda c: (c.posting_date, c.id))
	taken: dict[str, Decimal] = defaultdict(lambda: ZERO)
	used: dict[str, list[tuple[str, Decimal]]] = {}
	unused: dict[str, Decimal] = {}
	if not credits:
		return CreditNetting(instalments, used, unused)

	rows_of: dict[tuple[str, str, str], list[Instalment]] = defaultdict(list)
	for inst in instalments:
		if inst.track == Track.INVOICE and inst.outstanding > 0:
			rows_of[(inst.company, inst.customer, inst.currency)].append(inst)
	for rows in rows_of.values():
		rows.sort(key=lambda i: (i.due_date, i.invoice, i.id))

	left = {c.id: c.amount for c in credits if c.amount > 0}

	def give(credit: Credit, rows: list[Instalment]) -> None:
		for inst in rows:
			if left[credit.id] <= 0:
				return
			room = inst.outstanding - inst.credit - taken[inst.id]
			if room <= 0:
				continue
			amount = min(room, left[credit.id])
			taken[inst.id] += amount
			left[credit.id] -= amount
			used.setdefault(credit.id, []).append((inst.id, amount))

	live = [c for c in credits if c.id in left]
	for credit in live:  # 1. a credit note first pays back the invoice it returns
		if credit.against:
			rows = rows_of.get((credit.company, credit.customer, credit.currency), [])
			give(credit, [i for i in rows if i.invoice == credit.against])
	for credit in live:  # 2. then the oldest debt
		give(credit, rows_of.get((credit.company, credit.customer, credit.currency), []))
	for credit in live:
		if left[credit.id] > 0:
			unused[credit.id] = left[credit.id]
	netted = [replace(i, credit=i.credit + taken[i.id]) if taken.get(i.id) else i for i in instalments]
	return CreditNetting(netted, used, unused)


@dataclass
class AgingNetting:
	"""Aging items net of open credits, and the credits per customer."""

	items: list[AgingItem]  # what is still owed per item after the credits (items owing nothing left out)
	credits: dict[str, Decimal] = field(default_factory=dict)  # customer -> open credits
	applied: dict[str, Decimal] = field(default_factory=dict)  # item -> credit netted against it
	unused: dict[str, Decimal] = field(default_factory=dict)  # customer -> credit no item took

	def net(self, customer: str) -> Decimal:
		"""What the customer's items still owe less the credit none of them took."""
		owed = sum((i.outstanding for i in self.items if i.customer == customer), ZERO)
		return owed - self.unused.get(customer, ZERO)


def net_aging(items: Iterable[AgingItem], credits: Iterable[Credit]) -> AgingNetting:
	"""Nets ``credits`` (one currency, as aging is) against the positive aging ``items`` with the rules
	of :func:`apply_credits` (a credit note first to its own invoice, ``AgingItem.group``; then the
	oldest debt). Items with nothing outstanding and negative items are left out: the caller passes
	credits as credits. The returned items keep their order."""
	items = [i for i in items if i.outstanding > 0]
	credits = [c for c in credits if c.amount > 0]
	by_customer: dict[str, Decimal] = defaultdict(lambda: ZERO)
	for c in credits:
		by_customer[c.customer] += c.amount
	if not credits:
		return AgingNetting(items)
	with_credit = set(by_customer)
	rows = [
		Instalment(
			id=i.id,
			invoice=i.group or i.id,
			customer=i.customer,
			company="",
			due_date=i.due_date,
			outstanding=i.outstanding,
			currency="",
		)
		for i in items
		if i.customer in with_credit
	]
	netting = apply_credits(rows, [replace(c, company="", currency="") for c in credits])
	applied = {r.id: r.credit for r in netting.instalments if r.credit}
	unused: dict[str, Decimal] = defaultdict(lambda: ZERO)
	customer_of = {c.id: c.customer for c in credits}
	for credit_id, amount in netting.unused.items():
		unused[customer_of[credit_id]] += amount
	out = []
	for i in items:
		credit = applied.get(i.id)
		if not credit:
			out.append(i)
		elif i.outstanding > credit:
			out.append(replace(i, outstanding=i.outstanding - credit))
	return AgingNetting(out, dict(by_customer), applied, dict(unused))
