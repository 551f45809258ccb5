"""The customer's open-items statement: every open instalment (in view of a step or not) and every
open credit, with the totals the case shows. Printed by the "Open Items Statement" print format of
Collection Case and attached to every message."""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import flt, getdate, nowdate

from dunning_plus import ledger
from dunning_plus.engine.money import ZERO

CREDIT_LABELS = {"credit_note": "Credit Note", "payment": "Payment", "journal_entry": "Journal Entry"}


def dunning_statement(company: str, customer: str, case: str | None = None, as_of=None) -> dict:
	"""Rows, credits and totals of the statement; the items of ``case`` give each row its level."""
	as_of = getdate(as_of or nowdate())
	instalments, credits, netting = ledger.read_position(company, [customer], with_taken=False)
	levels = {}
	if case:
		item = frappe.qb.DocType("Collection Case Item")
		levels = dict(
			frappe.qb.from_(item)
			.select(item.payment_schedule, item.level)
			.where((item.parent == case) & (item.parenttype == "Collection Case"))
			.run()
		)
	rows = [
		{
			"reference_doctype": "Sales Order" if i.track.value == "deposit" else "Sales Invoice",
			"reference_name": i.invoice,
			"payment_term": i.payment_term,
			"due_date": i.due_date,
			"days_overdue": max((as_of - i.due_date).days, 0),
			"amount": flt(i.amount or i.outstanding),
			"outstanding": flt(i.outstanding),
			"credit_applied": flt(i.credit),
			"due": flt(i.due),
			"level": levels.get(i.id) or 0,
			"currency": i.currency,
		}
		for i in instalments
		if i.track.value != "plan"
	]
	instalments = [i for i in instalments if i.track.value != "plan"]
	outstanding = sum((i.outstanding for i in instalments), ZERO)
	open_credit = sum((c.amount for c in credits), ZERO)
	return {
		"as_of": as_of,
		"rows": rows,
		"credits": [
			{
				"voucher": c.id,
				"kind": _(CREDIT_LABELS[c.kind.value]),
				"date": c.posting_date,
				"amount": flt(c.amount),
				"against": c.against,
				"unused": flt(netting.unused.get(c.id, ZERO)),
				"currency": c.currency,
			}
			for c in credits
		],
		"outstanding": flt(outstanding),
		"open_credit": flt(open_credit),
		"balance": flt(outstanding - open_credit),
		"overdue": flt(sum((max(i.due, ZERO) for i in instalments if i.due_date < as_of), ZERO)),
		"plans": _live_plans(company, customer),
	}


def _live_plans(company: str, customer: str) -> list[dict]:
	"""The customer's proposed and active payment plans with their instalments."""
	pp = frappe.qb.DocType("Payment Plan")
	row = frappe.qb.DocType("Payment Plan Instalment")
	rows = (
		frappe.qb.from_(pp)
		.join(row)
		.on((row.parent == pp.name) & (row.parenttype == "Payment Plan"))
		.select(
			pp.name,
			pp.status,
			pp.currency,
			row.due_date,
			row.amount,
			row.paid_amount,
			row.status.as_("row_status"),
		)
		.where(
			(pp.company == company)
			& (pp.customer == customer)
			& (pp.docstatus == 1)
			& pp.status.isin(["Proposed", "Active"])
		)
		.orderby(pp.name)
		.orderby(row.due_date)
		.run(as_dict=True)
	)
	plans: dict[str, dict] = {}
	for r in rows:
		plan = plans.setdefault(
			r.name, {"name": r.name, "status": _(r.status), "currency": r.currency, "instalments": []}
		)
		plan["instalments"].append(
			{
				"due_date": r.due_date,
				"amount": flt(r.amount),
				"paid": flt(r.paid_amount),
				"status": _(r.row_status),
			}
		)
	return list(plans.values())
