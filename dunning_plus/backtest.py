"""Backtest of a Dunning Policy on the site's own history: what it would have sent over the last N
months, replayed day by day by the engine (``engine.backtest``, the same entry point as
``dunning-plus simulate``).

The history is read set-based, a handful of queries whatever the number of invoices: the submitted
Sales Invoices of the company posted in the window, their Payment Schedule rows, and every payment
with its real date (Payment Entry references, credit notes against the invoices, Journal Entry
lines against them). A payment against an invoice lands on the row of its payment term when it
names one, else on the earliest due row, as the CSV import of the runner does.

The policy under test applies to every invoice of the company (as if it were the only policy: the
overrides on invoices, customers and groups, and today's dunning blocks, are not history), and it is
replayed even while disabled. The backtest writes nothing to the database; the result of a
background run is kept in the cache for an hour for the user who started it."""

from __future__ import annotations

import dataclasses
from datetime import date

import frappe
from frappe import _
from frappe.utils import add_days, add_months, cint, getdate, today
from frappe.utils.background_jobs import is_job_enqueued

from dunning_plus.engine.backtest import History, HistoryRow, allocate, backtest
from dunning_plus.engine.cadence import PolicyBook
from dunning_plus.engine.errors import EngineError
from dunning_plus.engine.money import to_money
from dunning_plus.engine.promises import Payment
from dunning_plus.ledger import read_customers
from dunning_plus.policies import throw_engine_error, to_engine

DEFAULT_MONTHS = 6
RESULT_TTL = 3600


def window(months: int | None = None, as_of=None) -> tuple[date, date]:
	"""The last ``months`` months up to ``as_of`` (default today), both days included."""
	months = cint(months) or DEFAULT_MONTHS
	if months < 1 or months > 60:
		frappe.throw(_("Months must be between 1 and 60."), title=_("Invalid Input"))
	end = getdate(as_of or today())
	return getdate(add_months(add_days(end, 1), -months)), end


def read_history(company: str, start: date, end: date) -> History:
	"""Invoices of ``company`` posted from ``start`` to ``end``, their schedule rows and payments."""
	si = frappe.qb.DocType("Sales Invoice")
	ps = frappe.qb.DocType("Payment Schedule")
	in_window = (
		(si.company == company)
		& (si.docstatus == 1)
		& (si.is_return == 0)
		& (si.posting_date >= start)
		& (si.posting_date <= end)
	)
	invoices = {
		r.name: r
		for r in frappe.qb.from_(si)
		.select(si.name, si.customer, si.posting_date, si.due_date, si.currency, si.grand_total)
		.where(in_window)
		.run(as_dict=True)
	}
	schedule = (
		frappe.qb.from_(ps)
		.join(si)
		.on((si.name == ps.parent) & (ps.parenttype == "Sales Invoice"))
		.select(ps.parent, ps.idx, ps.payment_term, ps.due_date, ps.payment_amount)
		.where(in_window)
		.orderby(ps.parent)
		.orderby(ps.idx)
		.run(as_dict=True)
	)
	rows: dict[str, list[HistoryRow]] = {}
	for r in schedule:
		inv = invoices[r.parent]
		rows.setdefault(r.parent, []).append(
			_row(company, inv, r.idx, r.payment_term or "", getdate(r.due_date), r.payment_amount)
		)
	for name, inv in invoices.items():
		if name not in rows:
			rows[name] = [
				_row(company, inv, 1, "", getdate(inv.due_date or inv.posting_date), inv.grand_total)
			]

	# (day, kind order, document, invoice, amount, payment term): applied in date order
	money = []
	ret = frappe.qb.DocType("Sales Invoice").as_("ret")
	for r in (
		frappe.qb.from_(ret)
		.join(si)
		.on(si.name == ret.return_against)
		.select(ret.name, ret.return_against, ret.posting_date, ret.grand_total)
		.where(in_window & (ret.docstatus == 1) & (ret.is_return == 1))
		.run(as_dict=True)
	):
		money.append((getdate(r.posting_date), 0, r.name, r.return_against, -to_money(r.grand_total), None))
	pe = frappe.qb.DocType("Payment Entry")
	per = frappe.qb.DocType("Payment Entry Reference")
	for r in (
		frappe.qb.from_(per)
		.join(pe)
		.on(pe.name == per.parent)
		.join(si)
		.on(si.name == per.reference_name)
		.select(pe.name, pe.posting_date, per.reference_name, per.allocated_amount, per.payment_term)
		.where(
			in_window
			& (pe.docstatus == 1)
			& (pe.payment_type == "Receive")
			& (per.reference_doctype == "Sales Invoice")
			& (per.parenttype == "Payment Entry")
		)
		.run(as_dict=True)
	):
		money.append(
			(
				getdate(r.posting_date),
				1,
				r.name,
				r.reference_name,
				to_money(r.allocated_amount),
				r.payment_term,
			)
		)
	je = frappe.qb.DocType("Journal Entry")
	jea = frappe.qb.DocType("Journal Entry Account")
	for r in (
		frappe.qb.from_(jea)
		.join(je)
		.on(je.name == jea.parent)
		.join(si)
		.on(si.name == jea.reference_name)
		.select(
			je.name,
			je.posting_date,
			jea.reference_name,
			(jea.credit_in_account_currency - jea.debit_in_account_currency).as_("amount"),
		)
		.where(in_window & (je.docstatus == 1) & (jea.reference_type == "Sales Invoice"))
		.run(as_dict=True)
	):
		if r.amount and r.amount > 0:
			money.append((getdate(r.posting_date), 1, r.name, r.reference_name, to_money(r.amount), None))

	# Credit notes first (the runner's CSV import applies them before payments), then by date.
	money.sort(key=lambda m: (m[1], m[0], m[2]))
	applied: dict = {}
	payments = []
	for day, _kind, _doc, invoice, amount, term in money:
		for row_id, take in allocate(rows.get(invoice, []), amount, term, applied):
			payments.append(Payment(row_id, day, take))
	payments.sort(key=lambda p: (p.posting_date, p.instalment))

	customers = {
		name: dataclasses.replace(profile, policy=None, block=None)
		for name, profile in read_customers({inv.customer for inv in invoices.values()}).items()
	}
	return History(rows=[r for rs in rows.values() for r in rs], payments=payments, customers=customers)


def _row(company: str, inv, idx: int, term: str, due: date, amount) -> HistoryRow:
	return HistoryRow(
		id=f"{inv.name}/{idx}",
		invoice=inv.name,
		customer=inv.customer,
		company=company,
		due_date=due,
		amount=to_money(amount),
		posting_date=getdate(inv.posting_date),
		currency=inv.currency,
		payment_term=term,
	)


def policy_book(policy: str, company: str) -> PolicyBook:
	"""The policy alone, enabled, as the company's default."""
	doc = frappe.get_doc("Dunning Policy", policy)
	try:
		engine_policy = dataclasses.replace(to_engine(doc), enabled=True)
	except EngineError as e:
		throw_engine_error(e, _("The policy is not valid"))
	return PolicyBook({engine_policy.name: engine_policy}, {company: engine_policy.name})


def default_company(policy: str, company: str | None = None) -> str:
	company = (
		company
		or frappe.db.get_value("Dunning Policy", policy, "company")
		or frappe.defaults.get_user_default("Company")
		or frappe.db.get_single_value("Global Defaults", "default_company")
	)
	if not company:
		frappe.throw(_("Choose a company for the backtest."), title=_("Invalid Input"))
	return company


def run_backtest(
	policy: str,
	compare_policy: str | None = None,
	months: int | None = None,
	company: str | None = None,
	as_of=None,
	progress=None,
) -> dict:
	"""Both policies over the same history: ``{"policy": figures, "compare": figures or None}``."""
	if not frappe.db.exists("Dunning Policy", policy):
		frappe.throw(_("Dunning Policy {0} does not exist.").format(policy), title=_("Invalid Input"))
	if compare_policy and not frappe.db.exists("Dunning Policy", compare_policy):
		frappe.throw(_("Dunning Policy {0} does not exist.").format(compare_policy), title=_("Invalid Input"))
	company = default_company(policy, company)
	start, end = window(months, as_of)
	history = read_history(company, start, end)
	names = [p for p in (policy, compare_policy) if p]
	days = (end - start).days + 1
	out = {"company": company, "from": str(start), "to": str(end), "policy": None, "compare": None}
	for i, name in enumerate(names):
		book = policy_book(name, company)
		tick = None
		if progress:

			def tick(n, i=i):
				progress(i * days + n, len(names) * days)

		figures = backtest(history, book, start, end, progress=tick, policy=next(iter(book.policies)))
		figures["name"] = name
		out["policy" if i == 0 else "compare"] = figures
	return out


# -- the form's Backtest button: a background job, its progress on the form, the result in the cache --


def _job_id(policy: str) -> str:
	return f"dunning_policy_backtest::{policy}::{frappe.session.user}"


@frappe.whitelist()
def start_backtest(policy: str, compare_policy: str | None = None, months: int | None = None) -> dict:
	frappe.has_permission("Dunning Policy", "read", doc=policy, throw=True)
	window(months)  # refuse a bad number before queueing
	job_id = _job_id(policy)
	if not frappe.flags.in_test and is_job_enqueued(job_id):  # tests run the job inline
		frappe.throw(_("A backtest of {0} is already running.").format(policy), title=_("Backtest"))
	key = f"dunning_plus:backtest:{frappe.generate_hash(length=12)}"
	frappe.enqueue(
		"dunning_plus.backtest.backtest_job",
		queue="long",
		timeout=1800,
		job_id=job_id,
		now=frappe.flags.in_test,
		policy=policy,
		compare_policy=compare_policy or None,
		months=cint(months) or DEFAULT_MONTHS,
		key=key,
		user=frappe.session.user,
	)
	return {"key": key}


def backtest_job(policy: str, compare_policy: str | None, months: int, key: str, user: str) -> None:
	last = [-1]

	def progress(done, total):
		percent = int(done * 100 / total)
		if percent != last[0] and (percent % 5 == 0 or done == total):
			last[0] = percent
			frappe.publish_progress(
				percent,
				title=_("Backtest"),
				doctype="Dunning Policy",
				docname=policy,
				description=_("Replaying day {0} of {1}").format(done, total),
			)

	try:
		from dunning_plus.dunning_plus.report.dunning_policy_backtest.dunning_policy_backtest import (
			chart,
			figures_table,
		)

		result = run_backtest(policy, compare_policy, months, progress=progress)
		result["html"] = figures_table(result)
		result["chart"] = chart(result["policy"], result["compare"])
		frappe.cache.set_value(key, {"user": user, "result": result}, expires_in_sec=RESULT_TTL)
		frappe.publish_realtime("dunning_plus_backtest", {"key": key, "policy": policy}, user=user)
	except Exception as e:
		message = str(e) if isinstance(e, frappe.ValidationError) else _("The backtest failed.")
		frappe.cache.set_value(key, {"user": user, "error": message}, expires_in_sec=RESULT_TTL)
		frappe.publish_realtime(
			"dunning_plus_backtest", {"key": key, "policy": policy, "error": message}, user=user
		)
		if not isinstance(e, frappe.ValidationError):
			frappe.log_error(title=_("Backtest of {0} failed").format(policy))
		if frappe.flags.in_test:
			raise


@frappe.whitelist()
def get_backtest_result(key: str) -> dict | None:
	"""The result of the caller's own background backtest (None while it runs)."""
	if not key.startswith("dunning_plus:backtest:"):
		frappe.throw(_("Not a backtest."), title=_("Invalid Input"))
	entry = frappe.cache.get_value(key)
	if not entry:
		return None
	if entry.get("user") != frappe.session.user:
		frappe.throw(_("Not permitted"), frappe.PermissionError)
	if entry.get("error"):
		frappe.throw(entry["error"], title=_("Backtest"))
	return entry["result"]
