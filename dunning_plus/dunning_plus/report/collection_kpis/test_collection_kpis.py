# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import getdate

from dunning_plus.dunning_plus.report.collection_kpis.collection_kpis import execute
from dunning_plus.tests.utils import (
	COMPANY,
	TERMS_NET30,
	case_of,
	credit_note,
	make_customer,
	make_invoice,
	pay,
	setup_collections,
	unallocated_payment,
)

T = getdate("2026-03-16")
test_dependencies = ["Customer"]


class TestCollectionKPIs(FrappeTestCase):
	"""Net 30 invoices: I1 1000 posted 01-05 (600 paid 02-20), I2 2000 posted 02-10, I3 500 posted
	03-05. Promises: 400 for 02-27 (kept), 400 for 03-10 (broken). Messages: 02-10 on I1 (paid
	10 days later), 02-15 on I2 (never paid). Dispute of 500 on I2 opened 03-13.

	AR at Jan 31: 1000, all current; Feb 28: 2400, 2000 current; Mar 16 (today): 2900, 500 current.
	"""

	def setUp(self):
		setup_collections()
		self.customer = make_customer(f"_Test DP KPI {frappe.generate_hash(length=5)}")
		with self.freeze_time(T, tick=True):
			self.i1 = make_invoice(self.customer, "2026-01-05", rate=1000, terms=TERMS_NET30)
			self.i2 = make_invoice(self.customer, "2026-02-10", rate=2000, terms=TERMS_NET30)
			make_invoice(self.customer, "2026-03-05", rate=500, terms=TERMS_NET30)
			pay(self.i1.name, 600, "2026-02-20")
			case = case_of(self.customer)
			for key, day, invoice in (("M1", "2026-02-10", self.i1.name), ("M2", "2026-02-15", self.i2.name)):
				frappe.get_doc(
					{
						"doctype": "Collection Action",
						"collection_case": case.name,
						"customer": self.customer,
						"company": COMPANY,
						"action_date": day,
						"action_type": "Step",
						"status": "Sent",
						"step_code": "R+3",
						"reference_doctype": "Sales Invoice",
						"reference_name": invoice,
						"message_key": f"{key}-{self.customer}",
					}
				).insert(ignore_permissions=True)
			frappe.get_doc(
				{
					"doctype": "Collection Dispute",
					"customer": self.customer,
					"company": COMPANY,
					"reason": "Pricing",
					"amount": 500,
					"opened_on": "2026-03-13",
					"items": [{"sales_invoice": self.i2.name}],
				}
			).insert()
			for recorded, promised, status in (
				("2026-02-25", "2026-02-27", "Kept"),
				("2026-03-02", "2026-03-10", "Broken"),
			):
				promise = frappe.get_doc(
					{
						"doctype": "Payment Promise",
						"customer": self.customer,
						"company": COMPANY,
						"recorded_on": recorded,
						"promised_date": promised,
						"amount": 400,
						"items": [{"sales_invoice": self.i1.name}],
					}
				).insert()
				frappe.db.set_value("Payment Promise", promise.name, "status", status)

	def run_report(self, **filters):
		filters = {"from_date": "2026-01-01", "to_date": T, **filters}
		with self.freeze_time(T, tick=True):
			_columns, data, _message, chart, summary = execute(
				frappe._dict(company=COMPANY, customer=self.customer, **filters)
			)
		return {r["month"]: r for r in data}, chart, summary

	def test_ar_and_dso_family(self):
		months, chart, _summary = self.run_report()
		self.assertEqual(list(months), ["2026-01", "2026-02", "2026-03"])
		jan, feb, mar = months["2026-01"], months["2026-02"], months["2026-03"]
		self.assertEqual(
			[(m["ending_ar"], m["current_ar"], m["credit_sales"]) for m in (jan, feb, mar)],
			[(1000.0, 1000.0, 1000.0), (2400.0, 2000.0, 2000.0), (2900.0, 500.0, 500.0)],
		)
		self.assertEqual(getdate(mar["to_date"]), T)
		# Jan: 1000 / 1000 x 31
		self.assertEqual(
			(jan["standard_dso"], jan["countback_dso"], jan["best_dso"], jan["add"]), (31.0, 31.0, 31.0, 0.0)
		)
		# Feb: standard 2400 / 2000 x 28; countback 28 + 400 / 1000 x 31; best 2000 / 2000 x 28
		self.assertEqual(
			(feb["standard_dso"], feb["countback_dso"], feb["best_dso"], feb["add"]), (33.6, 40.4, 28.0, 12.4)
		)
		# Mar (16 days so far): standard 2900 / 500 x 16; countback 16 + 28 + 400 / 1000 x 31; best 16
		self.assertEqual(
			(mar["standard_dso"], mar["countback_dso"], mar["best_dso"], mar["add"]), (92.8, 56.4, 16.0, 40.4)
		)
		self.assertEqual(chart["data"]["datasets"][0]["values"], [31.0, 40.4, 56.4])

	def test_cei(self):
		months, _chart, _summary = self.run_report()
		# Jan: nothing was collectible beyond what is current: no CEI
		self.assertIsNone(months["2026-01"]["cei"])
		# Feb: (1000 + 2000 - 2400) / (1000 + 2000 - 2000) = 60 %
		self.assertEqual(months["2026-02"]["cei"], 60.0)
		# Mar: (2400 + 500 - 2900) / (2400 + 500 - 500) = 0 %
		self.assertEqual(months["2026-03"]["cei"], 0.0)

	def test_promises_conversion_and_disputes(self):
		months, _chart, summary = self.run_report()
		feb, mar = months["2026-02"], months["2026-03"]
		self.assertEqual(
			(feb["promises_due"], feb["promises_kept"], feb["kept_rate"], feb["kept_amount_rate"]),
			(1, 1, 100.0, 100.0),
		)
		self.assertEqual((mar["promises_due"], mar["kept_rate"], mar["kept_amount_rate"]), (1, 0.0, 0.0))
		self.assertEqual((feb["messages"], feb["converted"], feb["conversion_rate"]), (2, 1, 50.0))
		self.assertEqual((mar["messages"], mar["conversion_rate"]), (0, None))
		self.assertEqual(
			(mar["open_disputes"], mar["open_dispute_amount"], mar["average_dispute_age"]), (1, 500.0, 3.0)
		)
		self.assertEqual(feb["open_disputes"], 0)
		# a shorter window: the payment 10 days after the message no longer counts
		months, _chart, _summary = self.run_report(conversion_days=7)
		self.assertEqual(months["2026-02"]["converted"], 0)
		self.assertEqual({s["label"]: s["value"] for s in summary}["Countback DSO"], "56.4")

	def test_headline_cards_are_the_whole_window(self):
		"""The defect: with To Date on the first of a month the cards showed that one-day month (CEI
		0 %, conversion and promise-kept blank) while the month rows had real values, and day
		figures printed three decimals."""
		months, _chart, summary = self.run_report(to_date="2026-03-01")
		self.assertEqual(getdate(months["2026-03"]["to_date"]), getdate("2026-03-01"))
		self.assertEqual(months["2026-03"]["cei"], 0.0)  # the one-day month
		cards = {s["label"]: s for s in summary}
		# window 01-01..03-01: AR before it 0, credit sales 3000, AR at its end 2400 of which 2000 current
		self.assertEqual(cards["CEI"]["value"], 60.0)  # (0 + 3000 - 2400) / (0 + 3000 - 2000)
		self.assertEqual(cards["Promise-Kept Rate"]["value"], 100.0)  # the 02-27 promise, kept
		self.assertEqual(cards["Reminder Conversion"]["value"], 50.0)  # 2 messages, 1 paid within 14 days
		self.assertEqual(cards["CEI"]["datatype"], "Percent")
		# days with one decimal: countback 1 + 28 + 400 / 1000 x 31; standard 2400 / 3000 x 60 days
		self.assertEqual(
			(
				cards["Countback DSO"]["value"],
				cards["Standard DSO"]["value"],
				cards["Average Days Delinquent"]["value"],
			),
			("41.4", "48.0", "12.4"),
		)
		self.assertEqual(cards["Countback DSO"]["datatype"], "Data")
		# the whole window to today
		_months, _chart, summary = self.run_report()
		cards = {s["label"]: s["value"] for s in summary}
		self.assertEqual(
			(cards["CEI"], cards["Promise-Kept Rate"], cards["Reminder Conversion"]), (20.0, 50.0, 50.0)
		)
		self.assertEqual((cards["Standard DSO"], cards["Average Days Delinquent"]), ("62.1", "40.4"))
		# nothing in the window to rate: a dash, not a blank or a zero
		_months, _chart, summary = self.run_report(from_date="2025-10-01", to_date="2025-11-30")
		cards = {s["label"]: s["value"] for s in summary}
		self.assertEqual((cards["Promise-Kept Rate"], cards["Reminder Conversion"]), ("–", "–"))


class TestCollectionKPIsOpenCredits(FrappeTestCase):
	"""AR is net of the customer's open credits, as the aging: a 1,000 invoice (posted 02-02, due
	03-04) with a 200 credit note keeping its own outstanding and an unallocated receipt of 100."""

	def setUp(self):
		setup_collections()
		self.customer = make_customer(f"_Test DP KPI Credit {frappe.generate_hash(length=5)}")
		with self.freeze_time(T, tick=True):
			si = make_invoice(self.customer, "2026-02-02", rate=1000, terms=TERMS_NET30)
			credit_note(si.name, 200, "2026-03-10", own_outstanding=True)
			unallocated_payment(self.customer, 100, "2026-03-12")

	def tearDown(self):
		frappe.db.rollback()

	def test_ending_ar_nets_open_credits(self):
		with self.freeze_time(T, tick=True):
			_columns, data, *_rest = execute(
				frappe._dict(company=COMPANY, customer=self.customer, from_date="2026-02-01", to_date=T)
			)
		feb, mar = data
		self.assertEqual((feb["ending_ar"], feb["current_ar"]), (1000.0, 1000.0))
		self.assertEqual((mar["ending_ar"], mar["current_ar"]), (700.0, 0.0))
