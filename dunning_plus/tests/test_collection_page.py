"""The customer's collection page (/collect/<token>): every action a customer takes there and every
security rule of issue 10, one test each."""

from __future__ import annotations

import base64
import hashlib
import importlib
import pkgutil
import random
from io import BytesIO
from unittest.mock import patch

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, flt, getdate, set_request

import dunning_plus
from dunning_plus import collect_links, collection_page, delivery
from dunning_plus.tests.collection_page_fixture import IBAN, SWIFT, ensure_bank_account
from dunning_plus.tests.utils import (
	BANK,
	COMPANY,
	case_of,
	ensure_policy,
	make_customer,
	make_invoice,
	make_user,
	pay,
	setup_collections,
)

T = getdate("2026-03-16")
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(48)
GUEST_METHODS = {
	"dunning_plus.collection_page.promise",
	"dunning_plus.collection_page.dispute",
	"dunning_plus.collection_page.remittance",
	"dunning_plus.collection_page.pay",
	"dunning_plus.collection_page.accept_plan",
	"dunning_plus.collection_page.statement",
	"dunning_plus.collection_page.document",
}


class CollectionPageTestCase(FrappeTestCase):
	def setUp(self):
		setup_collections()
		self.customer = make_customer(
			f"_Test DP Page {frappe.generate_hash(length=6)}", email_id="ap@page.example"
		)
		frappe.db.set_single_value(
			"Dunning Plus Settings",
			{
				"dispute_owner": None,
				"remittance_owner": None,
				"collection_link_validity_days": 60,
				"collection_page_max_upload_mb": 5,
			},
		)
		self.ip = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"

	def tearDown(self):
		frappe.set_user("Administrator")
		self.no_request()
		frappe.local.lang = "en"
		frappe.db.rollback()
		# single values are cached per connection and survive the rollback
		frappe.db.value_cache.pop("Dunning Plus Settings", None)
		frappe.clear_document_cache("Dunning Plus Settings", "Dunning Plus Settings")

	@staticmethod
	def no_request():
		"""Back to no request at all, as a test runs (Frappe's router reads a request if there is one)."""
		if hasattr(frappe.local, "request"):
			del frappe.local.request
		frappe.local.form_dict = frappe._dict()

	# ------------------------------------------------------------ helpers

	def make_case(self, customer: str | None = None):
		"""Three open items at T: si1 row 1 (300, 5 days overdue), si2 rows 1 and 2 (300 each, 40 and
		10 days overdue); the rows due in 20 and more days are not in view."""
		customer = customer or self.customer
		si1 = make_invoice(customer, add_days(T, -35))
		si2 = make_invoice(customer, add_days(T, -70))
		return case_of(customer), si1, si2

	def link(self, case_name: str, recipient: str = "ap@page.example") -> str:
		return collect_links._token(collect_links.issue(case_name, recipient).nonce)

	def call(self, fn, files: dict | None = None, **kwargs):
		"""Calls a page method as Guest would over HTTP: a POST (with files) from one address."""
		data = {k: (BytesIO(content), name) for k, (name, content) in (files or {}).items()}
		set_request(method="POST", path=f"/api/method/dunning_plus.collection_page.{fn.__name__}", data=data)
		frappe.local.request_ip = self.ip
		frappe.local.form_dict = frappe._dict(
			cmd=f"dunning_plus.collection_page.{fn.__name__}", token=kwargs.get("token")
		)
		frappe.set_user("Guest")
		try:
			return fn(**kwargs)
		finally:
			frappe.set_user("Administrator")
			self.no_request()

	def render(self, token: str, query: str = "") -> tuple[int, str]:
		from frappe.website.serve import get_response_without_exception_handling

		set_request(method="GET", path=f"/collect/{token}", query_string=query)
		frappe.local.form_dict = frappe._dict()
		if query:
			frappe.local.form_dict.update(frappe.local.request.args.to_dict())
		frappe.set_user("Guest")
		try:
			response = get_response_without_exception_handling()
			return response.status_code, response.get_data(as_text=True)
		finally:
			frappe.set_user("Administrator")
			self.no_request()

	def counts(self) -> dict:
		return {
			dt: frappe.db.count(dt)
			for dt in (
				"Payment Promise",
				"Collection Dispute",
				"Collection Action",
				"File",
				"ToDo",
				"Comment",
			)
		}

	def actions(self, case_name: str) -> list[str]:
		return frappe.get_all(
			"Collection Action", filters={"collection_case": case_name}, pluck="details", order_by="creation"
		)

	# ------------------------------------------------------------ the page

	def test_page_shows_company_customer_totals_and_every_open_item(self):
		frappe.db.set_value("Company", COMPANY, {"email": "ar@company.example", "phone_no": "+1 555 0100"})
		with self.freeze_time(T, tick=True):
			case, si1, si2 = self.make_case()
			token = self.link(case.name)
			status, html = self.render(token)
			ctx = frappe._dict(collection_page.page_context(token))
		self.assertEqual(status, 200)
		self.assertTrue(ctx.valid)
		self.assertEqual(
			sorted((i.reference_name, i.outstanding, i.days_overdue) for i in ctx["items"]),
			sorted([(si1.name, 300, 5), (si2.name, 300, 40), (si2.name, 300, 10)]),
		)
		self.assertEqual(ctx.totals, {"overdue": 900, "not_due": 0, "disputed": 0, "promised": 0})
		for text in (COMPANY, "ar@company.example", "+1 555 0100", self.customer, si1.name, si2.name):
			self.assertIn(text, html)
		self.assertIn(f"collection_page.statement?token={token}", html)
		self.assertIn(f"collection_page.document?token={token}&amp;name={si1.name}", html)
		self.assertIn('name="robots" content="noindex, nofollow"', html)

	def test_page_speaks_the_customers_language_or_the_systems(self):
		frappe.db.set_value("Customer", self.customer, "language", "de")
		with self.freeze_time(T, tick=True):
			case, _si1, _si2 = self.make_case()
			token = self.link(case.name)
			_status, html = self.render(token)
			self.assertIn("Ihre offenen Posten", html)
			self.assertIn('<html lang="de">', html)
			frappe.db.set_value("Customer", self.customer, "language", None)
			_status, html = self.render(token)
		self.assertEqual(frappe.local.lang, frappe.db.get_single_value("System Settings", "language"))
		self.assertIn("Your open items", html)

	def test_downloads_the_statement_and_each_invoice_pdf(self):
		with self.freeze_time(T, tick=True):
			case, si1, _si2 = self.make_case()
			token = self.link(case.name)
			frappe.local.response = frappe._dict()
			self.call(collection_page.statement, token=token)
			self.assertEqual(frappe.local.response.type, "pdf")
			self.assertTrue(frappe.local.response.filecontent.startswith(b"%PDF"))
			frappe.local.response = frappe._dict()
			self.call(collection_page.document, token=token, name=si1.name)
		self.assertEqual(
			(frappe.local.response.type, frappe.local.response.filename), ("pdf", f"{si1.name}.pdf")
		)
		self.assertTrue(frappe.local.response.filecontent.startswith(b"%PDF"))

	# ------------------------------------------------------------ actions

	def test_promise_makes_a_customer_promise_that_pauses_dunning_and_tells_the_collector(self):
		collector = make_user("_test_dp_page_collector@example.com", ["Collector"])
		frappe.db.set_value("Customer", self.customer, "dunning_collector", collector)
		with self.freeze_time(T, tick=True):
			case, _si1, _si2 = self.make_case()
			token = self.link(case.name)
			out = self.call(
				collection_page.promise, token=token, promised_date=str(add_days(T, 10)), amount="900"
			)
			case.reload()
		promise = frappe.get_doc("Payment Promise", out["name"])
		self.assertEqual(
			(promise.source, flt(promise.amount), getdate(promise.promised_date), promise.collection_case),
			("Customer", 900, add_days(T, 10), case.name),
		)
		self.assertEqual(len(promise.items), 3)
		self.assertEqual({i.paused_by for i in case.items}, {"Promise"})
		self.assertEqual(case.status, "Promised")
		self.assertTrue(
			frappe.db.exists(
				"ToDo",
				{
					"allocated_to": collector,
					"reference_type": "Payment Promise",
					"reference_name": promise.name,
				},
			)
		)
		self.assertIn("(by the customer via the collection page)", self.actions(case.name)[-1])

	def offer_plan(self, case, approval_amount=0):
		"""A proposed plan over the case's open items: 3 instalments of 300 every 30 days from T+5."""
		frappe.db.set_single_value(
			"Dunning Plus Settings",
			{
				"plan_max_instalments": 12,
				"plan_max_days": 365,
				"plan_approval_amount": approval_amount,
				"plan_approval_days": 0,
				"plan_approval_role": "Collections Manager",
			},
		)
		frappe.clear_document_cache("Dunning Plus Settings", "Dunning Plus Settings")
		name = case.offer_payment_plan(3, 30, str(add_days(T, 5)), accepted=0)
		plan = frappe.get_doc("Payment Plan", name)
		plan.submit()
		plan.reload()
		self.assertEqual((plan.status, plan.accepted), ("Proposed", 0))
		return plan

	def test_customer_accepts_an_offered_payment_plan_and_it_becomes_active(self):
		with self.freeze_time(T, tick=True):
			case, _si1, _si2 = self.make_case()
			plan = self.offer_plan(case)
			token = self.link(case.name)
			_status, html = self.render(token)
			self.assertIn("Payment plan offered to you", html)
			self.assertIn(f'value="{plan.name}"', html)
			self.assertIn(frappe.format(add_days(T, 65), "Date"), html)  # the last instalment
			out = self.call(collection_page.accept_plan, token=token, plan=plan.name)
			case.reload()
			plan.reload()
			self.assertEqual(out, {"name": plan.name, "done": "plan"})
			self.assertEqual((plan.status, plan.accepted, plan.accepted_via), ("Active", 1, "Customer"))
			self.assertEqual({i.paused_by for i in case.items}, {"Plan"})
			accepted = [a for a in self.actions(case.name) if f"{plan.name} accepted" in a]
			self.assertEqual(len(accepted), 1)
			self.assertIn("by the customer via the collection page", accepted[0])
			# the page now shows the plan as the customer's, with nothing left to accept
			_status, html = self.render(token)
			self.assertNotIn("Payment plan offered to you", html)
			self.assertIn("Your payment plan", html)
			# an active plan is not accepted twice
			before = self.counts()
			with self.assertRaisesRegex(frappe.ValidationError, "cannot be accepted"):
				self.call(collection_page.accept_plan, token=token, plan=plan.name)
		self.assertEqual(self.counts(), before)

	def test_plan_of_another_case_a_bad_link_or_an_unapproved_plan_is_refused(self):
		manager = make_user("_test_dp_page_plans@example.com", ["Collections Manager"])
		other = make_customer(f"_Test DP Page Plan {frappe.generate_hash(length=6)}")
		with self.freeze_time(T, tick=True):
			case, _si1, _si2 = self.make_case()
			other_case, _osi1, _osi2 = self.make_case(other)
			foreign = self.offer_plan(other_case)
			token = self.link(case.name)
			revoked = self.link(other_case.name, "old@page.example")
			collect_links.revoke_link(collect_links.active_link(other_case.name, "old@page.example").name)
			before = self.counts()
			with self.assertRaisesRegex(frappe.ValidationError, "cannot be accepted"):
				self.call(collection_page.accept_plan, token=token, plan=foreign.name)
			with self.assertRaises(collection_page.CollectionPageError):
				self.call(collection_page.accept_plan, token=revoked, plan=foreign.name)
			for bad in ("", "PLAN-none", ["x"]):
				with self.assertRaisesRegex(frappe.ValidationError, "cannot be accepted"):
					self.call(collection_page.accept_plan, token=token, plan=bad)
			self.assertEqual(self.counts(), before)
			self.assertEqual(frappe.db.get_value("Payment Plan", foreign.name, "status"), "Proposed")
			# a plan waiting for approval is neither shown nor accepted; once approved it is
			own = self.offer_plan(case, approval_amount=100)
			self.assertEqual(own.needs_approval, 1)
			self.assertNotIn(own.name, self.render(token)[1])
			with self.assertRaisesRegex(frappe.ValidationError, "cannot be accepted"):
				self.call(collection_page.accept_plan, token=token, plan=own.name)
			with self.set_user(manager):
				frappe.get_doc("Payment Plan", own.name).approve()
			self.assertIn(own.name, self.render(token)[1])
			self.call(collection_page.accept_plan, token=token, plan=own.name)
		self.assertEqual(frappe.db.get_value("Payment Plan", own.name, "status"), "Active")

	def test_dispute_with_an_attachment_is_routed_like_any_dispute(self):
		owner = make_user("_test_dp_page_disputes@example.com", ["Collections Manager"])
		frappe.db.set_single_value("Dunning Plus Settings", "dispute_owner", owner)
		with self.freeze_time(T, tick=True):
			case, si1, _si2 = self.make_case()
			token = self.link(case.name)
			row = next(i for i in case.items if i.reference_name == si1.name)
			out = self.call(
				collection_page.dispute,
				files={"attachment": ("delivery note.pdf", PDF)},
				token=token,
				items=f'["{row.payment_schedule}"]',
				reason="Damaged Goods",
				amount="120",
				comment="Two boxes arrived broken.",
			)
			case.reload()
		dispute = frappe.get_doc("Collection Dispute", out["name"])
		self.assertEqual(
			(
				dispute.source,
				dispute.reason,
				flt(dispute.amount),
				dispute.description,
				dispute.collection_case,
			),
			("Customer", "Damaged Goods", 120, "Two boxes arrived broken.", case.name),
		)
		self.assertEqual([i.payment_schedule for i in dispute.items], [row.payment_schedule])
		file = frappe.get_doc(
			"File", {"attached_to_doctype": "Collection Dispute", "attached_to_name": dispute.name}
		)
		self.assertEqual((file.is_private, file.file_name), (1, "delivery note.pdf"))
		self.assertTrue(
			frappe.db.exists(
				"ToDo", {"allocated_to": owner, "reference_name": dispute.name, "status": "Open"}
			)
		)
		# the disputed part of the item is held from dunning, the rest of it stays due
		item = next(i for i in case.items if i.payment_schedule == row.payment_schedule)
		self.assertEqual(flt(item.disputed_amount), 120)
		self.assertIn("(by the customer via the collection page)", self.actions(case.name)[-1])

	def test_remittance_advice_is_attached_to_the_case_with_a_todo_for_the_accountant(self):
		accountant = make_user("_test_dp_page_accounts@example.com", ["Accounts User"])
		frappe.db.set_single_value("Dunning Plus Settings", "remittance_owner", accountant)
		with self.freeze_time(T, tick=True):
			case, _si1, _si2 = self.make_case()
			token = self.link(case.name)
			out = self.call(
				collection_page.remittance,
				files={"file": ("advice.png", PNG)},
				token=token,
				reference="TRF-20260316-1",
				amount="600",
			)
		file = frappe.get_doc("File", out["name"])
		self.assertEqual(
			(file.attached_to_doctype, file.attached_to_name, file.is_private),
			("Collection Case", case.name, 1),
		)
		todo = frappe.get_doc("ToDo", {"allocated_to": accountant, "reference_name": case.name})
		self.assertIn("TRF-20260316-1", todo.description)
		action = frappe.get_doc("Collection Action", {"collection_case": case.name, "action_type": "Payment"})
		self.assertIn("TRF-20260316-1", action.details)
		self.assertIn("(by the customer via the collection page)", action.details)
		self.assertEqual((action.reference_doctype, action.reference_name), ("File", file.name))

	def test_pay_without_a_gateway_shows_the_bank_account_and_the_reference(self):
		ensure_bank_account(is_default=1)
		with self.freeze_time(T, tick=True):
			case, si1, si2 = self.make_case()
			token = self.link(case.name)
			ctx = frappe._dict(collection_page.page_context(token))
			_status, html = self.render(token)
			before = frappe.db.count("Payment Request")
			with self.assertRaises(frappe.ValidationError):
				self.call(collection_page.pay, token=token)
		self.assertFalse(ctx.pay_online)
		self.assertEqual((ctx.bank.iban, ctx.bank.swift_number), (IBAN, SWIFT))
		self.assertEqual(ctx.references, sorted([si1.name, si2.name]))
		self.assertIn(IBAN, html)
		self.assertIn(", ".join(sorted([si1.name, si2.name])), html)
		self.assertNotIn("data-pay=", html)
		self.assertEqual(frappe.db.count("Payment Request"), before)

	def payment_gateway(self) -> str:
		"""A Stripe gateway (no keys, never called) and its Payment Gateway Account for INR."""
		name = "_Test DP Stripe"
		if not frappe.db.exists("Stripe Settings", name):
			settings = frappe.get_doc({"doctype": "Stripe Settings", "gateway_name": name})
			settings.flags.ignore_mandatory = True  # and so no credential check against Stripe
			settings.insert()
		gateway = f"Stripe-{name}"
		account = frappe.db.get_value(
			"Payment Gateway Account", {"payment_gateway": gateway, "currency": "INR"}
		)
		if not account:
			account = (
				frappe.get_doc(
					{
						"doctype": "Payment Gateway Account",
						"payment_gateway": gateway,
						"payment_account": BANK,
						"payment_channel": "Email",
						"is_default": 1,
					}
				)
				.insert()
				.name
			)
		return account

	def test_pay_creates_or_reuses_an_erpnext_payment_request_and_the_payment_updates_the_case(self):
		gateway = self.payment_gateway()
		with self.freeze_time(T, tick=True):
			case, si1, si2 = self.make_case()
			token = self.link(case.name)
			self.assertTrue(collection_page.page_context(token)["pay_online"])
			row = next(i for i in case.items if i.reference_name == si1.name)
			out = self.call(collection_page.pay, token=token, items=f'["{row.payment_schedule}"]')
			pr = frappe.get_doc("Payment Request", {"reference_name": si1.name, "docstatus": 1})
			self.assertEqual(out["redirect"], pr.payment_url)
			self.assertIn("stripe_checkout", pr.payment_url)
			self.assertEqual((pr.payment_gateway_account, flt(pr.grand_total)), (gateway, 300))
			again = self.call(collection_page.pay, token=token, items=f'["{row.payment_schedule}"]')
			self.assertEqual(again["redirect"], pr.payment_url)
			self.assertEqual(frappe.db.count("Payment Request", {"reference_name": si1.name}), 1)
			# pay all: one request per invoice, si1's reused
			out = self.call(collection_page.pay, token=token)
			self.assertEqual(sorted(r["reference"] for r in out["requests"]), sorted([si1.name, si2.name]))
			self.assertEqual(
				frappe.db.count("Payment Request", {"reference_name": si2.name, "docstatus": 1}), 1
			)
			# what the gateway books comes back through ERPNext: the Payment Entry updates the case
			pr.reload()
			pe = pr.create_payment_entry()
			case.reload()
		# the request's 300 is booked on the invoice (ERPNext alone would allocate the whole invoice and
		# refuse the entry: collection_page.payment_entry_from_page_request) and the item leaves the case
		self.assertEqual(
			[(r.payment_term, flt(r.allocated_amount)) for r in pe.references], [("_Test DP 30d", 300)]
		)
		self.assertEqual(flt(frappe.db.get_value("Sales Invoice", si1.name, "outstanding_amount")), 700)
		self.assertNotIn(si1.name, [i.reference_name for i in case.items if flt(i.outstanding)])
		self.assertEqual(frappe.db.get_value("Payment Request", pr.name, "status"), "Paid")
		self.assertTrue(any("Payment Request" in d for d in self.actions(case.name)))

	# ------------------------------------------------------------ links in messages and on the form

	def test_messages_carry_one_link_per_case_and_recipient(self):
		ensure_template_with_link()
		policy = ensure_policy(
			"_Test DP Page Policy",
			steps=[
				{
					"step_code": "R+3",
					"offset_days": 3,
					"kind": "Reminder",
					"channel": "Email",
					"email_template": "_Test DP Collect",
				}
			],
		)
		frappe.db.set_value("Customer", self.customer, "dunning_policy", policy)
		frappe.db.set_single_value("Dunning Plus Settings", "sender_email_account", "_Test Email Account 1")
		frappe.flags.dunning_plus_policies = None
		from dunning_plus.cycle import deciding

		with self.freeze_time(T, tick=True):
			make_invoice(self.customer, add_days(T, -35))
			deciding.process_customers(COMPANY, [self.customer], T)
			case = case_of(self.customer)
			comm = frappe.get_last_doc("Communication", {"reference_name": case.name})
			url = collect_links.collect_url(case.name, "ap@page.example")
			other = collect_links.collect_url(case.name, "boss@page.example")
			self.assertEqual(self.render(url.rsplit("/", 1)[1])[0], 200)
		self.assertIn(f'href="{url}"', comm.content)
		self.assertIn("/collect/", url)
		self.assertNotEqual(url, other)
		self.assertEqual(
			frappe.db.count("Collection Link", {"collection_case": case.name, "status": "Active"}), 2
		)

	def test_letters_carry_a_qr_code_and_the_link(self):
		with self.freeze_time(T, tick=True):
			case, _si1, _si2 = self.make_case()
			plain = frappe.get_print("Collection Case", case.name, print_format=delivery.STATEMENT_FORMAT)
			seen = {}

			def attach_print(doctype, name, **kwargs):
				seen["html"] = frappe.get_print(doctype, name, print_format=kwargs["print_format"])
				return {"fname": f"{name}.pdf", "fcontent": PDF}

			with patch("frappe.attach_print", attach_print):
				delivery.queue_letter(frappe._dict(lead=frappe._dict(code="FINAL"), language=None), case.name)
			url = collect_links.collect_url(case.name, "")
		self.assertNotIn("/collect/", plain)
		self.assertIn(url, seen["html"])
		self.assertIn('src="data:image/png;base64,', seen["html"])
		self.assertEqual(
			frappe.db.get_value("Collection Link", {"collection_case": case.name}, "recipient"), ""
		)

	def test_case_form_shows_revokes_and_reissues_the_link(self):
		with self.freeze_time(T, tick=True):
			case, _si1, _si2 = self.make_case()
			first = collect_links.issue_link(case.name, "AP@page.example")
			links = collect_links.get_links(case.name)
			self.assertEqual([(r["recipient"], r["url"]) for r in links], [("ap@page.example", first["url"])])
			second = collect_links.issue_link(case.name, "ap@page.example")
			self.assertNotEqual(first["url"], second["url"])
			self.assertEqual(self.render(first["url"].rsplit("/", 1)[1])[0], 404)
			self.assertEqual(self.render(second["url"].rsplit("/", 1)[1])[0], 200)
			collect_links.revoke_link(second["name"])
			self.assertEqual(self.render(second["url"].rsplit("/", 1)[1])[0], 404)
			self.assertEqual(collect_links.get_links(case.name), [])
			other = make_user("_test_dp_page_other@example.com", ["Collector"])
			frappe.set_user(other)
			with self.assertRaises(frappe.PermissionError):
				collect_links.get_links(case.name)

	# ------------------------------------------------------------ security

	def test_token_is_random_at_least_128_bits_and_stored_only_as_a_hash(self):
		with self.freeze_time(T, tick=True):
			case, _si1, _si2 = self.make_case()
			tokens = [self.link(case.name, f"r{i}@page.example") for i in range(40)]
			self.assertEqual(len(set(tokens)), 40)
			for token in tokens:
				self.assertGreaterEqual(len(base64.urlsafe_b64decode(token)) * 8, 128)
			token = tokens[-1]
			row = frappe.db.get_value(
				"Collection Link",
				{"token_hash": hashlib.sha256(token.encode()).hexdigest()},
				"*",
				as_dict=True,
			)
			self.assertEqual(row.recipient, "r39@page.example")
			self.assertFalse([k for k, v in row.items() if isinstance(v, str) and token in v])
			# the token comes from the nonce and the site's secret together, not from the row alone
			with patch.dict(frappe.local.conf, {"encryption_key": "another site's key"}):
				self.assertNotEqual(collect_links._token(row.nonce), token)
			self.assertEqual(collect_links.resolve(token).collection_case, case.name)

	def test_token_is_bound_to_one_case(self):
		other = make_customer(f"_Test DP Page Other {frappe.generate_hash(length=6)}")
		with self.freeze_time(T, tick=True):
			case, _si1, _si2 = self.make_case()
			other_case, osi1, osi2 = self.make_case(other)
			token = self.link(case.name)
			_status, html = self.render(token)
			self.assertEqual(collect_links.resolve(token).collection_case, case.name)
		self.assertIn(self.customer, html)
		for text in (other, osi1.name, osi2.name, other_case.name):
			self.assertNotIn(text, html)

	def test_wrong_tampered_expired_revoked_or_resolved_links_get_one_neutral_page(self):
		frappe.db.set_single_value("Dunning Plus Settings", "collection_link_validity_days", 60)
		paid = make_customer(f"_Test DP Page Paid {frappe.generate_hash(length=6)}")
		with self.freeze_time(T, tick=True):
			case, si1, _si2 = self.make_case()
			good = self.link(case.name)
			revoked = self.link(case.name, "old@page.example")
			collect_links.revoke_link(collect_links.active_link(case.name, "old@page.example").name)
			paid_si = make_invoice(paid, add_days(T, -35))
			resolved = self.link(case_of(paid).name)
			pay(paid_si.name, 300, T)
			self.assertEqual(case_of(paid).status, "Resolved")
			tampered = ("A" if good[0] != "A" else "B") + good[1:]
			pages = {
				"wrong": self.render(collect_links._token("not a nonce of ours")),
				"malformed": self.render("x" * 5),
				"tampered": self.render(tampered),
				"revoked": self.render(revoked),
				"resolved": self.render(resolved),
			}
		with self.freeze_time(add_days(T, 61), tick=True):
			pages["expired"] = self.render(good)
		with self.freeze_time(add_days(T, 60), tick=True):
			self.assertEqual(self.render(good)[0], 200)  # still valid on its last day

		def neutral(token_and_page):
			return token_and_page[0], token_and_page[1].replace(token_and_page[2], "TOKEN")

		tokens = {
			"wrong": collect_links._token("not a nonce of ours"),
			"malformed": "x" * 5,
			"tampered": tampered,
			"revoked": revoked,
			"resolved": resolved,
			"expired": good,
		}
		shown = {k: neutral((*pages[k], tokens[k])) for k in pages}
		self.assertEqual(len(set(shown.values())), 1, "every bad link must get the very same page")
		status, html = next(iter(shown.values()))
		self.assertEqual(status, 404)
		for text in (self.customer, paid, COMPANY, case.name, si1.name):
			self.assertNotIn(text, html)
		# and the page's methods refuse them all with one and the same error
		errors = set()
		with self.freeze_time(add_days(T, 61), tick=True):
			for token in tokens.values():
				with self.assertRaises(collection_page.CollectionPageError) as raised:
					self.call(collection_page.promise, token=token, promised_date=str(T), amount="1")
				errors.add(str(raised.exception))
		self.assertEqual(len(errors), 1)

	def test_link_expires_the_set_number_of_days_after_the_last_message(self):
		frappe.db.set_single_value("Dunning Plus Settings", "collection_link_validity_days", 10)
		with self.freeze_time(T, tick=True):
			case, _si1, _si2 = self.make_case()
			url = collect_links.collect_url(case.name, "ap@page.example")
			token = url.rsplit("/", 1)[1]
		with self.freeze_time(add_days(T, 8), tick=True):
			self.assertIsNotNone(collect_links.resolve(token))
			self.assertEqual(collect_links.collect_url(case.name, "ap@page.example"), url)  # a new message
		with self.freeze_time(add_days(T, 18), tick=True):
			self.assertIsNotNone(collect_links.resolve(token))
		with self.freeze_time(add_days(T, 19), tick=True):
			self.assertIsNone(collect_links.resolve(token))
			self.assertNotEqual(collect_links.collect_url(case.name, "ap@page.example"), url)

	def test_items_of_another_case_are_refused_and_nothing_is_written(self):
		other = make_customer(f"_Test DP Page Other {frappe.generate_hash(length=6)}")
		self.payment_gateway()
		with self.freeze_time(T, tick=True):
			case, _si1, _si2 = self.make_case()
			other_case, osi1, _osi2 = self.make_case(other)
			token = self.link(case.name)
			foreign = other_case.items[0].payment_schedule
			before, requests = self.counts(), frappe.db.count("Payment Request")
			attempts = [
				lambda: self.call(
					collection_page.dispute,
					files={"attachment": ("x.pdf", PDF)},
					token=token,
					items=f'["{foreign}"]',
					reason="Pricing",
					amount="10",
				),
				lambda: self.call(
					collection_page.dispute,
					token=token,
					items=f'["{case.items[0].payment_schedule}", "{foreign}"]',
					reason="Pricing",
					amount="10",
				),
				lambda: self.call(collection_page.pay, token=token, items=f'["{foreign}"]'),
				lambda: self.call(collection_page.document, token=token, name=osi1.name),
			]
			for attempt in attempts:
				with self.assertRaisesRegex(frappe.ValidationError, "open items on this page"):
					attempt()
		self.assertEqual(self.counts(), before)
		self.assertEqual(frappe.db.count("Payment Request"), requests)

	def test_posts_are_validated_on_the_server_and_refused_whole(self):
		frappe.db.set_single_value("Dunning Plus Settings", "collection_page_max_upload_mb", 1)
		with self.freeze_time(T, tick=True):
			case, _si1, _si2 = self.make_case()
			frappe.db.set_value("Dunning Policy", case.policy, "max_promise_days", 14)
			token = self.link(case.name)
			row = case.items[0].payment_schedule
			promise = dict(token=token, promised_date=str(add_days(T, 7)), amount="300")
			dispute = dict(token=token, items=f'["{row}"]', reason="Pricing", amount="100")
			remit = dict(token=token, reference="TRF-1", amount="300")
			bad = [
				(
					collection_page.promise,
					{**promise, "promised_date": str(add_days(T, -1))},
					None,
					"Choose a date",
				),
				(
					collection_page.promise,
					{**promise, "promised_date": str(add_days(T, 15))},
					None,
					"Choose a date",
				),
				(collection_page.promise, {**promise, "promised_date": "someday"}, None, "Enter the date"),
				(collection_page.promise, {**promise, "amount": "900.01"}, None, "at most"),
				(collection_page.promise, {**promise, "amount": "-5"}, None, "above zero"),
				(collection_page.promise, {**promise, "amount": "lots"}, None, "above zero"),
				(collection_page.promise, {**promise, "note": "x" * 2001}, None, "too long"),
				(collection_page.dispute, {**dispute, "reason": "Because"}, None, "reason"),
				(collection_page.dispute, {**dispute, "amount": "300.01"}, None, "at most"),
				(collection_page.dispute, {**dispute, "items": "[]"}, None, "open items"),
				(collection_page.dispute, dispute, {"attachment": ("run.exe", b"MZ\x90\x00")}, "Only PDF"),
				(collection_page.dispute, dispute, {"attachment": ("fake.pdf", b"MZ\x90\x00")}, "Only PDF"),
				(collection_page.dispute, dispute, {"attachment": ("scan.gif", b"GIF89a")}, "Only PDF"),
				(
					collection_page.dispute,
					dispute,
					{"attachment": ("big.pdf", PDF + bytes(1024 * 1024))},
					"too large",
				),
				(collection_page.remittance, remit, None, "Attach the file"),
				(collection_page.remittance, {**remit, "reference": " "}, {"file": ("a.pdf", PDF)}, "Enter"),
				(
					collection_page.remittance,
					{**remit, "amount": "0"},
					{"file": ("a.pdf", PDF)},
					"above zero",
				),
			]
			before = self.counts()
			for fn, kwargs, files, message in bad:
				with self.subTest(
					fn=fn.__name__, kwargs=kwargs, files=files and next(iter(files.values()))[0]
				):
					with self.assertRaisesRegex(frappe.ValidationError, message):
						self.call(fn, files=files, **kwargs)
			self.assertEqual(self.counts(), before)
			# the limits themselves are allowed
			self.call(
				collection_page.promise, **{**promise, "promised_date": str(add_days(T, 14)), "amount": "900"}
			)

	def test_posts_are_rate_limited(self):
		with self.freeze_time(T, tick=True):
			case, _si1, _si2 = self.make_case()
			token = self.link(case.name)
			for _i in range(collection_page.POSTS_PER_HOUR):
				with self.assertRaisesRegex(frappe.ValidationError, "Choose a date"):
					self.call(
						collection_page.promise, token=token, promised_date=str(add_days(T, -1)), amount="1"
					)
			with self.assertRaises(frappe.RateLimitExceededError):
				self.call(collection_page.promise, token=token, promised_date=str(add_days(T, 1)), amount="1")
			self.ip = "10.255.255.254"  # another address is not held back by the first
			self.call(collection_page.promise, token=token, promised_date=str(add_days(T, 1)), amount="1")

	def test_html_in_comments_is_escaped_on_display(self):
		evil = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
		with self.freeze_time(T, tick=True):
			case, _si1, _si2 = self.make_case()
			token = self.link(case.name)
			row = case.items[0].payment_schedule
			self.call(
				collection_page.dispute,
				token=token,
				items=f'["{row}"]',
				reason="Pricing",
				amount="10",
				comment=evil,
			)
			self.call(
				collection_page.promise,
				token=token,
				promised_date=str(add_days(T, 5)),
				amount="10",
				note=evil,
			)
			self.call(
				collection_page.remittance,
				files={"file": ("a.pdf", PDF)},
				token=token,
				reference=evil,
				amount="5",
			)
			_status, html = self.render(token)
		notes = html[html.index('id="dp-noted"') :]
		self.assertIn("dp-note", notes)
		for raw in ("<img", "<script>alert"):
			self.assertNotIn(raw, notes)
		self.assertIn("&lt;", notes)
		for comment in frappe.get_all(
			"Comment", filters={"reference_name": case.name}, pluck="content"
		) + frappe.get_all("ToDo", filters={"reference_name": case.name}, pluck="description"):
			self.assertNotIn("<img", comment)
			self.assertNotIn("<script", comment)

	def test_the_pages_methods_are_the_only_guest_methods_of_the_app(self):
		for module in pkgutil.walk_packages(dunning_plus.__path__, "dunning_plus."):
			if ".tests" in module.name or module.name.rsplit(".", 1)[-1].startswith("test_"):
				continue
			importlib.import_module(module.name)
		ours = [f for f in frappe.guest_methods if f.__module__.startswith("dunning_plus")]
		self.assertEqual({f"{f.__module__}.{f.__qualname__}" for f in ours}, GUEST_METHODS)
		# the actions take POSTs only, the downloads GETs only
		methods = {f.__name__: frappe.allowed_http_methods_for_whitelisted_func[f] for f in ours}
		expected = {"statement": ["GET"], "document": ["GET"]}
		expected.update(
			{name: ["POST"] for name in ("promise", "dispute", "remittance", "pay", "accept_plan")}
		)
		self.assertEqual(methods, expected)

	def test_guest_reads_no_doctype_of_the_app_nor_the_uploaded_files(self):
		doctypes = frappe.get_all("DocType", filters={"module": "Dunning Plus"}, pluck="name")
		self.assertIn("Collection Link", doctypes)
		with self.freeze_time(T, tick=True):
			case, _si1, _si2 = self.make_case()
			token = self.link(case.name)
			out = self.call(
				collection_page.remittance,
				files={"file": ("a.pdf", PDF)},
				token=token,
				reference="R1",
				amount="5",
			)
		file = frappe.get_doc("File", out["name"])
		frappe.set_user("Guest")
		for doctype in doctypes:
			with self.subTest(doctype=doctype):
				self.assertFalse(frappe.has_permission(doctype, "read", user="Guest"))
				if not frappe.get_meta(doctype).istable:
					with self.assertRaises(frappe.PermissionError):
						frappe.get_list(doctype, limit=1)
		self.assertFalse(frappe.has_permission("File", "read", doc=file, user="Guest"))
		frappe.set_user("Administrator")


def ensure_template_with_link():
	if not frappe.db.exists("Email Template", "_Test DP Collect"):
		frappe.get_doc(
			{
				"doctype": "Email Template",
				"name": "_Test DP Collect",
				"subject": "Open items of {{ customer }}",
				"use_html": 1,
				"response_html": '<p>Please see <a href="{{ collect_url }}">your open items</a>.</p>',
			}
		).insert(ignore_permissions=True)
