# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

"""The Collections reports treat filters as parameters, and a Collector sees only their cases.

Every text, select and date filter of every report is fed injection strings: the report either
answers (with nothing for that filter) or refuses the value with a validation message; it never
fails in SQL, and the tables are still there afterwards.
"""

import importlib
import json

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, getdate

from dunning_plus.tests.utils import (
	COMPANY,
	case_of,
	make_customer,
	make_invoice,
	make_user,
	pay,
	setup_collections,
)

T = getdate("2026-03-16")
test_dependencies = ["Customer"]

REPORTS = {
	"Collections Aging": {
		"report_date": T,
		"ageing_based_on": "Due Date",
		"range": "30, 60, 90, 120",
		"group_by": "Customer",
		"customer": None,
		"customer_group": None,
		"territory": None,
		"collector": None,
		"dunning_level": None,
	},
	"Expected vs Actual Collections": {
		"from_date": "2026-01-01",
		"to_date": "2026-04-30",
		"periodicity": "Monthly",
		"group_by": "",
		"range": "30, 60, 90, 120",
		"customer": None,
		"customer_group": None,
		"territory": None,
		"collector": None,
	},
	"Collector Worklist": {"collector": None, "status": None, "customer": None},
	"Collection KPIs": {
		"from_date": "2026-01-01",
		"to_date": T,
		"conversion_days": 14,
		"customer": None,
		"customer_group": None,
		"territory": None,
		"collector": None,
	},
	"Dispute Analysis": {
		"from_date": "2025-10-01",
		"to_date": T,
		"view": "By Reason",
		"status": None,
		"reason": None,
		"customer": None,
		"customer_group": None,
		"collector": None,
	},
	"Cash Forecast": {
		"as_of": T,
		"weeks": 13,
		"customer": None,
		"customer_group": None,
		"territory": None,
		"collector": None,
	},
}
INJECTIONS = (
	"' OR '1'='1",
	"x' OR 1=1 -- ",
	'" OR ""="',
	"1; DROP TABLE `tabDispute Reason`; --",
	"') UNION SELECT name, password FROM `__Auth` -- ",
	"%' AND SLEEP(3) AND '%'='",
	"\\'; SELECT 1; --",
	"`tabCustomer`",
)


def execute(report: str, **filters):
	module = importlib.import_module(
		f"dunning_plus.dunning_plus.report.{frappe.scrub(report)}.{frappe.scrub(report)}"
	)
	return module.execute(frappe._dict({"company": COMPANY, **filters}))


class TestReportSecurity(FrappeTestCase):
	"""Alice collects for A, Bob for B; each customer has an overdue invoice, a payment, a promise and
	a dispute."""

	def setUp(self):
		setup_collections()
		# users of this test only: cases other tests left (the cycle commits) never widen their view
		suffix = frappe.generate_hash(length=5)
		self.alice = make_user(f"dp-sec-alice-{suffix}@example.com", ["Collector"])
		self.bob = make_user(f"dp-sec-bob-{suffix}@example.com", ["Collector"])
		self.accountant = make_user(f"dp-sec-accounts-{suffix}@example.com", ["Accounts User"])
		self.a = make_customer(f"_Test DP Sec A {suffix}", dunning_collector=self.alice)
		self.b = make_customer(f"_Test DP Sec B {suffix}", dunning_collector=self.bob)
		with self.freeze_time(T, tick=True):
			for customer in (self.a, self.b):
				si = make_invoice(customer, add_days(T, -100))
				pay(si.name, 100, add_days(T, -20))
				make_invoice(customer, add_days(T, -20))
				case = case_of(customer)
				case.open_dispute("Pricing", amount=50)
				case.record_promise(str(add_days(T, 10)), amount=100)
		self.cases = {self.a: case_of(self.a).name, self.b: case_of(self.b).name}

	def run_as(self, user, report, **filters):
		defaults = {k: v for k, v in REPORTS[report].items() if v is not None}
		with self.freeze_time(T, tick=True), self.set_user(user):
			return execute(report, **{**defaults, **filters})

	def test_every_text_filter_is_a_parameter(self):
		for report, defaults in REPORTS.items():
			for field in defaults:
				for attack in INJECTIONS:
					with self.subTest(report=report, field=field, attack=attack):
						try:
							result = self.run_as("Administrator", report, **{field: attack})
						except frappe.ValidationError:
							continue  # refused as an invalid filter value
						if field in ("customer", "customer_group", "territory", "collector", "reason"):
							_columns, data = result[0], result[1]
							self.assertFalse(
								[
									r
									for r in data
									if any(
										r.get(k)
										for k in (
											"outstanding",
											"expected",
											"actual",
											"amount",
											"disputes",
											"score",
										)
									)
								],
								f"{report}.{field} = {attack!r} returned rows",
							)
		self.assertTrue(frappe.db.table_exists("Dispute Reason"))
		self.assertTrue(frappe.db.exists("Dispute Reason", "Pricing"))

	def test_a_company_filter_is_a_parameter_too(self):
		for report in REPORTS:
			for attack in INJECTIONS[:3]:
				with self.subTest(report=report, attack=attack):
					with self.freeze_time(T, tick=True):
						try:
							_columns, data, *_rest = execute(report, **{**REPORTS[report], "company": attack})
						except frappe.ValidationError:
							continue
					self.assertFalse(
						[r for r in data if r.get("outstanding") or r.get("expected") or r.get("score")]
					)

	def test_a_collector_sees_only_their_cases_in_every_report(self):
		mine, theirs = self.a, self.b
		# Aging, worklist: only Alice's customer and case
		for report, filters in (
			("Collections Aging", {}),
			("Collections Aging", {"group_by": "Instalment"}),
			("Collector Worklist", {}),
		):
			_columns, data, *_rest = self.run_as(self.alice, report, **filters)
			customers = {r.get("customer") for r in data}
			self.assertIn(mine, customers, report)
			self.assertNotIn(theirs, customers, report)
			self.assertNotIn(self.cases[theirs], {r.get("collection_case") for r in data}, report)
		# Aggregates: what Alice sees equals what an accountant sees for her customer alone
		for report in (
			"Expected vs Actual Collections",
			"Collection KPIs",
			"Cash Forecast",
			"Dispute Analysis",
		):
			_c, as_alice, *_r = self.run_as(self.alice, report)
			_c, for_her_customer, *_r = self.run_as(self.accountant, report, customer=mine)
			_c, for_everyone, *_r = self.run_as(self.accountant, report)
			self.assertEqual(as_alice, for_her_customer, report)
			self.assertNotEqual(as_alice, for_everyone, report)
		# a collector filter cannot widen the view
		_columns, data, *_rest = self.run_as(self.alice, "Collections Aging", collector=self.bob)
		self.assertEqual(data, [])

	def test_the_desk_endpoint_runs_each_report_for_each_role(self):
		from frappe.desk.query_report import run

		for user in (self.alice, self.accountant):
			for report, defaults in REPORTS.items():
				filters = {"company": COMPANY, **{k: str(v) for k, v in defaults.items() if v is not None}}
				with self.freeze_time(T, tick=True), self.set_user(user):
					result = run(report, filters=json.dumps(filters), ignore_prepared_report=True)
				self.assertIn("result", result, (user, report))
				if report == "Collector Worklist":
					customers = {r.get("customer") for r in result["result"] if isinstance(r, dict)}
					self.assertEqual(self.b in customers, user == self.accountant)

	def test_number_cards_count_only_the_collectors_cases(self):
		from frappe.desk.doctype.number_card.number_card import get_result

		card = frappe.get_doc("Number Card", "Open Cases")
		filters = json.dumps([*json.loads(card.filters_json), ["Collection Case", "company", "=", COMPANY]])
		with self.set_user(self.alice):
			mine = get_result(card.as_dict(), filters)
		expected = frappe.db.count(
			"Collection Case",
			{
				"company": COMPANY,
				"collector": self.alice,
				"status": ["not in", ["Resolved", "Written Off", "Closed"]],
			},
		)
		self.assertEqual(mine, expected)
		self.assertLess(mine, get_result(card.as_dict(), filters))


class TestCollectionsWorkspace(FrappeTestCase):
	def test_workspace_cards_and_charts(self):
		from frappe.desk.desktop import get_desktop_page

		page = get_desktop_page(json.dumps({"name": "Collections", "title": "Collections", "public": 1}))
		self.assertEqual(len(page["number_cards"]["items"]), 5)
		self.assertEqual(len(page["charts"]["items"]), 2)
		shortcuts = {s["link_to"] for s in page["shortcuts"]["items"]}
		self.assertTrue(
			{"Collection Case", "Dunning Policy", "Dunning Run", "Payment Promise", "Collection Dispute"}
			<= shortcuts
		)
		self.assertTrue(set(REPORTS) <= shortcuts)
		if frappe.db.exists("DocType", "Advance Payment Allocation"):
			self.assertIn("Advance Payment Allocation", shortcuts)
		for name in ("Collections Aging Buckets", "Expected vs Actual Collections"):
			chart = frappe.get_doc("Dashboard Chart", name)
			self.assertTrue(chart.use_report_chart)
			self.assertTrue(frappe.db.exists("Report", chart.report_name))
