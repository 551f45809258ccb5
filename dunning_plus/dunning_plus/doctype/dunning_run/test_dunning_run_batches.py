# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt
"""A batch's customers written in one unit of work: the same cases and steps as customer by
customer, a number of statements that does not grow with the customers, and the way back to one
customer at a time when the unit fails."""

from unittest.mock import patch

import frappe
from frappe.utils import add_days, flt, getdate

from dunning_plus import cases
from dunning_plus.cycle import deciding
from dunning_plus.dunning_plus.doctype.dunning_run.test_dunning_run import D0, DUE, CycleTestCase
from dunning_plus.tests.utils import COMPANY, TERMS_NET30, case_of, make_customer, make_invoice, pay


class TestBatchWrites(CycleTestCase):
	def customers(self, count: int, label: str) -> list[str]:
		"""``count`` customers, each with one invoice of D0 and, every second one, one of D0 + 5."""
		made = []
		with self.freeze_time(D0, tick=True):
			for n in range(count):
				customer = make_customer(
					f"_Test DP Batch {label} {n} {frappe.generate_hash(length=6)}",
					email_id=f"b{n}@batch.example",
				)
				make_invoice(customer, D0, rate=1000 + n, terms=TERMS_NET30)
				if n % 2:
					make_invoice(customer, add_days(D0, 5), rate=500, terms=TERMS_NET30)
				made.append(customer)
		return made

	def decide(self, customers: list[str], day):
		with self.freeze_time(day, tick=True):
			return deciding.process_customers(COMPANY, customers, day, deliver_now=False)

	def stored(self, customer: str, day) -> tuple:
		"""The customer's case and steps, without the names the database gave them; the case is what a
		fresh recompute gives (its risk score is relative to the company's largest case, so it is
		compared with the recompute, not with the other customer's)."""
		case = case_of(customer)
		with self.freeze_time(day, tick=True):
			fresh = cases.compute_case(COMPANY, customer, day)
		# the risk score is relative to the company's largest open case, which moves as cases are written
		same = [k for k in cases.CASE_FIELDS if not k.startswith(("risk_score", "score_"))]
		self.assertEqual([cases._norm(case.get(k)) for k in same], [cases._norm(fresh.get(k)) for k in same])
		steps = frappe.get_all(
			"Collection Action",
			filters={"customer": customer, "action_type": "Step"},
			fields=["step_code", "status", "level", "collection_case", "amount"],
			order_by="creation",
		)
		self.assertTrue(all(s.collection_case == case.name for s in steps))
		self.assertEqual(case.customer_name, frappe.db.get_value("Customer", customer, "customer_name"))
		return (
			# the SLA runs from the moment the step was written: equal to the recompute's, checked above
			tuple(cases._norm(case.get(k)) for k in (*same, "resolution", "opened_on") if k != "sla_due"),
			tuple(
				tuple(
					cases._norm(r.get(k))
					for k in cases.ITEM_FIELDS
					if k not in ("reference_name", "payment_schedule")
				)
				for r in case.get("items")
			),
			tuple((s.step_code, s.status, s.level, flt(s.amount)) for s in steps),
		)

	def test_a_batch_and_customer_by_customer_store_the_same_cases(self):
		together, one_by_one = self.customers(3, "T"), self.customers(3, "O")
		alone = patch.object(deciding, "_in_one_unit", return_value=False)  # as if the unit failed
		for day, paying in ((add_days(DUE, 3), False), (add_days(DUE, 10), True)):
			if paying:  # the second day: a part payment changes a case without a new step
				with self.freeze_time(day, tick=True):
					for group in (together, one_by_one):
						invoice = case_of(group[0]).items[0].reference_name
						pay(invoice, 400, day)
			self.decide(together, day)
			with alone:
				self.decide(one_by_one, day)
			for a, b in zip(together, one_by_one, strict=True):
				self.assertEqual(self.stored(a, day), self.stored(b, day))
		self.assertEqual([case_of(c).status for c in together], [case_of(c).status for c in one_by_one])
		self.assertEqual(flt(case_of(together[0]).outstanding_amount), 600)
		names = sorted(case_of(c).name for c in together)
		self.assertEqual(len(set(names)), 3)

	def test_the_statements_of_a_batch_do_not_grow_with_its_customers(self):
		small, large = self.customers(2, "S"), self.customers(6, "L")
		counts = []
		real = deciding._process_batch

		def counting(*args, **kwargs):
			seen = []
			sql = frappe.db.sql

			def counted(*a, **kw):
				seen.append(a[0])
				return sql(*a, **kw)

			with patch.object(frappe.db, "sql", side_effect=counted):
				real(*args, **kwargs)
			counts.append(len(seen))

		day = add_days(DUE, 3)
		with patch.object(deciding, "_process_batch", side_effect=counting):
			first = self.decide(small, day)
			second = self.decide(large, day)
		self.assertEqual((first.messages, second.messages, first.errors, second.errors), (2, 6, [], []))
		self.assertEqual(counts[0], counts[1])
		self.assertLess(counts[1], 40)
		for customer in large:
			self.assertEqual(case_of(customer).status, "Reminder")

	def test_a_step_another_worker_took_meanwhile_leaves_the_rest_of_the_batch_to_this_one(self):
		first, second = self.customers(2, "W")
		day = add_days(DUE, 3)
		self.decide([first], day)  # the other worker took this customer's step and committed
		# this worker read before that commit: it sees no taken step, and loses on the insert
		with (
			patch("dunning_plus.cycle.deciding._existing_keys", return_value=set()),
			patch("dunning_plus.ledger.read_taken", return_value={}),
		):
			res = self.decide([first, second], day)
		self.assertEqual((res.messages, res.skipped, res.errors), (1, 1, []))
		self.assertEqual([r["customer"] for r in res.rows], [second])
		for customer, taken in ((first, ["R+3"]), (second, ["R+3", "R-7"])):  # the second has two invoices
			steps = frappe.get_all(
				"Collection Action", filters={"customer": customer, "action_type": "Step"}, pluck="step_code"
			)
			self.assertEqual(sorted(steps), taken)
			self.assertEqual(case_of(customer).status, "Reminder")

	def test_one_customer_whose_case_fails_fails_alone(self):
		customers = self.customers(3, "F")
		broken = customers[1]
		real = cases.compute_case

		def fails_for_one(company, customer, *args, **kwargs):
			if customer == broken:
				raise ValueError("broken ledger row")
			return real(company, customer, *args, **kwargs)

		with patch.object(cases, "compute_case", side_effect=fails_for_one):
			res = self.decide(customers, add_days(DUE, 3))
		print(
			"DBG",
			res.messages,
			res.skipped,
			[e["error"] for e in res.errors],
			[e["traceback"][-600:] for e in res.errors],
		)
		self.assertEqual(res.messages, 2)
		self.assertEqual([e["customer"] for e in res.errors], [broken])
		self.assertIsNone(case_of(broken))
		self.assertFalse(frappe.db.exists("Collection Action", {"customer": broken}))
		for customer in (customers[0], customers[2]):
			self.assertEqual(case_of(customer).status, "Reminder")

	def test_new_cases_go_through_the_controller_when_a_notification_listens(self):
		self.assertFalse(cases._new_case_listeners())
		# Frappe keeps a doctype's notifications in the cache, which the test's rollback does not reach
		self.addCleanup(frappe.cache.hdel, "notifications", "Collection Case")
		frappe.get_doc(
			{
				"doctype": "Notification",
				"name": f"_Test DP New Case {frappe.generate_hash(length=6)}",
				"subject": "New case {{ doc.name }}",
				"document_type": "Collection Case",
				"event": "New",
				"channel": "System Notification",
				"recipients": [{"receiver_by_role": "System Manager"}],
				"message": "A new case",
				"enabled": 1,
			}
		).insert(ignore_permissions=True)
		self.assertTrue(cases._new_case_listeners())
		customers = self.customers(2, "N")
		with patch.object(cases, "_insert_case", wraps=cases._insert_case) as one:
			self.decide(customers, add_days(DUE, 3))
		self.assertEqual(sorted(c.args[2].customer for c in one.call_args_list), sorted(customers))
		for customer in customers:
			self.assertEqual(case_of(customer).customer_name, customer)

	def test_names_reserved_for_new_cases_continue_the_series(self):
		from frappe.model.naming import make_autoname

		series = f"_TDP{frappe.generate_hash(length=4).upper()}-.YYYY.-"
		head = f"{series.split('.')[0]}{getdate().year}-"
		self.assertEqual(cases.reserve_names(series, 3), [f"{head}{n:05d}" for n in (1, 2, 3)])
		self.assertEqual(make_autoname(series + ".#####"), f"{head}00004")
		self.assertEqual(cases.reserve_names(series, 2), [f"{head}{n:05d}" for n in (5, 6)])
