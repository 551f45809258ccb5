import pytest
from conftest import money

from dunning_plus.engine.errors import EngineError
from dunning_plus.engine.score import DEFAULT_WEIGHTS, Behaviour, rank_customers, score_customer

BASE = Behaviour(
	"ACME",
	balance=money(10_000),
	overdue=money(5_000),
	avg_days_late=45,
	promises_made=4,
	promises_broken=1,
	open_disputes=1,
	tenure_days=365,
)


def with_(**kw) -> Behaviour:
	return Behaviour(**{**BASE.__dict__, **kw})


def test_worked_score_and_drivers():
	s = score_customer(BASE, money(10_000))
	drivers = {d.name: d for d in s.drivers}
	assert list(drivers) == [
		"days_late",
		"broken_promises",
		"open_disputes",
		"overdue_share",
		"newness",
		"balance",
	]
	assert drivers["days_late"].normalised == pytest.approx(0.5) and drivers[
		"days_late"
	].points == pytest.approx(0.175)
	assert drivers["broken_promises"].raw == pytest.approx(0.25) and drivers[
		"broken_promises"
	].points == pytest.approx(0.05)
	assert drivers["open_disputes"].points == pytest.approx(0.1 / 3)
	assert drivers["overdue_share"].points == pytest.approx(0.125)
	assert drivers["newness"].raw == 365 and drivers["newness"].points == pytest.approx(0.05)
	assert drivers["balance"].normalised == pytest.approx(1.0) and drivers["balance"].points == 0
	assert s.risk == pytest.approx(0.4333, abs=1e-4)
	assert s.value == 1.0
	assert s.score == pytest.approx(43.33)
	assert s.explain() == "Average days late 45 days; Overdue share 50%; Broken promises 25%"


def test_driver_points_sum_to_risk_and_stay_within_weight():
	for b in (BASE, with_(avg_days_late=500, open_disputes=9, promises_broken=4), with_(overdue=money(0))):
		s = score_customer(b, money(50_000))
		assert sum(d.points for d in s.drivers) == pytest.approx(s.risk, abs=1e-4)
		for d in s.drivers:
			assert 0 <= d.normalised <= 1
			assert 0 <= d.points <= d.weight + 1e-12
		assert s.score == pytest.approx(100 * s.risk * s.value, abs=0.01)


def test_more_days_late_or_broken_promises_raise_the_score():
	base = score_customer(BASE, money(10_000)).score
	assert score_customer(with_(avg_days_late=80), money(10_000)).score > base
	assert score_customer(with_(promises_broken=3), money(10_000)).score > base
	assert score_customer(with_(avg_days_late=5), money(10_000)).score < base
	# Capped: beyond 90 days late nothing changes.
	assert (
		score_customer(with_(avg_days_late=90), money(10_000)).score
		== score_customer(with_(avg_days_late=400), money(10_000)).score
	)


def test_bigger_balance_means_more_value():
	small = score_customer(with_(balance=money(100), overdue=money(50)), money(10_000))
	big = score_customer(BASE, money(10_000))
	assert small.risk == big.risk and small.value < big.value and small.score < big.score


def test_zero_balance_scores_zero():
	s = score_customer(with_(balance=money(0), overdue=money(0)), money(10_000))
	assert s.score == 0 and s.value == 0
	assert score_customer(BASE, money(0)).score == 0  # nobody owes anything


def test_clean_customer_has_no_risk_signals():
	clean = Behaviour("Good", money(1000), money(0), tenure_days=3000)
	s = score_customer(clean, money(1000))
	assert s.risk == 0 and s.score == 0
	assert s.explain() == "no risk signals"


def test_custom_weights():
	s = score_customer(BASE, money(10_000), {"days_late": 0.5, "overdue_share": 0.5})
	assert [d.name for d in s.drivers] == ["days_late", "overdue_share", "balance"]
	assert s.risk == pytest.approx(0.5)


@pytest.mark.parametrize(
	"weights, message",
	[
		({**DEFAULT_WEIGHTS, "shoe_size": 0.0}, "Unknown score drivers: shoe_size."),
		({"days_late": 1.5, "overdue_share": -0.5}, "Score weights cannot be negative."),
		({"days_late": 0.5, "overdue_share": 0.4}, "Score weights must add up to 1, not 0.9."),
	],
)
def test_weights_validation(weights, message):
	with pytest.raises(EngineError) as exc:
		score_customer(BASE, money(10_000), weights)
	assert str(exc.value) == message


def test_rank_order():
	people = [
		Behaviour("Calm", money(10_000), money(0), tenure_days=3000),
		with_(
			customer="Risky",
			avg_days_late=90,
			promises_broken=4,
			open_disputes=3,
			overdue=money(10_000),
			tenure_days=0,
		),
		BASE,
		with_(customer="Tiny", balance=money(10), overdue=money(10)),
		with_(customer="AAA"),  # ties with ACME: by name
	]
	ranked = rank_customers(people)
	assert [s.customer for s in ranked] == ["Risky", "AAA", "ACME", "Tiny", "Calm"]
	assert ranked[0].score == pytest.approx(100.0)
	assert [s.score for s in ranked] == sorted((s.score for s in ranked), reverse=True)
	assert rank_customers([]) == []
