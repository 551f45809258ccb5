# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, getdate

from dunning_plus.policies import get_preview, load_policy
from dunning_plus.tests.utils import COMPANY, STANDARD_STEPS, TEMPLATE, ensure_policy, ensure_template


class TestDunningPolicy(FrappeTestCase):
	def setUp(self):
		ensure_template()

	def new_policy(self, name, steps, **fields):
		return frappe.get_doc(
			{"doctype": "Dunning Policy", "policy_name": name, "company": COMPANY, "steps": steps, **fields}
		)

	def test_valid_policy_saves_and_loads_into_the_engine(self):
		ensure_policy("_Test DP Valid")
		policy = load_policy("_Test DP Valid")
		self.assertEqual([s.code for s in policy.steps], ["R-7", "R+3", "L1", "L2", "FINAL"])
		final = policy.step("FINAL")
		self.assertEqual(final.approval_role, "Collections Manager")
		self.assertTrue(final.credit_hold)
		self.assertEqual(policy.step("L1").owner, "Collector")

	def test_every_problem_is_reported_and_nothing_is_written(self):
		steps = [
			{
				"step_code": "L1",
				"offset_days": 10,
				"kind": "Dunning Level",
				"level": 1,
				"email_template": TEMPLATE,
			},
			{
				"step_code": "L2",
				"offset_days": 5,
				"kind": "Dunning Level",
				"level": 1,
				"email_template": TEMPLATE,
				"fee": -5,
			},
			{"step_code": "WO", "offset_days": 60, "kind": "Write-off Proposal", "channel": "Task"},
		]
		doc = self.new_policy("_Test DP Broken", steps)
		with self.assertRaises(frappe.ValidationError) as ctx:
			doc.insert()
		message = str(ctx.exception)
		self.assertIn("Dunning level 1 is defined twice", message)
		self.assertIn("the fee cannot be negative", message)
		self.assertIn("order the steps by their offset", message)
		self.assertIn("must name the role that approves it", message)
		self.assertFalse(frappe.db.exists("Dunning Policy", "_Test DP Broken"))

	def test_empty_policy_and_email_without_template_are_rejected(self):
		with self.assertRaisesRegex(frappe.ValidationError, "has no steps"):
			self.new_policy("_Test DP Empty", []).insert()
		with self.assertRaisesRegex(frappe.ValidationError, "sends by email but has no template"):
			self.new_policy(
				"_Test DP NoTpl", [{"step_code": "R", "offset_days": 3, "kind": "Reminder"}]
			).insert()

	def test_language_templates_must_name_a_step(self):
		doc = self.new_policy(
			"_Test DP Lang",
			STANDARD_STEPS,
			templates=[{"step_code": "NOPE", "language": "de", "email_template": TEMPLATE}],
		)
		with self.assertRaisesRegex(frappe.ValidationError, "there is no step"):
			doc.insert()
		doc.templates[0].step_code = "L1"
		doc.insert()
		self.assertEqual(load_policy("_Test DP Lang").step("L1").template_for("de"), TEMPLATE)

	def test_preview_moves_steps_off_weekends_and_holidays(self):
		due = getdate("2026-06-05")  # a Friday
		holiday_list = "_Test DP Holidays"
		if not frappe.db.exists("Holiday List", holiday_list):
			frappe.get_doc(
				{
					"doctype": "Holiday List",
					"holiday_list_name": holiday_list,
					"from_date": "2026-01-01",
					"to_date": "2026-12-31",
					"holidays": [{"holiday_date": "2026-06-15", "description": "Test holiday"}],
				}
			).insert()
		doc = self.new_policy("_Test DP Preview", STANDARD_STEPS, holiday_list=holiday_list, skip_weekends=1)
		preview = {row["step"]: row for row in get_preview(doc.as_dict(), str(due))}
		# D-7 = Friday 2026-05-29 stays; D+3 = Monday 06-08 stays; D+10 = Monday 06-15 is a holiday -> Tuesday
		self.assertEqual(preview["R-7"]["date"], "2026-05-29")
		self.assertEqual(preview["R+3"]["date"], "2026-06-08")
		self.assertEqual(preview["L1"]["date"], "2026-06-16")
		self.assertTrue(preview["L1"]["shifted"])
		# D+25 = Tuesday 06-30 stays; D+45 = Monday 07-20 stays
		self.assertEqual(preview["L2"]["date"], str(add_days(due, 25)))
		self.assertFalse(preview["L2"]["shifted"])
