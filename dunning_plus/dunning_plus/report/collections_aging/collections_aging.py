# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

"""Outstanding per instalment, aged by due date or posting date as of any date, in configurable
buckets, grouped by customer, segment, collector or dunning level, or listed per instalment.

By dunning level, each instalment's amount is in the row of its own level, and each open invoice
is counted once, at its highest level (the level the Sales Invoice shows), so the Open Invoices
column adds up to the open invoices however many levels an invoice's terms are at.

Open credits (credit notes keeping their own outstanding, unallocated receipts, journal entries
crediting the customer) are netted against the customer's items by the case's rules (a credit note
first to the invoice it returns, then the oldest debt): the buckets show what each item still owes,
"Open Credits" the credits netted into the row, and what no item took (the customer is in credit)
lowers the row's Total Outstanding, the customer's net position. A 1,000 invoice with a 200 credit
note ages as 800 whichever way ERPNext booked the return. By dunning level or instalment, credit no
item took is one row per customer, "Unapplied Credit"."""

from __future__ import annotations

from collections import Counter
from datetime import date

import frappe
from frappe import _
from frappe.utils import add_days, getdate, nowdate

from dunning_plus import report_data
from dunning_plus.engine.aging import AgingBasis, AgingBuckets, AgingItem, AgingRow, age
from dunning_plus.engine.credits import net_aging
from dunning_plus.engine.money import ZERO, to_money

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

	level = filters.get("dunning_level")
	if level in (None, ""):
		level = None
	elif not str(level).strip().isdigit():
		frappe.throw(_("Dunning Level must be a whole number."), title=_("Invalid Filter"))
	else:
		level = int(level)
	per_row = group_by in ("Instalment", "Dunning Level") or level is not None
	cut_dates = None
	if not per_row:
		# totals per bucket only need the rows of invoices whose rows may fall in two buckets
		limits = (0, *buckets.limits) if basis == AgingBasis.DUE_DATE else ()
		cut_dates = [add_days(as_of, -days) for days in limits]

	customers = report_data.customer_scope(filters, open_only=True)
	items, invoices = report_data.read_open_items(company, as_of, customers, cut_dates)
	gross, credits = report_data.read_open_credits(company, as_of, items, customers)
	netting = net_aging(gross, credits)
	items = netting.items
	levels = report_data.read_case_levels(company, customers) if per_row else {}
	if level is not None:
		items = [i for i in items if levels.get(i.id, (None, 0))[1] == level]
		gross = [i for i in gross if levels.get(i.id, (None, 0))[1] == level]
	info = report_data.read_customer_info(company, {i.customer for i in gross} | set(netting.credits))

	key = _key(group_by, levels, info)
	report = age(items, as_of, buckets, basis, key=key)
	labels = [_(label) for label in report.labels]
	columns = _columns(group_by, labels, currency)
	by_id = {i.id: i for i in gross} if group_by == "Instalment" else {}
	terms = report_data.read_payment_terms(list(by_id)) if by_id else {}
	open_invoices = _open_invoices(group_by, gross, invoices, key)
	row_credits, unused = _credits_per_row(group_by, key, gross, netting, level is not None)
	rows = _with_credit_rows(report.rows, row_credits, len(report.labels))
	data = [
		_row(group_by, row, as_of, basis, levels, info, terms, by_id, open_invoices, currency)
		for row in _ordered(group_by, rows, by_id)
	]
	for row in data:
		row_key = row.pop("_key")
		credit, left = row_credits.get(row_key, (ZERO, ZERO))
		row["open_credits"] = float(credit)
		row["outstanding"] = float(to_money(row["outstanding"]) - left)
	data += _unapplied_rows(group_by, unused, info, len(report.labels), currency)
	net_total = report.total - sum(netting.unused.values(), ZERO) if level is None else report.total
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
			"value": float(net_total),
			"label": _("Total Outstanding"),
			"datatype": "Currency",
			"currency": currency,
		},
		{"value": len({i.group for i in gross}), "label": _("Open Invoices"), "datatype": "Int"},
		{
			"value": float(sum(netting.credits.values(), ZERO)),
			"label": _("Open Credits"),
			"datatype": "Currency",
			"currency": currency,
		},
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
	return report_data.readable_links(columns), data, None, chart, summary


CUSTOMER_KEYED = ("Customer", "Customer Group", "Territory", "Collector")


def _credits_per_row(group_by, key, gross, netting, level_filtered):
	"""Per row key: (open credits netted into the row, credit no item took that lowers its total);
	and, by dunning level or instalment, the untaken credit per customer (its own rows)."""
	out: dict[str, list] = {}
	for item in gross:
		applied = netting.applied.get(item.id)
		if applied:
			out.setdefault(key(item), [ZERO, ZERO])[0] += applied
	unused = {} if level_filtered else dict(netting.unused)
	if group_by in CUSTOMER_KEYED:
		for customer, left in unused.items():
			probe = AgingItem("", customer, date.min, date.min, ZERO)
			entry = out.setdefault(key(probe), [ZERO, ZERO])
			entry[0] += left
			entry[1] += left
		unused = {}
	return {k: (v[0], v[1]) for k, v in out.items()}, unused


def _with_credit_rows(rows, row_credits, size):
	"""The aged rows, and a row of zeros for each key whose items the credits settled in full."""
	have = {r.key for r in rows}
	return [*rows, *(AgingRow(k, [ZERO] * size) for k in row_credits if k not in have)]


def _unapplied_rows(group_by, unused, info, size, currency):
	"""Credit no item took: by instalment one row per customer, by dunning level one row."""
	if group_by == "Dunning Level" and unused:
		unused = {None: sum(unused.values(), ZERO)}
	out = []
	for customer, left in sorted(unused.items(), key=lambda kv: kv[0] or ""):
		row = {f"range{i}": 0.0 for i in range(1, size + 1)}
		row.update(
			open_credits=float(left),
			outstanding=-float(left),
			currency=currency,
			dunning_level=_("Unapplied Credit"),
		)
		if group_by == "Instalment":
			row["customer"] = customer
			row["collection_case"] = info[customer].case if customer in info else None
		out.append(row)
	return out


def _key(group_by, levels, info):
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
		"Dunning Level": lambda i: str(levels.get(i.id, (None, 0))[1]),
		"Instalment": lambda i: i.id,
	}[group_by]


def _open_invoices(group_by, items, invoices, key) -> Counter:
	"""Open invoices per row key."""
	if group_by == "Instalment":
		return Counter()
	if group_by == "Dunning Level":
		highest: dict[str, int] = {}
		for i in items:
			highest[i.group] = max(highest.get(i.group, 0), int(key(i)))
		return Counter(str(level) for level in highest.values())
	# every item of an invoice has the invoice's customer, hence the same key
	first = {}
	for i in items:
		first.setdefault(i.group, i)
	return Counter(key(i) for i in first.values())


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
			{"fieldname": "dunning_level", "label": _("Dunning Level"), "fieldtype": "Data", "width": 140},
			{"fieldname": "level", "label": _("Level"), "fieldtype": "Int", "width": 60, "hidden": 1},
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
			{"fieldname": "dunning_level", "label": _("Dunning Level"), "fieldtype": "Data", "width": 130},
		],
	}[group_by]
	money = {"fieldtype": "Currency", "options": "currency", "width": 120}
	buckets = [{**money, "fieldname": f"range{i}", "label": label} for i, label in enumerate(labels, 1)]
	tail = [
		{**money, "fieldname": "open_credits", "label": _("Open Credits")},
		{**money, "fieldname": "outstanding", "label": _("Total Outstanding"), "width": 140},
	]
	if group_by == "Dunning Level":
		tail.append(
			{
				"fieldname": "invoices",
				"label": _("Open Invoices (at Highest Level)"),
				"fieldtype": "Int",
				"width": 110,
			}
		)
	elif group_by != "Instalment":
		tail.append({"fieldname": "invoices", "label": _("Open Invoices"), "fieldtype": "Int", "width": 90})
	currency_col = {
		"fieldname": "currency",
		"label": _("Currency"),
		"fieldtype": "Link",
		"options": "Currency",
		"hidden": 1,
	}
	return [*lead, *buckets, *tail, currency_col]


def _row(group_by, row, as_of, basis, levels, info, terms, by_id, open_invoices, currency):
	out = {f"range{i}": float(v) for i, v in enumerate(row.buckets, 1)}
	out.update(outstanding=float(row.total), currency=currency, _key=row.key)
	if group_by == "Instalment":
		item = by_id[row.key]
		case, level = levels.get(item.id, (None, 0))
		out.update(
			sales_invoice=item.group,
			payment_term=terms.get(item.id),
			customer=item.customer,
			posting_date=item.posting_date,
			due_date=item.due_date,
			age=(as_of - (item.due_date if basis == AgingBasis.DUE_DATE else item.posting_date)).days,
			collection_case=case or (info[item.customer].case if item.customer in info else None),
			dunning_level=level_name(level),
		)
		return out
	out["invoices"] = open_invoices.get(row.key, 0)
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
		out.update(dunning_level=level_name(int(row.key)), level=int(row.key))
	return out


def level_name(level: int) -> str:
	"""A dunning level as the desk names it elsewhere (the Sales Invoice's indicator, the steps)."""
	return _("Dunning Level {0}").format(level) if level else _("Not Dunned")
