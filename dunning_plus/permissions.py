"""Row-level access: a Collector reads and works only the cases where they are the collector or
an assignee, and the promises, disputes and actions of those cases. Managers and accounts users
keep the access their roles give."""

from __future__ import annotations

import frappe

UNRESTRICTED = {"Collections Manager", "Accounts Manager", "Accounts User", "System Manager", "Administrator"}


def is_restricted(user: str | None = None) -> bool:
	user = user or frappe.session.user
	if user == "Administrator":
		return False
	roles = set(frappe.get_roles(user))
	return "Collector" in roles and not (roles & UNRESTRICTED)


def _case_condition(user: str, alias: str = "`tabCollection Case`") -> str:
	return (
		f"({alias}.`collector` = {frappe.db.escape(user)} "
		f"or {alias}.`_assign` like {frappe.db.escape('%' + user + '%')})"
	)


def collection_case_query(user: str | None = None) -> str:
	user = user or frappe.session.user
	if not is_restricted(user):
		return ""
	return _case_condition(user)


def _linked_query(doctype: str, user: str | None, extra: str = "") -> str:
	user = user or frappe.session.user
	if not is_restricted(user):
		return ""
	cond = (
		f"`tab{doctype}`.`collection_case` in (select `tabCollection Case`.`name` from `tabCollection Case` "
		f"where {_case_condition(user)})"
	)
	return f"({cond}{extra})"


def payment_promise_query(user: str | None = None) -> str:
	user = user or frappe.session.user
	return _linked_query(
		"Payment Promise", user, f" or `tabPayment Promise`.`recorded_by` = {frappe.db.escape(user)}"
	)


def collection_dispute_query(user: str | None = None) -> str:
	user = user or frappe.session.user
	return _linked_query(
		"Collection Dispute", user, f" or `tabCollection Dispute`.`dispute_owner` = {frappe.db.escape(user)}"
	)


def collection_action_query(user: str | None = None) -> str:
	return _linked_query("Collection Action", user)


def _works_case(case_name: str | None, user: str) -> bool:
	if not case_name:
		return False
	case = frappe.db.get_value("Collection Case", case_name, ["collector", "_assign"], as_dict=True)
	if not case:
		return False
	return case.collector == user or user in frappe.parse_json(case._assign or "[]")


def collection_case_permission(doc, ptype=None, user=None) -> bool:
	user = user or frappe.session.user
	if not is_restricted(user):
		return True
	if doc.is_new():
		return True
	return doc.collector == user or user in frappe.parse_json(doc.get("_assign") or "[]")


def payment_promise_permission(doc, ptype=None, user=None) -> bool:
	user = user or frappe.session.user
	if not is_restricted(user):
		return True
	return _works_case(doc.collection_case, user) or (doc.recorded_by == user and not doc.is_new())


def collection_dispute_permission(doc, ptype=None, user=None) -> bool:
	user = user or frappe.session.user
	if not is_restricted(user):
		return True
	return _works_case(doc.collection_case, user) or doc.dispute_owner == user


def collection_action_permission(doc, ptype=None, user=None) -> bool:
	user = user or frappe.session.user
	if not is_restricted(user):
		return True
	return _works_case(doc.collection_case, user)
