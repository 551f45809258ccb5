# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import flt, getdate, nowdate

from dunning_plus import cases
from dunning_plus.audit import record_decision
from dunning_plus.formatting import money
from dunning_plus.items import items_changed, resolve_items


class PaymentPromise(Document):
	def validate(self):
		if flt(self.amount) <= 0:
			frappe.throw(_("The promised amount must be above zero."), title=_("Invalid Promise"))
		if not self.recorded_on:
			self.recorded_on = nowdate()
		if self.is_new() and getdate(self.promised_date) < getdate(self.recorded_on):
			frappe.throw(
				_("The promised date {0} is already past.").format(frappe.format(self.promised_date, "Date")),
				title=_("Invalid Promise"),
			)
		if items_changed(self):
			if self.status != "Pending":
				frappe.throw(_("Only a pending promise can be changed."), title=_("Invalid Promise"))
			covered = resolve_items(self, _("promise"))
			if flt(self.amount) > flt(covered) + 0.005:
				frappe.throw(
					_(
						"The promised amount {0} is more than the {1} outstanding on the items it covers."
					).format(
						frappe.format(self.amount, {"fieldtype": "Currency", "options": self.currency}),
						frappe.format(covered, {"fieldtype": "Currency", "options": self.currency}),
					),
					title=_("Invalid Promise"),
				)
		if not self.collection_case:
			self.collection_case = cases.case_for(self.company, self.customer)
		before = self.get_doc_before_save()
		if (
			before
			and before.status != self.status
			and self.status != "Cancelled"
			and not self.flags.from_review
		):
			frappe.throw(_("A promise's status is set by the payments it receives; you can only cancel it."))

	def after_insert(self):
		record_decision(
			self.collection_case,
			self.company,
			self.customer,
			"Promise",
			_("Promise to pay {0} by {1}").format(
				money(self.amount, self.currency), frappe.format(self.promised_date, "Date")
			),
			reference=self,
		)
		self.refresh_case()

	def on_update(self):
		if not self.is_new() and self.has_value_changed("status"):
			self.refresh_case()

	def refresh_case(self):
		cases.mark_dirty(self.company, self.customer)
		cases.flush()

	@frappe.whitelist()
	def cancel_promise(self, reason: str | None = None):
		self.check_permission("write")
		if self.status != "Pending":
			frappe.throw(_("Only a pending promise can be cancelled."))
		self.status = "Cancelled"
		if reason:
			self.notes = "\n".join(filter(None, [self.notes, reason]))
		self.save()
