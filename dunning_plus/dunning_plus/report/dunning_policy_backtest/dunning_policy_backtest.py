# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt
"""What a Dunning Policy would have sent over the company's last N months, week by week, step by step,
beside a second policy: the in-site backtest (dunning_plus.backtest), which writes nothing."""

import frappe
from frappe import _

from dunning_plus.backtest import run_backtest

CHANNELS = {"email": "Email", "task": "Task", "letter": "Letter"}


def execute(filters=None):
	filters = frappe._dict(filters or {})
	if not filters.policy:
		frappe.throw(_("Choose a Dunning Policy."), title=_("Invalid Input"))
	frappe.has_permission("Dunning Policy", "read", doc=filters.policy, throw=True)
	result = run_backtest(filters.policy, filters.compare_policy, filters.months, filters.company)
	a, b = result["policy"], result["compare"]
	return columns(a, b), rows(a, b), figures_table(result), chart(a, b), summary(a, b)


def columns(a: dict, b: dict | None) -> list[dict]:
	out = [
		{"fieldname": "week", "label": _("Week"), "fieldtype": "Date", "width": 110},
		{"fieldname": "step", "label": _("Step"), "fieldtype": "Data", "width": 90},
		{"fieldname": "channel", "label": _("Channel"), "fieldtype": "Data", "width": 90},
		{
			"fieldname": "messages",
			"label": _("Messages: {0}").format(a["name"]),
			"fieldtype": "Int",
			"width": 170,
		},
	]
	if b:
		out.append(
			{
				"fieldname": "compare_messages",
				"label": _("Messages: {0}").format(b["name"]),
				"fieldtype": "Int",
				"width": 170,
			}
		)
	return out


def _by_week(figures: dict | None) -> dict[tuple, int]:
	if not figures:
		return {}
	return {(r["week"], r["step"], r["channel"]): r["messages"] for r in figures["messages_by_week"]}


def rows(a: dict, b: dict | None) -> list[dict]:
	ours, theirs = _by_week(a), _by_week(b)
	out = []
	for week, step, channel in sorted(set(ours) | set(theirs)):
		row = {
			"week": week,
			"step": step,
			"channel": _(CHANNELS.get(channel, channel)),
			"messages": ours.get((week, step, channel), 0),
		}
		if b:
			row["compare_messages"] = theirs.get((week, step, channel), 0)
		out.append(row)
	return out


def chart(a: dict, b: dict | None) -> dict:
	"""Messages per week, a bar per step of the policy (and the other policy's total as a line)."""
	weeks = sorted({r["week"] for f in (a, b) if f for r in f["messages_by_week"]})
	steps = list(dict.fromkeys(r["step"] for r in a["messages_by_week"]))
	datasets = []
	for step in steps:
		per = {w: 0 for w in weeks}
		for r in a["messages_by_week"]:
			if r["step"] == step:
				per[r["week"]] += r["messages"]
		datasets.append({"name": step, "values": [per[w] for w in weeks], "chartType": "bar"})
	if b:
		per = {w: 0 for w in weeks}
		for r in b["messages_by_week"]:
			per[r["week"]] += r["messages"]
		datasets.append(
			{"name": _("All: {0}").format(b["name"]), "values": [per[w] for w in weeks], "chartType": "line"}
		)
	return {
		"data": {"labels": [frappe.utils.formatdate(w) for w in weeks], "datasets": datasets},
		"type": "axis-mixed",
		"barOptions": {"stacked": 1},
		"title": _("Messages per week"),
	}


def figure_rows(a: dict, b: dict | None) -> list[tuple[str, object, object]]:
	"""(label, this policy, the other policy): the side-by-side figures of the dialog and the report."""

	def share(f):
		return f"{f['paid_soon_share'] * 100:.1f} %"

	def pick(f, key):
		return f[key] if f else None

	out = [
		(_("Messages"), a["messages"], pick(b, "messages")),
		(_("Customers touched"), a["customers_touched"], pick(b, "customers_touched")),
		(_("Items touched"), a["items_touched"], pick(b, "items_touched")),
		(_("Messages needing approval"), a["approvals_requested"], pick(b, "approvals_requested")),
		(_("Reminders sent to customers (item lines)"), a["reminders_sent"], pick(b, "reminders_sent")),
		(
			_("Of which paid within {0} days anyway").format(a["paid_within_days"]),
			f"{a['reminders_paid_soon']} ({share(a)})",
			f"{b['reminders_paid_soon']} ({share(b)})" if b else None,
		),
	]
	theirs = {r["step"]: r["items"] for r in b["items_by_step"]} if b else {}
	steps = list(dict.fromkeys([r["step"] for r in a["items_by_step"]] + list(theirs)))
	ours = {r["step"]: r["items"] for r in a["items_by_step"]}
	for step in steps:
		out.append(
			(
				_("Items that reached {0}").format(step),
				ours.get(step, "-"),
				theirs.get(step, "-") if b else None,
			)
		)
	return out


def figures_table(result: dict) -> str:
	a, b = result["policy"], result["compare"]
	esc = frappe.utils.escape_html
	head = f"<th>{esc(a['name'])}</th>" + (f"<th>{esc(b['name'])}</th>" if b else "")
	body = "".join(
		f"<tr><td>{esc(label)}</td><td class='text-right'>{esc(str(x))}</td>"
		+ (f"<td class='text-right'>{esc(str(y))}</td>" if b else "")
		+ "</tr>"
		for label, x, y in figure_rows(a, b)
	)
	period = _("{0}: {1} to {2}, {3} invoices, {4} schedule rows").format(
		esc(result["company"]),
		frappe.utils.formatdate(result["from"]),
		frappe.utils.formatdate(result["to"]),
		a["invoices"],
		a["schedule_rows"],
	)
	return (
		f"<p>{period}</p><table class='table table-bordered table-condensed' style='max-width: 720px;'>"
		f"<thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table>"
	)


def summary(a: dict, b: dict | None) -> list[dict]:
	out = []
	for f in (a, b):
		if not f:
			continue
		out += [
			{"label": _("Messages: {0}").format(f["name"]), "value": f["messages"], "datatype": "Int"},
			{
				"label": _("Customers touched: {0}").format(f["name"]),
				"value": f["customers_touched"],
				"datatype": "Int",
			},
			{
				"label": _("Reminders paid within {0} days anyway: {1}").format(
					f["paid_within_days"], f["name"]
				),
				"value": f["paid_soon_share"] * 100,
				"datatype": "Percent",
			},
		]
	return out
