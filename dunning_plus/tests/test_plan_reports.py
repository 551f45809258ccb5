# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt
"""Payment plans in the reports (issue 11, "Everywhere else"): Expected vs Actual and Cash Forecast
expect the covered items on the plan's dates, Collection KPIs show the plan kept rate and the share
of overdue under a plan, the Collector Worklist shows the plan's state and next date."""

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import getdate

from dunning_plus import plans
from dunning_plus.dunning_plus.report.cash_forecast import cash_forecast
from dunning_plus.dunning_plus.report.collection_kpis import collection_kpis
from dunning_plus.dunning_plus.report.collector_worklist import collector_worklist
from dunning_plus.dunning_plus.report.expected_vs_actual_collections import (
	expected_vs_actual_collections as eva,
)
from dunning_plus.tests.utils import (
	COMPANY,
	TERMS_NET30,
	case_of,
	make_customer,
	make_invoice,
	pay,
	setup_collections,
)

D0 = getdate("2026-03-02")  # 900 on Net 30: due 2026-04-01
OFFER = getdate("2026-04-10")
T = getdate("2026-04-20")
test_dependencies = ["Customer"]


class TestPlanReports(FrappeTestCase):
	"""A 900 invoice due 04-01, nine days late, goes into a plan on 04-10: 300 on 04-15, 05-15 and
	06-14; 300 is paid on 04-15. A 100 invoice due 04-04, billed after the plan, is not in it."""

	def setUp(self):
		setup_collections()
		frappe.db.set_single_value(
			"Dunning Plus Settings",
			{
				"plan_max_instalments": 12,
				"plan_max_days": 365,
				"plan_approval_amount": 0,
				"plan_approval_days": 0,
			},
		)
		frappe.clear_document_cache("Dunning Plus Settings", "Dunning Plus Settings")
		self.customer = make_customer(f"_Test DP Plan Reports {frappe.generate_hash(length=5)}")
		with self.freeze_time(OFFER, tick=True):
			self.invoice = make_invoice(self.customer, D0, rate=900, terms=TERMS_NET30)
		self.plan = self.offer(self.customer, OFFER, 3, "2026-04-15")
		with self.freeze_time(getdate("2026-04-12"), tick=True):
			self.other = make_invoice(self.customer, "2026-03-05", rate=100, terms=TERMS_NET30)
		with self.freeze_time(getdate("2026-04-15"), tick=True):
			pay(self.invoice.name, 300, "2026-04-15")
			plans.refresh_plans(COMPANY, [self.customer], "2026-04-15")

	def tearDown(self):
		frappe.db.rollback()
		frappe.clear_document_cache("Dunning Plus Settings", "Dunning Plus Settings")

	def offer(self, customer, day, count, start):
		with self.freeze_time(day, tick=True):
			name = case_of(customer).offer_payment_plan(count, 30, start, accepted=1)
			frappe.get_doc("Payment Plan", name).submit()
		plan = frappe.get_doc("Payment Plan", name)
		self.assertEqual(plan.status, "Active")
		return plan

	def test_expected_vs_actual_expects_the_plan_dates(self):
		filters = frappe._dict(
			company=COMPANY, customer=self.customer, from_date="2026-04-01", to_date="2026-06-30"
		)
		with self.freeze_time(T, tick=True):
			_columns, monthly, *_rest = eva.execute({**filters, "periodicity": "Monthly"})
			_columns, weekly, *_rest = eva.execute({**filters, "periodicity": "Weekly"})
		# without the plan the 900 fell due on 04-01: all of it expected in April
		self.assertEqual(
			[(r["period"], r["expected"], r["actual"]) for r in monthly],
			[("2026-04", 400.0, 300.0), ("2026-05", 300.0, 0.0), ("2026-06", 300.0, 0.0)],
		)
		self.assertEqual(sum(r["expected"] for r in weekly), 1000.0)
		by_week = {r["from_date"]: r["expected"] for r in weekly if r["expected"]}
		self.assertEqual(by_week[getdate("2026-05-11")], 300.0)  # the week of 05-15

	def test_cash_forecast_puts_the_open_instalments_on_their_dates(self):
		with self.freeze_time(T, tick=True):
			_columns, data, message, _chart, _summary = cash_forecast.execute(
				frappe._dict(company=COMPANY, as_of=T, customer=self.customer)
			)
		amounts = {d["week"]: d["amount"] for d in data}
		# 05-15 is 25 days after T (week 4), 06-14 55 days (week 8); 04-15's instalment was paid
		self.assertEqual((amounts["Week 4"], amounts["Week 8"]), (300.0, 300.0))
		self.assertAlmostEqual(sum(d["amount"] for d in data), 700.0, places=2)
		self.assertEqual(data[-1]["cumulative"], 700.0)
		self.assertIn("payment plan", message)

	def run_kpis(self, day, customer, **filters):
		with self.freeze_time(day, tick=True):
			_columns, data, _message, _chart, summary = collection_kpis.execute(
				frappe._dict(company=COMPANY, customer=customer, **filters)
			)
		return data, {s["label"]: s["value"] for s in summary}

	def test_kpis_share_of_overdue_under_a_plan(self):
		data, summary = self.run_kpis(T, self.customer, from_date="2026-04-01", to_date=T)
		# overdue on 04-20: 600 left of the planned invoice, the 100 invoice outside the plan
		self.assertEqual((data[-1]["overdue_under_plan"], data[-1]["under_plan_share"]), (600.0, 85.7))
		self.assertEqual(summary["Overdue under a Plan"], 85.7)
		self.assertEqual((data[-1]["plans_ended"], data[-1]["plan_kept_rate"]), (0, None))

	def test_kpis_plan_kept_rate_counts_completed_and_broken_plans(self):
		with self.freeze_time(T, tick=True):
			pay(self.invoice.name, 600, T)
			plans.refresh_plans(COMPANY, [self.customer], T)
		self.assertEqual(frappe.db.get_value("Payment Plan", self.plan.name, "status"), "Completed")
		data, summary = self.run_kpis(T, self.customer, from_date="2026-04-01", to_date=T)
		self.assertEqual(
			(data[-1]["plans_ended"], data[-1]["plans_kept"], data[-1]["plan_kept_rate"]), (1, 1, 100.0)
		)
		self.assertEqual(summary["Plan Kept Rate"], 100.0)
		# no longer under a plan once it completed
		self.assertEqual(data[-1]["overdue_under_plan"], 0.0)

		late = make_customer(f"_Test DP Plan Broken {frappe.generate_hash(length=5)}")
		with self.freeze_time(OFFER, tick=True):
			make_invoice(late, D0, rate=500, terms=TERMS_NET30)
		broken = self.offer(late, OFFER, 2, "2026-04-15")
		day = getdate("2026-05-10")
		with self.freeze_time(day, tick=True):
			plans.refresh_plans(COMPANY, [late], day)
		self.assertEqual(frappe.db.get_value("Payment Plan", broken.name, "status"), "Broken")
		data, summary = self.run_kpis(day, late, from_date="2026-05-01", to_date=day)
		row = data[-1]
		self.assertEqual((row["plans_ended"], row["plans_kept"]), (1, 0))
		self.assertEqual((row["plan_kept_rate"], row["plan_kept_amount_rate"]), (0.0, 0.0))

	def test_worklist_shows_plan_state_and_next_date(self):
		with self.freeze_time(T, tick=True):
			_columns, data, *_rest = collector_worklist.execute(
				frappe._dict(company=COMPANY, customer=self.customer)
			)
		(row,) = data
		self.assertEqual(
			(row["payment_plan"], row["plan_status"], row["next_plan_date"]),
			(self.plan.name, "Active", getdate("2026-05-15")),
		)
		columns = [c["fieldname"] for c in _columns]
		self.assertTrue({"payment_plan", "plan_status", "next_plan_date"} <= set(columns))
