"""Row-level access: a Collector reads and works only the cases where they are the collector or
an assignee, and the promises, disputes and actions of those cases. Managers and accounts users
keep the access their roles give."""

from __future__ import annotations

from collections.abc import Iterable

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


# ------------------------------------------------------------------ collectors see their customers
# With "Collectors See Only the Customers of Their Cases" on (Dunning Plus Settings, default), every
# restricted Collector gets a User Permission on Customer (apply to all doctypes) for each customer of a
# case they collect or are assigned to: Frappe then limits the Customer and every ERPNext document
# linked to it (invoices, orders, payments) to those customers. The rows carry dunning_plus_managed, so
# only ours are added and removed; they follow cases as they are opened, assigned and reassigned.

MANAGED = "dunning_plus_managed"


def customers_restricted() -> bool:
	return bool(frappe.db.get_single_value("Dunning Plus Settings", "collectors_see_own_customers"))


def _collectors(users: Iterable[str] | None = None) -> set[str]:
	hr = frappe.qb.DocType("Has Role")
	u = frappe.qb.DocType("User")
	q = (
		frappe.qb.from_(hr)
		.join(u)
		.on(u.name == hr.parent)
		.select(hr.parent)
		.distinct()
		.where((hr.role == "Collector") & (hr.parenttype == "User") & (u.enabled == 1))
	)
	if users is not None:
		users = [x for x in users if x]
		if not users:
			return set()
		q = q.where(hr.parent.isin(users))
	return {name for (name,) in q.run() if is_restricted(name)}


def _wanted(users: set[str]) -> set[tuple[str, str]]:
	"""(user, customer) for every case each of ``users`` collects or is assigned to."""
	if not users or not customers_restricted():
		return set()
	cc = frappe.qb.DocType("Collection Case")
	mine = cc.collector.isin(sorted(users))
	for user in sorted(users):
		mine = mine | cc._assign.like(f'%"{user}"%')
	wanted = set()
	for customer, collector, assign in (
		frappe.qb.from_(cc).select(cc.customer, cc.collector, cc._assign).where(mine).run()
	):
		people = {collector, *frappe.parse_json(assign or "[]")}
		for user in people & users:
			wanted.add((user, customer))
	return wanted


def sync_customer_permissions(users: Iterable[str] | None = None) -> dict[str, int]:
	"""Brings the app's User Permissions on Customer in line with the cases (all collectors when
	``users`` is None); returns how many were added and removed. Safe to run any number of times."""
	if users is not None:
		users = {x for x in users if x}
		if not users:
			return {"added": 0, "removed": 0}
	collectors = _collectors(users)
	wanted = _wanted(collectors)
	up = frappe.qb.DocType("User Permission")
	q = (
		frappe.qb.from_(up)
		.select(up.name, up.user, up.for_value)
		.where((up.allow == "Customer") & (up[MANAGED] == 1))
	)
	if users is not None:
		q = q.where(up.user.isin(list(users)))
	have = {(r.user, r.for_value): r.name for r in q.run(as_dict=True)}
	removed = 0
	for pair, name in have.items():
		if pair not in wanted:
			frappe.delete_doc("User Permission", name, ignore_permissions=True, force=True)
			removed += 1
	added = 0
	for user, customer in sorted(wanted - set(have)):
		if frappe.db.exists("User Permission", {"user": user, "allow": "Customer", "for_value": customer}):
			continue  # an administrator's own row already gives it
		doc = frappe.get_doc(
			{
				"doctype": "User Permission",
				"user": user,
				"allow": "Customer",
				"for_value": customer,
				"apply_to_all_doctypes": 1,
				MANAGED: 1,
			}
		)
		doc.insert(ignore_permissions=True)
		added += 1
	return {"added": added, "removed": removed}


def sees_no_customer(user: str | None = None) -> bool:
	"""A restricted Collector with no case yet: no User Permission would mean every customer, so none."""
	user = user or frappe.session.user
	if not is_restricted(user) or not customers_restricted():
		return False
	from frappe.permissions import get_user_permissions

	return not get_user_permissions(user).get("Customer")


def customer_linked_query(user: str | None = None) -> str:
	"""permission_query_conditions of Customer and the ERPNext documents collectors read."""
	return "1=0" if sees_no_customer(user) else ""


def customer_linked_permission(doc, ptype=None, user=None) -> bool | None:
	if ptype in (None, "read", "select", "print", "email", "report") and sees_no_customer(user):
		return False
	return None


def todo_changed(doc, method=None) -> None:
	"""An assignment on a case (or its end) changes who sees the customer."""
	if doc.reference_type != "Collection Case":
		return
	before = doc.get_doc_before_save() if method == "on_update" else None
	sync_customer_permissions({doc.allocated_to, before.allocated_to if before else None} - {None})


def settings_changed(doc, method=None) -> None:
	sync_customer_permissions()
