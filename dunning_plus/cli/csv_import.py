"""Reads a ledger from CSV files exported from ERPNext (one file per doctype, ERPNext fieldnames as
column headers, as the Report View "Export" writes them with field names).

A ledger folder holds:

====================================  =========================================================
file                                  columns (``*`` = required)
====================================  =========================================================
``Sales Invoice.csv``                 name*, customer*, company*, posting_date*, grand_total*,
                                      currency, is_return, return_against, docstatus,
                                      dunning_policy, customer_group
``Payment Schedule.csv``              parent*, due_date*, payment_amount*, idx, payment_term
``Payment Entry.csv`` (optional)      name*, party*, posting_date*, paid_amount*, payment_type,
                                      paid_from_account_currency, docstatus
``Payment Entry Reference.csv``       parent*, reference_name*, allocated_amount*,
(optional)                            reference_doctype, payment_term
``Customer.csv`` (optional)           name*, customer_group, territory, language, email_id,
                                      dunning_policy, dunning_collector
====================================  =========================================================

Cancelled documents (docstatus 2) and drafts (0) are skipped. A credit note (is_return = 1) is
applied against its ``return_against`` invoice, earliest due row first, on its posting date; a
payment reference with a ``payment_term`` goes to that term's row, otherwise earliest due first.
An invoice without schedule rows gets one row due on its posting date.
"""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from dunning_plus.cli.ledger import Customer, Invoice, Ledger, PaymentDoc, ScheduleRow
from dunning_plus.engine.errors import LedgerError, _
from dunning_plus.engine.money import ZERO
from dunning_plus.engine.promises import Payment

FILES = {
	"invoices": "Sales Invoice.csv",
	"schedule": "Payment Schedule.csv",
	"payments": "Payment Entry.csv",
	"references": "Payment Entry Reference.csv",
	"customers": "Customer.csv",
}
REQUIRED = {
	"invoices": ("name", "customer", "company", "posting_date", "grand_total"),
	"schedule": ("parent", "due_date", "payment_amount"),
	"payments": ("name", "party", "posting_date", "paid_amount"),
	"references": ("parent", "reference_name", "allocated_amount"),
	"customers": ("name",),
}


class _Reader:
	def __init__(self, folder: Path, key: str):
		self.path = folder / FILES[key]
		self.key = key

	def rows(self):
		try:
			with self.path.open(newline="", encoding="utf-8-sig") as fh:
				reader = csv.DictReader(fh)
				header = [h.strip() for h in reader.fieldnames or []]
				missing = [c for c in REQUIRED[self.key] if c not in header]
				if missing:
					raise LedgerError(_("{0} lacks the column(s): {1}."), self.path.name, ", ".join(missing))
				for line, raw in enumerate(reader, start=2):
					yield line, {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
		except UnicodeDecodeError:
			raise LedgerError(_("{0} is not UTF-8 text."), self.path.name)

	def date(self, line: int, row: dict, col: str) -> date:
		value = row.get(col, "")
		try:
			return date.fromisoformat(value[:10])
		except ValueError:
			raise LedgerError(
				_("{0} line {1}: {2} {3!r} is not a date (YYYY-MM-DD)."), self.path.name, line, col, value
			)

	def amount(self, line: int, row: dict, col: str) -> Decimal:
		value = row.get(col, "").replace(",", "")
		try:
			out = Decimal(value or "0")
			if not out.is_finite():
				raise InvalidOperation
			return out
		except InvalidOperation:
			raise LedgerError(_("{0} line {1}: {2} {3!r} is not a number."), self.path.name, line, col, value)


def load_csv_folder(folder: str | Path) -> Ledger:
	folder = Path(folder)
	if not folder.is_dir():
		raise LedgerError(_("Ledger folder {0} does not exist."), folder)
	for key in ("invoices", "schedule"):
		if not (folder / FILES[key]).is_file():
			raise LedgerError(_("Ledger folder {0} has no {1}."), folder, FILES[key])

	customers: dict[str, Customer] = {}
	if (folder / FILES["customers"]).is_file():
		rd = _Reader(folder, "customers")
		for _line, r in rd.rows():
			customers[r["name"]] = Customer(
				name=r["name"],
				customer_group=r.get("customer_group") or "All Customer Groups",
				territory=r.get("territory") or "All Territories",
				language=r.get("language") or "en",
				email=r.get("email_id") or None,
				collector=r.get("dunning_collector") or None,
				policy=r.get("dunning_policy") or None,
			)

	rd = _Reader(folder, "invoices")
	invoices: dict[str, Invoice] = {}
	returns: list[Invoice] = []
	company = currency = None
	for line, r in rd.rows():
		if r.get("docstatus", "1") not in ("1", ""):
			continue
		inv = Invoice(
			name=r["name"],
			customer=r["customer"],
			company=r["company"],
			posting_date=rd.date(line, r, "posting_date"),
			currency=r.get("currency") or "USD",
			grand_total=rd.amount(line, r, "grand_total"),
			is_return=r.get("is_return") in ("1", "true", "True"),
			return_against=r.get("return_against") or None,
			policy=r.get("dunning_policy") or None,
		)
		if inv.name in invoices:
			raise LedgerError(_("{0} line {1}: invoice {2} appears twice."), rd.path.name, line, inv.name)
		company, currency = company or inv.company, currency or inv.currency
		if inv.customer not in customers:
			customers[inv.customer] = Customer(
				inv.customer, customer_group=r.get("customer_group") or "All Customer Groups"
			)
		if inv.is_return:
			returns.append(inv)
		else:
			invoices[inv.name] = inv
	if not invoices:
		raise LedgerError(_("{0} holds no submitted invoice."), rd.path.name)

	lg = Ledger(company=company or "", currency=currency or "USD", customers=customers, invoices=invoices)
	rd = _Reader(folder, "schedule")
	for line, r in rd.rows():
		inv = invoices.get(r["parent"])
		if inv is None:
			continue  # a cancelled or return invoice's schedule
		idx = int(r.get("idx") or 0) or sum(1 for x in lg.rows.values() if x.invoice == inv.name) + 1
		row = ScheduleRow(
			id=f"{inv.name}/{idx}",
			invoice=inv.name,
			customer=inv.customer,
			company=inv.company,
			idx=idx,
			payment_term=r.get("payment_term") or "",
			due_date=rd.date(line, r, "due_date"),
			amount=rd.amount(line, r, "payment_amount"),
			currency=inv.currency,
			posting_date=inv.posting_date,
		)
		if row.id in lg.rows:
			raise LedgerError(
				_("{0} line {1}: row {2} of {3} appears twice."), rd.path.name, line, idx, inv.name
			)
		lg.rows[row.id] = row
	with_rows = {r.invoice for r in lg.rows.values()}
	for inv in invoices.values():
		if inv.name not in with_rows:
			lg.rows[f"{inv.name}/1"] = ScheduleRow(
				f"{inv.name}/1",
				inv.name,
				inv.customer,
				inv.company,
				1,
				"",
				inv.posting_date,
				inv.grand_total,
				inv.currency,
				inv.posting_date,
			)

	rows_of: dict[str, list[ScheduleRow]] = {}
	for r in sorted(lg.rows.values(), key=lambda r: (r.due_date, r.idx)):
		rows_of.setdefault(r.invoice, []).append(r)
	applied: dict[str, Decimal] = {}

	def apply(doc: str, invoice: str, day: date, amount: Decimal, term: str | None) -> None:
		targets = rows_of.get(invoice, [])
		if term:
			targets = [r for r in targets if r.payment_term == term] + [
				r for r in targets if r.payment_term != term
			]
		for r in targets:
			if amount <= 0:
				break
			room = r.amount - applied.get(r.id, ZERO)
			take = min(room, amount)
			if take > 0:
				lg.applied.append((doc, Payment(r.id, day, take)))
				applied[r.id] = applied.get(r.id, ZERO) + take
				amount -= take

	for ret in returns:
		lg.payments[ret.name] = PaymentDoc(
			ret.name, ret.customer, ret.posting_date, -ret.grand_total, ret.currency, "Credit Note"
		)
		if ret.return_against in invoices:
			apply(ret.name, ret.return_against, ret.posting_date, -ret.grand_total, None)

	if (folder / FILES["payments"]).is_file():
		rd = _Reader(folder, "payments")
		for line, r in rd.rows():
			if r.get("docstatus", "1") not in ("1", "") or r.get("payment_type", "Receive") not in (
				"Receive",
				"",
			):
				continue
			lg.payments[r["name"]] = PaymentDoc(
				r["name"],
				r["party"],
				rd.date(line, r, "posting_date"),
				rd.amount(line, r, "paid_amount"),
				r.get("paid_from_account_currency") or lg.currency,
			)
		if (folder / FILES["references"]).is_file():
			rd = _Reader(folder, "references")
			for line, r in rd.rows():
				pe = lg.payments.get(r["parent"])
				if pe is None or r.get("reference_doctype", "Sales Invoice") not in ("Sales Invoice", ""):
					continue
				apply(
					pe.name,
					r["reference_name"],
					pe.posting_date,
					rd.amount(line, r, "allocated_amount"),
					r.get("payment_term"),
				)
	lg.applied.sort(key=lambda a: (a[1].posting_date, a[0]))
	return lg
