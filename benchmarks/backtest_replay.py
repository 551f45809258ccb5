"""The backtest's replay on its own, without a site: a year of a ledger shaped like the shared perf
dataset at 100k invoices (76,620 invoices posted in the window, 2,000 Pareto-skewed customers, 70 % on
three terms at 30/60/90 days, the rest on two, ~60 % paid near their due dates as ``gen_orm.py`` pays
them), replayed day by day with the Standard Collection policy's steps (``engine.backtest``).

It separates the engine's share of issue 13's target (12 months of the 100k dataset in <= 60 s, read
and replay) from the reading, which ``backtest_benchmark.py`` measures on a real site.

    python benchmarks/backtest_replay.py [--invoices 76620] [--customers 2000] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dunning_plus.engine.backtest import History, HistoryRow, replay, summarize
from dunning_plus.engine.cadence import CustomerProfile, PolicyBook
from dunning_plus.engine.policy import policy_from_dict
from dunning_plus.engine.promises import Payment

END = date(2026, 11, 24)
START = date(2025, 11, 25)
CENT = Decimal("0.01")

STANDARD = {
	"name": "Standard Collection",
	"skip_weekends": True,
	"steps": [
		{"code": "R-7", "offset_days": -7, "kind": "reminder", "templates": {"en": "R-7"}},
		{"code": "R+3", "offset_days": 3, "kind": "reminder", "templates": {"en": "R+3"}},
		{"code": "L1", "offset_days": 10, "kind": "dunning", "level": 1, "templates": {"en": "L1"}},
		{"code": "L2", "offset_days": 25, "kind": "dunning", "level": 2, "templates": {"en": "L2"}},
		{
			"code": "FINAL",
			"offset_days": 45,
			"kind": "final_notice",
			"approval_role": "Collections Manager",
			"credit_hold": True,
			"templates": {"en": "FINAL"},
		},
		{
			"code": "WO",
			"offset_days": 120,
			"kind": "write_off",
			"channel": "task",
			"approval_role": "Accounts Manager",
		},
	],
}


def build(n_invoices: int, n_customers: int, seed: int = 42) -> History:
	rnd = random.Random(seed)
	names = [f"Perf Customer {i:04d}" for i in range(n_customers)]
	weights = [1 / (i + 1) ** 0.8 for i in range(n_customers)]
	span = (END - START).days
	rows: list[HistoryRow] = []
	payments: list[Payment] = []
	for k, customer in enumerate(rnd.choices(names, weights, k=n_invoices)):
		posted = START + timedelta(days=rnd.randint(0, span))
		terms = ((30, 30), (60, 30), (90, 40)) if rnd.random() < 0.7 else ((30, 50), (60, 50))
		total = Decimal(rnd.randint(10_000, 500_000)) / 100
		invoice = f"ACC-SINV-{k:06d}"
		schedule = [
			HistoryRow(
				id=f"{invoice}/{idx}",
				invoice=invoice,
				customer=customer,
				company="Perf Co",
				due_date=posted + timedelta(days=days),
				amount=(total * pct / 100).quantize(CENT),
				posting_date=posted,
				payment_term=f"T{idx}",
			)
			for idx, (days, pct) in enumerate(terms, 1)
		]
		rows.extend(schedule)
		paid = rnd.random()
		if paid < 0.6 and rnd.random() < 0.6:  # in full, at once, around the first due date
			on = max(posted, schedule[0].due_date + timedelta(days=rnd.randint(-25, 40)))
			payments.extend(Payment(r.id, on, r.amount) for r in schedule)
		elif paid < 0.6:  # in full, each term around its own due date
			for r in schedule:
				payments.append(
					Payment(r.id, max(posted, r.due_date + timedelta(days=rnd.randint(-10, 30))), r.amount)
				)
		elif paid < 0.8:  # the first term only
			r = schedule[0]
			payments.append(
				Payment(r.id, max(posted, r.due_date + timedelta(days=rnd.randint(-10, 30))), r.amount)
			)
	payments = sorted(
		(p for p in payments if p.posting_date <= END), key=lambda p: (p.posting_date, p.instalment)
	)
	# three customers in four can be emailed; the others get a task for their collector
	customers = {
		name: CustomerProfile(name, language="en", email=f"ap{i}@perf.example" if i % 4 else None)
		for i, name in enumerate(names)
	}
	return History(rows=rows, payments=payments, customers=customers)


def main() -> int:
	ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	ap.add_argument("--invoices", type=int, default=76_620)
	ap.add_argument("--customers", type=int, default=2_000)
	ap.add_argument("--json", action="store_true")
	args = ap.parse_args()
	history = build(args.invoices, args.customers)
	policy = policy_from_dict(STANDARD)
	book = PolicyBook({policy.name: policy}, {"Perf Co": policy.name})
	t0 = time.perf_counter()
	result = replay(history, book, START, END)
	t1 = time.perf_counter()
	figures = summarize(result, history, policy_steps=policy.steps)
	t2 = time.perf_counter()
	out = {
		"invoices": figures["invoices"],
		"schedule_rows": figures["schedule_rows"],
		"payments": len(history.payments),
		"days": figures["days"],
		"evaluations": figures["evaluations"],
		"messages": figures["messages"],
		"reminders_sent": figures["reminders_sent"],
		"paid_soon_share": figures["paid_soon_share"],
		"replay_seconds": round(t1 - t0, 2),
		"summary_seconds": round(t2 - t1, 2),
		"total_seconds": round(t2 - t0, 2),
		"max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
	}
	if args.json:
		print(json.dumps(out))
	else:
		for key, value in out.items():
			print(f"{key:<16} {value:>12,}" if isinstance(value, int) else f"{key:<16} {value:>12}")
	return 0


if __name__ == "__main__":
	sys.exit(main())
