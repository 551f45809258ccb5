"""Policies made before "Restrict Sending Hours" existed: a real window (at least a minute long)
keeps restricting; the instant-long one Frappe's new-document defaults left behind is dropped."""

import frappe
from frappe.utils import get_time


def execute():
	policy = frappe.qb.DocType("Dunning Policy")
	for name, start, end in (
		frappe.qb.from_(policy)
		.select(policy.name, policy.sending_window_start, policy.sending_window_end)
		.run()
	):
		start = get_time(start).replace(second=0, microsecond=0) if start else None
		end = get_time(end).replace(second=0, microsecond=0) if end else None
		if start and end and start < end:
			values = {"restrict_sending_hours": 1, "sending_window_start": start, "sending_window_end": end}
		else:
			values = {"restrict_sending_hours": 0, "sending_window_start": None, "sending_window_end": None}
		frappe.db.set_value("Dunning Policy", name, values, update_modified=False)
	frappe.flags.dunning_plus_policies = None
