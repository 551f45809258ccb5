"""A transparent risk x value score per customer, with its drivers.

risk  = sum of weight x normalised driver, each driver in [0, 1], weights adding up to 1:
        average days late (90+ days = 1), broken-promise share, open disputes (3+ = 1),
        overdue share of the balance, and newness (under two years of tenure).
value = log(1 + balance) / log(1 + largest balance in the population), in [0, 1].
score = 100 x risk x value. Every driver is returned with its raw value and its points.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from dunning_plus.engine.errors import EngineError, _

DEFAULT_WEIGHTS: Mapping[str, float] = {
	"days_late": 0.35,
	"broken_promises": 0.20,
	"open_disputes": 0.10,
	"overdue_share": 0.25,
	"newness": 0.10,
}
DAYS_LATE_CAP = 90.0
DISPUTES_CAP = 3
TENURE_FULL_DAYS = 730

DRIVER_LABELS = {
	"days_late": "Average days late",
	"broken_promises": "Broken promises",
	"open_disputes": "Open disputes",
	"overdue_share": "Overdue share",
	"newness": "Tenure",
	"balance": "Balance",
}


@dataclass(frozen=True)
class Behaviour:
	customer: str
	balance: Decimal
	overdue: Decimal
	avg_days_late: float = 0.0
	promises_made: int = 0
	promises_broken: int = 0
	open_disputes: int = 0
	tenure_days: int = 0


@dataclass(frozen=True)
class Driver:
	name: str
	label: str
	raw: float
	normalised: float
	weight: float
	points: float  # contribution to the risk, 0..weight


@dataclass(frozen=True)
class Score:
	customer: str
	score: float
	risk: float
	value: float
	drivers: tuple[Driver, ...]

	def explain(self) -> str:
		top = sorted(self.drivers, key=lambda d: -d.points)
		parts = [f"{d.label} {_fmt(d.raw, d.name)}" for d in top if d.points > 0]
		return "; ".join(parts[:3]) or "no risk signals"


def _fmt(raw: float, name: str) -> str:
	if name == "overdue_share" or name == "broken_promises":
		return f"{raw:.0%}"
	if name == "newness":
		return f"{int(raw)} days"
	if name == "days_late":
		return f"{raw:.0f} days"
	return f"{raw:g}"


def _check_weights(weights: Mapping[str, float]) -> None:
	unknown = set(weights) - set(DEFAULT_WEIGHTS)
	if unknown:
		raise EngineError(_("Unknown score drivers: {0}."), ", ".join(sorted(unknown)))
	if any(w < 0 for w in weights.values()):
		raise EngineError(_("Score weights cannot be negative."))
	if abs(sum(weights.values()) - 1) > 1e-6:
		raise EngineError(_("Score weights must add up to 1, not {0}."), round(sum(weights.values()), 6))


def score_customer(
	b: Behaviour, max_balance: Decimal, weights: Mapping[str, float] = DEFAULT_WEIGHTS
) -> Score:
	_check_weights(weights)
	balance = float(b.balance)
	norm = {
		"days_late": (b.avg_days_late, min(max(b.avg_days_late, 0.0) / DAYS_LATE_CAP, 1.0)),
		"broken_promises": (
			b.promises_broken / b.promises_made if b.promises_made else 0.0,
			b.promises_broken / b.promises_made if b.promises_made else 0.0,
		),
		"open_disputes": (float(b.open_disputes), min(b.open_disputes / DISPUTES_CAP, 1.0)),
		"overdue_share": (
			float(b.overdue) / balance if balance > 0 else 0.0,
			min(max(float(b.overdue) / balance, 0.0), 1.0) if balance > 0 else 0.0,
		),
		"newness": (float(b.tenure_days), 1.0 - min(max(b.tenure_days, 0) / TENURE_FULL_DAYS, 1.0)),
	}
	drivers = []
	risk = 0.0
	for name, w in weights.items():
		raw, n = norm[name]
		points = w * n
		risk += points
		drivers.append(Driver(name, DRIVER_LABELS[name], raw, n, w, points))
	mx = float(max_balance)
	value = math.log1p(max(balance, 0.0)) / math.log1p(mx) if mx > 0 else 0.0
	value = min(value, 1.0)
	drivers.append(Driver("balance", DRIVER_LABELS["balance"], balance, value, 0.0, 0.0))
	return Score(b.customer, round(100 * risk * value, 2), round(risk, 4), round(value, 4), tuple(drivers))


def rank_customers(
	behaviours: Iterable[Behaviour], weights: Mapping[str, float] = DEFAULT_WEIGHTS
) -> list[Score]:
	"""Scores every customer against the population's largest balance, best first to work."""
	items = list(behaviours)
	max_balance = max((b.balance for b in items), default=Decimal(0))
	scores = [score_customer(b, max_balance, weights) for b in items]
	scores.sort(key=lambda s: (-s.score, s.customer))
	return scores
