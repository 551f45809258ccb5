# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

"""Collection KPIs per month, with the engine's definitions (see engine/kpis.py):

- AR: open instalments at the month's end (today for the current month), net of the customers' open
  credits (credit notes, unallocated receipts, journal credits) by the aging's rules: the oldest
  debt first, credit no instalment took lowering the total; current AR = what is not yet due.
- Standard DSO = ending AR / the month's credit sales x its days; countback DSO over the past
  twelve months' sales, newest first; best possible DSO = countback on current AR; ADD = countback
  DSO - best possible DSO.
- CEI = (beginning AR + credit sales - ending AR) / (beginning AR + credit sales - ending current
  AR) x 100, beginning AR being the previous month's ending AR, credit sales the month's (net of
  returns).
- Promise-kept rate: kept / promises whose date fell in the month (cancelled ones left out), by
  count and by amount.
- Reminder -> payment conversion: share of the messages sent in the month followed by cash on one
  of their invoices within N days.
- Dispute aging at the month's end: open disputes, their amount and average age.
- Plan kept rate: payment plans completed / plans that completed or broke in the month (cancelled
  ones left out), by count and by the amount they covered.
- Under a plan: the share of the overdue outstanding at the month's end on items an active payment
  plan held that day (an invoice read whole, all its rows on one side of the day, counts when a
  plan covers it).

The headline cards are the whole filter window, not its last month: DSO (countback), best possible
DSO and ADD as of To Date; standard DSO over the window's credit sales and days; CEI with the AR
before From Date, the window's credit sales and the AR at To Date; promise-kept rate over the
promises dated in the window; conversion over the messages sent in it; plan kept rate over the plans
that ended in it; the share under a plan as of To Date.
"""

from __future__ import annotations

from datetime import date, timedelta

import frappe
from frappe import _
from frappe.utils import add_months, cint, get_first_day, get_last_day, getdate, nowdate

from dunning_plus import report_data
from dunning_plus.engine import kpis
from dunning_plus.engine.credits import net_aging
from dunning_plus.engine.money import ZERO

COUNTBACK_MONTHS = 12


def execute(filters=None):
	filters = frappe._dict(filters or {})
	company = report_data.require_company(filters)
	today = getdate(nowdate())
	end = min(getdate(filters.to_date or today), today)
	start = get_first_day(getdate(filters.from_date or add_months(end, -5)))
	if end < start:
		frappe.throw(_("The period ends before it starts."), title=_("Invalid Filter"))
	within = cint(filters.conversion_days) or 14
	currency = frappe.get_cached_value("Company", company, "default_currency")
	customers = report_data.customer_scope(filters)

	months = _months(start, end)
	# AR at each month's end and at the end of the month before the first
	spans = report_data.read_plan_spans(company, customers)
	under_plan = {}
	ar = {}
	for day in [start - timedelta(days=1), *(m[1] for m in months)]:
		ar[day], under_plan[day] = _ar(company, day, customers, spans)
	sales = report_data.read_credit_sales(
		company, get_first_day(add_months(start, -COUNTBACK_MONTHS)), end, customers
	)
	promises = report_data.read_promises(company, customers, promised_between=(start, end))
	messages = report_data.read_sent_messages(company, start, end, customers)
	invoices = sorted({i for m in messages for i in m.items})
	cash = report_data.invoice_cash(invoices, end + timedelta(days=within))
	disputes = report_data.read_disputes(company, customers, opened_until=end)
	plans = report_data.read_plan_outcomes(company, customers)

	data = []
	previous_end = start - timedelta(days=1)
	for first, last in months:
		total, current = ar[last]
		month_sales = sales.get((first.year, first.month), ZERO)
		days = (last - first).days + 1
		periods = kpis.month_periods(sales, last, COUNTBACK_MONTHS)
		standard = report_data.engine_call(kpis.standard_dso, total, month_sales, days)
		countback = kpis.countback_dso(total, periods)
		best = kpis.best_possible_dso(current, periods)
		kept = kpis.promise_kept_rate(promises, first, last)
		sent = [m for m in messages if first <= m.sent_on <= last]
		conversion = kpis.reminder_conversion(sent, cash, within)
		open_disputes = kpis.dispute_aging(disputes, last)
		plan_rate = kpis.plan_kept_rate(plans, first, last)
		data.append(
			{
				"month": f"{first:%Y-%m}",
				"to_date": last,
				"ending_ar": float(total),
				"current_ar": float(current),
				"credit_sales": float(month_sales),
				"standard_dso": _round(standard),
				"countback_dso": _round(countback),
				"best_dso": _round(best),
				"add": _round(kpis.average_days_delinquent(countback, best)),
				"cei": _round(kpis.cei(ar[previous_end][0], month_sales, total, current)),
				"promises_due": kept.denominator,
				"promises_kept": kept.numerator,
				"kept_rate": _percent(kept.count),
				"kept_amount_rate": _percent(kept.amount),
				"messages": conversion.denominator,
				"converted": conversion.numerator,
				"conversion_rate": _percent(conversion.count),
				"open_disputes": open_disputes.open_count,
				"open_dispute_amount": float(open_disputes.open_amount),
				"average_dispute_age": _round(open_disputes.average_open_days),
				"plans_ended": plan_rate.denominator,
				"plans_kept": plan_rate.numerator,
				"plan_kept_rate": _percent(plan_rate.count),
				"plan_kept_amount_rate": _percent(plan_rate.amount),
				"overdue_under_plan": float(under_plan[last].planned),
				"under_plan_share": _percent(under_plan[last].share),
				"currency": currency,
			}
		)
		previous_end = last
	window = window_kpis(
		start, end, ar[start - timedelta(days=1)], ar[end], sales, promises, messages, cash, within
	)
	plan_rate = kpis.plan_kept_rate(plans, start, end)
	window.update(
		plan_kept_rate=_percent(plan_rate.count),
		plan_kept_amount_rate=_percent(plan_rate.amount),
		plans_ended=plan_rate.denominator,
		under_plan_share=_percent(under_plan[end].share),
	)
	summary = _summary(window)
	return report_data.readable_links(_columns(within)), data, None, _chart(data), summary


def _months(start: date, end: date) -> list[tuple[date, date]]:
	out = []
	first = start
	while first <= end:
		out.append((first, min(get_last_day(first), end)))
		first = add_months(first, 1)
	return out


def _ar(company, day, customers, spans=()):
	"""(total, current) AR on ``day`` and the overdue under a plan that day: schedules read only
	where rows may fall on both sides of it."""
	items, _invoices = report_data.read_open_items(company, day, customers, cut_dates=[day])
	# open credits (credit notes, unallocated receipts, journal credits) net the oldest debt first,
	# as in Collections Aging and the case; credit no item took lowers the total
	gross, credits = report_data.read_open_credits(company, day, items, customers)
	netting = net_aging(gross, credits)
	items = netting.items
	total = sum((i.outstanding for i in items), ZERO) - sum(netting.unused.values(), ZERO)
	current = sum((i.outstanding for i in items if i.due_date >= day), ZERO)
	planned = set().union(*(s.items for s in spans if s.active_on(day)))
	under_plan = kpis.overdue_under_plan(((i.id, i.due_date, i.outstanding) for i in items), planned, day)
	return (total, current), under_plan


def _round(value):
	return round(value, 1) if value is not None else None


def _percent(value):
	return round(100 * value, 1) if value is not None else None


def _chart(data):
	return {
		"data": {
			"labels": [r["month"] for r in data],
			"datasets": [
				{"name": _("Countback DSO"), "values": [r["countback_dso"] or 0 for r in data]},
				{"name": _("Best Possible DSO"), "values": [r["best_dso"] or 0 for r in data]},
				{"name": _("ADD"), "values": [r["add"] or 0 for r in data]},
				{"name": _("CEI %"), "values": [r["cei"] or 0 for r in data]},
			],
		},
		"type": "line",
	}


def window_kpis(start, end, beginning, ending, sales, promises, messages, cash, within) -> dict:
	"""The KPIs of the whole window [start, end] (the engine's definitions, one period)."""
	total, current = ending
	window_sales = sum(
		(amount for (y, m), amount in sales.items() if (y, m) >= (start.year, start.month)), ZERO
	)
	periods = kpis.month_periods(sales, end, COUNTBACK_MONTHS)
	countback = kpis.countback_dso(total, periods)
	best = kpis.best_possible_dso(current, periods)
	kept = kpis.promise_kept_rate(promises, start, end)
	conversion = kpis.reminder_conversion(messages, cash, within)
	return {
		"standard_dso": report_data.engine_call(
			kpis.standard_dso, total, window_sales, (end - start).days + 1
		),
		"countback_dso": countback,
		"best_dso": best,
		"add": kpis.average_days_delinquent(countback, best),
		"cei": kpis.cei(beginning[0], window_sales, total, current),
		"kept_rate": _percent(kept.count),
		"promises_due": kept.denominator,
		"conversion_rate": _percent(conversion.count),
		"messages": conversion.denominator,
	}


def _summary(window):
	def days(value, label):
		return report_data.summary_figure(value, label, precision=1)

	def percent(value, label):
		# the desk prints a Percent card as given (56.4%), only a Float card gets three decimals
		if value is None:
			return report_data.summary_figure(None, label)
		return {"value": round(value, 1), "label": label, "datatype": "Percent"}

	return [
		days(window["countback_dso"], _("Countback DSO")),
		days(window["standard_dso"], _("Standard DSO")),
		days(window["add"], _("Average Days Delinquent")),
		percent(window["cei"], _("CEI")),
		percent(window["kept_rate"], _("Promise-Kept Rate")),
		percent(window["conversion_rate"], _("Reminder Conversion")),
		percent(window.get("plan_kept_rate"), _("Plan Kept Rate")),
		percent(window.get("under_plan_share"), _("Overdue under a Plan")),
	]


def _columns(within):
	money = {"fieldtype": "Currency", "options": "currency", "width": 130}
	days = {"fieldtype": "Float", "precision": 1, "width": 100}
	return [
		{"fieldname": "month", "label": _("Month"), "fieldtype": "Data", "width": 90},
		{"fieldname": "to_date", "label": _("As of"), "fieldtype": "Date", "width": 100},
		{"fieldname": "ending_ar", "label": _("Ending AR"), **money},
		{"fieldname": "current_ar", "label": _("Current AR"), **money},
		{"fieldname": "credit_sales", "label": _("Credit Sales"), **money},
		{"fieldname": "standard_dso", "label": _("Standard DSO"), **days},
		{"fieldname": "countback_dso", "label": _("Countback DSO"), **days},
		{"fieldname": "best_dso", "label": _("Best Possible DSO"), **days},
		{"fieldname": "add", "label": _("ADD"), **days},
		{"fieldname": "cei", "label": _("CEI %"), "fieldtype": "Percent", "width": 90},
		{"fieldname": "promises_due", "label": _("Promises Due"), "fieldtype": "Int", "width": 90},
		{"fieldname": "promises_kept", "label": _("Promises Kept"), "fieldtype": "Int", "width": 90},
		{"fieldname": "kept_rate", "label": _("Kept Rate % (Count)"), "fieldtype": "Percent", "width": 110},
		{
			"fieldname": "kept_amount_rate",
			"label": _("Kept Rate % (Amount)"),
			"fieldtype": "Percent",
			"width": 110,
		},
		{"fieldname": "messages", "label": _("Messages Sent"), "fieldtype": "Int", "width": 90},
		{
			"fieldname": "converted",
			"label": _("Paid within {0} Days").format(within),
			"fieldtype": "Int",
			"width": 110,
		},
		{
			"fieldname": "conversion_rate",
			"label": _("Reminder Conversion %"),
			"fieldtype": "Percent",
			"width": 110,
		},
		{"fieldname": "open_disputes", "label": _("Open Disputes"), "fieldtype": "Int", "width": 90},
		{"fieldname": "open_dispute_amount", "label": _("Disputed Amount"), **money},
		{"fieldname": "average_dispute_age", "label": _("Average Dispute Age (Days)"), **days},
		{"fieldname": "plans_ended", "label": _("Plans Ended"), "fieldtype": "Int", "width": 90},
		{"fieldname": "plans_kept", "label": _("Plans Kept"), "fieldtype": "Int", "width": 90},
		{
			"fieldname": "plan_kept_rate",
			"label": _("Plan Kept Rate % (Count)"),
			"fieldtype": "Percent",
			"width": 110,
		},
		{
			"fieldname": "plan_kept_amount_rate",
			"label": _("Plan Kept Rate % (Amount)"),
			"fieldtype": "Percent",
			"width": 110,
		},
		{"fieldname": "overdue_under_plan", "label": _("Overdue under a Plan"), **money},
		{
			"fieldname": "under_plan_share",
			"label": _("Overdue under a Plan %"),
			"fieldtype": "Percent",
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
