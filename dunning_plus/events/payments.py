"""Payment Entry, Journal Entry, Payment Ledger Entry and Unreconcile Payment events: the
affected customers' instalments are re-read from the ledger and their cases updated at once."""

import frappe

from dunning_plus import cases
from dunning_plus.promises import review_promises


def _refresh(pairs):
	for company, customer in pairs:
		cases.mark_dirty(company, customer)
	for company, customer in pairs:
		review_promises(company, customer)
	cases.flush()


def payment_entry_changed(doc, method=None):
	if doc.party_type == "Customer" and doc.party:
		from dunning_plus.deposits import orders_of_payment, settle

		for order in orders_of_payment(doc):
			settle(order)
		_refresh({(doc.company, doc.party)})


def journal_entry_changed(doc, method=None):
	pairs = {(doc.company, row.party) for row in doc.accounts if row.party_type == "Customer" and row.party}
	if pairs:
		_refresh(pairs)


def unreconcile_changed(doc, method=None):
	invoices = [r.reference_name for r in doc.allocations if r.reference_doctype == "Sales Invoice"]
	if invoices:
		customers = frappe.get_all("Sales Invoice", filters={"name": ["in", invoices]}, pluck="customer")
		_refresh({(doc.company, c) for c in customers})


def ledger_entry_submitted(doc, method=None):
	"""Every change to what a customer owes passes through here (payments, credit notes, journal
	entries, Payment Reconciliation). The refresh runs once, just before the transaction commits."""
	if doc.party_type == "Customer" and doc.party:
		cases.mark_dirty(doc.company, doc.party)


def payment_entry_trashed(doc, method=None):
	from dunning_plus.links import forget_document

	forget_document(
		"Payment Entry", doc.name, doc.company, doc.party if doc.party_type == "Customer" else None
	)
