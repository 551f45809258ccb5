# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

"""Expected vs actual collections per week or month, overall or by segment, collector, customer or
aging bucket.

Expected: what was still open, at the start of the window (From Date), of the schedule rows
falling due in each period; while a promise is pending, its date replaces the due date. Actual: cash
(Payment Entries, bank and cash journals) applied to those rows in the period; credit notes and
write-offs lower what is expected instead. Deposits expected on Sales Orders count like schedule
rows: expected when they fall due, collected when an advance is received against their order.

Payment plans: the rows an active or completed plan covers are expected on the plan's instalment
dates instead of their own; what they still owed at the window's start fills the plan instalments
(what was paid toward the plan before covers the earliest ones). A broken or cancelled plan gives
its rows back their own dates.

Periods are clipped to the filter dates (a week or month cut by From / To Date covers only the
days inside), and what is expected is measured once, at the window's start, so the totals of one
window are the same by week and by month (the engine's ``expected_vs_actual``).
"""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import add_months, get_first_day, getdate, nowdate

from dunning_plus import report_data
from dunning_plus.engine.aging import AgingBuckets
from dunning_plus.engine.forecast import ScheduleLine, expected_vs_actual, periods_between
from dunning_plus.engine.money import ZERO

PERIODICITY = {"Monthly": "month", "Weekly": "week"}
GROUPS = ("", "Customer", "Customer Group", "Territory", "Collector", "Aging Bucket")


def execute(filters=None):
	filters = frappe._dict(filters or {})
	company = report_data.require_company(filters)
	today = getdate(nowdate())
	start = getdate(filters.from_date or add_months(get_first_day(today), -2))
	end = getdate(filters.to_date or today)
	by = PERIODICITY[report_data.check_choice(filters.periodicity, PERIODICITY, "Periodicity")]
	group_by = report_data.check_choice(filters.group_by or "", GROUPS, "Group By")
	buckets = report_data.engine_call(AgingBuckets.parse, filters.range or "30, 60, 90, 120")
	periods = report_data.engine_call(periods_between, start, end, by)
	currency = frappe.get_cached_value("Company", company, "default_currency")

	customers = report_data.customer_scope(filters)
	# the periods are clipped to [start, end]: the window is read, not the whole first week or month
	rows, payments, adjusted, promises = report_data.read_collection_window(company, start, end, customers)
	deposit_rows, deposit_payments = report_data.read_deposit_window(company, start, end, customers)
	rows, payments = [*rows, *deposit_rows], [*payments, *deposit_payments]
	lines = [ScheduleLine(r.id, r.customer, r.due_date, r.amount - adjusted.get(r.id, ZERO)) for r in rows]
	group_of = _group_of(group_by, company, rows, buckets, min(end, today))
	plans = report_data.read_plan_schedules(company, customers)
	result = expected_vs_actual(lines, payments, periods, promises, group_of, plans)

	data = []
	for r in result:
		if group_by and not (r.expected or r.actual):
			continue
		data.append(
			{
				"period": r.period.label,
				"from_date": r.period.start,
				"to_date": r.period.end,
				"group": r.group,
				"expected": float(r.expected),
				"actual": float(r.actual),
				"variance": float(r.variance),
				"ratio": round(100 * r.ratio, 1) if r.ratio is not None else None,
				"currency": currency,
			}
		)
	per_period = {p.label: [ZERO, ZERO] for p in periods}
	for r in result:
		per_period[r.period.label][0] += r.expected
		per_period[r.period.label][1] += r.actual
	chart = {
		"data": {
			"labels": list(per_period),
			"datasets": [
				{"name": _("Expected"), "values": [float(v[0]) for v in per_period.values()]},
				{"name": _("Actual"), "values": [float(v[1]) for v in per_period.values()]},
			],
		},
		"type": "bar",
		"fieldtype": "Currency",
		"colors": ["#7cd6fd", "#5e64ff"],
	}
	expected = sum((v[0] for v in per_period.values()), ZERO)
	actual = sum((v[1] for v in per_period.values()), ZERO)
	money = {"datatype": "Currency", "currency": currency}
	summary = [
		{"value": float(expected), "label": _("Expected"), **money},
		{"value": float(actual), "label": _("Actual"), **money},
		{
			"value": float(actual - expected),
			"label": _("Variance"),
			"indicator": "Green" if actual >= expected else "Red",
			**money,
		},
		{
			"value": round(100 * float(actual / expected), 1) if expected else None,
			"label": _("Collected of Expected %"),
			"datatype": "Percent",
		},
	]
	return report_data.readable_links(_columns(group_by)), data, None, chart, summary


def _group_of(group_by, company, rows, buckets, as_of):
	if not group_by:
		return None
	if group_by == "Aging Bucket":
		labels = buckets.labels()
		due = {r.id: r.due_date for r in rows}
		return lambda row_id: _(labels[buckets.index((as_of - due[row_id]).days)])
	customer_of = {r.id: r.customer for r in rows}
	if group_by == "Customer":
		return lambda row_id: customer_of[row_id]
	info = report_data.read_customer_info(company, set(customer_of.values()))
	attr = {"Customer Group": "customer_group", "Territory": "territory", "Collector": "collector"}[group_by]

	def group(row_id):
		ci = info.get(customer_of[row_id])
		return (getattr(ci, attr) if ci else None) or report_data.NOT_ASSIGNED

	return group


def _columns(group_by):
	money = {"fieldtype": "Currency", "options": "currency", "width": 130}
	columns = [
		{"fieldname": "period", "label": _("Period"), "fieldtype": "Data", "width": 100},
		{"fieldname": "from_date", "label": _("From"), "fieldtype": "Date", "width": 100},
		{"fieldname": "to_date", "label": _("To"), "fieldtype": "Date", "width": 100},
	]
	if group_by:
		group_col = {"fieldname": "group", "label": _(group_by), "fieldtype": "Data", "width": 170}
		if group_by in ("Customer", "Customer Group", "Territory"):
			group_col.update(fieldtype="Link", options=group_by)
		columns.append(group_col)
	columns += [
		{"fieldname": "expected", "label": _("Expected"), **money},
		{"fieldname": "actual", "label": _("Actual"), **money},
		{"fieldname": "variance", "label": _("Variance"), **money},
		{"fieldname": "ratio", "label": _("Actual / Expected %"), "fieldtype": "Percent", "width": 110},
		{
			"fieldname": "currency",
			"label": _("Currency"),
			"fieldtype": "Link",
			"options": "Currency",
			"hidden": 1,
		},
	]
	return columns
