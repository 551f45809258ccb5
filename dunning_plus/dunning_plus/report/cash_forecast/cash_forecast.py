# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

"""A projection of receipts from the open schedule rows, by week for the horizon, then "Later",
"At Risk" and "Disputed"; the rows add up to the open receivables. The rule is the engine's
(``dunning_plus.engine.forecast``, the same as ``dunning-plus forecast``):

- Disputed: the part of a row under open dispute, not expected until the dispute is resolved.
- At Risk: a row whose promise to pay was broken (and that has no new pending promise), or that is
  more than "At Risk After" days past due and past the date its customer usually pays.
- A week: a pending promise's date when still ahead; else the customer's usual date (due date plus
  the customer's own average days late over the past year; customers without history take the
  average of those with one) when still ahead. Past the horizon: "Later".
- Past the customer's usual date but not yet at risk: expected in week 1 with a probability going
  from 100 % on the usual date down to 0 % on the day the row turns at risk; the rest is At Risk.

- Payment plans: the rows an active plan covers are expected on the plan's instalment dates (what
  was paid toward the plan covers its earliest instalments; an instalment past its date, still in
  its grace, in week 1); the rows of a broken plan are At Risk, like a broken promise's.

Deposits expected on Sales Orders are not included."""

from __future__ import annotations

from datetime import timedelta

import frappe
from frappe import _
from frappe.utils import cint, getdate, nowdate

from dunning_plus import ledger, report_data
from dunning_plus.engine.forecast import AT_RISK_DAYS, Bucket, OpenItem, project_cash
from dunning_plus.engine.money import ZERO

HISTORY_DAYS = 365


def execute(filters=None):
	filters = frappe._dict(filters or {})
	company = report_data.require_company(filters)
	as_of = getdate(filters.as_of or nowdate())
	weeks = cint(filters.weeks) or 13
	if not 1 <= weeks <= 104:
		frappe.throw(_("Project between 1 and 104 weeks."), title=_("Invalid Filter"))
	at_risk_days = AT_RISK_DAYS if filters.get("at_risk_days") in (None, "") else cint(filters.at_risk_days)
	currency = frappe.get_cached_value("Company", company, "default_currency")

	customers = report_data.customer_scope(filters, open_only=True)
	items, _invoices = report_data.read_open_items(company, as_of, customers)
	open_items = [OpenItem(i.id, i.customer, i.due_date, i.outstanding) for i in items if i.outstanding > 0]
	in_view = sorted({i.customer for i in open_items})
	days_late = ledger.read_days_late(in_view, as_of - timedelta(days=HISTORY_DAYS))
	promises = report_data.read_promises(company, in_view, statuses=("Pending", "Broken"))
	# the disputes of the customers in view (open on ``as_of``, whoever owns them)
	disputes = ledger.read_disputes(
		company, in_view, statuses=tuple(ledger.DISPUTE_STATUS), opened_until=as_of
	)
	plans = report_data.read_plan_schedules(company, in_view, statuses=("Active", "Broken"))
	weeks_out = report_data.engine_call(
		project_cash,
		open_items,
		as_of,
		days_late,
		promises,
		weeks,
		disputes=disputes,
		at_risk_days=at_risk_days,
		plans=plans,
	)

	labels = {Bucket.LATER: _("Later"), Bucket.AT_RISK: _("At Risk"), Bucket.DISPUTED: _("Disputed")}
	data = []
	running = ZERO
	for w in weeks_out:
		running += w.amount
		data.append(
			{
				"week": _("Week {0}").format(w.week) if w.bucket == Bucket.WEEK else labels[w.bucket],
				"bucket": w.bucket.value,
				"from_date": w.start,
				"to_date": w.end,
				"amount": float(w.amount),
				"items": w.items,
				"cumulative": float(running),
				"currency": currency,
			}
		)
	in_weeks = [d for d, w in zip(data, weeks_out, strict=True) if w.bucket == Bucket.WEEK]
	chart = {
		"data": {
			"labels": [d["week"] for d in in_weeks],
			"datasets": [{"name": _("Expected Receipts"), "values": [d["amount"] for d in in_weeks]}],
		},
		"type": "bar",
		"fieldtype": "Currency",
		"colors": ["#5e64ff"],
	}
	total = sum((w.amount for w in weeks_out if w.bucket == Bucket.WEEK), ZERO)
	amount_in = {w.bucket: w.amount for w in weeks_out if w.bucket != Bucket.WEEK}
	history = [d for c, d in days_late.items() if c in set(in_view)]
	money = {"datatype": "Currency", "currency": currency}
	summary = [
		{"value": float(total), "label": _("Expected in {0} Weeks").format(weeks), **money},
		{"value": float(amount_in[Bucket.LATER]), "label": _("Later"), **money},
		{
			"value": float(amount_in[Bucket.AT_RISK]),
			"label": _("At Risk"),
			"indicator": "Red" if amount_in[Bucket.AT_RISK] else "Green",
			**money,
		},
		{
			"value": float(amount_in[Bucket.DISPUTED]),
			"label": _("Disputed"),
			"indicator": "Orange" if amount_in[Bucket.DISPUTED] else "Green",
			**money,
		},
		report_data.summary_figure(sum(history) / len(history) if history else 0, _("Average Days Late")),
		{"value": len(history), "label": _("Customers with Payment History"), "datatype": "Int"},
	]
	message = _(
		"Disputed amounts wait for their dispute. At Risk: a broken promise, or more than {0} days past "
		"due and past the customer's usual payment date. Otherwise a row is expected on its pending "
		"promise's date or its customer's usual date (due date + their average days late); once past "
		"that date, in week 1 with a probability falling to 0 % at {0} days, the rest at risk. Rows in an "
		"active payment plan are expected on the plan's dates; a broken plan's rows are at risk."
	).format(at_risk_days)
	return report_data.readable_links(_columns()), data, message, chart, summary


def _columns():
	money = {"fieldtype": "Currency", "options": "currency", "width": 150}
	return [
		{"fieldname": "week", "label": _("Week"), "fieldtype": "Data", "width": 100},
		{"fieldname": "from_date", "label": _("From"), "fieldtype": "Date", "width": 110},
		{"fieldname": "to_date", "label": _("To"), "fieldtype": "Date", "width": 110},
		{"fieldname": "amount", "label": _("Expected Receipts"), **money},
		{"fieldname": "items", "label": _("Instalments"), "fieldtype": "Int", "width": 100},
		{"fieldname": "cumulative", "label": _("Cumulative"), **money},
		{
			"fieldname": "currency",
			"label": _("Currency"),
			"fieldtype": "Link",
			"options": "Currency",
			"hidden": 1,
		},
	]
