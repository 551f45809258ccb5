"""Items a promise or a dispute covers: invoice payment-schedule rows checked against the ledger."""

from __future__ import annotations

import frappe
from frappe import _

from dunning_plus import ledger


def resolve_items(doc, what: str) -> float:
	"""Fills each item's schedule row, term, due date and amount (the row's outstanding now).

	A row given only by invoice expands to every open row of that invoice. Returns the total.
	"""
	if not doc.get("items"):
		frappe.throw(_("Add at least one invoice to the {0}.").format(_(what)), title=_("No Items"))
	open_rows = {i.id: i for i in ledger.read_instalments(doc.company, [doc.customer], with_taken=False)}
	by_invoice: dict[str, list] = {}
	for inst in open_rows.values():
		by_invoice.setdefault(inst.invoice, []).append(inst)
	rows = []
	for item in doc.items:
		if item.payment_schedule:
			inst = open_rows.get(item.payment_schedule)
			if inst is None or inst.invoice != item.sales_invoice:
				frappe.throw(
					_(
						"Row {0}: invoice {1} has nothing outstanding on that payment term for customer {2}."
					).format(item.idx, frappe.bold(item.sales_invoice), frappe.bold(doc.customer)),
					title=_("Invalid Item"),
				)
			rows.append((item, inst))
			continue
		matches = by_invoice.get(item.sales_invoice, [])
		if item.payment_term:
			matches = [m for m in matches if m.payment_term == item.payment_term]
		if not matches:
			frappe.throw(
				_("Row {0}: invoice {1} has nothing outstanding for customer {2} in company {3}.").format(
					item.idx,
					frappe.bold(item.sales_invoice),
					frappe.bold(doc.customer),
					frappe.bold(doc.company),
				),
				title=_("Invalid Item"),
			)
		rows.append((item, matches[0]))
		for extra in matches[1:]:
			rows.append((frappe._dict(sales_invoice=item.sales_invoice), extra))
	seen = set()
	doc.set("items", [])
	total = 0.0
	for _item, inst in rows:
		if inst.id in seen:
			continue
		seen.add(inst.id)
		doc.append(
			"items",
			{
				"sales_invoice": inst.invoice,
				"payment_schedule": inst.id,
				"payment_term": inst.payment_term or None,
				"due_date": inst.due_date,
				"amount": float(inst.outstanding),
			},
		)
		total += float(inst.outstanding)
	currencies = {open_rows[r.payment_schedule].currency for r in doc.items}
	if len(currencies) > 1:
		frappe.throw(_("All items must be in one currency."), title=_("Invalid Item"))
	doc.currency = currencies.pop()
	return total


def default_items(case_doc, exclude_paused: tuple[str, ...] = ()) -> list[dict]:
	"""The case's items as promise/dispute rows (all open ones, less those paused as given)."""
	return [
		{"sales_invoice": r.reference_name, "payment_schedule": r.payment_schedule}
		for r in case_doc.items
		if r.reference_doctype == "Sales Invoice" and r.outstanding > 0 and r.paused_by not in exclude_paused
	]


def items_changed(doc) -> bool:
	"""Whether the covered items or the amount changed since the last save (always for new docs)."""
	before = doc.get_doc_before_save()
	if doc.is_new() or before is None:
		return True

	def sig(d):
		return [(r.sales_invoice, r.payment_schedule or None) for r in d.get("items")], float(d.amount or 0)

	return sig(before) != sig(doc)
