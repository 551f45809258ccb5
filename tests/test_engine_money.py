from decimal import Decimal

import pytest

from dunning_plus.engine.money import ZERO, is_zero, to_money


@pytest.mark.parametrize(
	"value, precision, expected",
	[
		(None, 2, "0"),
		("", 2, "0"),
		(10, 2, "10.00"),
		("12.345", 2, "12.35"),  # half up, not half even
		("12.325", 2, "12.33"),
		(-1.005, 2, "-1.01"),
		(2.675, 2, "2.68"),  # the float's shortest repr, not its binary value 2.67499...
		(0.1 + 0.2, 2, "0.30"),
		(Decimal("7.5"), 0, "8"),
		("1.23456", 3, "1.235"),
	],
)
def test_to_money(value, precision, expected):
	out = to_money(value, precision)
	assert out == Decimal(expected)
	if value not in (None, ""):
		assert out.as_tuple().exponent == -precision


def test_is_zero():
	assert ZERO == 0
	assert is_zero(Decimal("0.004"))
	assert is_zero(Decimal("-0.004"))
	assert not is_zero(Decimal("0.005"))
	assert not is_zero(Decimal("0.004"), precision=3)
