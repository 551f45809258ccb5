# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import datetime

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
		result = get_preview(doc.as_dict(), str(due))
		self.assertEqual(result["problems"], [])
		preview = {row["step"]: row for row in result["steps"]}
		# D-7 = Friday 2026-05-29 stays; D+3 = Monday 06-08 stays; D+10 = Monday 06-15 is a holiday -> Tuesday
		self.assertEqual(preview["R-7"]["date"], "2026-05-29")
		self.assertEqual(preview["R+3"]["date"], "2026-06-08")
		self.assertEqual(preview["L1"]["date"], "2026-06-16")
		self.assertTrue(preview["L1"]["shifted"])
		# D+25 = Tuesday 06-30 stays; D+45 = Monday 07-20 stays
		self.assertEqual(preview["L2"]["date"], str(add_days(due, 25)))
		self.assertFalse(preview["L2"]["shifted"])

	def test_preview_of_a_policy_being_typed_is_silent(self):
		# Issue 15 item 5: a blank new policy (one empty step row, as the form makes it) and a step
		# sending by email without a template were answered with an error (417 and a popup on every
		# keystroke). The preview now says what is missing and raises and logs nothing.
		blank = frappe.new_doc("Dunning Policy")
		blank.append("steps", {"step_code": "S1", "kind": "Reminder", "channel": "Email"})
		frappe.clear_messages()
		result = get_preview(blank.as_dict())
		self.assertEqual(result["steps"], [])
		self.assertTrue(any("template" in p for p in result["problems"]), result["problems"])
		self.assertEqual(frappe.message_log, [])
		# a valid policy previews its steps
		valid = self.new_policy("_Test DP Preview Typed", STANDARD_STEPS)
		self.assertEqual(get_preview(valid.as_dict())["problems"], [])
		self.assertTrue(get_preview(valid.as_dict())["steps"])

	def test_a_policy_made_with_new_doc_has_no_sending_window(self):
		"""issue 15 item 21: Frappe sets new Time fields to now; that must not become a window."""
		doc = frappe.new_doc("Dunning Policy")
		self.assertTrue(doc.sending_window_start)  # Frappe's own default for a Time field
		doc.update({"policy_name": "_Test DP NewDoc", "company": COMPANY, "steps": STANDARD_STEPS})
		doc.insert()
		self.assertFalse(doc.restrict_sending_hours)
		self.assertIsNone(doc.sending_window_start)
		calendar = load_policy("_Test DP NewDoc").calendar
		self.assertIsNone(calendar.window_start)
		moment = datetime.datetime(2026, 6, 5, 23, 30)  # a Friday, late at night
		self.assertEqual(calendar.next_send_time(moment), moment)

	def test_restricted_sending_hours_from_the_form(self):
		doc = self.new_policy(
			"_Test DP Window",
			STANDARD_STEPS,
			restrict_sending_hours=1,
			sending_window_start="08:00:27.123",
			sending_window_end="18:00:00",
		)
		doc.insert()
		calendar = load_policy("_Test DP Window").calendar
		self.assertEqual((calendar.window_start, calendar.window_end), (datetime.time(8), datetime.time(18)))
		self.assertEqual(
			calendar.next_send_time(datetime.datetime(2026, 6, 5, 6, 0)), datetime.datetime(2026, 6, 5, 8, 0)
		)

	def test_equal_or_missing_sending_hours_are_refused(self):
		same = self.new_policy(
			"_Test DP Same",
			STANDARD_STEPS,
			restrict_sending_hours=1,
			sending_window_start="09:15:01",
			sending_window_end="09:15:59",
		)
		with self.assertRaisesRegex(frappe.ValidationError, "it starts and ends at 09:15"):
			same.insert()
		self.assertFalse(frappe.db.exists("Dunning Policy", "_Test DP Same"))
		# A new document gets every Time field filled by Frappe; a saved one can have one cleared.
		missing = self.new_policy(
			"_Test DP Missing",
			STANDARD_STEPS,
			restrict_sending_hours=1,
			sending_window_start="09:00",
			sending_window_end="17:00",
		).insert()
		missing.sending_window_end = None
		with self.assertRaisesRegex(frappe.ValidationError, "Set both Send From and Send Until"):
			missing.save()
		self.assertEqual(
			str(frappe.db.get_value("Dunning Policy", missing.name, "sending_window_end")), "17:00:00"
		)

	def test_patch_keeps_real_windows_and_drops_instant_ones(self):
		from dunning_plus.patches.v0_1.explicit_sending_hours import execute

		ensure_policy("_Test DP Old Real")
		ensure_policy("_Test DP Old Instant")
		frappe.db.set_value(
			"Dunning Policy",
			"_Test DP Old Real",
			{
				"restrict_sending_hours": 0,
				"sending_window_start": "07:00:00",
				"sending_window_end": "17:30:00",
			},
		)
		frappe.db.set_value(
			"Dunning Policy",
			"_Test DP Old Instant",
			{
				"restrict_sending_hours": 0,
				"sending_window_start": "10:42:13.000001",
				"sending_window_end": "10:42:13.000007",
			},
		)
		execute()
		real = frappe.db.get_value(
			"Dunning Policy",
			"_Test DP Old Real",
			["restrict_sending_hours", "sending_window_start"],
			as_dict=1,
		)
		instant = frappe.db.get_value(
			"Dunning Policy",
			"_Test DP Old Instant",
			["restrict_sending_hours", "sending_window_start"],
			as_dict=1,
		)
		self.assertEqual((real.restrict_sending_hours, str(real.sending_window_start)), (1, "7:00:00"))
		self.assertEqual((instant.restrict_sending_hours, instant.sending_window_start), (0, None))
