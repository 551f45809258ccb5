import frappe

from dunning_plus import cases
from dunning_plus.events.sales_invoice import validate_block


def validate(doc, method=None):
	validate_block(doc)


def on_update(doc, method=None):
	if (
		doc.has_value_changed("dunning_block")
		or doc.has_value_changed("dunning_block_until")
		or doc.has_value_changed("dunning_policy")
		or doc.has_value_changed("dunning_collector")
	):
		for company in frappe.get_all(
			"Collection Case",
			filters={"customer": doc.name, "status": ["not in", cases.CLOSED]},
			pluck="company",
		):
			cases.mark_dirty(company, doc.name)
		cases.flush()
