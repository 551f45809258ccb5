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


def before_uninstall():
	delete_dunning_custom_fields()


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
