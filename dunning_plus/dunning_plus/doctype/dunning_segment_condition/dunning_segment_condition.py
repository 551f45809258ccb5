# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

from frappe.model.document import Document


class DunningSegmentCondition(Document):
	pass
