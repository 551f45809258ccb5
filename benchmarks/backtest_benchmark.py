"""The in-site backtest of a Dunning Policy on a real ERPNext site: seconds to read the history and
to replay it, for 12 months by default (issue 13's target: 12 months of the 100k-invoice perf
dataset in 60 s or less).

Run with the bench's python (Frappe and ERPNext importable), against a site with dunning_plus
installed and a receivables history (e.g. the shared/perf dataset):

    cd $BENCH && env/bin/python /path/to/dunning_plus/benchmarks/backtest_benchmark.py \\
        --site perf.localhost --company "Perf Co" --date 2026-11-24 [--months 12] [--policy NAME]

Without --policy it replays the app's "Standard Collection" policy (created when missing, inside
the measured transaction, which is rolled back at the end: the site is left as it was), and gives
every customer without an e-mail address one in the same transaction (--no-emails: not), so that
reminders reach customers and the paid-within-3-days share means something. The backtest itself
writes nothing. Prints one RESULT json line: invoices, schedule rows, payments,
seconds reading, seconds replaying, total, messages.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time


def connect(bench: str, site: str):
	os.chdir(os.path.join(bench, "sites"))
	import frappe

	frappe.init(site=site, sites_path=".")
	frappe.connect()
	frappe.set_user("Administrator")
	return frappe


def measure(frappe, company: str, as_of: str, months: int, policy: str | None, emails: bool = True) -> dict:
	from dunning_plus.backtest import policy_book, read_history, window
	from dunning_plus.engine.backtest import backtest
	from dunning_plus.standard_policy import STANDARD_POLICY, create_standard_collection

	if not policy:
		create_standard_collection()
		policy = STANDARD_POLICY
	if emails:
		# the perf dataset's customers have no address: every message would be a task for a collector
		# and no reminder would reach a customer (reminders_sent 0, paid_soon_share 0.0)
		frappe.db.sql(
			"""update `tabCustomer` set email_id = concat('ap.', replace(name, ' ', '.'), '@bench.example')
			where ifnull(email_id, '') = ''"""
		)
	start, end = window(months, as_of)
	t0 = time.perf_counter()
	history = read_history(company, start, end)
	t1 = time.perf_counter()
	book = policy_book(policy, company)
	figures = backtest(history, book, start, end, policy=next(iter(book.policies)))
	t2 = time.perf_counter()
	return {
		"site": frappe.local.site,
		"company": company,
		"policy": policy,
		"from": str(start),
		"to": str(end),
		"months": months,
		"invoices": figures["invoices"],
		"schedule_rows": figures["schedule_rows"],
		"payments": len(history.payments),
		"customers": len(history.customers),
		"read_seconds": round(t1 - t0, 2),
		"replay_seconds": round(t2 - t1, 2),
		"total_seconds": round(t2 - t0, 2),
		"messages": figures["messages"],
		"customers_touched": figures["customers_touched"],
		# reminders that reach the customer (e-mail, letter); a customer without an address gets a task
		"reminders_sent": figures["reminders_sent"],
		"paid_soon_share": figures["paid_soon_share"],
		"max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
	}


def main() -> int:
	ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	ap.add_argument("--bench", default=os.environ.get("BENCH", os.getcwd()), help="bench directory")
	ap.add_argument("--site", default=os.environ.get("SITE", "perf.localhost"))
	ap.add_argument("--company", default="Perf Co")
	ap.add_argument("--date", default=None, help="last day of the window (default today)")
	ap.add_argument("--months", type=int, default=12)
	ap.add_argument("--policy", default=None, help="Dunning Policy to replay (default Standard Collection)")
	ap.add_argument(
		"--no-emails",
		action="store_true",
		help="leave customers without an e-mail address as they are (by default each gets one, rolled back)",
	)
	args = ap.parse_args()
	frappe = connect(args.bench, args.site)
	try:
		result = measure(
			frappe,
			args.company,
			args.date or frappe.utils.today(),
			args.months,
			args.policy,
			not args.no_emails,
		)
		print("RESULT " + json.dumps(result), flush=True)
	finally:
		frappe.db.rollback()
		frappe.destroy()
	return 0


if __name__ == "__main__":
	sys.exit(main())
