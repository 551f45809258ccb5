"""Collections on the Customer and Sales Invoice dashboards (connections)."""

import frappe
from frappe import _
from frappe.utils import flt


def customer_dashboard(data):
	data.setdefault("transactions", []).append(
		{
			"label": _("Collections"),
			"items": ["Collection Case", "Payment Plan", "Payment Promise", "Collection Dispute"],
		}
	)
	return data


def sales_invoice_dashboard(data):
	data.setdefault("non_standard_fieldnames", {})
	data["non_standard_fieldnames"].update(
		{"Payment Promise": "sales_invoice", "Collection Dispute": "sales_invoice"}
	)
	data.setdefault("internal_links", {})
	data.setdefault("transactions", []).append(
		{"label": _("Collections"), "items": ["Payment Promise", "Collection Dispute"]}
	)
	return data


@frappe.whitelist()
def invoice_collection_status(invoice: str) -> dict:
	"""What the open collection case says about a Sales Invoice: disputed, promised, on a plan, held."""
	frappe.has_permission("Sales Invoice", "read", doc=invoice, throw=True)
	from dunning_plus.cases import CLOSED

	cc = frappe.qb.DocType("Collection Case")
	ci = frappe.qb.DocType("Collection Case Item")
	rows = (
		frappe.qb.from_(ci)
		.join(cc)
		.on(ci.parent == cc.name)
		.select(
			ci.disputed_amount, ci.paused_by, ci.paused_until, ci.outstanding, cc.currency, cc.payment_plan
		)
		.where(
			(ci.parenttype == "Collection Case")
			& (ci.reference_doctype == "Sales Invoice")
			& (ci.reference_name == invoice)
			& cc.status.notin(CLOSED)
		)
		.run(as_dict=True)
	)
	paused = {r.paused_by for r in rows if r.paused_by}
	promised_until = max(
		(r.paused_until for r in rows if r.paused_by == "Promise" and r.paused_until), default=None
	)
	return {
		"currency": rows[0].currency if rows else None,
		"disputed_amount": sum(flt(r.disputed_amount) for r in rows),
		"promised_until": promised_until,
		"on_plan": "Plan" in paused,
		"payment_plan": next((r.payment_plan for r in rows if r.payment_plan), None),
	}
