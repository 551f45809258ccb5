"""Sales Invoice events: instalments enter or leave the engine's view of the customer's case."""

import frappe
from frappe import _
from frappe.utils import getdate, nowdate

from dunning_plus import cases
from dunning_plus.links import forget_document, withdraw_pending_actions
from dunning_plus.promises import review_promises


def validate(doc, method=None):
	validate_block(doc)


def validate_block(doc):
	"""Shared by Sales Invoice and Customer: a block needs a reason and an end date not in the past."""
	if not doc.get("dunning_block"):
		return
	if not (doc.get("dunning_block_reason") or "").strip():
		frappe.throw(_("Give a reason for the dunning block."), title=_("Dunning Block"))
	if doc.get("dunning_block_until") and getdate(doc.dunning_block_until) < getdate(nowdate()):
		frappe.throw(
			_("The dunning block cannot end in the past ({0}).").format(
				frappe.format(doc.dunning_block_until, "Date")
			),
			title=_("Dunning Block"),
		)


def on_submit(doc, method=None):
	from dunning_plus.allocations import auto_allocate_for_invoice
	from dunning_plus.deposits import settle

	for order in sorted({i.sales_order for i in doc.items if i.get("sales_order")}):
		settle(order)
	auto_allocate_for_invoice(doc)
	refresh(doc)


def on_cancel(doc, method=None):
	withdraw_pending_actions("Sales Invoice", doc.name, _("Invoice {0} was cancelled").format(doc.name))
	refresh(doc)


def on_update_after_submit(doc, method=None):
	validate_block(doc)
	if (
		doc.has_value_changed("dunning_policy")
		or doc.has_value_changed("dunning_block")
		or doc.has_value_changed("dunning_block_until")
	):
		refresh(doc)


def on_trash(doc, method=None):
	forget_document("Sales Invoice", doc.name, doc.company, doc.customer)


def refresh(doc):
	cases.mark_dirty(doc.company, doc.customer)
	if doc.is_return:
		review_promises(doc.company, doc.customer)
	cases.flush()
