# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

"""Outstanding per instalment, aged by due date or posting date as of any date, in configurable
buckets, grouped by customer, segment, collector or dunning level, or listed per instalment."""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import getdate, nowdate

from dunning_plus import report_data
from dunning_plus.engine.aging import AgingBasis, AgingBuckets, age
from dunning_plus.engine.money import ZERO

GROUPS = ("Customer", "Customer Group", "Territory", "Collector", "Dunning Level", "Instalment")
BASES = {"Due Date": AgingBasis.DUE_DATE, "Posting Date": AgingBasis.POSTING_DATE}


def execute(filters=None):
	filters = frappe._dict(filters or {})
	company = report_data.require_company(filters)
	as_of = getdate(filters.report_date or nowdate())
	basis = BASES[report_data.check_choice(filters.ageing_based_on, BASES, "Ageing Based On")]
	buckets = report_data.engine_call(AgingBuckets.parse, filters.range or "30, 60, 90, 120")
	group_by = report_data.check_choice(filters.group_by, GROUPS, "Group By")
	currency = frappe.get_cached_value("Company", company, "default_currency")

	customers = report_data.customer_scope(filters, open_only=True)
	items, invoices, terms = report_data.read_open_items(company, as_of, customers)
	if filters.get("dunning_level") not in (None, ""):
		level = int(filters.dunning_level)
		items = [i for i in items if invoices[i.group].level == level]
	info = report_data.read_customer_info(company, {i.customer for i in items})

	report = age(items, as_of, buckets, basis, key=_key(group_by, invoices, info))
	labels = [_(label) for label in report.labels]
	columns = _columns(group_by, labels, currency)
	by_id = {i.id: i for i in items} if group_by == "Instalment" else {}
	data = [
		_row(group_by, row, report.labels, as_of, basis, invoices, info, terms, by_id, currency)
		for row in _ordered(group_by, report.rows, by_id)
	]
	chart = {
		"data": {
			"labels": labels,
			"datasets": [{"name": _("Outstanding"), "values": [float(v) for v in report.totals]}],
		},
		"type": "bar",
		"fieldtype": "Currency",
		"colors": ["#ff5858"],
	}
	overdue = sum(report.totals[1:], ZERO) if basis == AgingBasis.DUE_DATE else None
	summary = [
		{
			"value": float(report.total),
			"label": _("Total Outstanding"),
			"datatype": "Currency",
			"currency": currency,
		},
		{"value": len(items), "label": _("Open Instalments"), "datatype": "Int"},
	]
	if overdue is not None:
		summary[1:1] = [
			{
				"value": float(overdue),
				"label": _("Overdue"),
				"datatype": "Currency",
				"currency": currency,
				"indicator": "Red" if overdue else "Green",
			},
			{
				"value": float(report.totals[0]),
				"label": _("Not Due"),
				"datatype": "Currency",
				"currency": currency,
			},
		]
	return columns, data, None, chart, summary


def _key(group_by, invoices, info):
	def customer_attr(attr):
		def key(item):
			ci = info.get(item.customer)
			return (getattr(ci, attr) if ci else None) or report_data.NOT_ASSIGNED

		return key

	return {
		"Customer": lambda i: i.customer,
		"Customer Group": customer_attr("customer_group"),
		"Territory": customer_attr("territory"),
		"Collector": customer_attr("collector"),
		"Dunning Level": lambda i: str(invoices[i.group].level),
		"Instalment": lambda i: i.id,
	}[group_by]


def _ordered(group_by, rows, by_id):
	if group_by == "Dunning Level":
		return sorted(rows, key=lambda r: int(r.key))
	if group_by == "Instalment":
		return sorted(rows, key=lambda r: (by_id[r.key].customer, by_id[r.key].due_date, by_id[r.key].group))
	return sorted(rows, key=lambda r: -r.total)


def _columns(group_by, labels, currency):
	link = {"fieldtype": "Link", "width": 160}
	lead = {
		"Customer": [
			{**link, "fieldname": "customer", "label": _("Customer"), "options": "Customer"},
			{"fieldname": "customer_name", "label": _("Customer Name"), "fieldtype": "Data", "width": 160},
			{
				**link,
				"fieldname": "collection_case",
				"label": _("Collection Case"),
				"options": "Collection Case",
			},
			{"fieldname": "collector", "label": _("Collector"), "fieldtype": "Data", "width": 140},
			{
				**link,
				"fieldname": "customer_group",
				"label": _("Customer Group"),
				"options": "Customer Group",
			},
		],
		"Customer Group": [
			{**link, "fieldname": "customer_group", "label": _("Customer Group"), "options": "Customer Group"}
		],
		"Territory": [{**link, "fieldname": "territory", "label": _("Territory"), "options": "Territory"}],
		"Collector": [{"fieldname": "collector", "label": _("Collector"), "fieldtype": "Data", "width": 180}],
		"Dunning Level": [
			{"fieldname": "dunning_level", "label": _("Dunning Level"), "fieldtype": "Data", "width": 110}
		],
		"Instalment": [
			{**link, "fieldname": "sales_invoice", "label": _("Sales Invoice"), "options": "Sales Invoice"},
			{**link, "fieldname": "payment_term", "label": _("Payment Term"), "options": "Payment Term"},
			{**link, "fieldname": "customer", "label": _("Customer"), "options": "Customer"},
			{"fieldname": "posting_date", "label": _("Posting Date"), "fieldtype": "Date", "width": 100},
			{"fieldname": "due_date", "label": _("Due Date"), "fieldtype": "Date", "width": 100},
			{"fieldname": "age", "label": _("Age (Days)"), "fieldtype": "Int", "width": 80},
			{
				**link,
				"fieldname": "collection_case",
				"label": _("Collection Case"),
				"options": "Collection Case",
			},
			{"fieldname": "dunning_level", "label": _("Dunning Level"), "fieldtype": "Data", "width": 90},
		],
	}[group_by]
	money = {"fieldtype": "Currency", "options": "currency", "width": 120}
	buckets = [{**money, "fieldname": f"range{i}", "label": label} for i, label in enumerate(labels, 1)]
	tail = [{**money, "fieldname": "outstanding", "label": _("Total Outstanding"), "width": 140}]
	if group_by != "Instalment":
		tail.append({"fieldname": "instalments", "label": _("Instalments"), "fieldtype": "Int", "width": 90})
	currency_col = {
		"fieldname": "currency",
		"label": _("Currency"),
		"fieldtype": "Link",
		"options": "Currency",
		"hidden": 1,
	}
	return [*lead, *buckets, *tail, currency_col]


def _row(group_by, row, labels, as_of, basis, invoices, info, terms, by_id, currency):
	out = {f"range{i}": float(v) for i, v in enumerate(row.buckets, 1)}
	out.update(outstanding=float(row.total), currency=currency)
	if group_by == "Instalment":
		item = by_id[row.key]
		inv = invoices[item.group]
		out.update(
			sales_invoice=item.group,
			payment_term=terms.get(item.id),
			customer=item.customer,
			posting_date=item.posting_date,
			due_date=item.due_date,
			age=(as_of - (item.due_date if basis == AgingBasis.DUE_DATE else item.posting_date)).days,
			collection_case=inv.case or (info[item.customer].case if item.customer in info else None),
			dunning_level=str(inv.level),
		)
		return out
	out["instalments"] = row.items
	if group_by == "Customer":
		ci = info.get(row.key)
		out.update(
			customer=row.key,
			customer_name=ci.customer_name if ci else row.key,
			collection_case=ci.case if ci else None,
			collector=ci.collector if ci else None,
			customer_group=ci.customer_group if ci else None,
		)
	elif group_by == "Collector":
		out["collector"] = _(row.key) if row.key == report_data.NOT_ASSIGNED else row.key
	elif group_by == "Customer Group":
		out["customer_group"] = row.key
	elif group_by == "Territory":
		out["territory"] = row.key
	elif group_by == "Dunning Level":
		out["dunning_level"] = row.key
	return out
