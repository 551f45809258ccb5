# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

"""Open collection cases with a call due today (or overdue) first, then ranked by their risk x value score, with the drivers of the score, what
is due today, the next action and its date, the SLA state, pending promises and open disputes.

The score is the case's own (``risk_score`` and ``score_drivers``, computed by the case recompute,
``cases._score``): the worklist shows the stored value, so the form and the worklist never disagree.

Actions due today, per case: steps waiting for approval (one per message), open tasks due today or
earlier (the ToDos of the case: calls, letters, escalations; a task given to several people counts
once, and approval requests count as the approval), and the next step when its date has come.

Payment plan, per case: its live plan (Active, else Proposed), otherwise its latest plan (Completed,
Broken or Cancelled), with the plan's status and the date of its next unpaid instalment.
"""

from __future__ import annotations

import json

import frappe
from frappe import _
from frappe.query_builder.functions import Coalesce, Count
from frappe.utils import add_to_date, get_datetime, getdate, now_datetime, nowdate

from dunning_plus import report_data
from dunning_plus.permissions import is_restricted

SLA_SOON_HOURS = 24
# the approval request the cycle gives each approver (cycle.recording.request_approval)
APPROVAL_TASK_PREFIX = "Approve or drop"


def execute(filters=None):
	filters = frappe._dict(filters or {})
	company = report_data.require_company(filters)
	as_of = getdate(nowdate())
	currency = frappe.get_cached_value("Company", company, "default_currency")
	cases = _open_cases(company, filters)
	customers = sorted({c.customer for c in cases})
	facts = report_data.read_customer_facts(company, customers)
	names = [c.name for c in cases]
	approvals = _pending_approvals(names)
	tasks = _tasks_due(names, as_of)
	from dunning_plus.channels import calls_due

	calls = calls_due(names, as_of)  # call tasks (step calls and retries): worked first
	plans = _case_plans(names)

	now = now_datetime()
	rows = []
	for case in cases:
		f = facts[case.customer]
		drivers = _drivers(case.score_drivers)
		risk = sum(d.get("points", 0) for name, d in drivers.items() if name != "balance")
		score = case.risk_score or 0
		step_due = bool(case.next_action_date and getdate(case.next_action_date) <= as_of)
		due = []
		if approvals.get(case.name):
			due.append(_("Approve ({0})").format(approvals[case.name]))
		if calls.get(case.name):
			due.insert(0, _("Calls ({0})").format(calls[case.name]))
		if tasks.get(case.name, 0) > calls.get(case.name, 0):
			due.append(_("Tasks ({0})").format(tasks[case.name] - calls.get(case.name, 0)))
		if step_due:
			due.append(case.next_action)
		rows.append(
			{
				"collection_case": case.name,
				"customer": case.customer,
				"customer_name": case.customer_name,
				"status": case.status,
				"current_level": case.current_level,
				"collector": case.collector,
				"score": score,
				"risk": round(risk, 4) if drivers else None,
				"value": round(score / (100 * risk), 4) if risk else None,
				"why": case.score_explanation or "",
				"days_late": round(_raw(drivers, "days_late"), 1),
				"broken_promises": round(100 * _raw(drivers, "broken_promises"), 1),
				"open_disputes": f.open_disputes,
				"overdue_share": round(100 * _raw(drivers, "overdue_share"), 1),
				"tenure_days": int(_raw(drivers, "newness")),
				"outstanding": case.outstanding_amount,
				"overdue": case.overdue_amount,
				"actions_due": approvals.get(case.name, 0) + tasks.get(case.name, 0) + int(step_due),
				"calls_due": calls.get(case.name, 0),
				"due_today": " · ".join(filter(None, due)),
				"next_action": case.next_action,
				"next_action_date": case.next_action_date,
				"sla_due": case.sla_due,
				"sla_state": _sla_state(case.sla_due, now),
				"pending_promises": f.pending_promises,
				"promised_amount": float(f.promised_amount),
				"next_promise_date": f.next_promise_date,
				"disputed_amount": float(f.disputed_amount),
				**plans.get(case.name, {}),
				"currency": case.currency or currency,
			}
		)
	rows.sort(key=lambda r: (not r["calls_due"], -r["score"], r["customer"]))
	for rank, row in enumerate(rows, 1):
		row["rank"] = rank
	summary = [
		{"value": len(rows), "label": _("Open Cases"), "datatype": "Int"},
		{
			"value": sum(r["actions_due"] for r in rows),
			"label": _("Actions Due Today"),
			"datatype": "Int",
			"indicator": "Orange",
		},
		{
			"value": sum(approvals.values()),
			"label": _("Awaiting Approval"),
			"datatype": "Int",
			"indicator": "Orange" if approvals else "Green",
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


def _drivers(stored: str | None) -> dict:
	"""The case's stored drivers: {name: {"value": raw, "points": contribution}}."""
	if not stored:
		return {}
	try:
		drivers = json.loads(stored)
	except ValueError:
		return {}
	return drivers if isinstance(drivers, dict) else {}


def _raw(drivers: dict, name: str) -> float:
	return float((drivers.get(name) or {}).get("value") or 0)


def _pending_approvals(cases: list[str]) -> dict[str, int]:
	"""Messages waiting for approval per case (a message's steps share its message key)."""
	if not cases:
		return {}
	ca = frappe.qb.DocType("Collection Action")
	return dict(
		frappe.qb.from_(ca)
		.select(ca.collection_case, Count(Coalesce(ca.message_key, ca.name)).distinct())
		.where(
			ca.collection_case.isin(cases) & (ca.action_type == "Step") & (ca.status == "Pending Approval")
		)
		.groupby(ca.collection_case)
		.run()
	)


def _tasks_due(cases: list[str], as_of) -> dict[str, int]:
	"""Open ToDos of each case due by ``as_of`` (or undated), one per task however many people have
	it; approval requests are left to ``_pending_approvals``."""
	if not cases:
		return {}
	todo = frappe.qb.DocType("ToDo")
	return dict(
		frappe.qb.from_(todo)
		.select(todo.reference_name, Count(todo.description).distinct())
		.where(
			(todo.reference_type == "Collection Case")
			& todo.reference_name.isin(cases)
			& (todo.status == "Open")
			& (todo.date.isnull() | (todo.date <= as_of))
			& todo.description.not_like(f"%{_(APPROVAL_TASK_PREFIX)}%")
		)
		.groupby(todo.reference_name)
		.run()
	)


PLAN_RANK = {"Active": 0, "Proposed": 1}


def _case_plans(cases: list[str]) -> dict[str, dict]:
	"""Per case: its live payment plan, else its latest one, as worklist columns (one query)."""
	if not cases:
		return {}
	pp = frappe.qb.DocType("Payment Plan")
	best: dict[str, tuple] = {}
	for name, case, status, next_date, modified in (
		frappe.qb.from_(pp)
		.select(pp.name, pp.collection_case, pp.status, pp.next_due_date, pp.modified)
		.where(pp.collection_case.isin(cases) & (pp.docstatus >= 1))
		.run()
	):
		rank = (PLAN_RANK.get(status, 2), -get_datetime(modified).timestamp())
		if case not in best or rank < best[case][0]:
			live = status in PLAN_RANK
			best[case] = (rank, name, status, next_date if live else None)
	return {
		case: {"payment_plan": name, "plan_status": _(status), "next_plan_date": next_date}
		for case, (_rank, name, status, next_date) in best.items()
	}


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
			cc.risk_score,
			cc.score_explanation,
			cc.score_drivers,
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
		{"fieldname": "due_today", "label": _("Due Today"), "fieldtype": "Data", "width": 170},
		{"fieldname": "actions_due", "label": _("Actions Due"), "fieldtype": "Int", "width": 70},
		{"fieldname": "calls_due", "label": _("Calls Due"), "fieldtype": "Int", "width": 70},
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
		{
			"fieldname": "payment_plan",
			"label": _("Payment Plan"),
			"fieldtype": "Link",
			"options": "Payment Plan",
			"width": 140,
		},
		{"fieldname": "plan_status", "label": _("Plan Status"), "fieldtype": "Data", "width": 100},
		{"fieldname": "next_plan_date", "label": _("Next Plan Date"), "fieldtype": "Date", "width": 110},
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
