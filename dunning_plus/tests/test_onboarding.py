"""The guided setup of the Collections workspace: Frappe's Module Onboarding whose steps are marked
done from the data, and the test messages sent to the current user only."""

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import getdate

from dunning_plus.onboarding import (
	CHECKS,
	ONBOARDING,
	STEP_AUTOMATION,
	STEP_COLLECTORS,
	STEP_DEFAULT_POLICY,
	STEP_EMAIL_ACCOUNT,
	STEP_RUN_HOUR,
	STEP_TEST_MESSAGES,
	send_test_messages,
	update_onboarding,
)
from dunning_plus.standard_policy import STANDARD_POLICY, create_standard_collection, template_name
from dunning_plus.tests.utils import (
	COMPANY,
	TERMS_3,
	ensure_item,
	ensure_terms,
	make_customer,
	make_invoice,
)


def body_of(raw: str) -> str:
	"""The decoded text of every part of a MIME message."""
	import email

	parts = email.message_from_string(raw).walk()
	return "".join(
		(p.get_payload(decode=True) or b"").decode(p.get_content_charset() or "utf-8", "replace")
		for p in parts
		if not p.is_multipart()
	)


def done(step: str) -> bool:
	return bool(frappe.db.get_value("Onboarding Step", step, "is_complete"))


class TestOnboarding(FrappeTestCase):
	def setUp(self):
		create_standard_collection()
		frappe.db.set_value("Module Onboarding", ONBOARDING, "is_complete", 0)
		for step in CHECKS:
			frappe.db.set_value("Onboarding Step", step, {"is_complete": 0, "is_skipped": 0})
		# a site that has set nothing up yet
		settings = frappe.get_single("Dunning Plus Settings")
		settings.update(
			{
				"sender_email_account": None,
				"default_collector": None,
				"enable_automation": 0,
				"company_policies": [],
			}
		)
		settings.flags.ignore_mandatory = True
		settings.save()
		frappe.db.set_value("Company", {"dunning_policy": ["is", "set"]}, "dunning_policy", None)
		frappe.db.set_value("Customer", {"dunning_collector": ["is", "set"]}, "dunning_collector", None)
		frappe.db.delete("Email Queue", {"reference_doctype": "Dunning Policy"})
		# steps stay done once marked (as ERPNext's): start each test from an onboarding not begun
		frappe.db.set_value("Module Onboarding", ONBOARDING, "is_complete", 0)
		for step in CHECKS:
			frappe.db.set_value("Onboarding Step", step, "is_complete", 0)

	def tearDown(self):
		frappe.db.rollback()
		frappe.clear_document_cache("Dunning Plus Settings", "Dunning Plus Settings")

	def test_the_collections_workspace_has_the_onboarding_with_six_steps(self):
		onboarding = frappe.get_doc("Module Onboarding", ONBOARDING)
		self.assertEqual([s.step for s in onboarding.steps], list(CHECKS))
		content = frappe.parse_json(frappe.db.get_value("Workspace", "Collections", "content"))
		self.assertIn(
			ONBOARDING, [b["data"].get("onboarding_name") for b in content if b["type"] == "onboarding"]
		)

	def test_each_step_is_done_when_the_data_says_so(self):
		update_onboarding()
		self.assertTrue(done(STEP_RUN_HOUR))  # the settings have a run hour from the start
		for step in (STEP_DEFAULT_POLICY, STEP_EMAIL_ACCOUNT, STEP_COLLECTORS, STEP_AUTOMATION):
			self.assertFalse(done(step), step)

		settings = frappe.get_single("Dunning Plus Settings")
		settings.append("company_policies", {"company": COMPANY, "dunning_policy": STANDARD_POLICY})
		settings.sender_email_account = "_Test Email Account 1"
		settings.save()  # the settings' on_update checks the steps
		self.assertTrue(done(STEP_DEFAULT_POLICY))
		self.assertTrue(done(STEP_EMAIL_ACCOUNT))
		self.assertFalse(done(STEP_COLLECTORS))

		customer = make_customer(f"_Test DP Onb {frappe.generate_hash(length=6)}")
		doc = frappe.get_doc("Customer", customer)
		doc.dunning_collector = "Administrator"
		doc.save()
		self.assertTrue(done(STEP_COLLECTORS))

		settings.reload()
		settings.enable_automation = 1
		settings.save()
		self.assertFalse(done(STEP_AUTOMATION))  # the default policy is still disabled
		policy = frappe.get_doc("Dunning Policy", STANDARD_POLICY)
		policy.enabled = 1
		policy.save()
		self.assertTrue(done(STEP_AUTOMATION))
		self.assertFalse(frappe.db.get_value("Module Onboarding", ONBOARDING, "is_complete"))

	def test_test_messages_use_real_open_items_and_reach_only_the_current_user(self):
		ensure_item()
		ensure_terms()
		customer = make_customer(
			f"_Test DP Onb FR {frappe.generate_hash(length=6)}", email_id="ap@never.example", language="fr"
		)
		si = make_invoice(customer, getdate("2026-03-02"), terms=TERMS_3, rate=777)
		frappe.db.set_value("User", "Administrator", "email", "dp-admin@example.com")
		frappe.db.set_single_value("Dunning Plus Settings", "sender_email_account", "_Test Email Account 1")
		with self.freeze_time("2026-05-15"):
			sent = send_test_messages(STANDARD_POLICY, customer)
		self.assertEqual([m["step"] for m in sent], ["R-7", "R+3", "L1", "L2", "FINAL"])
		self.assertEqual(
			{m["template"] for m in sent},
			{template_name(s, "fr") for s in ("R-7", "R+3", "L1", "L2", "FINAL")},
		)
		queue = frappe.get_all(
			"Email Queue",
			filters={"reference_doctype": "Dunning Policy", "reference_name": STANDARD_POLICY},
			pluck="name",
		)
		self.assertEqual(len(queue), 5)
		for name in queue:
			mail = frappe.get_doc("Email Queue", name)
			self.assertEqual([r.recipient for r in mail.recipients], ["dp-admin@example.com"])
			self.assertIn(si.name, body_of(mail.message))
		self.assertTrue(any(m["subject"].startswith("Rappel de paiement") for m in sent))
		self.assertFalse(frappe.db.exists("Communication", {"recipients": ["like", "%ap@never.example%"]}))
		self.assertTrue(done(STEP_TEST_MESSAGES))
