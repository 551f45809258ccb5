# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, getdate

from dunning_plus.dunning_plus.report.cash_forecast.cash_forecast import execute
from dunning_plus.tests.utils import (
	COMPANY,
	TERMS_NET30,
	case_of,
	make_customer,
	make_invoice,
	pay,
	setup_collections,
)

T = getdate("2026-03-16")
test_dependencies = ["Customer"]


class TestCashForecast(FrappeTestCase):
	"""The customer paid a Net 30 invoice 10 days late last December. Open at T:
	a 3-term invoice posted 01-10 (300 due 02-09, 300 due 03-11, 400 due 04-10), its two overdue
	rows promised for 03-25; a Net 30 invoice posted 03-01 (1000 due 03-31)."""

	def setUp(self):
		setup_collections()
		self.customer = make_customer(f"_Test DP Forecast {frappe.generate_hash(length=5)}")
		with self.freeze_time(T, tick=True):
			old = make_invoice(self.customer, "2025-11-01", terms=TERMS_NET30)
			pay(old.name, 1000, "2025-12-11")
			make_invoice(self.customer, "2026-01-10")
			make_invoice(self.customer, "2026-03-01", terms=TERMS_NET30)
			case_of(self.customer).record_promise("2026-03-25")

	def run_report(self, **filters):
		with self.freeze_time(T, tick=True):
			_columns, data, _message, chart, summary = execute(
				frappe._dict(company=COMPANY, as_of=T, customer=self.customer, **filters)
			)
		return data, chart, summary

	def test_weeks_from_promises_and_own_days_late(self):
		data, chart, summary = self.run_report()
		self.assertEqual(len(data), 14)  # 13 weeks and "later"
		amounts = {d["week"]: d["amount"] for d in data if d["amount"]}
		# promised rows on 03-25 (week 2); 03-31 + 10 days late = 04-10 (week 4); 04-10 + 10 = 04-20 (week 6)
		self.assertEqual(amounts, {"Week 2": 600.0, "Week 4": 1000.0, "Week 6": 400.0})
		self.assertEqual(data[1]["from_date"], add_days(T, 7))
		self.assertEqual(data[-2]["cumulative"], 2000.0)
		self.assertEqual(chart["data"]["datasets"][0]["values"][1], 600.0)
		by_label = {s["label"]: s["value"] for s in summary}
		self.assertEqual(by_label["Average Days Late"], 10.0)

	def test_shorter_horizon_puts_the_rest_later(self):
		data, _chart, _summary = self.run_report(weeks=4)
		self.assertEqual([d["amount"] for d in data], [0.0, 600.0, 0.0, 1000.0, 400.0])
		self.assertEqual(data[-1]["week"], "Later")
		with self.assertRaises(frappe.ValidationError):
			self.run_report(weeks=500)
