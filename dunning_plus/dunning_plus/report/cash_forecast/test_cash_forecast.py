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
		self.assertEqual(len(data), 16)  # 13 weeks, "later", "at risk", "disputed"
		self.assertEqual([d["bucket"] for d in data[13:]], ["later", "at_risk", "disputed"])
		amounts = {d["week"]: d["amount"] for d in data if d["amount"]}
		# promised rows on 03-25 (week 2); 03-31 + 10 days late = 04-10 (week 4); 04-10 + 10 = 04-20 (week 6)
		self.assertEqual(amounts, {"Week 2": 600.0, "Week 4": 1000.0, "Week 6": 400.0})
		self.assertEqual(data[1]["from_date"], add_days(T, 7))
		self.assertEqual(data[12]["cumulative"], 2000.0)
		self.assertEqual(data[-1]["cumulative"], 2000.0)
		self.assertEqual(chart["data"]["datasets"][0]["values"][1], 600.0)
		by_label = {s["label"]: s["value"] for s in summary}
		self.assertEqual(by_label["Average Days Late"], "10.0")  # one decimal, not the desk's three
		self.assertEqual((by_label["At Risk"], by_label["Disputed"]), (0.0, 0.0))

	def test_shorter_horizon_puts_the_rest_later(self):
		data, _chart, _summary = self.run_report(weeks=4)
		self.assertEqual([d["amount"] for d in data], [0.0, 600.0, 0.0, 1000.0, 400.0, 0.0, 0.0])
		self.assertEqual([d["week"] for d in data[4:]], ["Later", "At Risk", "Disputed"])
		with self.assertRaises(frappe.ValidationError):
			self.run_report(weeks=500)


class TestCashForecastAtRisk(FrappeTestCase):
	"""The defect: every open amount fell inside the 13 weeks, most of it in week 1, including rows
	110 days late, broken promises and disputed amounts. Open at T for a customer with no payment
	history (nobody else in view has any either): a Net 30 invoice of 1000 due T-110; 400 due T-20
	whose promise for T-10 broke; 700 due T-5 of which 300 is disputed; 500 due T+20."""

	def setUp(self):
		setup_collections()
		self.customer = make_customer(f"_Test DP Forecast Risk {frappe.generate_hash(length=5)}")
		with self.freeze_time(T, tick=True):
			make_invoice(self.customer, add_days(T, -140), rate=1000, terms=TERMS_NET30)
			broken = make_invoice(self.customer, add_days(T, -50), rate=400, terms=TERMS_NET30)
			disputed = make_invoice(self.customer, add_days(T, -35), rate=700, terms=TERMS_NET30)
			make_invoice(self.customer, add_days(T, -10), rate=500, terms=TERMS_NET30)
			promise = frappe.get_doc(
				{
					"doctype": "Payment Promise",
					"customer": self.customer,
					"company": COMPANY,
					"recorded_on": add_days(T, -15),
					"promised_date": add_days(T, -10),
					"amount": 400,
					"items": [{"sales_invoice": broken.name}],
				}
			).insert()
			frappe.db.set_value("Payment Promise", promise.name, "status", "Broken")
			frappe.get_doc(
				{
					"doctype": "Collection Dispute",
					"customer": self.customer,
					"company": COMPANY,
					"reason": "Pricing",
					"amount": 300,
					"opened_on": add_days(T, -3),
					"items": [{"sales_invoice": disputed.name}],
				}
			).insert()

	def run_report(self, **filters):
		with self.freeze_time(T, tick=True):
			_columns, data, message, _chart, summary = execute(
				frappe._dict(company=COMPANY, as_of=T, customer=self.customer, **filters)
			)
		return {d["bucket"] if d["bucket"] != "week" else d["week"]: d for d in data}, message, summary

	def test_long_overdue_broken_and_disputed_have_their_own_rows(self):
		rows, message, summary = self.run_report()
		# at risk: 1000 at 110 days, the 400 of the broken promise and 22.22 (below); 300 waits for
		# its dispute
		self.assertEqual((rows["at_risk"]["amount"], rows["at_risk"]["items"]), (1422.22, 3))
		self.assertEqual((rows["disputed"]["amount"], rows["disputed"]["items"]), (300.0, 1))
		# the undisputed 400 is 5 days past due, past its usual date (no lateness known): expected in
		# week 1 with (90 - 5) / 90 of it, the rest at risk; the 500 falls due in week 3
		self.assertEqual(rows["Week 1"]["amount"], 377.78)
		self.assertEqual(rows["Week 3"]["amount"], 500.0)
		by_label = {s["label"]: s["value"] for s in summary}
		self.assertEqual(by_label["Expected in 13 Weeks"], 877.78)
		self.assertEqual(by_label["At Risk"], 1422.22)
		self.assertEqual(by_label["Later"], 0.0)
		self.assertEqual(by_label["Disputed"], 300.0)
		# every open amount is in exactly one row
		self.assertAlmostEqual(sum(r["amount"] for r in rows.values()), 2600.0, places=2)
		self.assertEqual(rows["disputed"]["cumulative"], 2600.0)
		self.assertIn("90", message)

	def test_the_at_risk_limit_is_a_filter(self):
		rows, _message, _summary = self.run_report(at_risk_days=120)
		# 110 days past due is not wholly at risk under a 120-day limit: 10 / 120 of it in week 1;
		# at risk: 400 (broken) + 916.67 + 16.67 (the undisputed 400 at 5 days: 5 / 120)
		self.assertEqual(rows["at_risk"]["amount"], 1333.34)
		with self.assertRaises(frappe.ValidationError):
			self.run_report(at_risk_days=0)
