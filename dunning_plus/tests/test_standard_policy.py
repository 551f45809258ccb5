import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, getdate

from dunning_plus.delivery import render
from dunning_plus.policies import to_engine
from dunning_plus.standard_policy import (
	EMAIL_STEPS,
	LANGUAGES,
	LETTER_FORMAT,
	STANDARD_POLICY,
	create_standard_collection,
	template_name,
)
from dunning_plus.tests.utils import COMPANY, TERMS_NET30, case_of, make_customer, make_invoice

D0 = getdate("2026-03-02")  # Monday; Net 30 -> due Wednesday 2026-04-01


def context(**overrides) -> dict:
	"""A message context shaped as delivery.message_context builds it."""
	return {
		"customer": "_Test DP Std",
		"customer_name": "Muster GmbH",
		"company": COMPANY,
		"case": "CASE-1",
		"items": [
			{
				"invoice": "SINV-0001",
				"payment_term": "Net 30",
				"due_date": getdate("2026-04-01"),
				"days_overdue": 12,
				"amount": 1234.5,
			},
			{
				"invoice": "SINV-0002",
				"payment_term": "",
				"due_date": getdate("2026-04-05"),
				"days_overdue": 8,
				"amount": 100,
			},
		],
		"credits": [],
		"credit_total": 0,
		"currency": "EUR",
		"total": 1334.5,
		"fee": 15,
		"interest": 0,
		"grand_total": 1349.5,
		"collect_url": "http://127.0.0.1/collect/abc123",
		**overrides,
	}


class TestStandardCollection(FrappeTestCase):
	def tearDown(self):
		frappe.db.rollback()
		frappe.flags.dunning_plus_policies = None

	def test_installed_disabled_with_the_standard_steps(self):
		create_standard_collection()  # a site installed before the patch: the same as after_install
		policy = frappe.get_doc("Dunning Policy", STANDARD_POLICY)
		self.assertEqual(policy.enabled, 0)
		steps = {s.step_code: s for s in policy.steps}
		self.assertEqual(
			[(s.step_code, s.offset_days, s.kind) for s in policy.steps],
			[
				("R-7", -7, "Reminder"),
				("R+3", 3, "Reminder"),
				("L1", 10, "Dunning Level"),
				("L2", 25, "Dunning Level"),
				("FINAL", 45, "Final Notice"),
				("WO", 120, "Write-off Proposal"),
			],
		)
		self.assertEqual(
			(steps["L1"].owner_role, steps["L1"].sla_hours, steps["L1"].level), ("Collector", 48, 1)
		)
		self.assertEqual((steps["L2"].fee, steps["L2"].level), (0, 2))
		self.assertEqual(
			(steps["FINAL"].approval_role, steps["FINAL"].credit_hold), ("Collections Manager", 1)
		)
		self.assertEqual((steps["WO"].channel, steps["WO"].approval_role), ("Task", "Accounts Manager"))
		rows = {(r.step_code, r.language): r.email_template for r in policy.templates}
		self.assertEqual(len(rows), len(EMAIL_STEPS) * len(LANGUAGES))
		for (code, language), name in rows.items():
			self.assertEqual(name, template_name(code, language))
			self.assertTrue(frappe.db.exists("Email Template", name))
		self.assertTrue(frappe.db.exists("Print Format", LETTER_FORMAT))

	def test_reinstall_and_migrate_keep_what_the_administrator_edited(self):
		create_standard_collection()
		name = template_name("L1", "de")
		frappe.db.set_value("Email Template", name, "subject", "Unsere eigene Mahnung")
		policy = frappe.get_doc("Dunning Policy", STANDARD_POLICY)
		policy.grace_days = 5
		policy.steps = [s for s in policy.steps if s.step_code != "WO"]
		policy.save(ignore_permissions=True)
		frappe.db.set_value("Print Format", LETTER_FORMAT, "html", "<p>our letter</p>")
		frappe.delete_doc("Email Template", template_name("R-7", "es"), force=True, ignore_permissions=True)

		create_standard_collection()  # what after_install and the patch run

		self.assertEqual(frappe.db.get_value("Email Template", name, "subject"), "Unsere eigene Mahnung")
		policy.reload()
		self.assertEqual(policy.grace_days, 5)
		self.assertNotIn("WO", [s.step_code for s in policy.steps])
		self.assertEqual(frappe.db.get_value("Print Format", LETTER_FORMAT, "html"), "<p>our letter</p>")
		# only what is missing comes back
		self.assertTrue(frappe.db.exists("Email Template", template_name("R-7", "es")))

	def test_every_template_renders_items_totals_fee_link_and_contact(self):
		create_standard_collection()
		frappe.db.set_value("Company", COMPANY, "email", "ar@company.example")
		for code in EMAIL_STEPS:
			for language in LANGUAGES:
				subject, body = render(template_name(code, language), context())
				self.assertIn(COMPANY, subject)
				self.assertNotIn("{{", subject + body)
				for text in (
					"SINV-0001",
					"SINV-0002",
					"Muster GmbH",
					"/collect/abc123",
					"ar@company.example",
				):
					self.assertIn(text, body, f"{code} {language}: {text}")
				self.assertIn("1,349.50", body)  # the grand total with the fee
		_subject, body = render(template_name("L2", "de"), context(fee=0, grand_total=1334.5))
		self.assertNotIn("Mahngebühr", body)
		_subject, body = render(template_name("L2", "de"), context())
		self.assertIn("Mahngebühr", body)

	def test_the_template_follows_the_customers_language(self):
		create_standard_collection()
		steps = {s.code: s for s in to_engine(frappe.get_doc("Dunning Policy", STANDARD_POLICY)).steps}
		self.assertEqual(steps["L1"].template_for("de"), template_name("L1", "de"))
		self.assertEqual(steps["L1"].template_for("fr-CA"), template_name("L1", "fr"))
		self.assertEqual(steps["L1"].template_for("es"), template_name("L1", "es"))
		self.assertEqual(steps["L1"].template_for("it"), template_name("L1", "en"))
		self.assertEqual(steps["L1"].template_for(None), template_name("L1", "en"))

	def test_a_cycle_sends_the_german_reminder_to_a_german_customer(self):
		from dunning_plus.tasks import run_daily_cycle
		from dunning_plus.tests.utils import ensure_item, ensure_terms

		create_standard_collection()
		ensure_item()
		ensure_terms()
		frappe.db.set_value("Dunning Policy", STANDARD_POLICY, "enabled", 1)
		frappe.db.set_value("Company", COMPANY, "dunning_policy", STANDARD_POLICY)
		frappe.flags.dunning_plus_policies = None
		settings = frappe.get_single("Dunning Plus Settings")
		settings.update({"sender_email_account": "_Test Email Account 1", "proposal_mode": 0})
		settings.save()
		tag = frappe.generate_hash(length=6)
		german = make_customer(f"_Test DP Std de {tag}", email_id="ap@de.example", language="de")
		french = make_customer(f"_Test DP Std fr {tag}", email_id="ap@fr.example", language="fr")
		for customer in (german, french):
			make_invoice(customer, D0, terms=TERMS_NET30)
		day = add_days(D0, 36)  # Tuesday, due + 6: the R+3 reminder (R-7 was never run)
		with self.freeze_time(day, tick=True):
			run_daily_cycle(as_of=day, company=COMPANY)
		subjects = {}
		for customer in (german, french):
			subjects[customer] = frappe.get_all(
				"Communication",
				filters={"reference_doctype": "Collection Case", "reference_name": case_of(customer).name},
				pluck="subject",
			)
		self.assertEqual(len(subjects[german]), 1)
		self.assertTrue(subjects[german][0].startswith("Zahlungserinnerung von"), subjects[german])
		self.assertTrue(subjects[french][0].startswith("Rappel de paiement de"), subjects[french])
