# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

"""Disputes opened in a period, open and closed, by reason (amount, age, time to resolve) or by
month and reason (root causes over time). Ages are the engine's dispute aging, as of the end of
the period (or today, if earlier)."""

from __future__ import annotations

from collections import defaultdict

import frappe
from frappe import _
from frappe.utils import add_months, getdate, nowdate

from dunning_plus import report_data
from dunning_plus.engine.kpis import dispute_aging
from dunning_plus.engine.money import ZERO
from dunning_plus.engine.promises import DisputeStatus

VIEWS = ("By Reason", "By Month")
STATUSES = {
	"": None,
	"Open": DisputeStatus.OPEN,
	"Resolved": DisputeStatus.RESOLVED,
	"Rejected": DisputeStatus.REJECTED,
}


def execute(filters=None):
	filters = frappe._dict(filters or {})
	company = report_data.require_company(filters)
	today = getdate(nowdate())
	end = getdate(filters.to_date or today)
	start = getdate(filters.from_date or add_months(end, -12))
	if end < start:
		frappe.throw(_("The period ends before it starts."), title=_("Invalid Filter"))
	view = report_data.check_choice(filters.view, VIEWS, "View")
	status = STATUSES[report_data.check_choice(filters.status or "", STATUSES, "Status")]
	as_of = min(end, today)
	currency = frappe.get_cached_value("Company", company, "default_currency")

	customers = report_data.customer_scope(filters)
	disputes = report_data.read_disputes(company, customers, opened_until=end, opened_from=start)
	if filters.get("reason"):
		disputes = [d for d in disputes if d.reason == filters.reason]
	if status:
		disputes = [d for d in disputes if d.status == status]

	groups: dict[tuple, list] = defaultdict(list)
	for d in disputes:
		key = (d.reason,) if view == "By Reason" else (f"{d.opened_on:%Y-%m}", d.reason)
		groups[key].append(d)
	data = []
	for key in sorted(groups, key=lambda k: (k[:-1], -sum(d.amount for d in groups[k]))):
		ds = groups[key]
		aging = dispute_aging(ds, as_of)
		closed = [d for d in ds if not d.open_on(as_of)]
		row = {
			"reason": _(key[-1]) if key[-1] == report_data.NOT_GIVEN else key[-1],
			"disputes": len(ds),
			"amount": float(sum((d.amount for d in ds), ZERO)),
			"open_count": aging.open_count,
			"open_amount": float(aging.open_amount),
			"average_open_days": _round(aging.average_open_days),
			"oldest_open_days": aging.oldest_open_days,
			"closed_count": aging.closed_count,
			"closed_amount": float(sum((d.amount for d in closed), ZERO)),
			"rejected_count": sum(1 for d in closed if d.status == DisputeStatus.REJECTED),
			"average_days_to_resolve": _round(aging.average_days_to_resolve),
			"currency": currency,
		}
		if view == "By Month":
			row["month"] = key[0]
		data.append(row)
	return (
		report_data.readable_links(_columns(view)),
		data,
		None,
		_chart(view, data),
		_summary(disputes, as_of, currency),
	)


def _round(value):
	return round(value, 1) if value is not None else None


def _chart(view, data):
	if view == "By Reason":
		return {
			"data": {
				"labels": [r["reason"] for r in data],
				"datasets": [
					{"name": _("Open Amount"), "values": [r["open_amount"] for r in data]},
					{"name": _("Closed Amount"), "values": [r["closed_amount"] for r in data]},
				],
			},
			"type": "bar",
			"fieldtype": "Currency",
			"barOptions": {"stacked": 1},
		}
	months = sorted({r["month"] for r in data})
	reasons = sorted({r["reason"] for r in data})
	count = {(r["month"], r["reason"]): r["disputes"] for r in data}
	return {
		"data": {
			"labels": months,
			"datasets": [
				{"name": reason, "values": [count.get((m, reason), 0) for m in months]} for reason in reasons
			],
		},
		"type": "bar",
		"barOptions": {"stacked": 1},
	}


def _summary(disputes, as_of, currency):
	aging = dispute_aging(disputes, as_of)
	return [
		{"value": aging.open_count, "label": _("Open Disputes"), "datatype": "Int", "indicator": "Orange"},
		{
			"value": float(aging.open_amount),
			"label": _("Open Amount"),
			"datatype": "Currency",
			"currency": currency,
		},
		{"value": _round(aging.average_open_days), "label": _("Average Open Days"), "datatype": "Float"},
		{
			"value": _round(aging.average_days_to_resolve),
			"label": _("Average Days to Resolve"),
			"datatype": "Float",
		},
	]


def _columns(view):
	money = {"fieldtype": "Currency", "options": "currency", "width": 120}
	lead = (
		[{"fieldname": "month", "label": _("Month Opened"), "fieldtype": "Data", "width": 110}]
		if view == "By Month"
		else []
	)
	return [
		*lead,
		{
			"fieldname": "reason",
			"label": _("Reason"),
			"fieldtype": "Link",
			"options": "Dispute Reason",
			"width": 160,
		},
		{"fieldname": "disputes", "label": _("Disputes"), "fieldtype": "Int", "width": 90},
		{"fieldname": "amount", "label": _("Amount"), **money},
		{"fieldname": "open_count", "label": _("Open"), "fieldtype": "Int", "width": 70},
		{"fieldname": "open_amount", "label": _("Open Amount"), **money},
		{
			"fieldname": "average_open_days",
			"label": _("Average Open Days"),
			"fieldtype": "Float",
			"precision": 1,
			"width": 100,
		},
		{"fieldname": "oldest_open_days", "label": _("Oldest Open (Days)"), "fieldtype": "Int", "width": 100},
		{"fieldname": "closed_count", "label": _("Closed"), "fieldtype": "Int", "width": 70},
		{"fieldname": "closed_amount", "label": _("Closed Amount"), **money},
		{"fieldname": "rejected_count", "label": _("Rejected"), "fieldtype": "Int", "width": 80},
		{
			"fieldname": "average_days_to_resolve",
			"label": _("Average Days to Resolve"),
			"fieldtype": "Float",
			"precision": 1,
			"width": 110,
		},
		{
			"fieldname": "currency",
			"label": _("Currency"),
			"fieldtype": "Link",
			"options": "Currency",
			"hidden": 1,
		},
	]
