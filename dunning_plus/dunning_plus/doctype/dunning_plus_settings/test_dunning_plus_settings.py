# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase

from dunning_plus.policies import policy_book
from dunning_plus.tests.utils import COMPANY, POLICY, ensure_policy


class TestDunningPlusSettings(FrappeTestCase):
	def test_bad_values_are_rejected(self):
		settings = frappe.get_single("Dunning Plus Settings")
		settings.run_hour = 25
		with self.assertRaisesRegex(frappe.ValidationError, "between 0 and 23"):
			settings.save()
		settings.reload()
		settings.max_messages_per_run = -1
		with self.assertRaisesRegex(frappe.ValidationError, "cannot be negative"):
			settings.save()

	def test_company_default_policy_feeds_the_policy_book(self):
		ensure_policy()
		frappe.db.set_value("Company", COMPANY, "dunning_policy", None)
		settings = frappe.get_single("Dunning Plus Settings")
		settings.set("company_policies", [{"company": COMPANY, "dunning_policy": POLICY}])
		settings.save()
		self.assertEqual(policy_book().company_defaults[COMPANY], POLICY)
		settings.append("company_policies", {"company": COMPANY, "dunning_policy": POLICY})
		with self.assertRaisesRegex(frappe.ValidationError, "more than one default policy"):
			settings.save()
