# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt
"""Money as people read it, in every text the app writes (timeline, notes, tasks)."""

from frappe.utils import flt, fmt_money


def money(amount, currency: str | None = None) -> str:
	"""``1500`` in USD → ``$ 1,500.00`` (the currency's symbol and the system's number format)."""
	return fmt_money(flt(amount), currency=currency)
