# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, getdate

from dunning_plus.dunning_plus.report.collections_aging.collections_aging import execute
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


def run(**filters):
	columns, data, _message, chart, summary = execute(frappe._dict(company=COMPANY, **filters))
	return columns, data, chart, summary


def buckets(columns, row):
	return {c["label"]: row[c["fieldname"]] for c in columns if c["fieldname"].startswith("range")}


class TestCollectionsAging(FrappeTestCase):
	"""Three invoices of one customer (30/30/40 at 30/60/90 days unless Net 30), at T:

	A  posted T-100, 1000: rows 300 due T-70, 300 due T-40, 400 due T-10; 200 paid at T-5, no term
	B  posted T-5, Net 30, 500 due T+25; credit note 100 at T-2
	C  posted T-50, 1000: rows 300 due T-20, 300 due T+10, 400 due T+40; 400 paid at T-1 naming the
	   third term
	"""

	def setUp(self):
		setup_collections()
		self.customer = make_customer(f"_Test DP Aging {frappe.generate_hash(length=6)}")
		with self.freeze_time(T, tick=True):
			self.a = make_invoice(self.customer, add_days(T, -100))
			pay(self.a.name, 200, add_days(T, -5))
			self.b = make_invoice(self.customer, add_days(T, -5), rate=500, terms=TERMS_NET30)
			credit_note(self.b.name, 100, add_days(T, -2))
			self.c = make_invoice(self.customer, add_days(T, -50))
			pay(self.c.name, 400, add_days(T, -1), payment_term=self.c.payment_schedule[2].payment_term)

	def test_buckets_by_due_date_as_of_today(self):
		with self.freeze_time(T, tick=True):
			columns, data, chart, summary = run(report_date=T, customer=self.customer)
		self.assertEqual(len(data), 1)
		row = data[0]
		self.assertEqual(
			buckets(columns, row),
			{"Not Due": 700.0, "1-30": 700.0, "31-60": 300.0, "61-90": 100.0, "91-120": 0.0, "120+": 0.0},
		)
		self.assertEqual(row["outstanding"], 1800.0)
		self.assertEqual(row["invoices"], 3)
		self.assertEqual(row["customer"], self.customer)
		self.assertEqual(row["collection_case"], case_of(self.customer).name)
		self.assertEqual(chart["data"]["labels"][0], "Not Due")
		self.assertEqual(chart["data"]["datasets"][0]["values"], [700.0, 700.0, 300.0, 100.0, 0.0, 0.0])
		by_label = {s["label"]: s["value"] for s in summary}
		self.assertEqual((by_label["Total Outstanding"], by_label["Overdue"]), (1800.0, 1100.0))

	def test_as_of_a_past_date_reads_the_ledger_then(self):
		# at T-20: A owes 1000 (300 aged 50, 300 aged 20, 400 not due); B is not posted yet;
		# C owes 1000, its rows due T-20 (age 0: not due), T+10 and T+40
		with self.freeze_time(T, tick=True):
			columns, data, _chart, _summary = run(report_date=add_days(T, -20), customer=self.customer)
		self.assertEqual(
			buckets(columns, data[0]),
			{"Not Due": 1400.0, "1-30": 300.0, "31-60": 300.0, "61-90": 0.0, "91-120": 0.0, "120+": 0.0},
		)
		# at T-1 nothing has moved since: C's payment named its third term (rows 300, 300, 0 open)
		with self.freeze_time(T, tick=True):
			_columns, data, _chart, _summary = run(
				report_date=add_days(T, -1), customer=self.customer, group_by="Instalment"
			)
		c_rows = sorted((r["due_date"], r["outstanding"]) for r in data if r["sales_invoice"] == self.c.name)
		self.assertEqual(c_rows, [(add_days(T, -20), 300.0), (add_days(T, 10), 300.0)])
		# once something is posted after T-1, the terms paid by then are unknown: the balance on T-1
		# goes earliest due first (C: 0, 200, 400 open)
		with self.freeze_time(T, tick=True):
			pay(self.a.name, 10, T)
			_columns, data, _chart, _summary = run(
				report_date=add_days(T, -1), customer=self.customer, group_by="Instalment"
			)
		c_rows = sorted((r["due_date"], r["outstanding"]) for r in data if r["sales_invoice"] == self.c.name)
		self.assertEqual(c_rows, [(add_days(T, 10), 200.0), (add_days(T, 40), 400.0)])

	def test_posting_date_basis_and_custom_buckets(self):
		with self.freeze_time(T, tick=True):
			columns, data, _chart, summary = run(
				report_date=T, customer=self.customer, ageing_based_on="Posting Date"
			)
		self.assertEqual(
			buckets(columns, data[0]),
			{"0-30": 400.0, "31-60": 600.0, "61-90": 0.0, "91-120": 800.0, "120+": 0.0},
		)
		self.assertNotIn("Overdue", {s["label"] for s in summary})
		with self.freeze_time(T, tick=True):
			columns, data, _chart, _summary = run(report_date=T, customer=self.customer, range="15, 45")
		self.assertEqual(
			buckets(columns, data[0]),
			{"Not Due": 700.0, "1-15": 400.0, "16-45": 600.0, "45+": 100.0},
		)

	def test_instalment_rows_drill_down_to_invoice_and_case(self):
		with self.freeze_time(T, tick=True):
			columns, data, _chart, _summary = run(
				report_date=T, customer=self.customer, group_by="Instalment"
			)
		self.assertEqual(len(data), 6)
		case = case_of(self.customer).name
		self.assertTrue(all(r["collection_case"] == case for r in data))
		fields = {c["fieldname"]: c for c in columns}
		self.assertEqual(fields["sales_invoice"]["options"], "Sales Invoice")
		self.assertEqual(fields["collection_case"]["options"], "Collection Case")
		a_rows = sorted(
			(r["due_date"], r["outstanding"], r["age"]) for r in data if r["sales_invoice"] == self.a.name
		)
		self.assertEqual(
			a_rows,
			[(add_days(T, -70), 100.0, 70), (add_days(T, -40), 300.0, 40), (add_days(T, -10), 400.0, 10)],
		)
		self.assertEqual(sum(r["outstanding"] for r in data), 1800.0)

	def test_group_by_segment_collector_and_level(self):
		with self.freeze_time(T, tick=True):
			for group_by, field, key in (
				("Customer Group", "customer_group", "_Test Customer Group"),
				("Territory", "territory", "_Test Territory"),
				("Dunning Level", "dunning_level", "Not Dunned"),
			):
				_columns, data, _chart, _summary = run(
					report_date=T, customer=self.customer, group_by=group_by
				)
				self.assertEqual([(r[field], r["outstanding"]) for r in data], [(key, 1800.0)], group_by)
			frappe.db.set_value("Collection Case", case_of(self.customer).name, "collector", "Administrator")
			_columns, data, _chart, _summary = run(
				report_date=T, customer=self.customer, group_by="Collector"
			)
			self.assertEqual([(r["collector"], r["outstanding"]) for r in data], [("Administrator", 1800.0)])
			_columns, data, _chart, _summary = run(report_date=T, collector="Administrator")
			self.assertIn(self.customer, {r["customer"] for r in data})

	def test_by_dunning_level_counts_each_invoice_once_under_level_names(self):
		"""The defect: a multi-term invoice with terms at two levels was an open invoice in both rows
		(the column added up to more invoices than were open) and the rows read "0", "1"."""
		case = case_of(self.customer)
		first_row = {r.payment_schedule: r for r in case.items}[self.a.payment_schedule[0].name]
		frappe.db.set_value("Collection Case Item", first_row.name, "level", 1)
		with self.freeze_time(T, tick=True):
			_columns, data, _chart, summary = run(
				report_date=T, customer=self.customer, group_by="Dunning Level"
			)
		by_level = {r["dunning_level"]: r for r in data}
		self.assertEqual(list(by_level), ["Not Dunned", "Dunning Level 1"])
		# A's first term (100 open, 70 days late) is at level 1, its other terms and B and C at none
		self.assertEqual(by_level["Dunning Level 1"]["outstanding"], 100.0)
		self.assertEqual(by_level["Not Dunned"]["outstanding"], 1700.0)
		# A counts once, at its highest level
		self.assertEqual(
			(by_level["Dunning Level 1"]["invoices"], by_level["Not Dunned"]["invoices"]), (1, 2)
		)
		open_invoices = {s["label"]: s["value"] for s in summary}["Open Invoices"]
		self.assertEqual(sum(r["invoices"] for r in data), open_invoices)
		self.assertEqual(open_invoices, 3)
		self.assertEqual(by_level["Dunning Level 1"]["level"], 1)
		with self.freeze_time(T, tick=True):
			_columns, data, _chart, _summary = run(
				report_date=T, customer=self.customer, group_by="Instalment"
			)
		self.assertEqual(
			sorted(r["dunning_level"] for r in data if r["sales_invoice"] == self.a.name),
			["Dunning Level 1", "Not Dunned", "Not Dunned"],
		)
		# the level filter still takes the number
		with self.freeze_time(T, tick=True):
			_columns, data, _chart, _summary = run(report_date=T, customer=self.customer, dunning_level="1")
		self.assertEqual(data[0]["outstanding"], 100.0)

	def test_matches_the_invoices_outstanding_today(self):
		with self.freeze_time(T, tick=True):
			_columns, data, _chart, _summary = run(report_date=T, customer=self.customer)
		outstanding = sum(
			frappe.get_all(
				"Sales Invoice",
				filters={"customer": self.customer, "docstatus": 1},
				pluck="outstanding_amount",
			)
		)
		self.assertEqual(data[0]["outstanding"], outstanding)

	def test_todays_balances_equal_the_ledgers(self):
		from dunning_plus.report_data import read_open_items

		with self.freeze_time(T, tick=True):
			today, _inv = read_open_items(COMPANY, T, [self.customer])
			ledger, _inv = read_open_items(COMPANY, T, [self.customer], from_ledger=True)
		self.assertEqual(len(today), 6)

		def per_invoice(items):
			out = {}
			for i in items:
				out[i.group] = out.get(i.group, 0) + i.outstanding
			return out

		# the same balances; only the ledger path does not know which terms were paid
		self.assertEqual(per_invoice(today), per_invoice(ledger))
		self.assertEqual(per_invoice(today), {self.a.name: 800, self.b.name: 400, self.c.name: 600})

	def test_bad_filters_are_refused(self):
		with self.assertRaises(frappe.ValidationError):
			run(report_date=T, range="30, 10")
		with self.assertRaises(frappe.ValidationError):
			run(report_date=T, group_by="Sales Invoice")

	def test_bucket_totals_equal_the_sum_of_the_instalments(self):
		# the bucket view reads only the schedules of invoices that may straddle a bucket
		for report_date in (T, add_days(T, -20), add_days(T, -1)):
			with self.freeze_time(T, tick=True):
				columns, grouped, _c, _s = run(report_date=report_date, customer=self.customer)
				_columns, rows, _c, _s = run(
					report_date=report_date, customer=self.customer, group_by="Instalment"
				)
			for col in columns:
				if col["fieldname"].startswith("range"):
					self.assertEqual(
						grouped[0][col["fieldname"]],
						sum(r[col["fieldname"]] for r in rows),
						(report_date, col),
					)


class TestScheduleSplitShortcuts(FrappeTestCase):
	def test_the_packed_reader_gives_the_engine_split(self):
		"""Random invoices through the reader's parser (with its shortcuts for one row and for an
		untouched schedule) against the engine's split_outstanding."""
		import random
		from decimal import Decimal

		from dunning_plus.engine.schedule import RowAmount, split_outstanding
		from dunning_plus.report_data import _parse_open_items

		rnd = random.Random(7)
		for n_case in range(3000):
			n = rnd.randint(1, 4)
			rows = []
			for k in range(n):
				amount = Decimal(rnd.randint(0, 500))
				paid = Decimal(rnd.choice([0, 0, rnd.randint(0, 600), "0.5"]))
				rows.append((f"r{n_case}-{k}", k + 1, add_days(T, rnd.randint(-90, 90)), amount, paid))
			outstanding = Decimal(rnd.randint(-100, 2200)) / 2
			for term_paid_known in (True, False):
				packed = ",".join(f"{r[0]}|{r[1]}|{r[2]}|{r[3]:.9f}|{r[3]:.9f}|{r[4]:.9f}" for r in rows)
				text = "\x1f".join(
					["Sales Invoice", "INV", "CUST", str(T), str(T), f"{outstanding:.9f}", packed]
				)
				items, _invoices = _parse_open_items([(text,)], term_paid_known)
				expected = split_outstanding(
					[
						RowAmount(r[0], r[2], r[3], r[4] if term_paid_known else Decimal(0), r[1])
						for r in rows
					],
					outstanding,
				)
				got = {i.id: i.outstanding for i in items}
				self.assertEqual(got, {k: v for k, v in expected.items() if v}, (rows, outstanding))


class TestCollectionsAgingOpenCredits(FrappeTestCase):
	"""Issue 15 item 3: a 1,000 invoice (Net 30, posted T-45: 15 days overdue) with a 200 credit note
	ages as 800 net, whichever way ERPNext books the return; the credit note is shown as an open
	credit when it keeps its own outstanding (ERPNext v15's default "Update Outstanding for Self")."""

	def setUp(self):
		setup_collections()
		self.customer = make_customer(f"_Test DP Aging Credit {frappe.generate_hash(length=6)}")

	def tearDown(self):
		frappe.db.rollback()

	def invoice_with_return(self, own_outstanding):
		with self.freeze_time(T, tick=True):
			si = make_invoice(self.customer, add_days(T, -45), rate=1000, terms=TERMS_NET30)
			credit_note(si.name, 200, add_days(T, -3), own_outstanding=own_outstanding)
		return si

	def aged(self, **filters):
		with self.freeze_time(T, tick=True):
			columns, data, _chart, summary = run(report_date=T, customer=self.customer, **filters)
		return columns, data, {s["label"]: s["value"] for s in summary}

	def test_credit_note_with_its_own_outstanding_is_netted_and_shown(self):
		self.invoice_with_return(own_outstanding=True)
		self.assertEqual(
			frappe.db.get_value(
				"Sales Invoice", {"customer": self.customer, "is_return": 0}, "outstanding_amount"
			),
			1000,
		)
		columns, data, summary = self.aged()
		(row,) = data
		self.assertEqual(buckets(columns, row)["1-30"], 800.0)
		self.assertEqual(sum(buckets(columns, row).values()), 800.0)
		self.assertEqual((row["open_credits"], row["outstanding"], row["invoices"]), (200.0, 800.0, 1))
		self.assertIn("Open Credits", [c["label"] for c in columns])
		self.assertEqual(
			(
				summary["Total Outstanding"],
				summary["Overdue"],
				summary["Open Credits"],
				summary["Open Invoices"],
			),
			(800.0, 800.0, 200.0, 1),
		)
		# per instalment: the invoice's row owes 800, 200 of it credited
		_columns, rows, _summary = self.aged(group_by="Instalment")
		self.assertEqual([(r["outstanding"], r["open_credits"]) for r in rows], [(800.0, 200.0)])

	def test_credit_note_reducing_the_invoice_ages_the_same(self):
		self.invoice_with_return(own_outstanding=False)
		columns, data, summary = self.aged()
		(row,) = data
		self.assertEqual(buckets(columns, row)["1-30"], 800.0)
		self.assertEqual((row["open_credits"], row["outstanding"]), (0.0, 800.0))
		self.assertEqual((summary["Total Outstanding"], summary["Open Credits"]), (800.0, 0.0))

	def test_unallocated_payment_beyond_the_debt_leaves_the_customer_in_credit(self):
		self.invoice_with_return(own_outstanding=True)
		with self.freeze_time(T, tick=True):
			unallocated_payment(self.customer, 1000, add_days(T, -1))
		columns, data, summary = self.aged()
		(row,) = data
		self.assertEqual(sum(buckets(columns, row).values()), 0.0)
		self.assertEqual((row["open_credits"], row["outstanding"]), (1200.0, -200.0))
		self.assertEqual((summary["Total Outstanding"], summary["Open Credits"]), (-200.0, 1200.0))
		# by dunning level the credit no instalment took is a row of its own
		_columns, rows, _summary = self.aged(group_by="Dunning Level")
		self.assertEqual(rows[-1]["dunning_level"], "Unapplied Credit")
		self.assertEqual((rows[-1]["outstanding"], rows[-1]["open_credits"]), (-200.0, 200.0))
		self.assertEqual(sum(r["outstanding"] for r in rows), -200.0)
