"""Our records that name an ERPNext document never stop ERPNext from cancelling or deleting it.

- The audit trail and the run log (Collection Action, Dunning Run Message / Error) keep the name of a
  deleted document as history, as Frappe's Communication and Version do (``ignore_links_on_delete``).
- Derived records go with the document: an order's Expected Deposits, the case items of a deleted
  invoice or order (the case is recomputed).
- Records people made lose only the rows that named the deleted invoice (promise and dispute
  items, draft allocation rows), with a comment saying so.
- Draft allocations of a deleted order or payment are deleted. A submitted Advance Payment Allocation
  still stops its Payment Entry from being cancelled: it booked a reconciliation, and cancelling the
  allocation first undoes it through ERPNext's Unreconcile Payment.
"""

from __future__ import annotations

import frappe
from frappe import _

from dunning_plus import cases

# Our doctypes whose rows name ERPNext documents by a user's hand (child table -> parent doctype).
USER_ROWS = (
	("Payment Promise Item", "Payment Promise", "sales_invoice"),
	("Collection Dispute Item", "Collection Dispute", "sales_invoice"),
)


def forget_document(doctype: str, name: str, company: str | None, customer: str | None) -> None:
	"""Before ``doctype`` ``name`` is deleted: removes or unlinks what of ours names it."""
	if doctype == "Sales Order":
		ed = frappe.qb.DocType("Expected Deposit")
		frappe.qb.from_(ed).delete().where(ed.sales_order == name).run()
	item = frappe.qb.DocType("Collection Case Item")
	frappe.qb.from_(item).delete().where(
		(item.reference_doctype == doctype) & (item.reference_name == name)
	).run()
	if doctype == "Sales Invoice":
		for child, parent, field in USER_ROWS:
			_drop_rows(child, parent, field, name)
		_drop_draft_allocation_rows("sales_invoice", name)
	if doctype in ("Sales Order", "Payment Entry"):
		field = "sales_order" if doctype == "Sales Order" else "payment_entry"
		_delete_draft_allocations(field, name)
	cases.mark_dirty(company, customer)


def _drop_rows(child: str, parent: str, field: str, invoice: str) -> None:
	row = frappe.qb.DocType(child)
	parents = {
		r[0]
		for r in frappe.qb.from_(row)
		.select(row.parent)
		.where((row[field] == invoice) & (row.parenttype == parent))
		.run()
	}
	if not parents:
		return
	frappe.qb.from_(row).delete().where((row[field] == invoice) & (row.parenttype == parent)).run()
	for name in sorted(parents):
		frappe.get_doc(parent, name).add_comment(
			"Info",
			_("Sales Invoice {0} was deleted; its rows were removed from this record.").format(invoice),
		)


def _drop_draft_allocation_rows(field: str, invoice: str) -> None:
	row = frappe.qb.DocType("Advance Payment Allocation Row")
	apa = frappe.qb.DocType("Advance Payment Allocation")
	drafts = frappe.qb.from_(apa).select(apa.name).where(apa.docstatus == 0)
	frappe.qb.from_(row).delete().where((row[field] == invoice) & row.parent.isin(drafts)).run()


def _delete_draft_allocations(field: str, name: str) -> None:
	for draft in frappe.get_all(
		"Advance Payment Allocation", filters={field: name, "docstatus": 0}, pluck="name"
	):
		frappe.delete_doc("Advance Payment Allocation", draft, ignore_permissions=True, force=True)


def withdraw_pending_actions(reference_doctype: str, reference_name: str, reason: str) -> None:
	"""Queued or pending-approval steps of a cancelled document (invoice, order) will never go out."""
	ca = frappe.qb.DocType("Collection Action")
	frappe.qb.update(ca).set(ca.status, "Skipped").set(ca.reason, reason).where(
		(ca.reference_doctype == reference_doctype)
		& (ca.reference_name == reference_name)
		& ca.status.isin(["Queued", "Pending Approval"])
	).run()
