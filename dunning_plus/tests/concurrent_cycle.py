"""Two real worker processes running the same day's cycle at once, with real commits.

THIS MODULE COMMITS. It is used by ``test_dunning_run_concurrency``: ``make_fixture`` commits
uniquely named ``_Test`` records (a policy, a template, customers with overdue invoices), ``main`` is
the body of each worker process (``python -c`` in the bench env: frappe.init / connect, then a Dunning
Run submitted and run inline the way a background worker runs it, every customer committed on its
own), and ``purge`` deletes everything they committed again.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from contextlib import nullcontext
from functools import partial
from unittest.mock import patch

import frappe
import pytz
from frappe.utils import add_days, get_datetime, get_system_timezone, getdate

ITEM = "_Test Non Stock Item"  # an ERPNext test record that is committed on every test site
COMPANY = "_Test Company"


def make_fixture(tag: str, as_of, customers: int) -> dict:
	"""Commits a one-step policy (L1 by email, 10 days after due) and ``customers`` customers of it,
	each with one invoice 12 days overdue on ``as_of``."""
	as_of = getdate(as_of)
	template = f"_Test DP Concurrency {tag}"
	frappe.get_doc(
		{
			"doctype": "Email Template",
			"name": template,
			"subject": "Payment reminder for {{ customer }}",
			"use_html": 1,
			"response_html": "<p>Dear {{ customer }}, please pay {{ total }}.</p>",
		}
	).insert(ignore_permissions=True)
	policy = frappe.get_doc(
		{
			"doctype": "Dunning Policy",
			"policy_name": f"_Test DP Concurrency {tag}",
			"company": COMPANY,
			"enabled": 1,
			"skip_weekends": 0,
			"steps": [
				{
					"step_code": "L1",
					"offset_days": 10,
					"kind": "Dunning Level",
					"level": 1,
					"channel": "Email",
					"email_template": template,
				}
			],
		}
	).insert(ignore_permissions=True)
	names, invoices = [], []
	for i in range(customers):
		customer = frappe.get_doc(
			{
				"doctype": "Customer",
				"customer_name": f"_Test DP Concurrency {tag} {i:02d}",
				"customer_group": "_Test Customer Group",
				"territory": "_Test Territory",
				"email_id": f"c{i}-{tag}@customer.example".lower(),
				"dunning_policy": policy.name,
			}
		).insert(ignore_permissions=True)
		posting = add_days(as_of, -42)
		si = frappe.get_doc(
			{
				"doctype": "Sales Invoice",
				"customer": customer.name,
				"company": COMPANY,
				"set_posting_time": 1,
				"posting_date": posting,
				"due_date": add_days(posting, 30),
				"debit_to": "Debtors - _TC",
				"currency": "INR",
				"disable_rounded_total": 1,
				"items": [
					{
						"item_code": ITEM,
						"qty": 1,
						"rate": 1000 + i,
						"income_account": "Sales - _TC",
						"cost_center": "Main - _TC",
					}
				],
			}
		)
		si.insert(ignore_permissions=True)
		si.submit()
		names.append(customer.name)
		invoices.append(si.name)
	frappe.db.commit()  # nosemgrep: the worker processes must see the fixture
	return {"customers": names, "invoices": invoices, "policy": policy.name, "template": template}


def main() -> None:
	"""``python -c 'from dunning_plus.tests.concurrent_cycle import main; main()' SPEC_FILE``.

	The spec (JSON) names the site, the day, the customers, and the ready / go / out files: the
	worker connects, says it is ready, waits for go, submits its Dunning Run and writes the run's
	name, any uncaught error and the database errors it retried after to its out file."""
	with open(sys.argv[1]) as f:
		spec = json.load(f)
	frappe.init(site=spec["site"], sites_path=spec["sites_path"])
	frappe.connect()
	frappe.set_user("Administrator")
	result = {"run": None, "error": None, "retried": []}
	try:
		_run(spec, result)
	except Exception:
		result["error"] = traceback.format_exc()
		frappe.db.rollback()
	finally:
		with open(spec["out"], "w") as f:
			json.dump(result, f)
		frappe.destroy()


def _run(spec: dict, result: dict) -> None:
	from freezegun import freeze_time

	from dunning_plus.cycle import deciding, transactions

	cfg = frappe.get_doc("Dunning Plus Settings")
	cfg.update(
		{
			"sender_email_account": "_Test Email Account 1",
			"proposal_mode": 0,
			"max_messages_per_run": 0,
			"batch_size": 500,
		}
	)
	real_enqueue = frappe.enqueue
	open(spec["ready"], "w").close()
	deadline = time.monotonic() + spec.get("wait", 120)
	while not os.path.exists(spec["go"]):
		if time.monotonic() > deadline:
			raise TimeoutError("no go signal")
		time.sleep(0.005)
	# as FrappeTestCase.freeze_time: the day starts at midnight in the system time zone
	zone = pytz.timezone(get_system_timezone())
	frozen = zone.localize(get_datetime(spec["as_of"])).astimezone(pytz.utc)
	steps = spec.get("steps")
	real_check = transactions.rolled_back_by_database
	result["retried"] = []

	def rolled_back_by_database(e):
		if real_check(e):
			result["retried"].append(str(e)[:300])
			return True
		return False

	with (
		patch.object(transactions, "rolled_back_by_database", rolled_back_by_database),
		freeze_time(frozen, tick=True),
		# A background worker's jobs, run in this process (RQ would run them in another one).
		patch("frappe.enqueue", partial(real_enqueue, now=True)),
		patch.object(transactions, "settings", return_value=cfg),
		patch.object(deciding, "customers_with_open_items", return_value=spec["customers"]),
		patch.object(deciding, "_lock_customer", _Choreography(steps, deciding._lock_customer).lock)
		if steps
		else nullcontext(),
		patch.object(transactions, "commit", _Choreography(steps, transactions.commit).commit)
		if steps
		else nullcontext(),
		patch.object(deciding, "_existing_keys", _Choreography(steps, deciding._existing_keys).existing_keys)
		if steps
		else nullcontext(),
	):
		run = frappe.get_doc(
			{"doctype": "Dunning Run", "company": COMPANY, "run_date": spec["as_of"], "mode": "Send"}
		)
		run.insert(ignore_permissions=True)
		result["run"] = run.name  # known to the cleanup even if the run fails
		run.submit()
		frappe.db.commit()  # nosemgrep: a worker process


class _Choreography:
	"""Orders the two workers so they meet exactly as in the deadlock of issue 15 item 23.

	Customers X then Y (X's idempotency key is the next above Y's in the index). The first worker
	takes X once the second has read its batch, and commits it; the second then takes X too, finds
	no step taken on its first look, and fails on the unique key. The first locks Y and waits
	until the second waits for Y's lock, then records Y: inserting Y's key needs the gap below X's
	key, which the second still holds a shared lock on if it was rolled back to its savepoint only.
	"""

	seen: set = set()
	looked = False

	def __init__(self, steps: dict, real):
		self.steps, self.real = steps, real

	def signal(self, name: str) -> None:
		open(os.path.join(self.steps["dir"], name), "w").close()

	def wait(self, name: str) -> None:
		deadline = time.monotonic() + self.steps.get("wait", 60)
		while not os.path.exists(os.path.join(self.steps["dir"], name)):
			if time.monotonic() > deadline:
				raise TimeoutError(f"{self.steps['role']} waited in vain for {name}")
			time.sleep(0.005)

	def lock(self, customer: str) -> None:
		role, x, y = self.steps["role"], self.steps["x"], self.steps["y"]
		first_time = customer not in _Choreography.seen
		_Choreography.seen.add(customer)
		if first_time and role == "first" and customer == x:
			self.wait("second-at-x")
		elif first_time and role == "second" and customer == x:
			self.signal("second-at-x")
			self.wait("first-committed-x")
		elif first_time and role == "second" and customer == y:
			self.wait("first-holds-y")
		self.real(customer)
		if first_time and role == "first" and customer == y:
			self.signal("first-holds-y")
			self._wait_for_lock_waiter(customer)

	def existing_keys(self, keys: list[str]) -> set[str]:
		"""The second worker's first look finds nothing: it learns that X was taken only from the
		unique key, on insert (the race the cycle guards against, whatever the snapshot shows)."""
		if self.steps["role"] == "second" and not _Choreography.looked:
			_Choreography.looked = True
			return set()
		return self.real(keys)

	def commit(self) -> None:
		self.real()
		seen = _Choreography.seen
		if self.steps["role"] == "first" and self.steps["x"] in seen and self.steps["y"] not in seen:
			self.signal("first-committed-x")

	def _wait_for_lock_waiter(self, customer: str) -> None:
		"""Until another session of ours waits for the lock on ``customer`` (PROCESSLIST shows our
		own user's sessions without any extra privilege)."""
		deadline = time.monotonic() + self.steps.get("wait", 60)
		while time.monotonic() < deadline:
			waiting = frappe.db.sql(
				"""select count(*) from information_schema.processlist
				where id != connection_id() and info like %s and info like %s""",
				("%tabCustomer%for update%", f"%{customer}%"),
			)[0][0]
			if waiting:
				return
			time.sleep(0.005)
		raise TimeoutError(f"nobody waited for the lock on {customer}")


def purge(fixture: dict, runs: list[str]) -> None:
	"""Deletes every row the fixture and the workers committed, and commits."""
	customers = fixture.get("customers") or []
	invoices = fixture.get("invoices") or []

	def delete(doctype: str, field: str, values: list) -> None:
		if values:
			t = frappe.qb.DocType(doctype)
			frappe.qb.from_(t).delete().where(t[field].isin(values)).run()

	def pluck(doctype: str, field: str, values: list, out: str = "name") -> list:
		if not values:
			return []
		t = frappe.qb.DocType(doctype)
		return [r[0] for r in frappe.qb.from_(t).select(t[out]).where(t[field].isin(values)).run()]

	runs = sorted(set(runs) | set(pluck("Dunning Run Message", "customer", customers, "parent")))
	cases = pluck("Collection Case", "customer", customers)
	comms = pluck("Communication", "reference_name", cases)
	queues = pluck("Email Queue", "communication", comms)
	dunnings = pluck("Dunning", "customer", customers)
	delete("Email Queue Recipient", "parent", queues)
	delete("Email Queue", "name", queues)
	delete("Communication Link", "parent", comms)
	delete("Communication", "name", comms)
	delete("ToDo", "reference_name", cases)
	delete("Comment", "reference_name", cases + runs + invoices + customers)
	delete("Version", "docname", cases + runs + invoices + customers + dunnings)
	delete("Collection Action", "customer", customers)
	delete("Collection Case Item", "parent", cases)
	delete("Collection Case", "name", cases)
	for child in ("Dunning Run Message", "Dunning Run Error"):
		delete(child, "parent", runs)
	delete("Dunning Run", "name", runs)
	delete("Overdue Payment", "parent", dunnings)
	delete("Dunning", "name", dunnings)
	delete("GL Entry", "voucher_no", invoices)
	delete("Payment Ledger Entry", "voucher_no", invoices)
	for child in ("Sales Invoice Item", "Payment Schedule", "Sales Taxes and Charges"):
		delete(child, "parent", invoices)
	delete("Sales Invoice", "name", invoices)
	delete("Dynamic Link", "link_name", customers)
	delete("Customer", "name", customers)
	delete("Dunning Policy Step", "parent", [fixture.get("policy")] if fixture.get("policy") else [])
	delete("Dunning Policy", "name", [fixture.get("policy")] if fixture.get("policy") else [])
	delete("Email Template", "name", [fixture.get("template")] if fixture.get("template") else [])
	frappe.db.commit()  # nosemgrep: the cleanup of committed test records
	frappe.clear_cache()
