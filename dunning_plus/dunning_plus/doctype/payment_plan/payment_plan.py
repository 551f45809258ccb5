# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from dunning_plus import plans


class PaymentPlan(Document):
	def onload(self):
		self.set_onload("approver_role", plans.approver_role())

	def validate(self):
		if self.docstatus == 0:
			self.status = "Draft"
		plans.validate(self)

	def on_submit(self):
		plans.submitted(self)

	def before_cancel(self):
		if not (self.cancel_reason or "").strip():
			frappe.throw(_("Give a reason for cancelling the plan."), title=_("Cancel Reason Missing"))

	def on_cancel(self):
		plans.cancelled(self)

	@frappe.whitelist()
	def make_instalments(self):
		"""Equal instalments again from the offer terms (for a draft whose items or terms changed)."""
		if self.docstatus != 0:
			frappe.throw(_("Only a draft plan's instalments can be recomputed."))
		self.check_permission("write")
		plans.resolve_items(self)
		plans.make_instalments(self)
		return self.as_dict()

	@frappe.whitelist()
	def approve(self):
		plans.approve(self)

	@frappe.whitelist()
	def accept(self):
		"""The customer agreed (told the collector)."""
		self.check_permission("write")
		plans.accept(self, "Collector")

	@frappe.whitelist()
	def cancel_plan(self, reason: str):
		self.check_permission("cancel")
		self.cancel_reason = (reason or "").strip()
		self.cancel()
