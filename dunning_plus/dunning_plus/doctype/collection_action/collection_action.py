# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

from frappe.model.document import Document


class CollectionAction(Document):
	"""The audit trail: one row per step, message and decision. Written by the system, never edited
	by hand; the idempotency key is unique in the database so a step can only be taken once."""
