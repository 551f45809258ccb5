"""Engine throughput: instalment evaluations per second of ``plan_cycle``.

Builds N open instalments (default 100k and 1M) over 5% as many customers: due dates spread over
180 days around the run date, 2% of items under a promise, 1% disputed, a few customer blocks.
Two scenarios per size, each timed as one full daily plan (best of --repeat runs):

- steady: a normal day. Every step reached before today was taken on earlier days; 3% of items
  missed their last step (a day without a run) and catch up.
- first_run: the first run after install: no step ever taken, so every overdue item is due at
  its highest step at once (the worst case: an action and a key for most items).

Target: >= 200,000 evaluations/s.

    python benchmarks/engine_throughput.py [--sizes 100000 1000000] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dunning_plus.cli.sample import POLICIES
from dunning_plus.engine.cadence import CustomerProfile, Instalment, PolicyBook, plan_cycle
from dunning_plus.engine.policy import policy_from_dict
from dunning_plus.engine.precedence import Block, BlockScope
from dunning_plus.engine.promises import Dispute, Promise

RUN_DATE = date(2026, 11, 24)  # a Tuesday


def build(n: int, seed: int = 7, scenario: str = "steady"):
	rnd = random.Random(seed)
	policies = {p["name"]: policy_from_dict(p) for p in POLICIES}
	book = PolicyBook(policies, {"Bench Co": "Standard"}, {"Government": "Public Sector"})
	n_cust = max(1, n // 20)
	customers = {}
	for i in range(n_cust):
		name = f"C{i:07d}"
		block = None
		if i % 500 == 0:
			block = Block(BlockScope.CUSTOMER, name, "Legal review", RUN_DATE + timedelta(days=10))
		customers[name] = CustomerProfile(
			name,
			segment="Government" if i % 10 == 0 else "Commercial",
			block=block,
			language="en",
			email=f"ap@{name}.example",
		)
	std = policies["Standard"].track("invoice")
	instalments = []
	promises = []
	disputes = []
	for k in range(n):
		cust = f"C{rnd.randrange(n_cust):07d}"
		due = RUN_DATE + timedelta(days=rnd.randint(-150, 30))
		days = (RUN_DATE - due).days
		reached = [s.code for s, off in zip(std.steps, std.effective_offsets, strict=True) if off < days]
		if scenario == "first_run":
			taken = ()
		elif rnd.random() < 0.03:
			taken = tuple(reached[:-1])
		else:
			taken = tuple(reached)
		inst_id = f"ACC-SINV-{k:08d}/1"
		instalments.append(
			Instalment(
				id=inst_id,
				invoice=f"ACC-SINV-{k:08d}",
				customer=cust,
				company="Bench Co",
				due_date=due,
				outstanding=Decimal(rnd.randint(100, 500000)) / 100,
				taken=taken,
			)
		)
		r = rnd.random()
		if r < 0.02:
			promises.append(
				Promise(
					f"P{k}",
					cust,
					RUN_DATE + timedelta(days=5),
					Decimal(10),
					(inst_id,),
					RUN_DATE - timedelta(days=2),
				)
			)
		elif r < 0.03:
			disputes.append(
				Dispute(f"D{k}", cust, Decimal(50), (inst_id,), RUN_DATE - timedelta(days=3), "Pricing")
			)
	return book, customers, instalments, promises, disputes


def measure(n: int, repeat: int, scenario: str) -> dict:
	book, customers, instalments, promises, disputes = build(n, scenario=scenario)
	best = float("inf")
	plan = None
	for _ in range(repeat):
		gc.collect()
		t0 = time.perf_counter()
		plan = plan_cycle(instalments, RUN_DATE, book, customers, promises, disputes)
		best = min(best, time.perf_counter() - t0)
	return {
		"scenario": scenario,
		"instalments": n,
		"seconds": round(best, 3),
		"evaluations_per_second": round(n / best),
		"actions": len(plan.actions),
		"messages": len(plan.messages),
		"holds": len(plan.holds),
	}


def main() -> int:
	ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
	ap.add_argument("--repeat", type=int, default=3)
	ap.add_argument("--json", action="store_true")
	args = ap.parse_args()
	results = [measure(n, args.repeat, sc) for n in args.sizes for sc in ("steady", "first_run")]
	if args.json:
		print(json.dumps(results, indent=2))
	else:
		print(
			f"{'scenario':<10} {'instalments':>12} {'seconds':>8} {'evals/s':>10} {'actions':>8} {'messages':>8} {'holds':>7}"
		)
		for r in results:
			print(
				f"{r['scenario']:<10} {r['instalments']:>12,} {r['seconds']:>8.3f} {r['evaluations_per_second']:>10,} "
				f"{r['actions']:>8,} {r['messages']:>8,} {r['holds']:>7,}"
			)
		print("target: >= 200,000 evaluations/s")
	return 0


if __name__ == "__main__":
	sys.exit(main())
