# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import getdate

from dunning_plus.dunning_plus.report.dispute_analysis.dispute_analysis import execute
from dunning_plus.tests.utils import COMPANY, make_customer, make_invoice, setup_collections

T = getdate("2026-03-16")
test_dependencies = ["Customer"]


class TestDisputeAnalysis(FrappeTestCase):
	"""One invoice posted 2025-12-01 (300/300/400) and three disputes at T:
	Pricing 100 opened 01-05, resolved 01-15; Damaged Goods 200 opened 02-10, open;
	Pricing 150 opened 03-06, open."""

	def setUp(self):
		setup_collections()
		self.customer = make_customer(f"_Test DP Disputes {frappe.generate_hash(length=5)}")
		with self.freeze_time(T, tick=True):
			si = make_invoice(self.customer, "2025-12-01")
			rows = si.payment_schedule
			first = self.dispute(si, rows[0], "Pricing", 100, "2026-01-05")
			first.update(
				{"status": "Resolved", "resolution_type": "Credit Note", "resolved_on": "2026-01-15"}
			)
			first.save()
			self.dispute(si, rows[1], "Damaged Goods", 200, "2026-02-10")
			self.dispute(si, rows[2], "Pricing", 150, "2026-03-06")

	def dispute(self, si, row, reason, amount, opened_on):
		return frappe.get_doc(
			{
				"doctype": "Collection Dispute",
				"customer": self.customer,
				"company": COMPANY,
				"reason": reason,
				"amount": amount,
				"opened_on": opened_on,
				"items": [{"sales_invoice": si.name, "payment_schedule": row.name}],
			}
		).insert()

	def run_report(self, **filters):
		with self.freeze_time(T, tick=True):
			_columns, data, _message, chart, summary = execute(
				frappe._dict(
					company=COMPANY, from_date="2025-10-01", to_date=T, customer=self.customer, **filters
				)
			)
		return data, chart, summary

	def test_by_reason_amounts_and_ages(self):
		data, chart, summary = self.run_report()
		rows = {r["reason"]: r for r in data}
		pricing, damaged = rows["Pricing"], rows["Damaged Goods"]
		self.assertEqual(
			(pricing["disputes"], pricing["amount"], pricing["open_count"], pricing["open_amount"]),
			(2, 250.0, 1, 150.0),
		)
		self.assertEqual((pricing["average_open_days"], pricing["oldest_open_days"]), (10.0, 10))
		self.assertEqual(
			(pricing["closed_count"], pricing["closed_amount"], pricing["average_days_to_resolve"]),
			(1, 100.0, 10.0),
		)
		self.assertEqual(
			(
				damaged["disputes"],
				damaged["open_amount"],
				damaged["oldest_open_days"],
				damaged["closed_count"],
			),
			(1, 200.0, 34, 0),
		)
		self.assertEqual(chart["data"]["labels"], [r["reason"] for r in data])
		totals = {s["label"]: s["value"] for s in summary}
		self.assertEqual((totals["Open Disputes"], totals["Open Amount"]), (2, 350.0))
		self.assertEqual(totals["Average Open Days"], 22.0)

	def test_root_causes_by_month(self):
		data, chart, _summary = self.run_report(view="By Month")
		self.assertEqual(
			[(r["month"], r["reason"], r["disputes"], r["amount"], r["open_count"]) for r in data],
			[
				("2026-01", "Pricing", 1, 100.0, 0),
				("2026-02", "Damaged Goods", 1, 200.0, 1),
				("2026-03", "Pricing", 1, 150.0, 1),
			],
		)
		self.assertEqual(chart["data"]["labels"], ["2026-01", "2026-02", "2026-03"])

	def test_status_reason_and_period_filters(self):
		data, _chart, _summary = self.run_report(status="Resolved")
		self.assertEqual([(r["reason"], r["disputes"]) for r in data], [("Pricing", 1)])
		data, _chart, _summary = self.run_report(reason="Damaged Goods")
		self.assertEqual([(r["reason"], r["amount"]) for r in data], [("Damaged Goods", 200.0)])
		with self.freeze_time(T, tick=True):
			_c, data, _m, _ch, _s = execute(
				frappe._dict(
					company=COMPANY, from_date="2026-02-01", to_date="2026-02-28", customer=self.customer
				)
			)
		# as of the end of February the Damaged Goods dispute was 18 days old
		self.assertEqual([(r["reason"], r["oldest_open_days"]) for r in data], [("Damaged Goods", 18)])
