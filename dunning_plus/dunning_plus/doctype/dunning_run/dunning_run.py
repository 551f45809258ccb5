# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import getdate
from frappe.utils.background_jobs import is_job_enqueued

from dunning_plus.cycle import approvals, runs


class DunningRun(Document):
	def validate(self):
		if getdate(self.run_date) > getdate():
			frappe.throw(_("A run cannot be dated in the future."))

	def on_submit(self):
		self.db_set("status", "Queued")
		job_id = f"dunning_run::{self.name}"
		if frappe.flags.in_test:
			runs.execute_run(self.name)
		elif not is_job_enqueued(job_id):
			frappe.enqueue(
				runs.execute_run,
				queue="long",
				timeout=3600,
				job_id=job_id,
				enqueue_after_commit=True,
				run_name=self.name,
			)

	def on_cancel(self):
		self.db_set("status", "Cancelled")

	@frappe.whitelist()
	def send_selected(self, rows: list[str] | None = None) -> int:
		"""Sends the proposed messages ticked in the Select column, or named in ``rows``."""
		self.check_permission("submit")
		return approvals.review_run_messages(self.name, send=True, rows=rows)

	@frappe.whitelist()
	def drop_selected(self, reason: str | None = None, rows: list[str] | None = None) -> int:
		self.check_permission("submit")
		return approvals.review_run_messages(self.name, send=False, reason=reason, rows=rows)
