from datetime import timedelta

import pytest
from conftest import day, money

from dunning_plus.engine.aging import AgingBasis, AgingBuckets, AgingItem, age, age_of
from dunning_plus.engine.errors import EngineError

AS_OF = day("2024-06-30")


def item(id, days_past_due, outstanding=100, customer="ACME", posted_days_ago=None, group=None):
	due = AS_OF - timedelta(days=days_past_due)
	posted = (
		AS_OF - timedelta(days=posted_days_ago) if posted_days_ago is not None else due - timedelta(days=30)
	)
	return AgingItem(id, customer, due, posted, money(outstanding), group)


def test_default_bucket_labels():
	assert AgingBuckets().labels() == ["Not Due", "1-30", "31-60", "61-90", "91-120", "120+"]
	assert AgingBuckets().labels(AgingBasis.POSTING_DATE) == ["0-30", "31-60", "61-90", "91-120", "120+"]
	assert AgingBuckets().size() == 6 and AgingBuckets().size(AgingBasis.POSTING_DATE) == 5


@pytest.mark.parametrize(
	"days, label",
	[
		(-10, "Not Due"),
		(0, "Not Due"),
		(1, "1-30"),
		(30, "1-30"),
		(31, "31-60"),
		(60, "31-60"),
		(61, "61-90"),
		(120, "91-120"),
		(121, "120+"),
		(1000, "120+"),
	],
)
def test_boundaries_by_due_date(days, label):
	b = AgingBuckets()
	assert b.labels()[b.index(days)] == label
	report = age([item("X", days)], AS_OF)
	assert report.rows[0].buckets[report.labels.index(label)] == money(100)
	assert sum(report.totals) == money(100)


@pytest.mark.parametrize(
	"days, label",
	[(0, "0-30"), (30, "0-30"), (31, "31-60"), (120, "91-120"), (121, "120+")],
)
def test_boundaries_by_posting_date(days, label):
	b = AgingBuckets()
	assert b.labels(AgingBasis.POSTING_DATE)[b.index(days, AgingBasis.POSTING_DATE)] == label
	it = item("X", days_past_due=-30, posted_days_ago=days)  # not yet due, but aged by posting date
	report = age([it], AS_OF, basis="posting_date")
	assert report.basis == AgingBasis.POSTING_DATE
	assert report.rows[0].buckets[report.labels.index(label)] == money(100)


def test_negative_posting_age_falls_in_first_bucket():
	assert AgingBuckets().index(-3, AgingBasis.POSTING_DATE) == 0


def test_age_of():
	it = item("X", 45, posted_days_ago=75)
	assert age_of(it, AS_OF) == 45
	assert age_of(it, AS_OF, AgingBasis.POSTING_DATE) == 75


def test_report_rows_totals_and_as_of_filtering():
	items = [
		item("A1", 5, 100, "Beta"),
		item("A2", 45, 200, "Beta"),
		item("A3", -3, 50, "Alpha"),
		item("A4", 200, 25, "Alpha"),
		item("Z", 10, 0, "Alpha"),  # nothing outstanding: skipped
		item("LATER", -40, 999, "Alpha", posted_days_ago=-1),  # posted after the as-of date: left out
	]
	report = age(items, AS_OF)
	assert report.as_of == AS_OF
	assert [r.key for r in report.rows] == ["Alpha", "Beta"]
	alpha, beta = report.rows
	assert alpha.buckets == [money(50), 0, 0, 0, 0, money(25)]
	assert (alpha.total, alpha.items) == (money(75), 2)
	assert beta.buckets == [0, money(100), money(200), 0, 0, 0]
	assert report.totals == [money(50), money(100), money(200), 0, 0, money(25)]
	assert report.total == money(375)
	# The later-posted item counts once the as-of date reaches its posting date.
	assert age(items, AS_OF + timedelta(days=1)).total == money(375 + 999)


def test_credit_balance_is_aged_too():
	report = age([item("CN", 10, -40)], AS_OF)
	assert report.totals[1] == money(-40)


def test_custom_key_and_buckets():
	buckets = AgingBuckets((15, 45))
	assert buckets.labels() == ["Not Due", "1-15", "16-45", "45+"]
	items = [
		item("A", 15, 10, group="Retail"),
		item("B", 16, 20, group="Retail"),
		item("C", 46, 30, group="Trade"),
	]
	report = age(items, AS_OF, buckets, key=lambda i: i.group)
	assert [(r.key, r.buckets) for r in report.rows] == [
		("Retail", [0, money(10), money(20), 0]),
		("Trade", [0, 0, 0, money(30)]),
	]


@pytest.mark.parametrize(
	"text, limits",
	[
		("30, 60, 90", (30, 60, 90)),
		("30;60; 90,", (30, 60, 90)),
		("7", (7,)),
		(None, (30, 60, 90, 120)),
		("", (30, 60, 90, 120)),
		([10, 20], (10, 20)),
	],
)
def test_parse(text, limits):
	assert AgingBuckets.parse(text).limits == limits


@pytest.mark.parametrize(
	"text, message",
	[
		("30, sixty", "Aging ranges must be whole numbers of days separated by commas, not 30, sixty."),
		(" , ", "Aging needs at least one bucket limit."),
		("0, 30", "Aging bucket limits must be above zero days."),
		("-30", "Aging bucket limits must be above zero days."),
		("60, 30", "Aging bucket limits must rise: 60, 30."),
		("30, 30", "Aging bucket limits must rise: 30, 30."),
	],
)
def test_bad_buckets_rejected(text, message):
	with pytest.raises(EngineError) as exc:
		AgingBuckets.parse(text)
	assert str(exc.value) == message
