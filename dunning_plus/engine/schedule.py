"""Outstanding per payment-schedule row, from the invoice's outstanding.

ERPNext keeps the truth of what is owed per invoice in the Payment Ledger (the invoice's
``outstanding_amount``). It records per-row payments (Payment Schedule ``paid_amount``) only when a
payment names the payment term. Credit notes, journal entries and reconciliations without a term
reduce the invoice but no row. The split here honours both:

1. each row first keeps the payments that named its term (capped at the row's amount);
2. the rest of what was paid is applied earliest due first;
3. if the ledger shows less paid than the rows recorded (a payment was cancelled after the
   schedule was updated), the difference is taken back latest due first.

The rows' outstanding always add up to the invoice's outstanding, clamped to [0, schedule total].
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from dunning_plus.engine.money import ZERO


@dataclass(frozen=True, slots=True)
class RowAmount:
	id: str
	due_date: date
	amount: Decimal
	term_paid: Decimal = ZERO  # paid against this row's payment term, as ERPNext recorded it
	idx: int = 0


def split_outstanding(rows: list[RowAmount], invoice_outstanding: Decimal) -> dict[str, Decimal]:
	"""Outstanding per row id, adding up to ``invoice_outstanding`` (clamped to the rows' total)."""
	if not rows:
		return {}
	total = sum((r.amount for r in rows), ZERO)
	outstanding = min(max(invoice_outstanding, ZERO), total)
	paid_total = total - outstanding
	paid = {r.id: min(max(r.term_paid, ZERO), r.amount) for r in rows}
	by_due = sorted(rows, key=lambda r: (r.due_date, r.idx, r.id))
	left = paid_total - sum(paid.values(), ZERO)
	if left > 0:
		for r in by_due:
			room = r.amount - paid[r.id]
			take = min(room, left)
			if take > 0:
				paid[r.id] += take
				left -= take
			if left <= 0:
				break
	elif left < 0:
		for r in reversed(by_due):
			give = min(paid[r.id], -left)
			if give > 0:
				paid[r.id] -= give
				left += give
			if left >= 0:
				break
	return {r.id: r.amount - paid[r.id] for r in rows}
