# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from dunning_plus.engine.errors import EngineError
from dunning_plus.policies import clear_policy_cache, sending_window, throw_engine_error, to_engine


class DunningPolicy(Document):
	def validate(self):
		self.validate_templates()
		self.validate_sending_hours()
		try:
			to_engine(self)
		except EngineError as e:
			throw_engine_error(e, _("Invalid Dunning Policy"))

	def validate_templates(self):
		codes = {row.step_code for row in self.steps}
		seen = set()
		for row in self.templates:
			if row.step_code not in codes:
				frappe.throw(
					_("Templates row {0}: there is no step {1} in this policy.").format(
						row.idx, frappe.bold(row.step_code)
					),
					title=_("Invalid Dunning Policy"),
				)
			if (row.step_code, row.language) in seen:
				frappe.throw(
					_("Templates row {0}: step {1} already has a template for {2}.").format(
						row.idx, frappe.bold(row.step_code), row.language
					),
					title=_("Invalid Dunning Policy"),
				)
			seen.add((row.step_code, row.language))

	def validate_sending_hours(self):
		if not self.restrict_sending_hours:
			# Frappe fills Time fields of a new document with the current time: not a window.
			self.sending_window_start = self.sending_window_end = None
			return
		start, end = sending_window(self)
		if not (start and end):
			frappe.throw(
				_("Set both Send From and Send Until, or clear Restrict Sending Hours."),
				title=_("Invalid Dunning Policy"),
			)
		self.sending_window_start, self.sending_window_end = (
			start.strftime("%H:%M:%S"),
			end.strftime("%H:%M:%S"),
		)

	def on_update(self):
		clear_policy_cache()

	def on_trash(self):
		clear_policy_cache()
