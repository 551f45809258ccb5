# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

"""Open collection cases ranked by the engine's risk x value score, with the drivers of the score,
the next action and its date, the SLA state, pending promises and open disputes."""

from __future__ import annotations

from datetime import timedelta

import frappe
from frappe import _
from frappe.utils import add_to_date, get_datetime, getdate, now_datetime, nowdate

from dunning_plus import ledger, report_data
from dunning_plus.engine.money import ZERO
from dunning_plus.engine.score import Behaviour, score_customer
from dunning_plus.permissions import is_restricted

SLA_SOON_HOURS = 24


def execute(filters=None):
	filters = frappe._dict(filters or {})
	company = report_data.require_company(filters)
	as_of = getdate(nowdate())
	currency = frappe.get_cached_value("Company", company, "default_currency")
	cases = _open_cases(company, filters)
	customers = sorted({c.customer for c in cases})

	# the score's inputs, as the case recompute reads them: every open instalment, a year of payments
	# one cut, today: whether each row is overdue is all the score needs
	items, _invoices = report_data.read_open_items(company, as_of, customers, cut_dates=[as_of])
	balance: dict[str, object] = {}
	overdue: dict[str, object] = {}
	for i in items:
		if i.outstanding > 0:
			balance[i.customer] = balance.get(i.customer, ZERO) + i.outstanding
			if i.due_date < as_of:
				overdue[i.customer] = overdue.get(i.customer, ZERO) + i.outstanding
	days_late = ledger.read_days_late(customers, as_of - timedelta(days=365))
	facts = report_data.read_customer_facts(company, customers)
	info = report_data.read_customer_info(company, customers)
	largest = max([report_data.largest_open_case(company), *balance.values()], default=ZERO)

	now = now_datetime()
	rows = []
	for case in cases:
		f = facts[case.customer]
		ci = info.get(case.customer)
		score = score_customer(
			Behaviour(
				customer=case.customer,
				balance=balance.get(case.customer, ZERO),
				overdue=overdue.get(case.customer, ZERO),
				avg_days_late=days_late.get(case.customer, 0.0),
				promises_made=f.kept_or_broken,
				promises_broken=f.broken,
				open_disputes=f.open_disputes,
				tenure_days=(as_of - ci.creation).days if ci and ci.creation else 0,
			),
			largest,
		)
		drivers = {d.name: d for d in score.drivers}
		rows.append(
			{
				"collection_case": case.name,
				"customer": case.customer,
				"customer_name": case.customer_name,
				"status": case.status,
				"current_level": case.current_level,
				"collector": case.collector,
				"score": score.score,
				"risk": score.risk,
				"value": score.value,
				"why": score.explain(),
				"days_late": round(drivers["days_late"].raw, 1),
				"broken_promises": round(100 * drivers["broken_promises"].raw, 1),
				"open_disputes": f.open_disputes,
				"overdue_share": round(100 * drivers["overdue_share"].raw, 1),
				"tenure_days": int(drivers["newness"].raw),
				"outstanding": case.outstanding_amount,
				"overdue": case.overdue_amount,
				"next_action": case.next_action,
				"next_action_date": case.next_action_date,
				"sla_due": case.sla_due,
				"sla_state": _sla_state(case.sla_due, now),
				"pending_promises": f.pending_promises,
				"promised_amount": float(f.promised_amount),
				"next_promise_date": f.next_promise_date,
				"disputed_amount": float(f.disputed_amount),
				"currency": case.currency or currency,
			}
		)
	rows.sort(key=lambda r: (-r["score"], r["customer"]))
	for rank, row in enumerate(rows, 1):
		row["rank"] = rank
	summary = [
		{"value": len(rows), "label": _("Open Cases"), "datatype": "Int"},
		{
			"value": sum(
				1 for r in rows if r["next_action_date"] and getdate(r["next_action_date"]) <= as_of
			),
			"label": _("Actions Due Today"),
			"datatype": "Int",
			"indicator": "Orange",
		},
		{
			"value": sum(1 for r in rows if r["sla_state"] == "Breached"),
			"label": _("SLA Breached"),
			"datatype": "Int",
			"indicator": "Red",
		},
		{
			"value": sum(r["overdue"] or 0 for r in rows),
			"label": _("Overdue"),
			"datatype": "Currency",
			"currency": currency,
		},
	]
	return report_data.readable_links(_columns()), rows, None, None, summary


def _open_cases(company, filters):
	cc = frappe.qb.DocType("Collection Case")
	query = (
		frappe.qb.from_(cc)
		.select(
			cc.name,
			cc.customer,
			cc.customer_name,
			cc.status,
			cc.current_level,
			cc.collector,
			cc.currency,
			cc.outstanding_amount,
			cc.overdue_amount,
			cc.next_action,
			cc.next_action_date,
			cc.sla_due,
		)
		.where((cc.company == company) & cc.status.notin(report_data.CLOSED))
	)
	if filters.get("status"):
		query = query.where(cc.status == filters.status)
	if filters.get("customer"):
		query = query.where(cc.customer == filters.customer)
	if filters.get("collector"):
		query = query.where(cc.collector == filters.collector)
	user = frappe.session.user
	if is_restricted(user):
		query = query.where((cc.collector == user) | cc._assign.like(f'%"{user}"%'))
	return query.run(as_dict=True)


def _sla_state(sla_due, now) -> str:
	if not sla_due:
		return ""
	due = get_datetime(sla_due)
	if due < now:
		return "Breached"
	if due < add_to_date(now, hours=SLA_SOON_HOURS):
		return "Due Soon"
	return "On Track"


def _columns():
	money = {"fieldtype": "Currency", "options": "currency", "width": 120}
	return [
		{"fieldname": "rank", "label": _("Rank"), "fieldtype": "Int", "width": 60},
		{
			"fieldname": "collection_case",
			"label": _("Collection Case"),
			"fieldtype": "Link",
			"options": "Collection Case",
			"width": 150,
		},
		{
			"fieldname": "customer",
			"label": _("Customer"),
			"fieldtype": "Link",
			"options": "Customer",
			"width": 160,
		},
		{
			"fieldname": "customer_name",
			"label": _("Customer Name"),
			"fieldtype": "Data",
			"width": 150,
			"hidden": 1,
		},
		{"fieldname": "status", "label": _("Status"), "fieldtype": "Data", "width": 110},
		{"fieldname": "current_level", "label": _("Level"), "fieldtype": "Int", "width": 60},
		{"fieldname": "score", "label": _("Score"), "fieldtype": "Float", "precision": 2, "width": 80},
		{"fieldname": "why", "label": _("Drivers"), "fieldtype": "Data", "width": 260},
		{"fieldname": "outstanding", "label": _("Outstanding"), **money},
		{"fieldname": "overdue", "label": _("Overdue"), **money},
		{"fieldname": "next_action", "label": _("Next Action"), "fieldtype": "Data", "width": 170},
		{"fieldname": "next_action_date", "label": _("Next Action Date"), "fieldtype": "Date", "width": 110},
		{"fieldname": "sla_state", "label": _("SLA"), "fieldtype": "Data", "width": 90},
		{"fieldname": "sla_due", "label": _("SLA Due"), "fieldtype": "Datetime", "width": 150},
		{"fieldname": "pending_promises", "label": _("Pending Promises"), "fieldtype": "Int", "width": 90},
		{"fieldname": "promised_amount", "label": _("Promised"), **money},
		{
			"fieldname": "next_promise_date",
			"label": _("Next Promise Date"),
			"fieldtype": "Date",
			"width": 110,
		},
		{"fieldname": "open_disputes", "label": _("Open Disputes"), "fieldtype": "Int", "width": 90},
		{"fieldname": "disputed_amount", "label": _("Disputed"), **money},
		{"fieldname": "risk", "label": _("Risk"), "fieldtype": "Float", "precision": 4, "width": 70},
		{"fieldname": "value", "label": _("Value"), "fieldtype": "Float", "precision": 4, "width": 70},
		{
			"fieldname": "days_late",
			"label": _("Average Days Late"),
			"fieldtype": "Float",
			"precision": 1,
			"width": 90,
		},
		{
			"fieldname": "broken_promises",
			"label": _("Broken Promises %"),
			"fieldtype": "Percent",
			"width": 90,
		},
		{"fieldname": "overdue_share", "label": _("Overdue Share %"), "fieldtype": "Percent", "width": 90},
		{"fieldname": "tenure_days", "label": _("Tenure (Days)"), "fieldtype": "Int", "width": 90},
		{
			"fieldname": "collector",
			"label": _("Collector"),
			"fieldtype": "Link",
			"options": "User",
			"width": 150,
		},
		{
			"fieldname": "currency",
			"label": _("Currency"),
			"fieldtype": "Link",
			"options": "Currency",
			"hidden": 1,
		},
	]
