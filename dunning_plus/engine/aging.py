"""Receivables aging: outstanding per instalment in configurable buckets, as of any date."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from dunning_plus.engine.errors import EngineError, _
from dunning_plus.engine.money import ZERO


class AgingBasis(StrEnum):
	DUE_DATE = "due_date"
	POSTING_DATE = "posting_date"


@dataclass(frozen=True)
class AgingBuckets:
	"""Upper limits in days of each bucket after "Not Due"; the last bucket is open-ended.

	With limits (30, 60, 90, 120): Not Due (age <= 0), 1-30, 31-60, 61-90, 91-120, 120+.
	Aged by posting date, age 0 is today's invoice and falls in the first bucket, 0-30.
	"""

	limits: tuple[int, ...] = (30, 60, 90, 120)

	def __post_init__(self):
		if not self.limits:
			raise EngineError(_("Aging needs at least one bucket limit."))
		if any(x <= 0 for x in self.limits):
			raise EngineError(_("Aging bucket limits must be above zero days."))
		if any(b <= a for a, b in zip(self.limits, self.limits[1:], strict=False)):
			raise EngineError(_("Aging bucket limits must rise: {0}."), ", ".join(map(str, self.limits)))

	@classmethod
	def parse(cls, text: str | Iterable[int] | None) -> AgingBuckets:
		if text is None or text == "":
			return cls()
		if isinstance(text, str):
			try:
				limits = tuple(int(x) for x in text.replace(";", ",").split(",") if x.strip())
			except ValueError:
				raise EngineError(
					_("Aging ranges must be whole numbers of days separated by commas, not {0}."), text
				)
		else:
			limits = tuple(int(x) for x in text)
		return cls(limits)

	def labels(self, basis: AgingBasis = AgingBasis.DUE_DATE) -> list[str]:
		first = "Not Due" if basis == AgingBasis.DUE_DATE else None
		out = [first] if first else []
		lower = 1 if basis == AgingBasis.DUE_DATE else 0
		for limit in self.limits:
			out.append(f"{lower}-{limit}")
			lower = limit + 1
		out.append(f"{self.limits[-1]}+")
		return out

	def index(self, age_days: int, basis: AgingBasis = AgingBasis.DUE_DATE) -> int:
		"""Bucket index of an age in days (positions match :meth:`labels`)."""
		if basis == AgingBasis.DUE_DATE:
			if age_days <= 0:
				return 0
			return bisect_left(self.limits, age_days) + 1
		return bisect_left(self.limits, max(age_days, 0))

	def size(self, basis: AgingBasis = AgingBasis.DUE_DATE) -> int:
		return len(self.limits) + (2 if basis == AgingBasis.DUE_DATE else 1)


@dataclass(frozen=True, slots=True)
class AgingItem:
	id: str
	customer: str
	due_date: date
	posting_date: date
	outstanding: Decimal
	group: str | None = None


@dataclass
class AgingRow:
	key: str
	buckets: list[Decimal]
	total: Decimal = ZERO
	items: int = 0


@dataclass
class AgingReport:
	as_of: date
	basis: AgingBasis
	labels: list[str]
	rows: list[AgingRow]
	totals: list[Decimal] = field(default_factory=list)

	@property
	def total(self) -> Decimal:
		return sum(self.totals, ZERO)


def age_of(item: AgingItem, as_of: date, basis: AgingBasis = AgingBasis.DUE_DATE) -> int:
	ref = item.due_date if basis == AgingBasis.DUE_DATE else item.posting_date
	return (as_of - ref).days


def age(
	items: Iterable[AgingItem],
	as_of: date,
	buckets: AgingBuckets | None = None,
	basis: AgingBasis | str = AgingBasis.DUE_DATE,
	key: Callable[[AgingItem], str] | None = None,
) -> AgingReport:
	"""Ages ``items`` (outstanding as of ``as_of``) into buckets, one row per ``key`` (default customer).

	Items dated after ``as_of`` (posted later) are left out; zero outstanding is skipped.
	"""
	buckets = buckets or AgingBuckets()
	basis = AgingBasis(basis)
	n = buckets.size(basis)
	key = key or (lambda i: i.customer)
	as_ord = as_of.toordinal()
	rows: dict[str, AgingRow] = {}
	totals = [ZERO] * n
	by_due = basis == AgingBasis.DUE_DATE
	limits = buckets.limits
	for it in items:
		if not it.outstanding or it.posting_date > as_of:
			continue
		days = as_ord - (it.due_date if by_due else it.posting_date).toordinal()
		if by_due:
			idx = 0 if days <= 0 else bisect_left(limits, days) + 1
		else:
			idx = bisect_left(limits, days if days > 0 else 0)
		k = key(it)
		row = rows.get(k)
		if row is None:
			row = rows[k] = AgingRow(k, [ZERO] * n)
		row.buckets[idx] += it.outstanding
		row.total += it.outstanding
		row.items += 1
		totals[idx] += it.outstanding
	return AgingReport(
		as_of=as_of,
		basis=basis,
		labels=buckets.labels(basis),
		rows=sorted(rows.values(), key=lambda r: r.key),
		totals=totals,
	)
