# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt
"""Two runs of the same day, started at the same moment in two OS processes (issue 15 item 23).

THIS MODULE COMMITS: the worker processes cannot see the test transaction, so the fixture (uniquely
named ``_Test DP Concurrency <tag>`` records) is committed, and everything the fixture and the
workers committed is deleted again when the test ends, pass or fail (``concurrent_cycle.purge``).
"""

import itertools
import json
import os
import subprocess
import sys
import tempfile
import time

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import getdate

from dunning_plus import ledger
from dunning_plus.engine.cadence import action_key
from dunning_plus.tests import concurrent_cycle
from dunning_plus.tests.concurrent_cycle import COMPANY

AS_OF = getdate("2026-04-15")
CUSTOMERS = 6
TIMEOUT = 240  # seconds for both workers together


class TestTwoProcessesSameDay(FrappeTestCase):
	def setUp(self):
		frappe.db.rollback()  # nothing of another test may be committed with the fixture
		self.tag = frappe.generate_hash(length=6)
		self.fixture: dict = {}
		self.runs: list[str] = []
		self.procs: list[subprocess.Popen] = []
		self.addCleanup(self.cleanup)
		with self.freeze_time(AS_OF, tick=True):
			self.fixture = concurrent_cycle.make_fixture(self.tag, AS_OF, CUSTOMERS)

	def cleanup(self):
		for p in self.procs:
			if p.poll() is None:
				p.kill()
				p.wait(timeout=30)
		frappe.db.rollback()
		concurrent_cycle.purge(self.fixture, self.runs)

	def start_workers(
		self, tmp: str, customers: list[str], pair: tuple[str, str] | None = None
	) -> list[dict]:
		"""Two worker processes run the day for ``customers`` at once; with ``pair`` (X, Y) they are
		ordered as in the deadlock of the issue (see concurrent_cycle._Choreography)."""
		specs = []
		for n, role in enumerate(("first", "second")):
			spec = {
				"site": frappe.local.site,
				"sites_path": os.path.abspath(frappe.local.sites_path),
				"as_of": str(AS_OF),
				"customers": customers,
				"ready": os.path.join(tmp, f"ready-{n}"),
				"go": os.path.join(tmp, "go"),
				"out": os.path.join(tmp, f"out-{n}.json"),
				"wait": TIMEOUT,
			}
			if pair:
				spec["steps"] = {"role": role, "x": pair[0], "y": pair[1], "dir": tmp, "wait": 60}
			path = os.path.join(tmp, f"spec-{n}.json")
			with open(path, "w") as f:
				json.dump(spec, f)
			log = open(os.path.join(tmp, f"worker-{n}.log"), "w")
			self.addCleanup(log.close)
			self.procs.append(
				subprocess.Popen(
					[
						sys.executable,
						"-c",
						"from dunning_plus.tests.concurrent_cycle import main; main()",
						path,
					],
					cwd=spec["sites_path"],
					stdout=log,
					stderr=subprocess.STDOUT,
				)
			)
			specs.append(spec)
		deadline = time.monotonic() + TIMEOUT
		while not all(os.path.exists(s["ready"]) for s in specs):
			if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
				self.fail("the workers did not start: " + self.logs(tmp))
			time.sleep(0.05)
		open(specs[0]["go"], "w").close()  # both at the same moment
		for p in self.procs:
			p.wait(timeout=max(deadline - time.monotonic(), 1))
		results = []
		for s in specs:
			with open(s["out"]) as f:
				results.append(json.load(f))
		self.runs = [r["run"] for r in results if r["run"]]
		return results

	def logs(self, tmp: str) -> str:
		out = []
		for name in sorted(os.listdir(tmp)):
			if name.startswith("worker-"):
				with open(os.path.join(tmp, name)) as f:
					out.append(f"{name}:\n{f.read()[-3000:]}")
		return "\n".join(out)

	def deadlock_pair(self) -> tuple[str, str]:
		"""Customers X, Y of the fixture with X before Y by name (the order a batch takes them) and
		X's idempotency key the next one above Y's in the index: a shared lock on X's key covers the
		gap Y's key is inserted into."""
		instalments = ledger.read_instalments(COMPANY, self.fixture["customers"])
		key_of = {action_key(COMPANY, i.customer, i.id, "L1"): i.customer for i in instalments}
		ca = frappe.qb.DocType("Collection Action")
		others = {
			r[0]
			for r in frappe.qb.from_(ca)
			.select(ca.idempotency_key)
			.where(ca.idempotency_key.isnotnull())
			.run()
		}
		ordered = sorted(set(key_of) | others)
		for lower, upper in itertools.pairwise(ordered):
			y, x = key_of.get(lower), key_of.get(upper)
			if x and y and x < y:
				return x, y
		self.skipTest("no two customers of the fixture have neighbouring keys in the right order")

	def assert_exactly_once_and_closed(self, customers: list[str]):
		frappe.db.rollback()  # read what the workers committed
		runs = frappe.get_all(
			"Dunning Run",
			filters={"name": ["in", self.runs]},
			fields=["name", "status", "batches_done", "batches_total", "messages_count", "errors_count"],
		)
		errors = frappe.get_all("Dunning Run Error", filters={"parent": ["in", self.runs]}, pluck="error")
		self.assertEqual(len(runs), 2)
		self.assertEqual(errors, [])
		self.assertEqual(sorted(r.status for r in runs), ["Completed", "Completed"], runs)
		self.assertEqual([r.batches_done for r in runs], [r.batches_total for r in runs])
		self.assertFalse(
			frappe.db.exists(
				"Dunning Run", {"name": ["in", self.runs], "status": ["in", ["Queued", "Running"]]}
			)
		)
		# exactly once: one step and one email per customer, one message row over both runs
		steps = frappe.get_all(
			"Collection Action",
			filters={"customer": ["in", customers], "action_type": "Step"},
			fields=["customer", "status"],
		)
		self.assertEqual(sorted(s.customer for s in steps), sorted(customers))
		self.assertEqual({s.status for s in steps}, {"Sent"})
		self.assertEqual(sum(r.messages_count for r in runs), len(customers))
		cases = frappe.get_all(
			"Collection Case", filters={"customer": ["in", customers]}, fields=["name", "current_level"]
		)
		self.assertEqual({c.current_level for c in cases}, {1})
		comms = frappe.get_all(
			"Communication",
			filters={
				"reference_doctype": "Collection Case",
				"reference_name": ["in", [c.name for c in cases]],
			},
			pluck="reference_name",
		)
		self.assertEqual(sorted(comms), sorted(c.name for c in cases))

	def test_two_runs_at_once_send_exactly_once_and_both_close(self):
		with tempfile.TemporaryDirectory() as tmp:
			results = self.start_workers(tmp, self.fixture["customers"])
			self.assertEqual([r["error"] for r in results], [None, None], self.logs(tmp))
		self.assert_exactly_once_and_closed(self.fixture["customers"])

	def test_the_deadlock_of_the_issue_does_not_happen_and_both_runs_close(self):
		"""The second worker fails on X's unique key after the first committed X, then waits for Y's
		lock, which the first holds while it records Y: the locks the second took on X must be gone
		by then (before the fix: a deadlock, then "SAVEPOINT ... does not exist" and a run left
		Running)."""
		pair = self.deadlock_pair()
		with tempfile.TemporaryDirectory() as tmp:
			results = self.start_workers(tmp, list(pair), pair)
			self.assertEqual([r["error"] for r in results], [None, None], self.logs(tmp))
		# no deadlock at all: the second worker let go of X before it waited for Y
		self.assertEqual([r["retried"] for r in results], [[], []])
		self.assert_exactly_once_and_closed(list(pair))
