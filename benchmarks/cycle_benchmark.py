"""The daily collection cycle on a real ERPNext site: wall time, SQL statements, messages per second.

Run with the bench's python (Frappe and ERPNext importable), against a site with dunning_plus
installed and open receivables (e.g. the shared/perf dataset at 20k or 100k invoices):

    cd $BENCH && env/bin/python /path/to/dunning_plus/benchmarks/cycle_benchmark.py \\
        --site perf.localhost --company "Perf Co" --date 2026-11-24 [--scenario first_run|steady|both]

Setup (inside the measured transaction, rolled back at the end, so the site is left as it was):
a standard policy as the company default, an email template, an outgoing email account (mail is
only queued), and an email address for every customer. Scenarios:

- first_run: no step was ever taken, so every open instalment whose first step is due gets its
  highest step at once (the catch-up after install: the heaviest possible day);
- steady: after the first run, the next day's run (only instalments crossing a step that day).

The run (deciding, recording the steps, recomputing the cases) executes inline in this one process,
one batch after another; in production each batch is a job on the long queue, so more workers
divide the time. Delivery (Communication + Email Queue per message, ToDos, letters) is a separate
job: its throughput is measured on --deliver-sample messages of the run and reported as
messages per second. Prints one RESULT json line per scenario.
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


def setup(frappe, company: str):
	frappe.flags.in_test = True  # runs batches inline and keeps one transaction to roll back
	frappe.flags.dunning_plus_deliver_later = True  # delivery is measured on its own
	if not frappe.db.exists("Email Template", "Bench Reminder"):
		frappe.get_doc(
			{
				"doctype": "Email Template",
				"name": "Bench Reminder",
				"subject": "Open items of {{ customer_name }}",
				"use_html": 1,
				"response_html": "<p>Dear {{ customer_name }}, {{ items|length }} items, {{ total }} {{ currency }}.</p>",
			}
		).insert(ignore_permissions=True)
	if not frappe.db.exists("Email Account", "Bench Outgoing"):
		acc = frappe.get_doc(
			{
				"doctype": "Email Account",
				"email_account_name": "Bench Outgoing",
				"email_id": "ar@bench.example",
				"enable_outgoing": 1,
				"smtp_server": "127.0.0.1",
				"smtp_port": 2525,
				"no_smtp_authentication": 1,
				"awaiting_password": 0,
			}
		)
		acc.flags.ignore_validate = True
		acc.insert(ignore_permissions=True)
	t = "Bench Reminder"
	steps = [
		{"step_code": "R-7", "offset_days": -7, "kind": "Reminder", "email_template": t},
		{"step_code": "R+3", "offset_days": 3, "kind": "Reminder", "email_template": t},
		{
			"step_code": "L1",
			"offset_days": 10,
			"kind": "Dunning Level",
			"level": 1,
			"email_template": t,
			"sla_hours": 48,
		},
		{"step_code": "L2", "offset_days": 25, "kind": "Dunning Level", "level": 2, "email_template": t},
		{"step_code": "L3", "offset_days": 45, "kind": "Dunning Level", "level": 3, "email_template": t},
		{"step_code": "ESC", "offset_days": 60, "kind": "Escalation", "channel": "Task", "sla_hours": 24},
	]
	if frappe.db.exists("Dunning Policy", "Bench Standard"):
		frappe.delete_doc("Dunning Policy", "Bench Standard", force=True)
	frappe.get_doc(
		{
			"doctype": "Dunning Policy",
			"policy_name": "Bench Standard",
			"company": company,
			"skip_weekends": 0,
			"steps": steps,
		}
	).insert(ignore_permissions=True)
	frappe.db.set_value("Company", company, "dunning_policy", "Bench Standard")
	settings = frappe.get_single("Dunning Plus Settings")
	settings.update(
		{
			"sender_email_account": "Bench Outgoing",
			"proposal_mode": 0,
			"max_messages_per_run": 0,
			"batch_size": 200,
		}
	)
	settings.save()
	frappe.db.sql(
		"""update `tabCustomer` set email_id = concat('ap.', replace(name, ' ', '.'), '@bench.example')
		where ifnull(email_id, '') = ''"""
	)


def open_instalments(frappe, company: str) -> int:
	return frappe.db.sql(
		"""select count(*) from `tabPayment Schedule` ps join `tabSales Invoice` si on si.name = ps.parent
		where si.company = %s and si.docstatus = 1 and si.outstanding_amount > 0 and si.is_return = 0""",
		company,
	)[0][0]


def measure(frappe, company: str, day, label: str, deliver_sample: int) -> dict:
	from dunning_plus.cycle.delivering import deliver_queued
	from dunning_plus.tasks import run_daily_cycle

	stats = {"n": 0}
	orig = frappe.db.sql

	def counting(*args, **kwargs):
		stats["n"] += 1
		return orig(*args, **kwargs)

	frappe.db.sql = counting
	t0 = time.perf_counter()
	names = run_daily_cycle(as_of=day, company=company)
	wall = time.perf_counter() - t0
	frappe.db.sql = orig
	run = frappe.get_doc("Dunning Run", names[0])
	keys = [r.message_key for r in run.messages if r.status == "Queued"][:deliver_sample]
	t1 = time.perf_counter()
	delivered, errors = deliver_queued(company, keys, run.name)
	deliver_s = time.perf_counter() - t1
	return {
		"scenario": label,
		"run_date": str(day),
		"wall_s": round(wall, 2),
		"sql_statements": stats["n"],
		"instalments_evaluated": run.instalments_evaluated,
		"messages": run.messages_count,
		"steps": run.actions_count,
		"errors": run.errors_count,
		"decided_messages_per_s": round(run.messages_count / wall, 1) if wall else None,
		"steps_per_s": round(run.actions_count / wall, 1) if wall else None,
		"delivery_sample": len(keys),
		"delivered": delivered,
		"delivery_errors": len(errors),
		"delivered_messages_per_s": round(delivered / deliver_s, 1) if deliver_s else None,
		"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
	}


def main() -> int:
	ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	ap.add_argument("--bench", default=os.environ.get("BENCH", os.getcwd()), help="bench directory")
	ap.add_argument("--site", default=os.environ.get("SITE", "perf.localhost"))
	ap.add_argument("--company", default="Perf Co")
	ap.add_argument("--date", default="2026-11-24")
	ap.add_argument("--scenario", choices=["first_run", "steady", "both"], default="both")
	ap.add_argument(
		"--deliver-sample", type=int, default=100, help="messages delivered to measure throughput"
	)
	a = ap.parse_args()
	frappe = connect(a.bench, a.site)
	from frappe.utils import add_days, getdate

	day = getdate(a.date)
	try:
		setup(frappe, a.company)
		print(f"open instalments: {open_instalments(frappe, a.company):,}", flush=True)
		first = measure(frappe, a.company, day, "first_run", a.deliver_sample)
		if a.scenario in ("first_run", "both"):
			print("RESULT " + json.dumps(first), flush=True)
		if a.scenario in ("steady", "both"):
			from freezegun import freeze_time  # the next day's run is dated the next day

			with freeze_time(f"{add_days(day, 1)} 07:00:00", tick=True):
				steady = measure(frappe, a.company, add_days(day, 1), "steady", a.deliver_sample)
			print("RESULT " + json.dumps(steady), flush=True)
	finally:
		frappe.db.rollback()
		frappe.destroy()
	return 0


if __name__ == "__main__":
	sys.exit(main())
