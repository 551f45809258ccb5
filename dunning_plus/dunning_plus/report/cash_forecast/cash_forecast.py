# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

"""A 13-week projection of receipts from the open schedule rows: each row is expected on its
pending promise's date, else on its due date plus its customer's own average days late over the
past year (customers without history take the average of those with one). Deposits expected on
Sales Orders are not included yet."""

from __future__ import annotations

from datetime import timedelta

import frappe
from frappe import _
from frappe.utils import cint, getdate, nowdate

from dunning_plus import ledger, report_data
from dunning_plus.engine.forecast import OpenItem, project_cash
from dunning_plus.engine.money import ZERO

HISTORY_DAYS = 365


def execute(filters=None):
	filters = frappe._dict(filters or {})
	company = report_data.require_company(filters)
	as_of = getdate(filters.as_of or nowdate())
	weeks = cint(filters.weeks) or 13
	if not 1 <= weeks <= 104:
		frappe.throw(_("Project between 1 and 104 weeks."), title=_("Invalid Filter"))
	currency = frappe.get_cached_value("Company", company, "default_currency")

	customers = report_data.customer_scope(filters, open_only=True)
	items, _invoices = report_data.read_open_items(company, as_of, customers)
	open_items = [OpenItem(i.id, i.customer, i.due_date, i.outstanding) for i in items if i.outstanding > 0]
	in_view = sorted({i.customer for i in open_items})
	days_late = ledger.read_days_late(in_view, as_of - timedelta(days=HISTORY_DAYS))
	promises = report_data.read_promises(company, in_view, statuses=("Pending",))
	weeks_out = report_data.engine_call(project_cash, open_items, as_of, days_late, promises, weeks)

	data = []
	running = ZERO
	for w in weeks_out:
		running += w.amount
		data.append(
			{
				"week": _("Week {0}").format(w.week) if w.end else _("Later"),
				"from_date": w.start,
				"to_date": w.end,
				"amount": float(w.amount),
				"items": w.items,
				"cumulative": float(running),
				"currency": currency,
			}
		)
	chart = {
		"data": {
			"labels": [d["week"] for d in data[:-1]],
			"datasets": [{"name": _("Expected Receipts"), "values": [d["amount"] for d in data[:-1]]}],
		},
		"type": "bar",
		"fieldtype": "Currency",
	}
	total = sum((w.amount for w in weeks_out[:-1]), ZERO)
	history = [d for c, d in days_late.items() if c in set(in_view)]
	summary = [
		{
			"value": float(total),
			"label": _("Expected in {0} Weeks").format(weeks),
			"datatype": "Currency",
			"currency": currency,
		},
		{
			"value": float(weeks_out[-1].amount),
			"label": _("Later"),
			"datatype": "Currency",
			"currency": currency,
		},
		{
			"value": round(sum(history) / len(history), 1) if history else 0,
			"label": _("Average Days Late"),
			"datatype": "Float",
		},
		{"value": len(history), "label": _("Customers with Payment History"), "datatype": "Int"},
	]
	return report_data.readable_links(_columns()), data, None, chart, summary


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
