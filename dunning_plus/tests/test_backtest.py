"""The in-site backtest of a Dunning Policy: the site's own history replayed by the engine, the same
numbers as `dunning-plus simulate` on the same ledger exported to CSV, nothing written."""

import csv
import json
import tempfile
from pathlib import Path

import frappe
from click.testing import CliRunner
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, getdate

from dunning_plus.backtest import get_backtest_result, read_history, run_backtest, start_backtest, window
from dunning_plus.cli.main import cli
from dunning_plus.dunning_plus.report.dunning_policy_backtest.dunning_policy_backtest import execute
from dunning_plus.engine.policy import policy_to_dict
from dunning_plus.standard_policy import STANDARD_POLICY, create_standard_collection
from dunning_plus.tests.utils import (
	COMPANY,
	TERMS_3,
	TERMS_NET30,
	credit_note,
	ensure_item,
	ensure_policy,
	ensure_terms,
	make_customer,
	make_invoice,
	pay,
)

# A window no other test posts in: the first half of 2031.
AS_OF = getdate("2031-06-30")
QUIET = "_Test DP Backtest Quiet"
QUIET_STEPS = [
	{"step_code": "R+7", "offset_days": 7, "kind": "Reminder", "email_template": "_Test DP Reminder"},
	{
		"step_code": "L1",
		"offset_days": 20,
		"kind": "Dunning Level",
		"level": 1,
		"email_template": "_Test DP Reminder",
	},
]
TOUCHED = ("Collection Action", "Collection Case", "Communication", "Dunning Run", "ToDo", "Email Queue")


class TestBacktest(FrappeTestCase):
	def setUp(self):
		ensure_item()
		ensure_terms()
		create_standard_collection()
		ensure_policy(QUIET, steps=QUIET_STEPS)
		tag = frappe.generate_hash(length=6)
		self.on_time = make_customer(f"_Test DP BT on time {tag}", email_id="ap@ontime.example")
		self.late = make_customer(f"_Test DP BT late {tag}", email_id="ap@late.example", language="de")
		self.silent = make_customer(f"_Test DP BT no email {tag}")
		d = getdate("2031-01-06")  # Monday
		# due Wednesday 5 February, its R+3 falls on Saturday and goes out on Monday the 10th; paid
		# two days later: a reminder that was not needed
		a = make_invoice(self.on_time, d, terms=TERMS_NET30)
		pay(a.name, 1000, add_days(a.due_date, 7))
		# three terms, the first paid by term, the rest never: climbs the levels
		b = make_invoice(self.late, add_days(d, 14), terms=TERMS_3)
		pay(b.name, 300, add_days(b.posting_date, 40), payment_term="_Test DP 30d")
		# a credit note takes part of it, the rest stays open; no email: tasks
		c = make_invoice(self.silent, add_days(d, 30), terms=TERMS_NET30, rate=500)
		credit_note(c.name, 200, add_days(c.posting_date, 10))
		# paid before any step
		e = make_invoice(self.on_time, add_days(d, 60), terms=TERMS_NET30, rate=250)
		pay(e.name, 250, add_days(e.posting_date, 3))

	def tearDown(self):
		frappe.db.rollback()
		frappe.flags.dunning_plus_policies = None

	def test_reads_the_window_set_based_and_replays_both_policies(self):
		start, end = window(6, AS_OF)
		self.assertEqual((str(start), str(end)), ("2031-01-01", "2031-06-30"))
		history = read_history(COMPANY, start, end)
		ours = [r for r in history.rows if r.customer in (self.on_time, self.late, self.silent)]
		self.assertEqual(len(ours), 1 + 3 + 1 + 1)
		paid = {}
		for p in history.payments:
			paid[p.instalment] = paid.get(p.instalment, 0) + p.amount
		late_rows = sorted((r for r in ours if r.customer == self.late), key=lambda r: r.due_date)
		self.assertEqual(paid.get(late_rows[0].id), 300)  # the payment went to its term's row
		self.assertNotIn(late_rows[1].id, paid)
		silent_row = next(r for r in ours if r.customer == self.silent)
		self.assertEqual(paid[silent_row.id], 200)  # the credit note, on its own date

		with self.queries_counted() as queries:
			result = run_backtest(STANDARD_POLICY, QUIET, 6, COMPANY, as_of=AS_OF)
		self.assertLess(queries["count"], 40)  # set-based: a few queries, not one per invoice
		std, quiet = result["policy"], result["compare"]
		self.assertEqual((std["name"], quiet["name"]), (STANDARD_POLICY, QUIET))
		self.assertEqual(std["customers_touched"], 3)
		reached = {r["step"]: r["items"] for r in std["items_by_step"]}
		# the two unpaid rows of the late customer and the silent one's rest reach the final notice;
		# none is 120 days past due by the end of June
		self.assertEqual((reached["FINAL"], reached["WO"]), (3, 0))
		self.assertGreater(std["messages"], quiet["messages"])
		self.assertGreaterEqual(std["reminders_paid_soon"], 1)
		self.assertEqual([r["step"] for r in quiet["items_by_step"]], ["R+7", "L1"])

	def queries_counted(self):
		"""Counts the SQL statements run inside the block."""
		counter = {"count": 0}
		sql = frappe.db.sql

		def counting(*args, **kwargs):
			counter["count"] += 1
			return sql(*args, **kwargs)

		class Ctx:
			def __enter__(self_):
				frappe.db.sql = counting
				return counter

			def __exit__(self_, *exc):
				frappe.db.sql = sql

		return Ctx()

	def test_cli_simulate_gives_the_same_numbers_on_the_exported_ledger(self):
		start, end = window(6, AS_OF)
		site = run_backtest(STANDARD_POLICY, None, 6, COMPANY, as_of=AS_OF)["policy"]
		with tempfile.TemporaryDirectory() as folder:
			export_ledger(Path(folder), start, end)
			policy_file = Path(folder) / "policy.json"
			from dunning_plus.backtest import policy_book

			book = policy_book(STANDARD_POLICY, COMPANY)
			policy_file.write_text(
				json.dumps({"policies": [policy_to_dict(p) for p in book.policies.values()]}, default=str)
			)
			out = CliRunner().invoke(
				cli,
				[
					"simulate",
					"--policy",
					str(policy_file),
					"--ledger",
					folder,
					"--from",
					str(start),
					"--to",
					str(end),
					"--json",
				],
			)
		self.assertEqual(out.exit_code, 0, out.output)
		standalone = json.loads(out.output)["backtest"]
		site.pop("name")
		self.assertEqual(standalone, site)
		self.assertGreater(site["messages"], 0)

	def test_writes_nothing_but_its_result(self):
		before = {doctype: frappe.db.count(doctype) for doctype in TOUCHED}
		modified = frappe.db.get_value("Dunning Policy", STANDARD_POLICY, "modified")
		key = start_backtest(STANDARD_POLICY, QUIET, 6)["key"]  # inline in tests (now=in_test)
		result = get_backtest_result(key)
		self.assertEqual(result["compare"]["name"], QUIET)
		self.assertIn("<table", result["html"])
		self.assertEqual({doctype: frappe.db.count(doctype) for doctype in TOUCHED}, before)
		self.assertEqual(frappe.db.get_value("Dunning Policy", STANDARD_POLICY, "modified"), modified)
		self.assertEqual(frappe.db.get_value("Dunning Policy", STANDARD_POLICY, "enabled"), 0)

	def test_another_user_cannot_read_the_result(self):
		key = start_backtest(STANDARD_POLICY, None, 1)["key"]
		frappe.set_user("Guest")
		try:
			with self.assertRaises(frappe.PermissionError):
				get_backtest_result(key)
		finally:
			frappe.set_user("Administrator")

	def test_report_shows_weeks_by_step_and_channel_side_by_side(self):
		with self.freeze_time(AS_OF):
			columns, data, message, chart, summary = execute(
				{"policy": STANDARD_POLICY, "compare_policy": QUIET, "months": 6, "company": COMPANY}
			)
		result = run_backtest(STANDARD_POLICY, QUIET, 6, COMPANY, as_of=AS_OF)
		self.assertEqual(
			[c["fieldname"] for c in columns], ["week", "step", "channel", "messages", "compare_messages"]
		)
		self.assertEqual(sum(r["messages"] for r in data), result["policy"]["messages"])
		self.assertEqual(sum(r["compare_messages"] for r in data), result["compare"]["messages"])
		self.assertIn("Task", {r["channel"] for r in data})  # the customer without an address
		self.assertEqual(
			sum(sum(d["values"]) for d in chart["data"]["datasets"][:-1]), result["policy"]["messages"]
		)
		self.assertIn(QUIET, message)
		self.assertEqual(summary[0]["value"], result["policy"]["messages"])

	def test_bad_months_are_refused(self):
		with self.assertRaises(frappe.ValidationError):
			run_backtest(STANDARD_POLICY, None, 0 - 5, COMPANY, as_of=AS_OF)


def export_ledger(folder: Path, start, end) -> None:
	"""The window's submitted invoices, schedules, payments and customers as ERPNext CSV exports
	(read with frappe.get_all, independently of the backtest's own reader)."""
	invoices = frappe.get_all(
		"Sales Invoice",
		filters={"company": COMPANY, "docstatus": 1, "posting_date": ["between", [start, end]]},
		fields=[
			"name",
			"customer",
			"company",
			"posting_date",
			"grand_total",
			"currency",
			"is_return",
			"return_against",
			"docstatus",
		],
		order_by="posting_date, name",
	)
	names = [i.name for i in invoices]
	write(folder / "Sales Invoice.csv", invoices)
	write(
		folder / "Payment Schedule.csv",
		frappe.get_all(
			"Payment Schedule",
			filters={"parent": ["in", names], "parenttype": "Sales Invoice"},
			fields=["parent", "idx", "payment_term", "due_date", "payment_amount"],
			order_by="parent, idx",
		),
	)
	refs = frappe.get_all(
		"Payment Entry Reference",
		filters={"reference_name": ["in", names], "parenttype": "Payment Entry"},
		fields=["parent", "reference_doctype", "reference_name", "allocated_amount", "payment_term"],
	)
	payments = frappe.get_all(
		"Payment Entry",
		filters={"name": ["in", [r.parent for r in refs] or [""]]},
		fields=["name", "party", "posting_date", "paid_amount", "payment_type", "docstatus"],
		order_by="posting_date, name",
	)
	order = {p.name: i for i, p in enumerate(payments)}
	write(folder / "Payment Entry.csv", payments)
	write(folder / "Payment Entry Reference.csv", sorted(refs, key=lambda r: order.get(r.parent, 0)))
	write(
		folder / "Customer.csv",
		frappe.get_all(
			"Customer",
			filters={"name": ["in", list({i.customer for i in invoices})]},
			fields=["name", "customer_group", "territory", "language", "email_id"],
		),
	)


def write(path: Path, rows: list[dict]) -> None:
	with path.open("w", newline="", encoding="utf-8") as fh:
		if not rows:
			fh.write("name\n")
			return
		writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
		writer.writeheader()
		for r in rows:
			writer.writerow({k: "" if v is None else v for k, v in r.items()})
