"""Segments from behaviour: ordered rules per company that choose a customer's dunning policy.

A rule has conditions on facts the collection already computes per customer and company: average
days late, broken promises, open disputes, overdue amount, total balance, tenure (days since the
first invoice with the company), risk score, customer group and territory (a rule on a group or a
territory also matches the ones below it). Each numeric condition is a range, either end optional
and both inclusive; a rule without conditions matches everyone. A customer gets the first enabled
rule of its company that it matches, in the rules' order (then by name), and that rule's policy;
the policy applies after the invoice's and the customer's own and before the customer group's
(``engine.precedence``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from dunning_plus.engine.errors import PolicyError, Problem, _
from dunning_plus.engine.money import ZERO

Number = Decimal | float | int


@dataclass(frozen=True)
class SegmentFacts:
	customer: str
	company: str
	avg_days_late: float = 0.0
	broken_promises: int = 0
	open_disputes: int = 0
	overdue: Decimal = ZERO
	balance: Decimal = ZERO
	tenure_days: int = 0
	risk_score: float = 0.0
	customer_groups: tuple[str, ...] = ()  # the customer's group, then the groups above it
	territories: tuple[str, ...] = ()  # the customer's territory, then the ones above it


@dataclass(frozen=True)
class Range:
	low: Number | None = None
	high: Number | None = None

	def __contains__(self, value: Number) -> bool:
		if self.low is not None and value < self.low:
			return False
		return self.high is None or value <= self.high

	@property
	def is_set(self) -> bool:
		return self.low is not None or self.high is not None


ANY = Range()

# fact -> label, in the order conditions are explained
FACTS = {
	"avg_days_late": "Average days late",
	"broken_promises": "Broken promises",
	"open_disputes": "Open disputes",
	"overdue": "Overdue amount",
	"balance": "Total balance",
	"tenure_days": "Tenure (days)",
	"risk_score": "Risk score",
}


@dataclass(frozen=True)
class SegmentRule:
	name: str
	company: str
	policy: str
	order: int = 0
	segment: str = ""  # the segment's name as shown on the case; the rule's name when empty
	enabled: bool = True
	avg_days_late: Range = ANY
	broken_promises: Range = ANY
	open_disputes: Range = ANY
	overdue: Range = ANY
	balance: Range = ANY
	tenure_days: Range = ANY
	risk_score: Range = ANY
	customer_group: str | None = None
	territory: str | None = None

	def __post_init__(self):
		validate_rule(self)

	@property
	def label(self) -> str:
		return self.segment or self.name

	def matches(self, facts: SegmentFacts) -> bool:
		if not self.enabled or facts.company != self.company:
			return False
		for fact in FACTS:
			if getattr(facts, fact) not in getattr(self, fact):
				return False
		if self.customer_group and self.customer_group not in facts.customer_groups:
			return False
		return not (self.territory and self.territory not in facts.territories)

	def explain(self, facts: SegmentFacts) -> str:
		"""The conditions of the rule with the customer's values, e.g. "Average days late 34 (30-)"."""
		parts = []
		for fact, label in FACTS.items():
			r = getattr(self, fact)
			if r.is_set:
				low = "" if r.low is None else _plain(r.low)
				high = "" if r.high is None else _plain(r.high)
				parts.append(f"{label} {_plain(getattr(facts, fact))} ({low}-{high})")
		if self.customer_group:
			parts.append(f"Customer Group {self.customer_group}")
		if self.territory:
			parts.append(f"Territory {self.territory}")
		return "; ".join(parts) or "no conditions"


def _plain(value: Number) -> str:
	if isinstance(value, float):
		return f"{value:g}" if value != int(value) else str(int(value))
	return str(value)


def validate_rule(rule: SegmentRule) -> None:
	problems: list[Problem] = []
	if not (rule.name or "").strip():
		problems.append(Problem(_("The segment rule needs a name."), field="name"))
	if not rule.company:
		problems.append(Problem(_("Segment rule {0} needs a company."), rule.name, field="company"))
	if not rule.policy:
		problems.append(
			Problem(_("Segment rule {0} needs the policy it applies."), rule.name, field="policy")
		)
	for fact, label in FACTS.items():
		r = getattr(rule, fact)
		if r.low is not None and r.high is not None and r.low > r.high:
			problems.append(
				Problem(
					_("Segment rule {0}: the lowest {1} is above the highest."), rule.name, label, field=fact
				)
			)
		if fact != "avg_days_late" and any(v is not None and v < 0 for v in (r.low, r.high)):
			problems.append(
				Problem(_("Segment rule {0}: {1} cannot be negative."), rule.name, label, field=fact)
			)
	if problems:
		raise PolicyError(problems)


@dataclass(frozen=True)
class SegmentMatch:
	customer: str
	company: str
	rule: str
	segment: str
	policy: str
	why: str


def ordered(rules: Iterable[SegmentRule]) -> list[SegmentRule]:
	return sorted(rules, key=lambda r: (r.company, r.order, r.name))


def match_customer(rules: Iterable[SegmentRule], facts: SegmentFacts) -> SegmentMatch | None:
	"""The first rule of the customer's company it matches, in order; None when none does."""
	for rule in ordered(rules):
		if rule.matches(facts):
			return SegmentMatch(
				facts.customer, facts.company, rule.name, rule.label, rule.policy, rule.explain(facts)
			)
	return None


def assign_segments(
	rules: Iterable[SegmentRule], facts: Iterable[SegmentFacts]
) -> dict[tuple[str, str], SegmentMatch | None]:
	"""The matching rule per (company, customer) (None: no rule applies)."""
	by_company: dict[str, list[SegmentRule]] = {}
	for rule in ordered(r for r in rules if r.enabled):
		by_company.setdefault(rule.company, []).append(rule)
	return {(f.company, f.customer): match_customer(by_company.get(f.company, ()), f) for f in facts}


@dataclass(frozen=True)
class Move:
	before: str | None  # the policy that applies now (None: none)
	after: str | None
	customers: int


@dataclass
class Preview:
	moves: list[Move] = field(default_factory=list)  # only the policies that change
	unchanged: int = 0
	by_rule: dict[str, int] = field(default_factory=dict)  # customers each rule would take

	@property
	def moving(self) -> int:
		return sum(m.customers for m in self.moves)


def preview_moves(
	before: Mapping[str, str | None],
	after: Mapping[str, str | None],
	rules_after: Mapping[str, SegmentMatch | None] | None = None,
) -> Preview:
	"""How many customers would move from which policy to which (``before`` and ``after`` map each
	customer to the policy that applies to it)."""
	counts: Counter[tuple[str | None, str | None]] = Counter()
	unchanged = 0
	for customer in sorted(set(before) | set(after)):
		was, will = before.get(customer), after.get(customer)
		if was == will:
			unchanged += 1
		else:
			counts[(was, will)] += 1
	moves = [Move(b, a, n) for (b, a), n in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))]
	by_rule: Counter[str] = Counter(m.rule for m in (rules_after or {}).values() if m is not None)
	return Preview(moves, unchanged, dict(sorted(by_rule.items())))


# The facts as the rule form names them, and the operators of a condition row.
FACT_OF_LABEL = {
	"Average Days Late": "avg_days_late",
	"Broken Promises": "broken_promises",
	"Open Disputes": "open_disputes",
	"Overdue Amount": "overdue",
	"Total Balance": "balance",
	"Tenure (Days)": "tenure_days",
	"Risk Score": "risk_score",
}
MONEY_FACTS = ("overdue", "balance")


def rule_from_conditions(
	name: str,
	company: str,
	policy: str,
	conditions: Iterable[tuple[str, str, Number]],
	**fields,
) -> SegmentRule:
	"""A rule from condition rows (fact, "At Least" / "At Most" / "Exactly", value); several rows on
	one fact narrow its range."""
	problems: list[Problem] = []
	bounds: dict[str, list] = {}
	for fact_label, operator, value in conditions:
		fact = FACT_OF_LABEL.get(fact_label, fact_label)
		if fact not in FACTS:
			problems.append(Problem(_("Segment rule {0}: unknown fact {1}."), name, fact_label))
			continue
		value = Decimal(str(value or 0)) if fact in MONEY_FACTS else float(value or 0)
		low, high = bounds.setdefault(fact, [None, None])
		if operator in ("At Least", "Exactly"):
			bounds[fact][0] = value if low is None else max(low, value)
		if operator in ("At Most", "Exactly"):
			bounds[fact][1] = value if high is None else min(high, value)
		if operator not in ("At Least", "At Most", "Exactly"):
			problems.append(Problem(_("Segment rule {0}: unknown comparison {1}."), name, operator))
	if problems:
		raise PolicyError(problems)
	ranges = {fact: Range(low, high) for fact, (low, high) in bounds.items()}
	return SegmentRule(name=name, company=company, policy=policy, **ranges, **fields)
