"""SMS and call steps, what a customer can be reached by, and calls logged on a case.

- Reach: the mobile number comes from the customer's primary Contact (``customer_primary_contact``,
  else the Contact linked to the customer marked primary), then ``Customer.mobile_no``; a postal
  address is the primary address or any enabled Address linked to the customer.
- SMS: the step's SMS text (else its Email Template's plain text) rendered with the email's Jinja
  context, sent through Frappe's SMS Settings and logged as a Communication (medium SMS) on the
  case. A gateway error raises: the cycle undoes the message, records the failed delivery and the
  next run takes the steps again, as for an email.
- Call: a ToDo for the step's owner with the number and the items.
- Log Call: the outcome decides what follows (``engine.channels.decide_call``).
"""

from __future__ import annotations

from dataclasses import replace

import frappe
from frappe import _
from frappe.utils import cint, getdate, nowdate, strip_html_tags

from dunning_plus.engine.cadence import CustomerProfile, Message
from dunning_plus.engine.channels import OUTCOME_FROM_LABEL, CallFollowUp, decide_call, sms_length
from dunning_plus.engine.errors import EngineError


def read_reach(customers: list[str]) -> dict[str, tuple[str | None, bool]]:
	"""(mobile number, has a postal address) per customer, in four set-based reads."""
	customers = list(customers)
	if not customers:
		return {}
	c = frappe.qb.DocType("Customer")
	contact = frappe.qb.DocType("Contact")
	dl = frappe.qb.DocType("Dynamic Link")
	address = frappe.qb.DocType("Address")
	rows = (
		frappe.qb.from_(c)
		.left_join(contact)
		.on(contact.name == c.customer_primary_contact)
		.select(c.name, contact.mobile_no.as_("contact_mobile"), c.mobile_no, c.customer_primary_address)
		.where(c.name.isin(customers))
		.run(as_dict=True)
	)
	linked_primary = {
		r.link_name: r.mobile_no
		for r in frappe.qb.from_(dl)
		.join(contact)
		.on(contact.name == dl.parent)
		.select(dl.link_name, contact.mobile_no)
		.where(
			(dl.parenttype == "Contact")
			& (dl.link_doctype == "Customer")
			& dl.link_name.isin(customers)
			& (contact.is_primary_contact == 1)
			& (contact.mobile_no.isnotnull())
			& (contact.mobile_no != "")
		)
		.orderby(contact.creation)
		.run(as_dict=True)
	}
	with_address = {
		r[0]
		for r in frappe.qb.from_(dl)
		.join(address)
		.on(address.name == dl.parent)
		.select(dl.link_name)
		.where(
			(dl.parenttype == "Address")
			& (dl.link_doctype == "Customer")
			& dl.link_name.isin(customers)
			& (address.disabled == 0)
		)
		.run()
	}
	out = {}
	for r in rows:
		mobile = (r.contact_mobile or linked_primary.get(r.name) or r.mobile_no or "").strip() or None
		out[r.name] = (mobile, bool(r.customer_primary_address) or r.name in with_address)
	return out


def with_reach(profiles: dict[str, CustomerProfile]) -> dict[str, CustomerProfile]:
	"""The profiles with the customers' mobile numbers and whether they have a postal address."""
	reach = read_reach(list(profiles))
	return {
		name: replace(p, mobile=reach[name][0], has_address=reach[name][1]) if name in reach else p
		for name, p in profiles.items()
	}


# ------------------------------------------------------------------------------ SMS


def sms_body(msg: Message) -> str:
	"""The SMS text of the message's lead step: its own text, else its template's plain text."""
	if msg.lead.sms_text:
		return msg.lead.sms_text
	name = msg.template
	if not name or not frappe.db.exists("Email Template", name):
		frappe.throw(_("Step {0} has no SMS text and no Email Template.").format(msg.lead.code))
	template = frappe.get_cached_doc("Email Template", name)
	if template.response:
		return template.response
	return strip_html_tags(template.response_html or "")


def send_sms(msg: Message, case_name: str, context: dict) -> str:
	"""Sends the message's SMS through SMS Settings and logs it on the case; returns the Communication.

	Frappe's ``send_sms`` only shows a message when no gateway is set up: that is an error here, as
	is any answer of the gateway other than success (``send_request`` raises for it)."""
	from frappe.core.doctype.sms_settings.sms_settings import send_sms as frappe_send_sms

	if not msg.mobile:
		frappe.throw(_("Customer {0} has no mobile number.").format(msg.customer))
	if not frappe.db.get_single_value("SMS Settings", "sms_gateway_url"):
		frappe.throw(_("Set up the SMS gateway in SMS Settings before sending SMS steps."))
	text = frappe.render_template(sms_body(msg), context).strip()
	if not text:
		frappe.throw(_("The SMS of step {0} is empty.").format(msg.lead.code))
	frappe_send_sms([msg.mobile], text, success_msg=False)
	length = sms_length(text)
	comm = frappe.get_doc(
		{
			"doctype": "Communication",
			"communication_type": "Communication",
			"communication_medium": "SMS",
			"sent_or_received": "Sent",
			"subject": _("SMS: {0} ({1} parts)").format(_(msg.lead.title), length.parts)
			if length.parts > 1
			else _("SMS: {0}").format(_(msg.lead.title)),
			"content": text,
			"phone_no": msg.mobile,
			"reference_doctype": "Collection Case",
			"reference_name": case_name,
			"timeline_links": [{"link_doctype": "Customer", "link_name": msg.customer}],
		}
	)
	comm.insert(ignore_permissions=True)
	return comm.name


# ------------------------------------------------------------------------------ calls


def call_reason(msg: Message) -> str:
	number = msg.mobile or frappe.get_cached_value("Customer", msg.customer, "mobile_no")
	if number:
		return _("call {0} on {1}").format(msg.customer, number)
	return _("call {0}: no phone number on file, find one").format(msg.customer)


def last_call_step(case: str) -> frappe._dict | None:
	"""The latest call step of the case (its message key, step and task), if any."""
	ca = frappe.qb.DocType("Collection Action")
	rows = (
		frappe.qb.from_(ca)
		.select(ca.message_key, ca.step_code, ca.todo, ca.action_date)
		.where(
			(ca.collection_case == case)
			& (ca.action_type == "Step")
			& (ca.channel == "Call")
			& ca.status.isin(["Sent", "Queued"])
		)
		.orderby(ca.creation, order=frappe.qb.desc)
		.limit(1)
		.run(as_dict=True)
	)
	return rows[0] if rows else None


def _unanswered(case: str, message_key: str | None) -> int:
	ca = frappe.qb.DocType("Collection Action")
	query = (
		frappe.qb.from_(ca)
		.select(ca.name)
		.where((ca.collection_case == case) & (ca.action_type == "Call") & (ca.call_outcome == "No Answer"))
	)
	query = (
		query.where(ca.message_key == message_key) if message_key else query.where(ca.message_key.isnull())
	)
	return len(query.run())


def _close_call_todos(case: str) -> None:
	"""Closes the case's open call tasks (the step's and earlier retries')."""
	ca = frappe.qb.DocType("Collection Action")
	todo = frappe.qb.DocType("ToDo")
	names = [
		r[0]
		for r in frappe.qb.from_(ca)
		.select(ca.todo)
		.where((ca.collection_case == case) & (ca.channel == "Call") & ca.todo.isnotnull())
		.run()
	]
	if names:
		frappe.qb.update(todo).set(todo.status, "Closed").where(
			todo.name.isin(names) & (todo.status == "Open")
		).run()


@frappe.whitelist()
def log_call(
	case: str,
	outcome: str,
	note: str | None = None,
	duration: int | None = None,
	call_back_on: str | None = None,
	phone_no: str | None = None,
) -> dict:
	"""Records a call made on the case and what follows from its outcome: a retry, the next step, or
	the promise / dispute dialog (the form opens it)."""
	doc = frappe.get_doc("Collection Case", case)
	doc.check_permission("write")
	if outcome not in OUTCOME_FROM_LABEL:
		frappe.throw(_("Unknown call outcome {0}.").format(outcome))
	from dunning_plus.policies import load_policy, throw_engine_error

	step = last_call_step(case)
	key = step.message_key if step else None
	policy = load_policy(doc.policy) if doc.policy else None
	on = getdate(nowdate())
	try:
		decision = decide_call(
			OUTCOME_FROM_LABEL[outcome],
			on,
			_unanswered(case, key),
			policy.call_retry_days if policy else 2,
			policy.call_max_tries if policy else 3,
			getdate(call_back_on) if call_back_on else None,
			policy.calendar if policy else None,
		)
	except EngineError as e:
		throw_engine_error(e, _("Cannot Log the Call"))
	number = phone_no or read_reach([doc.customer]).get(doc.customer, (None, False))[0]
	explained = decision.explain(_)
	details = " ".join(filter(None, [_("Call: {0}.").format(_(outcome)), (note or "").strip(), explained]))
	_close_call_todos(case)
	todo = None
	if decision.follow_up == CallFollowUp.CALL_AGAIN:
		todo = _call_again_todo(doc, decision.next_call, number, explained)
	action = frappe.get_doc(
		{
			"doctype": "Collection Action",
			"collection_case": case,
			"company": doc.company,
			"customer": doc.customer,
			"action_date": on,
			"action_type": "Call",
			"status": "Done",
			"channel": "Call",
			"step_code": step.step_code if step else None,
			"message_key": key,
			"call_outcome": outcome,
			"call_duration": cint(duration) or None,
			"call_back_on": decision.next_call,
			"call_attempt": decision.attempt if outcome == "No Answer" else None,
			"phone_no": number,
			"todo": todo,
			"details": details,
			"approved_by": frappe.session.user,
		}
	).insert(ignore_permissions=True)
	doc.add_comment("Info", details)
	return {
		"action": action.name,
		"follow_up": decision.follow_up.value,
		"next_call": str(decision.next_call) if decision.next_call else None,
		"message": explained,
	}


def _call_again_todo(case, day, number, why: str) -> str:
	last = frappe.get_all(
		"ToDo",
		filters={"reference_type": "Collection Case", "reference_name": case.name},
		fields=["allocated_to"],
		order_by="creation desc",
		limit=1,
	)
	user = case.collector or (last[0].allocated_to if last else None) or frappe.session.user
	todo = frappe.get_doc(
		{
			"doctype": "ToDo",
			"allocated_to": user,
			"reference_type": "Collection Case",
			"reference_name": case.name,
			"date": day,
			"priority": "Medium",
			"description": _("Call {0} again on {1}: {2}").format(
				case.customer, number or _("no number on file"), why
			),
		}
	)
	todo.insert(ignore_permissions=True)
	return todo.name


def calls_due(cases: list[str], as_of) -> dict[str, int]:
	"""Open call tasks due on ``as_of`` or earlier, per case (step calls and retries)."""
	if not cases:
		return {}
	ca = frappe.qb.DocType("Collection Action")
	todo = frappe.qb.DocType("ToDo")
	rows = (
		frappe.qb.from_(ca)
		.join(todo)
		.on(todo.name == ca.todo)
		.select(ca.collection_case, todo.name)
		.distinct()
		.where(
			ca.collection_case.isin(cases)
			& (ca.channel == "Call")
			& (todo.status == "Open")
			& (todo.date <= as_of)
		)
		.run()
	)
	out: dict[str, int] = {}
	for case, _todo in rows:
		out[case] = out.get(case, 0) + 1
	return out


@frappe.whitelist()
def sms_preview_length(text: str) -> dict:
	"""Characters and parts of an SMS text, for the step form's warning."""
	length = sms_length(text or "")
	return {
		"characters": length.characters,
		"parts": length.parts,
		"unicode": length.unicode,
		"per_part": length.per_part,
	}
