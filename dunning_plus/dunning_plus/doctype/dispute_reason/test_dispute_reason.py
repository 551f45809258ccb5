# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase

from dunning_plus.install import DISPUTE_REASONS


class TestDisputeReason(FrappeTestCase):
	def test_standard_reasons_are_installed(self):
		for reason in DISPUTE_REASONS:
			self.assertTrue(frappe.db.exists("Dispute Reason", reason))

	def test_negative_sla_is_rejected(self):
		with self.assertRaisesRegex(frappe.ValidationError, "cannot be negative"):
			frappe.get_doc({"doctype": "Dispute Reason", "reason": "_Test DP Late", "sla_days": -1}).insert()
