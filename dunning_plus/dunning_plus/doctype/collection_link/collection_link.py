# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

from frappe.model.document import Document


class CollectionLink(Document):
	"""One customer-facing collection page link of a case and recipient (see dunning_plus.collect_links)."""
