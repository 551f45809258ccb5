# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from dunning_plus.engine.errors import EngineError


class DunningSegmentRule(Document):
	"""Conditions on a customer's behaviour and the policy they choose; rules of a company are tried
	in order (``engine.segments``), the daily run refreshes each customer's match."""

	def validate(self):
		from dunning_plus.policies import throw_engine_error
		from dunning_plus.segments import engine_rule

		try:
			engine_rule(self)
		except EngineError as e:
			throw_engine_error(e, _("Invalid Segment Rule"))
		company = frappe.db.get_value("Dunning Policy", self.dunning_policy, "company")
		if company and company != self.company:
			frappe.throw(
				_("Dunning Policy {0} belongs to {1}, not to {2}.").format(
					frappe.bold(self.dunning_policy), company, self.company
				)
			)

	def on_trash(self):
		# the customers it chose lose their segment now, not at the next run
		frappe.db.delete("Dunning Customer Segment", {"segment_rule": self.name})
