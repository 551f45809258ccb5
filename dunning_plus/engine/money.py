"""Money helpers: amounts are ``Decimal`` rounded to the currency's precision (default 2)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal(0)
_QUANTS: dict[int, Decimal] = {}


def to_money(value: object, precision: int = 2) -> Decimal:
	"""Any number (int, float, str, Decimal, None) as a Decimal rounded half-up to ``precision``."""
	if value is None or value == "":
		return ZERO
	if isinstance(value, float):
		# repr() gives the shortest string that round-trips, avoiding binary noise.
		value = repr(value)
	quant = _QUANTS.get(precision)
	if quant is None:
		quant = _QUANTS[precision] = Decimal(1).scaleb(-precision)
	return Decimal(value).quantize(quant, rounding=ROUND_HALF_UP)


def is_zero(amount: Decimal, precision: int = 2) -> bool:
	return abs(amount) < Decimal(1).scaleb(-precision) / 2
