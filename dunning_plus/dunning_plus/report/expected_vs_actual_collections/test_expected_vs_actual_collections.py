# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import getdate

from dunning_plus.dunning_plus.report.expected_vs_actual_collections.expected_vs_actual_collections import (
	execute,
)
from dunning_plus.tests.utils import (
	COMPANY,
	TERMS_NET30,
	case_of,
	credit_note,
	make_customer,
	make_invoice,
	pay,
	setup_collections,
)

T = getdate("2026-03-16")
test_dependencies = ["Customer"]


def run(**filters):
	columns, data, _message, chart, summary = execute(frappe._dict(company=COMPANY, **filters))
	return columns, data, chart, summary


class TestExpectedVsActualCollections(FrappeTestCase):
	"""A: posted 01-10, 300/300/400 due 02-09, 03-11, 04-10; paid 300 on 02-20 and 100 on 03-05,
	credit note 50 on 03-01. B: posted 02-01, 500 due 03-03, promised for 04-02 (pending)."""

	def setUp(self):
		setup_collections()
		suffix = frappe.generate_hash(length=5)
		self.a = make_customer(f"_Test DP EvA A {suffix}")
		self.b = make_customer(f"_Test DP EvA B {suffix}")
		with self.freeze_time(T, tick=True):
			si = make_invoice(self.a, "2026-01-10")
			pay(si.name, 300, "2026-02-20")
			credit_note(si.name, 50, "2026-03-01")
			pay(si.name, 100, "2026-03-05")
			make_invoice(self.b, "2026-02-01", rate=500, terms=TERMS_NET30)
			case_of(self.b).record_promise("2026-04-02")

	def by_period(self, data):
		return {r["period"]: (r["expected"], r["actual"], r["variance"], r["ratio"]) for r in data}

	def test_monthly_expected_actual_variance_ratio(self):
		for customer, expected in (
			(self.a, {"2026-02": (300.0, 300.0, 0.0, 100.0), "2026-03": (250.0, 100.0, -150.0, 40.0)}),
			# B's row falls due in March but is promised for April: nothing expected in the window
			(self.b, {"2026-02": (0.0, 0.0, 0.0, None), "2026-03": (0.0, 0.0, 0.0, None)}),
		):
			with self.freeze_time(T, tick=True):
				_columns, data, chart, summary = run(
					from_date="2026-02-01", to_date="2026-03-31", periodicity="Monthly", customer=customer
				)
			self.assertEqual(self.by_period(data), expected)
		self.assertEqual(chart["data"]["labels"], ["2026-02", "2026-03"])
		with self.freeze_time(T, tick=True):
			_columns, data, chart, summary = run(
				from_date="2026-02-01", to_date="2026-03-31", customer=self.a
			)
		self.assertEqual([d["values"] for d in chart["data"]["datasets"]], [[300.0, 250.0], [300.0, 100.0]])
		totals = {s["label"]: s["value"] for s in summary}
		self.assertEqual((totals["Expected"], totals["Actual"], totals["Variance"]), (550.0, 400.0, -150.0))

	def test_the_promise_date_replaces_the_due_date_while_pending(self):
		with self.freeze_time(T, tick=True):
			_columns, data, _chart, _summary = run(
				from_date="2026-04-01", to_date="2026-04-30", customer=self.b
			)
		self.assertEqual(self.by_period(data)["2026-04"][0], 500.0)

	def test_weekly_and_by_aging_bucket(self):
		with self.freeze_time(T, tick=True):
			_columns, data, _chart, _summary = run(
				from_date="2026-03-02", to_date="2026-03-15", periodicity="Weekly", customer=self.a
			)
		self.assertEqual(
			self.by_period(data),
			# what is expected is what was open when the window starts (03-02): the 100 paid on 03-05
			# (week 10) is collected in week 10, the row (300 less the 50 credit) expected in week 11
			{"2026-W10": (0.0, 100.0, 100.0, None), "2026-W11": (250.0, 0.0, -250.0, 0.0)},
		)
		with self.freeze_time(T, tick=True):
			_columns, data, _chart, _summary = run(
				from_date="2026-02-01", to_date="2026-03-31", customer=self.a, group_by="Aging Bucket"
			)
		self.assertEqual(
			{(r["period"], r["group"]): (r["expected"], r["actual"]) for r in data},
			{("2026-02", "31-60"): (300.0, 300.0), ("2026-03", "1-30"): (250.0, 100.0)},
		)

	def test_the_same_window_has_the_same_totals_by_week_and_month_and_periods_are_clipped(self):
		"""The defect: for the same dates Monthly and Weekly expected different totals, and periods ran
		past the filter dates (a month row to 12-31 when To Date was 12-01; a week starting before From
		Date). 02-12 is a Thursday: its week starts 02-09, the day A's first row fell due."""
		totals = {}
		for periodicity in ("Monthly", "Weekly"):
			with self.freeze_time(T, tick=True):
				_columns, data, _chart, summary = run(
					from_date="2026-02-12", to_date="2026-03-12", periodicity=periodicity, customer=self.a
				)
			self.assertEqual(getdate(data[0]["from_date"]), getdate("2026-02-12"), periodicity)
			self.assertEqual(getdate(data[-1]["to_date"]), getdate("2026-03-12"), periodicity)
			for r in data:
				self.assertTrue(
					getdate("2026-02-12")
					<= getdate(r["from_date"])
					<= getdate(r["to_date"])
					<= getdate("2026-03-12")
				)
			by_label = {s["label"]: s["value"] for s in summary}
			totals[periodicity] = (by_label["Expected"], by_label["Actual"])
			self.assertEqual(
				totals[periodicity], (sum(r["expected"] for r in data), sum(r["actual"] for r in data))
			)
		# expected: the second row (300 less the 50 credit), due 03-11; actual: 300 on 02-20 (the first
		# row) and 100 on 03-05
		self.assertEqual(totals["Monthly"], (250.0, 400.0))
		self.assertEqual(totals["Weekly"], totals["Monthly"])

	def test_by_segment(self):
		with self.freeze_time(T, tick=True):
			_columns, data, _chart, _summary = run(
				from_date="2026-02-01", to_date="2026-03-31", customer=self.a, group_by="Customer Group"
			)
		self.assertEqual(
			{(r["period"], r["group"]): (r["expected"], r["actual"]) for r in data},
			{
				("2026-02", "_Test Customer Group"): (300.0, 300.0),
				("2026-03", "_Test Customer Group"): (250.0, 100.0),
			},
		)


class TestDepositsInExpectedVsActual(FrappeTestCase):
	def test_a_deposit_is_expected_when_due_and_collected_when_the_advance_comes(self):
		from dunning_plus.tests.utils import make_order, pay_order

		setup_collections()
		customer = make_customer(f"_Test DP EvA Dep {frappe.generate_hash(length=5)}")
		with self.freeze_time(T, tick=True):
			so = make_order(customer, "2026-03-02", delivery_days=10)  # deposit 300 due 03-02
			pay_order(so.name, 120, "2026-03-10")
			_columns, data, _chart, _summary = run(
				from_date="2026-03-01", to_date="2026-03-31", periodicity="Monthly", customer=customer
			)
		self.assertEqual(
			{r["period"]: (r["expected"], r["actual"]) for r in data}, {"2026-03": (300.0, 120.0)}
		)
