"""Sales Order events: a customer on credit hold gets no new order unless the user may bypass it."""

import frappe
from frappe import _


def check_credit_hold(doc, method=None):
	if not frappe.db.get_value("Customer", doc.customer, "dunning_credit_hold"):
		return
	bypass = (
		frappe.db.get_single_value("Dunning Plus Settings", "credit_hold_bypass_role") or "Accounts Manager"
	)
	if bypass in frappe.get_roles():
		return
	frappe.throw(
		_(
			"Customer {0} is on credit hold for overdue payments. A user with the role {1} can still submit this order."
		).format(frappe.bold(doc.customer), frappe.bold(_(bypass))),
		title=_("Credit Hold"),
	)


def on_submit(doc, method=None):
	from dunning_plus import cases, deposits

	if deposits.sync_from_order(doc):
		cases.mark_dirty(doc.company, doc.customer)
		cases.flush()


def on_cancel(doc, method=None):
	from dunning_plus import cases, deposits

	deposits.check_cancel(doc)
	cases.mark_dirty(doc.company, doc.customer)
	cases.flush()


def on_update_after_submit(doc, method=None):
	"""Delivery date or closing the order changes which deposits are still expected."""
	from dunning_plus import cases, deposits

	deposits.sync_from_order(doc)
	cases.mark_dirty(doc.company, doc.customer)
	cases.flush()


def on_trash(doc, method=None):
	"""A deleted order takes its expected deposits (and their case items) with it."""
	from dunning_plus.links import forget_document

	forget_document("Sales Order", doc.name, doc.company, doc.customer)
