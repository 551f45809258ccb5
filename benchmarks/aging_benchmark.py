"""Collections Aging against ERPNext's Accounts Receivable and a raw SQL aggregate, in one run.

Run with the bench's Python from the bench's ``sites`` directory, under the benchmark lock:

    cd /work/bench/frappe-bench/sites
    flock /work/bench/perf.lock ../env/bin/python /work/main/benchmarks/aging_benchmark.py \\
        --site perf.localhost --company "Perf Co" --date 2026-11-24 --rounds 3

Each round times, one after the other and in a different order each round:

- ``ar``: ERPNext's Accounts Receivable (``accounts_receivable.execute``) with company, report date,
  ageing by due date, range "30, 60, 90, 120" and party type Customer;
- ``ours``: the Collections Aging report (``execute``), same date and buckets, grouped by customer;
  nothing is posted after the date, so it reads each invoice's outstanding_amount (ERPNext's
  running total of the ledger);
- ``ours_ledger``: the same report made to sum the Payment Ledger up to the date, as it does for a
  date with entries after it;
- ``raw``: one SQL statement: the Payment Ledger summed per invoice up to the date, bucketed by
  the invoice's due date and summed per customer (the floor any report on the ledger pays).

One call of each warms the caches first. It prints each call, the medians and the ratios, the
SQL statements per call, and checks that the three give the same total outstanding.
"""

from __future__ import annotations

import argparse
import statistics
import time

import frappe

RAW_SQL = """
select party, sum(balance) as outstanding,
	sum(if(age <= 0, balance, 0)) as not_due,
	sum(if(age between 1 and 30, balance, 0)) as b1,
	sum(if(age between 31 and 60, balance, 0)) as b2,
	sum(if(age between 61 and 90, balance, 0)) as b3,
	sum(if(age between 91 and 120, balance, 0)) as b4,
	sum(if(age > 120, balance, 0)) as b5
from (
	select max(party) as party, sum(amount) as balance,
		datediff(%(day)s, max(if(voucher_no = against_voucher_no, due_date, null))) as age
	from `tabPayment Ledger Entry`
	where delinked = 0 and company = %(company)s and party_type = 'Customer'
		and account_type = 'Receivable' and posting_date <= %(day)s
	group by against_voucher_no, against_voucher_type
	having abs(sum(amount)) >= 0.005
) invoices
group by party
"""


class SqlCounter:
	def __init__(self):
		self.calls = 0
		self._sql = frappe.db.sql

	def __enter__(self):
		def counted(*args, **kwargs):
			self.calls += 1
			return self._sql(*args, **kwargs)

		frappe.db.sql = counted
		return self

	def __exit__(self, *exc):
		frappe.db.sql = self._sql


def run_ar(company: str, day: str) -> float:
	from erpnext.accounts.report.accounts_receivable.accounts_receivable import execute

	_columns, data, *_rest = execute(
		frappe._dict(
			company=company,
			report_date=day,
			ageing_based_on="Due Date",
			range="30, 60, 90, 120",
			party_type="Customer",
		)
	)
	return sum(float(r.get("outstanding") or 0) for r in data)


def run_ours(company: str, day: str) -> float:
	from dunning_plus.dunning_plus.report.collections_aging.collections_aging import execute

	_columns, data, *_rest = execute(
		frappe._dict(
			company=company,
			report_date=day,
			ageing_based_on="Due Date",
			range="30, 60, 90, 120",
			group_by="Customer",
		)
	)
	return sum(r["outstanding"] for r in data)


def run_ours_ledger(company: str, day: str) -> float:
	"""Collections Aging as for a date with ledger entries after it: the Payment Ledger summed."""
	from dunning_plus import report_data

	moves_after = report_data._ledger_moves_after
	report_data._ledger_moves_after = lambda *args: True
	try:
		return run_ours(company, day)
	finally:
		report_data._ledger_moves_after = moves_after


def run_raw(company: str, day: str) -> float:
	rows = frappe.db.sql(RAW_SQL, {"day": day, "company": company}, as_dict=True)
	return sum(float(r.outstanding) for r in rows)


METHODS = {"ar": run_ar, "ours": run_ours, "ours_ledger": run_ours_ledger, "raw": run_raw}


def main():
	parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	parser.add_argument("--site", default="perf.localhost")
	parser.add_argument("--company", default="Perf Co")
	parser.add_argument("--date", default="2026-11-24")
	parser.add_argument("--rounds", type=int, default=3)
	args = parser.parse_args()

	frappe.init(site=args.site)
	frappe.connect()
	frappe.set_user("Administrator")
	counts = frappe.db.sql(
		"""select count(*), count(distinct parent) from `tabPayment Schedule` ps
		where parenttype = 'Sales Invoice' and exists (select 1 from `tabSales Invoice` si
			where si.name = ps.parent and si.docstatus = 1 and si.company = %s and si.outstanding_amount > 0)""",
		args.company,
	)[0]
	print(f"site {args.site}, company {args.company}, date {args.date}")
	print(f"open invoices {counts[1]}, their payment-schedule rows {counts[0]}")

	totals = {}
	statements = {}
	for name, fn in METHODS.items():  # warm-up, and the statement count
		with SqlCounter() as counter:
			totals[name] = fn(args.company, args.date)
		statements[name] = counter.calls
	times: dict[str, list[float]] = {name: [] for name in METHODS}
	order = list(METHODS)
	for round_no in range(args.rounds):
		for name in order:
			start = time.perf_counter()
			total = METHODS[name](args.company, args.date)
			elapsed = time.perf_counter() - start
			times[name].append(elapsed)
			print(f"round {round_no + 1} {name:12} {elapsed:7.3f} s  total {total:,.2f}")
			if abs(total - totals[name]) > 0.01:
				raise SystemExit(f"{name} changed its total between calls")
		order = order[1:] + order[:1]

	median = {name: statistics.median(values) for name, values in times.items()}
	print()
	print(f"{'method':12} {'median s':>9} {'min s':>8} {'SQL statements':>15} {'total outstanding':>20}")
	for name in METHODS:
		print(
			f"{name:12} {median[name]:9.3f} {min(times[name]):8.3f} {statements[name]:15d} {totals[name]:20,.2f}"
		)
	print()
	print(f"AR / ours  = {median['ar'] / median['ours']:.1f}x faster (target >= 10x)")
	print(f"ours / raw = {median['ours'] / median['raw']:.2f}x the raw aggregate (target <= 2x)")
	print(
		f"ledger path: AR / ours_ledger = {median['ar'] / median['ours_ledger']:.1f}x, "
		f"ours_ledger / raw = {median['ours_ledger'] / median['raw']:.2f}x"
	)
	same = all(abs(totals[name] - totals["ar"]) < 0.01 for name in METHODS)
	print(f"same total outstanding: {same}")
	frappe.destroy()


if __name__ == "__main__":
	main()
