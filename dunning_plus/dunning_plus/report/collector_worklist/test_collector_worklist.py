# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, add_to_date, getdate, now_datetime

from dunning_plus.dunning_plus.report.collector_worklist.collector_worklist import execute
from dunning_plus.tests.utils import (
	COMPANY,
	case_of,
	make_customer,
	make_invoice,
	make_user,
	setup_collections,
)

T = getdate("2026-03-16")
test_dependencies = ["Customer"]


def run(**filters):
	columns, data, _message, _chart, summary = execute(frappe._dict(company=COMPANY, **filters))
	return columns, data, summary


class TestCollectorWorklist(FrappeTestCase):
	"""X owes 1000, all overdue, and disputes it; Y owes 1000 of which 300 is overdue and promises it."""

	def setUp(self):
		setup_collections()
		self.alice = make_user("dp-wl-alice@example.com", ["Collector"])
		self.bob = make_user("dp-wl-bob@example.com", ["Collector"])
		suffix = frappe.generate_hash(length=5)
		self.x = make_customer(f"_Test DP WL X {suffix}", dunning_collector=self.alice)
		self.y = make_customer(f"_Test DP WL Y {suffix}", dunning_collector=self.bob)
		with self.freeze_time(T, tick=True):
			make_invoice(self.x, add_days(T, -100))
			make_invoice(self.y, add_days(T, -35))
			self.x_case = case_of(self.x)
			self.y_case = case_of(self.y)
			self.dispute = self.x_case.open_dispute("Pricing")
			self.promise = self.y_case.record_promise(str(add_days(T, 5)))
			now = now_datetime()
			frappe.db.set_value("Collection Case", self.x_case.name, "sla_due", add_to_date(now, hours=-1))
			frappe.db.set_value("Collection Case", self.y_case.name, "sla_due", add_to_date(now, hours=2))

	def rows(self, **filters):
		with self.freeze_time(T, tick=True):
			_columns, data, _summary = run(**filters)
		return {r["customer"]: r for r in data if r["customer"] in (self.x, self.y)}, data

	def test_ranked_by_score_with_drivers_promises_and_disputes(self):
		mine, data = self.rows()
		x, y = mine[self.x], mine[self.y]
		self.assertLess(x["rank"], y["rank"])
		self.assertGreater(x["score"], y["score"])
		self.assertEqual([r["rank"] for r in data], list(range(1, len(data) + 1)))
		self.assertEqual(sorted((r["score"] for r in data), reverse=True), [r["score"] for r in data])
		self.assertEqual((x["overdue_share"], y["overdue_share"]), (100.0, 30.0))
		self.assertIn("Overdue share 100%", x["why"])
		self.assertEqual((x["open_disputes"], x["disputed_amount"]), (1, 1000.0))
		self.assertEqual((y["pending_promises"], y["promised_amount"]), (1, 300.0))
		self.assertEqual(getdate(y["next_promise_date"]), add_days(T, 5))
		self.assertEqual((x["status"], y["status"]), ("Disputed", "Promised"))
		self.assertEqual(x["collection_case"], self.x_case.name)
		self.assertEqual((x["sla_state"], y["sla_state"]), ("Breached", "Due Soon"))
		self.assertEqual(x["collector"], self.alice)

	def test_score_is_the_engines(self):
		from decimal import Decimal

		from dunning_plus.engine.score import Behaviour, score_customer
		from dunning_plus.report_data import largest_open_case

		mine, _data = self.rows()
		y = mine[self.y]
		tenure = (T - getdate(frappe.db.get_value("Customer", self.y, "creation"))).days
		expected = score_customer(
			Behaviour(
				customer=self.y,
				balance=Decimal(1000),
				overdue=Decimal(300),
				promises_made=0,
				open_disputes=0,
				tenure_days=tenure,
			),
			max(largest_open_case(COMPANY), Decimal(1000)),
		)
		self.assertEqual(y["score"], expected.score)

	def test_filters_and_a_collector_sees_only_their_cases(self):
		mine, _data = self.rows(collector=self.bob)
		self.assertEqual(set(mine), {self.y})
		mine, _data = self.rows(status="Disputed", customer=self.x)
		self.assertEqual(set(mine), {self.x})
		with self.set_user(self.alice):
			mine, data = self.rows()
		self.assertEqual(set(mine), {self.x})
		self.assertTrue(all(r["collector"] == self.alice for r in data))
