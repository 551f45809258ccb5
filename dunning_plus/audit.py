"""The audit trail: decisions recorded as Collection Action rows beside the steps."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import frappe
from frappe import _
from frappe.utils import nowdate


def record_decision(
	case: str | None,
	company: str,
	customer: str,
	action_type: str,
	details: str,
	reference=None,
	step_kind: str | None = None,
	status: str = "Done",
) -> str:
	if frappe.flags.dunning_plus_customer_acting:
		details = by_customer(details)
	doc = frappe.get_doc(
		{
			"doctype": "Collection Action",
			"collection_case": case,
			"company": company,
			"customer": customer,
			"action_date": nowdate(),
			"action_type": action_type,
			"status": status,
			"step_kind": step_kind,
			"details": details,
			"reference_doctype": reference.doctype if reference is not None else None,
			"reference_name": reference.name if reference is not None else None,
			"approved_by": frappe.session.user if action_type == "Decision" else None,
		}
	)
	doc.insert(ignore_permissions=True)
	if case:
		frappe.get_doc("Collection Case", case).add_comment("Info", details)
	return doc.name


def by_customer(details: str) -> str:
	"""How the audit trail and the timeline mark what the customer did on the collection page."""
	return _("{0} (by the customer via the collection page)").format(details)


@contextmanager
def customer_acting() -> Iterator[None]:
	"""Everything recorded inside is marked as done by the customer on the collection page."""
	frappe.flags.dunning_plus_customer_acting = True
	try:
		yield
	finally:
		frappe.flags.dunning_plus_customer_acting = False
