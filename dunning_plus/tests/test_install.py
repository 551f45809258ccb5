import frappe
from frappe.tests.utils import FrappeTestCase

from dunning_plus.setup import get_custom_fields, get_roles


class TestInstall(FrappeTestCase):
	def test_roles_and_custom_fields_exist(self):
		for role in get_roles():
			self.assertTrue(frappe.db.exists("Role", role["role_name"]))
		for doctype, fields in get_custom_fields().items():
			meta = frappe.get_meta(doctype)
			for field in fields:
				self.assertTrue(meta.has_field(field["fieldname"]), f"{doctype}.{field['fieldname']}")
				self.assertTrue(
					frappe.db.has_column(doctype, field["fieldname"])
					or field["fieldtype"] in ("Section Break", "Column Break", "Tab Break")
				)

	def test_collectors_read_the_documents_behind_their_cases(self):
		from dunning_plus.setup import READ_ACCESS
		from dunning_plus.tests.utils import make_user

		collector = make_user("dp-reader@example.com", ["Collector"])
		for doctype in READ_ACCESS:
			self.assertTrue(frappe.has_permission(doctype, "read", user=collector), doctype)
			self.assertFalse(frappe.has_permission(doctype, "write", user=collector), doctype)

	def test_engine_stays_framework_free(self):
		import pathlib

		engine = pathlib.Path(frappe.get_app_path("dunning_plus", "engine"))
		for path in engine.glob("*.py"):
			text = path.read_text()
			self.assertNotIn("import frappe", text, path.name)
