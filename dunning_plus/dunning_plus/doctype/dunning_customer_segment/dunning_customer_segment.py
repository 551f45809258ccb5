# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document


class DunningCustomerSegment(Document):
	"""The segment rule a customer matched in a company, written by the daily refresh
	(``dunning_plus.segments.refresh_segments``); one per customer and company."""

	def validate(self):
		other = frappe.db.get_value(
			"Dunning Customer Segment",
			{"customer": self.customer, "company": self.company, "name": ["!=", self.name]},
			"name",
		)
		if other:
			frappe.throw(
				_("Customer {0} already has a segment in {1}: {2}").format(self.customer, self.company, other)
			)
