"""Install / uninstall hooks: roles now, custom fields on ERPNext doctypes as the data model lands."""

import frappe

from dunning_plus.setup import get_custom_fields, get_roles

DISPUTE_REASONS = (
	"Pricing",
	"Damaged Goods",
	"Missing PO",
	"Short Pay",
	"Not Delivered",
	"Duplicate Invoice",
)


def after_install():
	create_roles()
	create_dunning_custom_fields()
	create_dispute_reasons()
	grant_read_access()
	create_standard_collection()


def create_standard_collection():
	"""The disabled "Standard Collection" policy with its templates and letter (only what is missing)."""
	from dunning_plus.standard_policy import create_standard_collection

	create_standard_collection()


def before_uninstall():
	from dunning_plus.standard_policy import delete_standard_records

	delete_collector_permissions()
	delete_standard_records()
	delete_dunning_custom_fields()
	revoke_read_access()
	delete_scheduled_jobs()


def delete_collector_permissions():
	"""The User Permissions on Customer the app gave collectors go with it (an administrator's stay)."""
	if not frappe.db.has_column("User Permission", "dunning_plus_managed"):
		return
	for name in frappe.get_all("User Permission", filters={"dunning_plus_managed": 1}, pluck="name"):
		frappe.delete_doc("User Permission", name, ignore_permissions=True, force=True)


def before_tests():
	from erpnext.setup.utils import before_tests as erpnext_before_tests

	erpnext_before_tests()


def create_roles():
	for role in get_roles():
		if not frappe.db.exists("Role", role["role_name"]):
			frappe.get_doc({"doctype": "Role", **role}).insert(ignore_permissions=True)


def create_dunning_custom_fields():
	from frappe.custom.doctype.custom_field.custom_field import create_custom_fields

	create_custom_fields(get_custom_fields(), ignore_validate=True)


def delete_dunning_custom_fields():
	for doctype, fields in get_custom_fields().items():
		fieldnames = [field["fieldname"] for field in fields]
		custom_field = frappe.qb.DocType("Custom Field")
		frappe.qb.from_(custom_field).delete().where(
			(custom_field.dt == doctype) & (custom_field.fieldname.isin(fieldnames))
		).run()
		frappe.clear_cache(doctype=doctype)


def create_dispute_reasons():
	for reason in DISPUTE_REASONS:
		if not frappe.db.exists("Dispute Reason", reason):
			frappe.get_doc({"doctype": "Dispute Reason", "reason": reason, "sla_days": 14}).insert(
				ignore_permissions=True
			)


def grant_read_access():
	"""Collectors and collection managers read the customers, invoices and orders of their cases."""
	from frappe.permissions import add_permission

	from dunning_plus.setup import COLLECTION_ROLES, READ_ACCESS

	for doctype in READ_ACCESS:
		for role in COLLECTION_ROLES:
			if not frappe.db.exists("Custom DocPerm", {"parent": doctype, "role": role, "permlevel": 0}):
				add_permission(doctype, role, 0, "read")


def revoke_read_access():
	from dunning_plus.setup import COLLECTION_ROLES, READ_ACCESS

	perm = frappe.qb.DocType("Custom DocPerm")
	frappe.qb.from_(perm).delete().where(
		perm.parent.isin(READ_ACCESS) & perm.role.isin(COLLECTION_ROLES)
	).run()
	for doctype in READ_ACCESS:
		frappe.clear_cache(doctype=doctype)


def delete_scheduled_jobs():
	"""Frappe syncs job types from hooks on migrate but leaves an uninstalled app's behind."""
	job = frappe.qb.DocType("Scheduled Job Type")
	frappe.qb.from_(job).delete().where(job.method.like("dunning_plus.%")).run()
