# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document


class DisputeReason(Document):
	def validate(self):
		if self.sla_days is not None and self.sla_days < 0:
			frappe.throw(_("Resolve Within (Days) cannot be negative."))
