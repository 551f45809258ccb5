# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document


class DunningPlusSettings(Document):
	def validate(self):
		if not 0 <= (self.run_hour or 0) <= 23:
			frappe.throw(_("The run hour must be between 0 and 23."))
		if (self.max_messages_per_run or 0) < 0:
			frappe.throw(_("Max messages per run cannot be negative."))
		seen = set()
		for row in self.company_policies:
			if row.company in seen:
				frappe.throw(
					_("Company {0} has more than one default policy.").format(frappe.bold(row.company))
				)
			seen.add(row.company)

	def on_update(self):
		from dunning_plus.policies import clear_policy_cache

		clear_policy_cache()
