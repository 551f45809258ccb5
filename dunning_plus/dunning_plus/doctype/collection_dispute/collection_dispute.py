# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.desk.form.assign_to import add as assign_to
from frappe.model.document import Document
from frappe.utils import flt, getdate, nowdate

from dunning_plus import cases
from dunning_plus.audit import record_decision
from dunning_plus.formatting import money
from dunning_plus.items import items_changed, resolve_items


class CollectionDispute(Document):
	def validate(self):
		if flt(self.amount) <= 0:
			frappe.throw(_("The disputed amount must be above zero."), title=_("Invalid Dispute"))
		if not self.opened_on:
			self.opened_on = nowdate()
		if items_changed(self):
			if self.status != "Open":
				frappe.throw(
					_("Only an open dispute can change its items or amount."), title=_("Invalid Dispute")
				)
			covered = resolve_items(self, _("dispute"))
			if flt(self.amount) > flt(covered) + 0.005:
				frappe.throw(
					_(
						"The disputed amount {0} is more than the {1} outstanding on the disputed items."
					).format(
						frappe.format(self.amount, {"fieldtype": "Currency", "options": self.currency}),
						frappe.format(covered, {"fieldtype": "Currency", "options": self.currency}),
					),
					title=_("Invalid Dispute"),
				)
		if self.status == "Open":
			self.resolved_on = None
		else:
			if not self.resolution_type:
				frappe.throw(_("Choose how the dispute was resolved."), title=_("Resolution Missing"))
			self.resolved_on = self.resolved_on or nowdate()
			if getdate(self.resolved_on) < getdate(self.opened_on):
				frappe.throw(
					_("A dispute cannot be resolved before it was opened."), title=_("Invalid Dispute")
				)
		if not self.collection_case:
			self.collection_case = cases.case_for(self.company, self.customer)
		if not self.dispute_owner:
			self.dispute_owner = frappe.db.get_single_value("Dunning Plus Settings", "dispute_owner") or None

	def after_insert(self):
		if self.dispute_owner:
			assign_to(
				{
					"assign_to": [self.dispute_owner],
					"doctype": self.doctype,
					"name": self.name,
					"description": _("Dispute {0} of {1}: {2}").format(
						self.reason, self.customer, self.amount
					),
				},
				# routing does not depend on who opened it (a collector, or the customer on the page)
				ignore_permissions=True,
			)
		record_decision(
			self.collection_case,
			self.company,
			self.customer,
			"Dispute",
			_("Dispute opened ({0}): {1}").format(self.reason, money(self.amount, self.currency)),
			reference=self,
		)
		self.refresh_case()

	def on_update(self):
		if not self.is_new() and (self.has_value_changed("status") or self.has_value_changed("amount")):
			if self.has_value_changed("status") and self.status != "Open":
				record_decision(
					self.collection_case,
					self.company,
					self.customer,
					"Dispute",
					_("Dispute {0}: {1}").format(_(self.status), self.resolution_type),
					reference=self,
				)
			self.refresh_case()

	def refresh_case(self):
		cases.mark_dirty(self.company, self.customer)
		cases.flush()
