from datetime import date

import pytest
from conftest import day, money

from dunning_plus.engine.errors import EngineError
from dunning_plus.engine.promises import (
	Dispute,
	DisputeStatus,
	Payment,
	Promise,
	PromiseStatus,
	disputed_amounts,
	paid_towards,
	promise_pauses,
	promise_status,
	promised_until,
	review_promises,
)

PTP = Promise(
	"PTP-1", "ACME", day("2024-03-15"), money(500), ("A/1", "A/2"), day("2024-03-01"), recorded_by="clerk"
)


def pay(item, when, amount):
	return Payment(item, day(when), money(amount))


# ----------------------------------------------------------------------------- promise status


def test_kept_when_paid_in_full_on_the_date():
	assert promise_status(PTP, [pay("A/1", "2024-03-15", 500)], day("2024-03-15")) == PromiseStatus.KEPT


def test_kept_when_paid_before_the_date_in_parts_over_covered_items():
	pays = [pay("A/1", "2024-03-05", 200), pay("A/2", "2024-03-10", 300)]
	assert promise_status(PTP, pays, day("2024-03-11")) == PromiseStatus.KEPT
	assert promise_status(PTP, pays, day("2024-04-30")) == PromiseStatus.KEPT  # stays kept later


def test_pending_until_date_plus_grace_then_broken():
	partial = [pay("A/1", "2024-03-05", 499.99)]
	assert promise_status(PTP, partial, day("2024-03-10")) == PromiseStatus.PENDING
	assert promise_status(PTP, partial, day("2024-03-15")) == PromiseStatus.PENDING
	assert promise_status(PTP, partial, day("2024-03-16")) == PromiseStatus.BROKEN
	assert promise_status(PTP, partial, day("2024-03-18"), grace_days=3) == PromiseStatus.PENDING
	assert promise_status(PTP, partial, day("2024-03-19"), grace_days=3) == PromiseStatus.BROKEN


def test_late_payment_does_not_keep_the_promise():
	# Paid in full, but two days after the promised date (within grace): not kept, pending; then broken.
	late = [pay("A/1", "2024-03-17", 500)]
	assert promise_status(PTP, late, day("2024-03-17"), grace_days=5) == PromiseStatus.PENDING
	assert promise_status(PTP, late, day("2024-03-21"), grace_days=5) == PromiseStatus.BROKEN


def test_payments_that_do_not_count():
	pays = [
		pay("A/1", "2024-02-28", 500),  # before the promise was recorded
		pay("B/1", "2024-03-05", 500),  # another item
		pay("A/2", "2024-03-05", -100),  # a reversal
	]
	assert paid_towards(PTP, pays, day("2024-03-15")) == money(0)
	assert promise_status(PTP, pays, day("2024-03-16")) == PromiseStatus.BROKEN


def test_cancelled_promise_stays_cancelled():
	cancelled = Promise(
		"P", "ACME", day("2024-03-15"), money(5), ("A/1",), day("2024-03-01"), status=PromiseStatus.CANCELLED
	)
	assert (
		promise_status(cancelled, [pay("A/1", "2024-03-02", 5)], day("2024-03-20")) == PromiseStatus.CANCELLED
	)
	assert not promise_pauses(cancelled, day("2024-03-10"))


def test_promise_pauses_until_date_plus_grace():
	assert promise_pauses(PTP, day("2024-03-15"))
	assert not promise_pauses(PTP, day("2024-03-16"))
	assert promise_pauses(PTP, day("2024-03-17"), grace_days=2)


def test_promised_until_takes_the_latest_end_and_ignores_unrecorded():
	later = Promise("PTP-2", "ACME", day("2024-03-25"), money(100), ("A/2", "A/3"), day("2024-03-02"))
	future = Promise("PTP-3", "ACME", day("2024-04-30"), money(100), ("A/4",), day("2024-03-20"))
	out = promised_until([PTP, later, future], day("2024-03-10"), grace_days=1)
	assert out == {"A/1": day("2024-03-16"), "A/2": day("2024-03-26"), "A/3": day("2024-03-26")}
	assert promised_until([PTP, later], day("2024-03-20")) == {
		"A/2": day("2024-03-25"),
		"A/3": day("2024-03-25"),
	}


def test_review_promises_reports_changes():
	broken = Promise("PTP-2", "ACME", day("2024-03-05"), money(100), ("B/1",), day("2024-03-01"))
	kept_already = Promise(
		"PTP-3", "ACME", day("2024-03-05"), money(100), ("C/1",), day("2024-03-01"), status=PromiseStatus.KEPT
	)
	pays = [pay("A/1", "2024-03-10", 500), pay("B/1", "2024-03-04", 40)]
	out = review_promises([PTP, broken, kept_already], pays, day("2024-03-12"))
	assert [(o.promise.name, o.status, o.paid, o.changed) for o in out] == [
		("PTP-1", PromiseStatus.KEPT, money(500), True),
		("PTP-2", PromiseStatus.BROKEN, money(40), True),
	]
	still = review_promises([PTP], [], day("2024-03-12"))
	assert [(o.status, o.changed) for o in still] == [(PromiseStatus.PENDING, False)]


@pytest.mark.parametrize(
	"kwargs, message",
	[
		({"amount": money(0)}, "A promise to pay needs an amount above zero."),
		({"items": ()}, "A promise to pay must cover at least one item."),
		(
			{"promised_date": day("2024-02-28")},
			"The promised date 2024-02-28 is before the day the promise was recorded (2024-03-01).",
		),
	],
)
def test_invalid_promises(kwargs, message):
	base = {
		"name": "P",
		"customer": "ACME",
		"promised_date": day("2024-03-15"),
		"amount": money(10),
		"items": ("A/1",),
		"recorded_on": day("2024-03-01"),
	}
	with pytest.raises(EngineError) as exc:
		Promise(**{**base, **kwargs})
	assert str(exc.value) == message


# ----------------------------------------------------------------------------- disputes


def dsp(amount, items, opened="2024-03-01", **kw):
	return Dispute("D", "ACME", money(amount), tuple(items), day(opened), **kw)


def test_dispute_open_on():
	d = dsp(100, ["A/1"])
	assert not d.open_on(day("2024-02-29"))
	assert d.open_on(day("2024-03-01")) and d.open_on(day("2025-01-01"))
	resolved = dsp(100, ["A/1"], status=DisputeStatus.RESOLVED, resolved_on=day("2024-03-10"))
	assert resolved.open_on(day("2024-03-09"))
	assert not resolved.open_on(day("2024-03-10"))
	assert not resolved.open_on(day("2024-02-01"))
	assert not dsp(100, ["A/1"], status=DisputeStatus.REJECTED).open_on(day("2024-03-05"))


def test_disputed_amounts_spread_over_items_in_order_and_cap():
	outstanding = {"A/1": money(300), "A/2": money(200), "A/3": money(1000)}
	on = day("2024-03-05")
	assert disputed_amounts([dsp(400, ["A/1", "A/2", "A/3"])], outstanding, on) == {
		"A/1": money(300),
		"A/2": money(100),
	}
	assert disputed_amounts([dsp(2000, ["A/1", "A/2"])], outstanding, on) == {
		"A/1": money(300),
		"A/2": money(200),
	}


def test_several_disputes_on_one_item_add_up_capped():
	outstanding = {"A/1": money(300)}
	on = day("2024-03-05")
	two = [dsp(100, ["A/1"]), dsp(150, ["A/1"])]
	assert disputed_amounts(two, outstanding, on) == {"A/1": money(250)}
	three = [*two, dsp(100, ["A/1"])]
	assert disputed_amounts(three, outstanding, on) == {"A/1": money(300)}


def test_disputed_amounts_ignore_closed_future_and_unknown():
	outstanding = {"A/1": money(300)}
	on = day("2024-03-05")
	closed = dsp(100, ["A/1"], status=DisputeStatus.RESOLVED, resolved_on=day("2024-03-04"))
	future = dsp(100, ["A/1"], opened="2024-03-06")
	unknown = dsp(100, ["Z/9"])
	assert disputed_amounts([closed, future, unknown], outstanding, on) == {}


@pytest.mark.parametrize(
	"kwargs, message",
	[
		({"amount": money(-1)}, "A dispute needs a disputed amount above zero."),
		({"items": ()}, "A dispute must name at least one disputed item."),
		({"resolved_on": date(2024, 2, 1)}, "A dispute cannot be resolved before it was opened."),
	],
)
def test_invalid_disputes(kwargs, message):
	base = {
		"name": "D",
		"customer": "ACME",
		"amount": money(1),
		"items": ("A/1",),
		"opened_on": day("2024-03-01"),
	}
	with pytest.raises(EngineError) as exc:
		Dispute(**{**base, **kwargs})
	assert str(exc.value) == message
