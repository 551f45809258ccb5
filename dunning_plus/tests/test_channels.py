# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

"""SMS and call steps, channel fallback and Log Call, on a real site. The SMS gateway is a loopback
HTTP server that answers a fixed number of requests and then stops by itself."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, getdate

from dunning_plus import channels
from dunning_plus.tasks import run_daily_cycle
from dunning_plus.tests.utils import (
	COMPANY,
	TEMPLATE,
	TERMS_NET30,
	case_of,
	ensure_policy,
	make_address,
	make_customer,
	make_invoice,
	make_user,
	setup_collections,
)

test_dependencies = ["Customer"]
D0 = getdate("2026-03-02")  # invoice date (Monday); Net 30 -> due 2026-04-01
RUN_DAY = add_days(D0, 40)  # 10 days overdue: step L1 is due
SMS_TEXT = "Dear {{ customer_name }}, {{ total }} {{ currency }} is overdue. {{ collect_url }}"


class Gateway:
	"""A loopback SMS gateway answering ``statuses`` (one HTTP status per request, in order), then
	closing; every wait for a request is bounded by ``timeout`` seconds."""

	def __init__(self, statuses: list[int], timeout: float = 20):
		self.statuses = list(statuses)
		self.requests: list[dict] = []
		gateway = self

		class Handler(BaseHTTPRequestHandler):
			def do_GET(self):
				query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
				gateway.requests.append(query)
				status = gateway.statuses[len(gateway.requests) - 1]
				self.send_response(status)
				self.end_headers()
				self.wfile.write(b"OK" if status < 300 else b"gateway error")

			def log_message(self, *args):
				pass

		self.server = HTTPServer(("127.0.0.1", 0), Handler)
		self.server.timeout = timeout
		self.url = f"http://127.0.0.1:{self.server.server_port}/send"
		self.thread = threading.Thread(target=self._serve, daemon=True)

	def _serve(self):
		try:
			for _ in self.statuses:
				self.server.handle_request()
		finally:
			self.server.server_close()

	def __enter__(self):
		settings = frappe.get_single("SMS Settings")
		settings.sms_gateway_url = self.url
		settings.message_parameter = "text"
		settings.receiver_parameter = "to"
		settings.use_post = 0
		settings.set("parameters", [])
		settings.save(ignore_permissions=True)
		self.thread.start()
		return self

	def __exit__(self, *exc):
		self.thread.join(timeout=1)
		if self.thread.is_alive():  # fewer requests came than it was told to answer
			self.server.server_close()


def sms_steps(fallbacks: bool = False) -> tuple[list[dict], list[dict]]:
	step = {
		"step_code": "L1",
		"offset_days": 10,
		"kind": "Dunning Level",
		"level": 1,
		"channel": "Email" if fallbacks else "SMS",
		"email_template": TEMPLATE,
		"sms_text": SMS_TEXT,
	}
	rows = (
		[{"step_code": "L1", "channel": "SMS"}, {"step_code": "L1", "channel": "Call"}] if fallbacks else []
	)
	return [step], rows


def add_mobile(customer: str, mobile: str, primary: bool = True) -> str:
	contact = frappe.get_doc(
		{
			"doctype": "Contact",
			"first_name": f"AP {frappe.generate_hash(length=4)}",
			"is_primary_contact": 1 if primary else 0,
			"links": [{"link_doctype": "Customer", "link_name": customer}],
			"phone_nos": [{"phone": mobile, "is_primary_mobile_no": 1}],
		}
	).insert(ignore_permissions=True)
	if primary:
		frappe.db.set_value("Customer", customer, "customer_primary_contact", contact.name)
	return contact.name


class ChannelTestCase(FrappeTestCase):
	def setUp(self):
		setup_collections()
		settings = frappe.get_single("Dunning Plus Settings")
		settings.update(
			{
				"sender_email_account": "_Test Email Account 1",
				"proposal_mode": 0,
				"max_messages_per_run": 0,
				"batch_size": 50,
			}
		)
		settings.save()
		self.customer = make_customer(f"_Test DP Chan {frappe.generate_hash(length=6)}")

	def tearDown(self):
		frappe.db.rollback()
		frappe.clear_document_cache("Dunning Plus Settings", "Dunning Plus Settings")
		frappe.clear_document_cache("SMS Settings", "SMS Settings")
		frappe.flags.dunning_plus_policies = None

	def policy(self, steps, fallbacks=(), **fields):
		ensure_policy(steps=steps, channel_fallbacks=list(fallbacks), **fields)
		frappe.flags.dunning_plus_policies = None

	def overdue(self, customer=None):
		with self.freeze_time(RUN_DAY, tick=True):
			return make_invoice(customer or self.customer, add_days(RUN_DAY, -40), terms=TERMS_NET30)

	def run_on(self, day=RUN_DAY):
		with self.freeze_time(day, tick=True):
			names = run_daily_cycle(as_of=day, company=COMPANY)
		return frappe.get_doc("Dunning Run", names[0])

	def actions(self, **filters):
		return frappe.get_all(
			"Collection Action",
			filters={"customer": self.customer, **filters},
			fields=[
				"action_type",
				"status",
				"channel",
				"step_code",
				"reason",
				"details",
				"communication",
				"todo",
			],
			order_by="creation",
		)


class TestReach(ChannelTestCase):
	def test_mobile_from_the_primary_contact_then_the_customer(self):
		frappe.db.set_value("Customer", self.customer, "mobile_no", "+41 79 111 11 11")
		self.assertEqual(channels.read_reach([self.customer])[self.customer], ("+41 79 111 11 11", False))
		add_mobile(self.customer, "+41 79 222 22 22", primary=False)  # not primary: not used
		self.assertEqual(channels.read_reach([self.customer])[self.customer][0], "+41 79 111 11 11")
		add_mobile(self.customer, "+41 79 333 33 33")
		self.assertEqual(channels.read_reach([self.customer])[self.customer][0], "+41 79 333 33 33")

	def test_linked_primary_contact_counts_without_the_customer_field(self):
		add_mobile(self.customer, "+41 79 444 44 44")
		frappe.db.set_value("Customer", self.customer, "customer_primary_contact", None)
		self.assertEqual(channels.read_reach([self.customer])[self.customer][0], "+41 79 444 44 44")

	def test_address_is_any_linked_address(self):
		self.assertFalse(channels.read_reach([self.customer])[self.customer][1])
		make_address(self.customer)
		self.assertTrue(channels.read_reach([self.customer])[self.customer][1])


class TestSms(ChannelTestCase):
	def test_sms_step_goes_through_the_gateway_once_and_is_logged_on_the_case(self):
		self.policy(sms_steps()[0])
		add_mobile(self.customer, "+41 79 555 55 55")
		self.overdue()
		with Gateway([200]) as gw:
			run = self.run_on()
		self.assertEqual((run.status, run.sent_count, run.errors_count), ("Completed", 1, 0))
		self.assertEqual(len(gw.requests), 1)
		self.assertEqual(gw.requests[0]["to"], "+41795555555")  # Frappe strips spaces
		text = gw.requests[0]["text"]
		self.assertIn(frappe.db.get_value("Customer", self.customer, "customer_name"), text)
		self.assertIn("1000.0 INR is overdue", text)
		self.assertIn("/collect/", text)
		case = case_of(self.customer)
		comm = frappe.get_all(
			"Communication",
			filters={"reference_doctype": "Collection Case", "reference_name": case.name},
			fields=["name", "communication_medium", "phone_no", "content", "sent_or_received"],
		)
		self.assertEqual(len(comm), 1)
		self.assertEqual(
			(comm[0].communication_medium, comm[0].phone_no, comm[0].sent_or_received),
			("SMS", "+41 79 555 55 55", "Sent"),
		)
		self.assertEqual(comm[0].content, text)
		(step,) = self.actions(action_type="Step")
		self.assertEqual((step.status, step.channel, step.communication), ("Sent", "SMS", comm[0].name))
		self.assertEqual(run.messages[0].channel, "SMS")
		# the same day again: nothing new (the gateway answers no more, a second send would fail)
		again = self.run_on()
		self.assertEqual((again.messages_count, again.errors_count), (0, 0))
		self.assertEqual(len(gw.requests), 1)

	def test_gateway_error_fails_the_action_with_the_reason_and_the_next_run_retries(self):
		self.policy(sms_steps()[0])
		add_mobile(self.customer, "+41 79 666 66 66")
		self.overdue()
		with Gateway([500]) as gw:
			run = self.run_on()
		self.assertEqual(len(gw.requests), 1)
		self.assertEqual(run.messages[0].status, "Failed")
		self.assertIn("500", run.messages[0].reason)
		self.assertEqual(self.actions(action_type="Step"), [])  # undone: the next run takes it again
		(failed,) = self.actions(action_type="Delivery")
		self.assertEqual((failed.status, failed.channel, failed.step_code), ("Failed", "SMS", "L1"))
		self.assertIn("500", failed.reason)
		case = case_of(self.customer)
		self.assertFalse(
			frappe.get_all(
				"Communication", filters={"reference_name": case.name, "communication_medium": "SMS"}
			)
		)
		with Gateway([200]) as gw:
			retry = self.run_on(add_days(RUN_DAY, 1))
		self.assertEqual(len(gw.requests), 1)
		self.assertEqual((retry.sent_count, retry.errors_count), (1, 0))
		self.assertEqual(
			[(a.step_code, a.status) for a in self.actions(action_type="Step")], [("L1", "Sent")]
		)

	def test_no_gateway_configured_is_an_error_not_a_silent_skip(self):
		self.policy(sms_steps()[0])
		add_mobile(self.customer, "+41 79 777 77 77")
		frappe.db.set_single_value("SMS Settings", "sms_gateway_url", "")
		self.overdue()
		run = self.run_on()
		self.assertEqual(run.messages[0].status, "Failed")
		self.assertIn("SMS Settings", run.messages[0].reason)

	def test_sms_text_falls_back_to_the_templates_plain_text(self):
		name = f"_Test DP SMS {frappe.generate_hash(length=5)}"
		frappe.get_doc(
			{
				"doctype": "Email Template",
				"name": name,
				"subject": "x",
				"use_html": 0,
				"response": "Pay {{ total }} please",
			}
		).insert(ignore_permissions=True)
		steps, _rows = sms_steps()
		steps[0].update(email_template=name, sms_text=None)
		self.policy(steps)
		add_mobile(self.customer, "+41790000099")
		self.overdue()
		with Gateway([200]) as gw:
			self.run_on()
		self.assertEqual(gw.requests[0]["text"], "Pay 1000.0 please")


class TestFallback(ChannelTestCase):
	def test_no_email_address_falls_back_to_sms_and_says_why(self):
		steps, rows = sms_steps(fallbacks=True)
		self.policy(steps, rows)
		add_mobile(self.customer, "+41 79 888 88 88")
		self.overdue()
		with Gateway([200]) as gw:
			run = self.run_on()
		self.assertEqual(len(gw.requests), 1)
		self.assertEqual(run.messages[0].channel, "SMS")
		why = "Sent by SMS instead of Email: no email address on file"
		self.assertEqual(run.messages[0].reason, why)
		(step,) = self.actions(action_type="Step")
		self.assertEqual(step.channel, "SMS")
		self.assertIn(why, step.details)
		case = case_of(self.customer)
		self.assertTrue(
			frappe.db.exists("Comment", {"reference_name": case.name, "content": ["like", f"%{why}%"]})
		)

	def test_email_when_the_customer_has_an_address(self):
		steps, rows = sms_steps(fallbacks=True)
		self.policy(steps, rows)
		frappe.db.set_value("Customer", self.customer, "email_id", "ap@chan.example")
		add_mobile(self.customer, "+41 79 888 88 89")
		self.overdue()
		run = self.run_on()
		self.assertEqual((run.messages[0].channel, run.messages[0].reason), ("Email", None))

	def test_nothing_but_a_call_reaches_a_customer_without_email_or_mobile(self):
		steps, rows = sms_steps(fallbacks=True)
		self.policy(steps, rows)
		self.overdue()
		run = self.run_on()
		self.assertEqual(run.messages[0].channel, "Call")
		self.assertIn("no mobile number on file", run.messages[0].reason)

	def test_letter_needs_a_postal_address(self):
		steps = [
			{
				"step_code": "L1",
				"offset_days": 10,
				"kind": "Dunning Level",
				"level": 1,
				"channel": "Letter",
				"email_template": TEMPLATE,
			}
		]
		self.policy(steps, [{"step_code": "L1", "channel": "Task"}])
		self.overdue()
		run = self.run_on()
		self.assertEqual(run.messages[0].channel, "Task")
		self.assertEqual(run.messages[0].reason, "Sent by Task instead of Letter: no postal address on file")


class TestCalls(ChannelTestCase):
	def call_policy(self, **fields):
		collector = make_user("dp-caller@example.com", ["Collector"])
		steps = [
			{
				"step_code": "C1",
				"offset_days": 10,
				"kind": "Dunning Level",
				"level": 1,
				"channel": "Call",
				"owner_user": collector,
			},
			{
				"step_code": "L2",
				"offset_days": 30,
				"kind": "Dunning Level",
				"level": 2,
				"email_template": TEMPLATE,
			},
		]
		self.policy(steps, call_retry_days=2, call_max_tries=2, skip_weekends=0, **fields)
		return collector

	def test_call_step_is_a_todo_for_the_owner_with_the_number_and_items(self):
		collector = self.call_policy()
		add_mobile(self.customer, "+41 79 123 45 67")
		si = self.overdue()
		self.run_on()
		(step,) = self.actions(action_type="Step")
		self.assertEqual((step.channel, step.status), ("Call", "Sent"))
		todo = frappe.get_doc("ToDo", step.todo)
		self.assertEqual(todo.allocated_to, collector)
		self.assertIn("+41 79 123 45 67", todo.description)
		self.assertIn(si.name, todo.description)

	def test_no_answer_retries_after_the_retry_days_then_the_next_step(self):
		self.call_policy()
		add_mobile(self.customer, "+41 79 123 45 68")
		self.overdue()
		self.run_on()
		case = case_of(self.customer).name
		with self.freeze_time(RUN_DAY):
			out = channels.log_call(case, "No Answer", note="voicemail", duration=40)
		self.assertEqual((out["follow_up"], out["next_call"]), ("call_again", str(add_days(RUN_DAY, 2))))
		(step,) = self.actions(action_type="Step")
		self.assertEqual(frappe.db.get_value("ToDo", step.todo, "status"), "Closed")
		(call,) = frappe.get_all(
			"Collection Action",
			filters={"collection_case": case, "action_type": "Call"},
			fields=[
				"call_outcome",
				"call_duration",
				"call_attempt",
				"todo",
				"phone_no",
				"details",
				"step_code",
			],
		)
		self.assertEqual(
			(call.call_outcome, call.call_duration, call.call_attempt, call.phone_no, call.step_code),
			("No Answer", 40, 1, "+41 79 123 45 68", "C1"),
		)
		self.assertIn("voicemail", call.details)
		retry = frappe.get_doc("ToDo", call.todo)
		self.assertEqual((getdate(retry.date), retry.status), (add_days(RUN_DAY, 2), "Open"))
		with self.freeze_time(add_days(RUN_DAY, 2)):
			out = channels.log_call(case, "No Answer")
		self.assertEqual((out["follow_up"], out["next_call"]), ("next_step", None))
		self.assertEqual(frappe.db.get_value("ToDo", retry.name, "status"), "Closed")
		self.assertFalse(
			frappe.db.exists(
				"ToDo", {"reference_name": case, "status": "Open", "description": ["like", "%again%"]}
			)
		)

	def test_promise_and_dispute_hand_over_and_call_back_needs_a_day(self):
		self.call_policy()
		self.overdue()
		self.run_on()
		case = case_of(self.customer).name
		with self.freeze_time(RUN_DAY):
			self.assertEqual(channels.log_call(case, "Promise Made")["follow_up"], "promise")
			self.assertEqual(channels.log_call(case, "Dispute Raised")["follow_up"], "dispute")
			self.assertRaises(frappe.ValidationError, channels.log_call, case, "Call Back")
			out = channels.log_call(case, "Call Back", call_back_on=str(add_days(RUN_DAY, 5)))
			self.assertRaises(frappe.ValidationError, channels.log_call, case, "Shouted")
		self.assertEqual(out["next_call"], str(add_days(RUN_DAY, 5)))

	def test_worklist_shows_calls_due_today_first(self):
		from dunning_plus.dunning_plus.report.collector_worklist.collector_worklist import execute

		self.call_policy()
		self.overdue()
		big = make_customer(f"_Test DP Big {frappe.generate_hash(length=6)}", email_id="big@chan.example")
		frappe.db.set_value(
			"Customer",
			big,
			"dunning_policy",
			ensure_policy(
				"_Test DP Email Only",
				steps=[
					{
						"step_code": "L1",
						"offset_days": 10,
						"kind": "Dunning Level",
						"level": 1,
						"email_template": TEMPLATE,
					}
				],
			),
		)
		frappe.flags.dunning_plus_policies = None
		with self.freeze_time(RUN_DAY, tick=True):
			make_invoice(big, add_days(RUN_DAY, -40), rate=90000, terms=TERMS_NET30)
		self.run_on()
		big_case, small_case = case_of(big), case_of(self.customer)
		frappe.db.set_value("Collection Case", big_case.name, "risk_score", 90)
		frappe.db.set_value("Collection Case", small_case.name, "risk_score", 1)
		with self.freeze_time(RUN_DAY):
			_cols, rows, *_rest = execute({"company": COMPANY})
		mine = [r for r in rows if r["collection_case"] in (big_case.name, small_case.name)]
		self.assertEqual([r["collection_case"] for r in mine], [small_case.name, big_case.name])
		self.assertEqual(mine[0]["calls_due"], 1)
		self.assertTrue(mine[0]["due_today"].startswith("Calls (1)"))
		# once the call is logged (reached), the case falls back to its place by score
		with self.freeze_time(RUN_DAY):
			channels.log_call(small_case.name, "Reached")
			_cols, rows, *_rest = execute({"company": COMPANY})
		mine = [r for r in rows if r["collection_case"] in (big_case.name, small_case.name)]
		self.assertEqual([r["collection_case"] for r in mine], [big_case.name, small_case.name])
