"""Collections on the Customer and Sales Invoice dashboards (connections)."""

from frappe import _


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
