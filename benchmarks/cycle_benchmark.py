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

--workers 1 2 measures the same day's run with real RQ workers instead: for each count, the
benchmark starts that many `bench worker --queue long` processes (and stops them by process group),
submits the Dunning Run as the scheduler does (its batches are enqueued, each committed customer
by customer), and times it until the last batch has reported; the delivery jobs the batches
enqueue are dropped, the delivery is measured inline. Because workers only see committed data,
this mode commits its setup and its runs and takes them out again afterwards (every row the runs
created, the customers' e-mail addresses it filled in, the settings it changed); it must run on a
benchmark site nobody else uses. It prints one RESULT line per worker count and the speed-up.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import signal
import subprocess
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


def measure(frappe, company: str, day, label: str, deliver_sample: int, profile: str | None = None) -> dict:
	from dunning_plus.cycle.delivering import deliver_queued
	from dunning_plus.tasks import run_daily_cycle

	stats = {"n": 0}
	orig = frappe.db.sql

	def counting(*args, **kwargs):
		stats["n"] += 1
		return orig(*args, **kwargs)

	frappe.db.sql = counting
	profiler = None
	if profile:
		import cProfile

		profiler = cProfile.Profile()
		profiler.enable()
	t0 = time.perf_counter()
	names = run_daily_cycle(as_of=day, company=company)
	wall = time.perf_counter() - t0
	if profiler is not None:
		profiler.disable()
		profiler.dump_stats(f"{profile}.{label}")
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


# What a run writes: every row of these created since the run started is taken out again.
RUN_DOCTYPES = (
	"Collection Action",
	"Collection Case",
	"Dunning Run",
	"ToDo",
	"Communication",
	"Communication Link",
	"Email Queue",
	"Email Queue Recipient",
	"Comment",
	"Error Log",
	"File",
)


def run_tables(frappe) -> list[str]:
	"""The tables of RUN_DOCTYPES and of their child tables."""
	tables = []
	for doctype in RUN_DOCTYPES:
		tables.append(doctype)
		tables.extend(f.options for f in frappe.get_meta(doctype).get_table_fields())
	return list(dict.fromkeys(t for t in tables if frappe.db.table_exists(t)))


def take_out(frappe, since) -> None:
	"""Deletes what the runs created since ``since`` and the marks they left on ERPNext records."""
	for table in run_tables(frappe):
		frappe.db.sql(f"delete from `tab{table}` where creation >= %s", since)
	frappe.db.sql(
		"""update `tabSales Invoice` set current_dunning_level = 0, collection_case = null
		where collection_case is not null"""
	)
	frappe.db.sql("update `tabCustomer` set dunning_credit_hold = 0 where dunning_credit_hold = 1")
	frappe.db.commit()


def start_workers(bench: str, n: int, log_dir: str) -> list[subprocess.Popen]:
	procs = []
	for i in range(n):
		log = open(os.path.join(log_dir, f"cycle-benchmark-worker-{i + 1}.log"), "w")
		procs.append(
			subprocess.Popen(
				["bench", "worker", "--queue", "long"],
				cwd=bench,
				stdout=log,
				stderr=subprocess.STDOUT,
				start_new_session=True,  # its own process group: stopped with its children
			)
		)
	return procs


def stop_workers(procs: list[subprocess.Popen]) -> None:
	for p in procs:
		with contextlib.suppress(ProcessLookupError):
			os.killpg(p.pid, signal.SIGTERM)
	deadline = time.time() + 20
	for p in procs:
		try:
			p.wait(timeout=max(deadline - time.time(), 0.1))
		except subprocess.TimeoutExpired:
			with contextlib.suppress(ProcessLookupError):
				os.killpg(p.pid, signal.SIGKILL)
			p.wait()


def wait_for_workers(frappe, n: int, timeout: float = 60) -> None:
	from frappe.utils.background_jobs import get_queue, get_workers

	queue = get_queue("long")
	deadline = time.time() + timeout
	while time.time() < deadline:
		if len(get_workers(queue)) >= n:
			return
		time.sleep(0.5)
	raise RuntimeError(f"{n} workers did not start within {timeout} s (see the worker logs)")


def measure_workers(frappe, bench: str, company: str, day, n: int, label: str, timeout: float) -> dict:
	"""The day's run with ``n`` real workers: seconds from submitting the run to its last batch."""
	from frappe.utils import now_datetime
	from frappe.utils.background_jobs import get_queue

	from dunning_plus.tasks import run_daily_cycle

	queue = get_queue("long")
	queue.empty()
	procs = start_workers(bench, n, os.path.join(bench, "logs"))
	try:
		wait_for_workers(frappe, n)
		since = now_datetime()
		frappe.db.commit()
		t0 = time.perf_counter()
		name = run_daily_cycle(as_of=day, company=company)[0]
		frappe.db.commit()  # the run's first job is enqueued after the commit
		deadline = time.time() + timeout
		while True:
			frappe.db.rollback()  # a fresh snapshot: what the workers committed
			run = frappe.db.get_value(
				"Dunning Run",
				name,
				[
					"status",
					"batches_done",
					"batches_total",
					"messages_count",
					"actions_count",
					"errors_count",
				],
				as_dict=True,
			)
			if run.status == "Failed" or (run.batches_total and run.batches_done >= run.batches_total):
				break
			if time.time() > deadline:
				raise RuntimeError(f"the run {name} did not finish within {timeout} s: {run}")
			time.sleep(0.2)
		wall = time.perf_counter() - t0
		evaluated = frappe.db.get_value("Dunning Run", name, "instalments_evaluated")
		errors = frappe.get_all(
			"Dunning Run Error", filters={"parent": name}, fields=["customer", "error"], limit=5
		)
	finally:
		stop_workers(procs)
		queue.empty()  # the delivery jobs the batches enqueued
	take_out(frappe, since)
	return {
		"scenario": label,
		"mode": "workers",
		"workers": n,
		"run_date": str(day),
		"wall_s": round(wall, 2),
		"status": run.status,
		"batches": run.batches_total,
		"instalments_evaluated": evaluated,
		"messages": run.messages_count,
		"steps": run.actions_count,
		"errors": run.errors_count,
		"first_errors": [{"customer": e.customer, "error": (e.error or "")[:300]} for e in errors],
	}


def with_workers(frappe, a, day) -> None:
	"""--workers: the same day's run with each worker count, then the site as it was."""
	from frappe.utils import add_days, now_datetime

	from dunning_plus.tasks import run_daily_cycle

	company = a.company
	before = {
		"policy": frappe.db.get_value("Company", company, "dunning_policy"),
		"settings": {
			k: frappe.db.get_single_value("Dunning Plus Settings", k)
			for k in ("sender_email_account", "proposal_mode", "max_messages_per_run", "batch_size")
		},
		"no_email": frappe.db.sql_list("select name from `tabCustomer` where ifnull(email_id, '') = ''"),
	}
	start = now_datetime()
	frappe.db.commit()
	try:
		setup(frappe, company)
		frappe.flags.in_test = False  # the run enqueues its batches for the workers
		frappe.db.commit()
		print(f"open instalments: {open_instalments(frappe, company):,}", flush=True)
		run_day = add_days(day, 1) if a.scenario == "steady" else day
		results = []
		for n in a.workers:
			if a.scenario == "steady":
				# each count starts from the same state: nothing of an earlier measurement is left (a
				# run also updates cases made before it), then the first run is taken inline and
				# committed, and the measured run is the next day's
				take_out(frappe, start)
				frappe.flags.in_test = True
				frappe.flags.dunning_plus_deliver_later = True
				run_daily_cycle(as_of=day, company=company)
				frappe.db.commit()
				frappe.flags.in_test = False
			r = measure_workers(frappe, a.bench, company, run_day, n, a.scenario, a.timeout)
			results.append(r)
			print("RESULT " + json.dumps(r), flush=True)
		if len(results) > 1:
			base = results[0]
			for r in results[1:]:
				print(
					f"speed-up {base['workers']} -> {r['workers']} workers: "
					f"{base['wall_s'] / r['wall_s']:.2f}x ({base['wall_s']} s -> {r['wall_s']} s)",
					flush=True,
				)
	finally:
		frappe.db.rollback()
		take_out(frappe, start)
		for name in ("Bench Standard",):
			frappe.db.set_value("Company", company, "dunning_policy", before["policy"])
			if frappe.db.exists("Dunning Policy", name):
				frappe.delete_doc("Dunning Policy", name, force=True, ignore_permissions=True)
		for k, v in before["settings"].items():
			frappe.db.set_single_value("Dunning Plus Settings", k, v)
		for dt, name in (("Email Account", "Bench Outgoing"), ("Email Template", "Bench Reminder")):
			if frappe.db.exists(dt, name):
				frappe.delete_doc(dt, name, force=True, ignore_permissions=True)
		if before["no_email"]:
			cust = frappe.qb.DocType("Customer")
			frappe.qb.update(cust).set(cust.email_id, None).where(cust.name.isin(before["no_email"])).run()
		frappe.db.commit()


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
	ap.add_argument(
		"--workers",
		type=int,
		nargs="+",
		help="measure the run with real RQ workers, once per count (e.g. 1 2); commits, then cleans up",
	)
	ap.add_argument("--timeout", type=float, default=1800, help="seconds a workers run may take")
	ap.add_argument("--profile", help="write a cProfile of each inline run to PROFILE.<scenario>")
	a = ap.parse_args()
	frappe = connect(a.bench, a.site)
	from frappe.utils import add_days, getdate

	day = getdate(a.date)
	if a.workers:
		if a.scenario == "both":
			ap.error("--workers measures one scenario: --scenario first_run or steady")
		try:
			with_workers(frappe, a, day)
		finally:
			frappe.destroy()
		return 0
	try:
		setup(frappe, a.company)
		print(f"open instalments: {open_instalments(frappe, a.company):,}", flush=True)
		first = measure(frappe, a.company, day, "first_run", a.deliver_sample, a.profile)
		if a.scenario in ("first_run", "both"):
			print("RESULT " + json.dumps(first), flush=True)
		if a.scenario in ("steady", "both"):
			from freezegun import freeze_time  # the next day's run is dated the next day

			with freeze_time(f"{add_days(day, 1)} 07:00:00", tick=True):
				steady = measure(frappe, a.company, add_days(day, 1), "steady", a.deliver_sample, a.profile)
			print("RESULT " + json.dumps(steady), flush=True)
	finally:
		frappe.db.rollback()
		frappe.destroy()
	return 0


if __name__ == "__main__":
	sys.exit(main())
