# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from dunning_plus import allocations, cases


class AdvancePaymentAllocation(Document):
	def validate(self):
		if self.docstatus == 0:
			self.status = "Draft"
		allocations.validate(self)

	def on_submit(self):
		allocations.book(self)
		self.db_set("status", "Submitted")
		self.refresh_case()

	def on_cancel(self):
		self.ignore_linked_doctypes = ("Payment Ledger Entry", "GL Entry", "Unreconcile Payment")
		allocations.unbook(self)
		self.db_set("status", "Cancelled")
		self.refresh_case()

	def refresh_case(self):
		cases.mark_dirty(self.company, self.customer)
		cases.flush()

	@frappe.whitelist()
	def get_allocations(self):
		if self.docstatus != 0:
			frappe.throw(_("Allocations can only be fetched on a draft."))
		self.set("allocations", allocations.propose(self))
		pe = frappe.get_doc("Payment Entry", self.payment_entry)
		self.unallocated_amount = allocations.available(pe, self.sales_order)
		self.total_allocated = sum(r.allocated_amount for r in self.allocations)
		self.difference = self.unallocated_amount - self.total_allocated
		return self.as_dict()
