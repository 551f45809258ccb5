# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

from frappe.model.document import Document
from frappe.utils import date_diff, flt, nowdate


class CollectionCaseItem(Document):
	@property
	def days_overdue(self) -> int | None:
		"""Days past the due date as of today, for a row still owing something (virtual field)."""
		if not self.due_date or flt(self.outstanding) <= 0:
			return None
		days = date_diff(nowdate(), self.due_date)
		return days if days > 0 else 0
