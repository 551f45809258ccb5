"""Delivering a consolidated message: an email from the step's Email Template with the open-items
statement attached, a ToDo for a person, or a printed letter; plus the side effects of steps
(ERPNext Dunning for fees and interest, credit hold)."""

from __future__ import annotations

from datetime import datetime

import frappe
from frappe import _
from frappe.utils import add_to_date, flt, get_url, getdate, now_datetime

from dunning_plus.collect_links import collect_url
from dunning_plus.engine.cadence import Message
from dunning_plus.policies import KIND_FROM_ENGINE

STATEMENT_FORMAT = "Open Items Statement"


from dunning_plus.formatting import money
from dunning_plus.statement import CREDIT_LABELS


def message_context(msg: Message, case_name: str) -> dict:
	from dunning_plus.ledger import read_credits

	customer = frappe.get_cached_doc("Customer", msg.customer)
	credits = [
		{
			"voucher": c.id,
			"kind": _(CREDIT_LABELS[c.kind.value]),
			"date": c.posting_date,
			"amount": flt(c.amount),
			"against": c.against,
		}
		for c in read_credits(msg.company, [msg.customer])
		if c.currency == msg.currency
	]
	items = [
		{
			"invoice": a.instalment.invoice,
			"payment_term": a.instalment.payment_term,
			"due_date": a.instalment.due_date,
			"days_overdue": max(a.days_overdue, 0),
			"outstanding": flt(a.instalment.outstanding),
			"credit_applied": flt(a.instalment.credit),
			"amount": flt(a.amount),
			"step": a.step.code,
			"step_title": _(a.step.title),
			"level": a.step.level,
			"pay_link": pay_link(a.instalment),
		}
		for a in msg.actions
	]
	return {
		"customer": customer.name,
		"customer_name": customer.customer_name,
		"company": msg.company,
		"case": case_name,
		"items": items,
		# open credit notes and unallocated payments: already netted against the amounts above
		"credits": credits,
		"credit_total": sum(c["amount"] for c in credits),
		"currency": msg.currency,
		"total": flt(msg.total),
		"fee": flt(msg.fee),
		"interest": flt(msg.interest),
		"grand_total": flt(msg.total + msg.fee + msg.interest),
		"level": msg.lead.level,
		"step": msg.lead.code,
		"step_title": _(msg.lead.title),
		"kind": KIND_FROM_ENGINE[msg.lead.kind.value],
		"pay_link": items[0]["pay_link"] if len({i["invoice"] for i in items}) == 1 else get_url("/invoices"),
		# the customer's collection page for this case and recipient: pay, promise, dispute, remit
		"collect_url": collect_url(case_name, msg.email),
		# the channel this message goes by, and why when it is not the step's first one
		"channel": _(msg.delivery_channel.label),
		"channel_reason": msg.channel_choice.explain(_) if msg.channel_choice.passed_over else "",
	}


def pay_link(instalment) -> str:
	"""The customer portal page of the invoice (or order): ERPNext offers payment there, creating the
	Payment Request itself when a payment gateway is set up for the currency."""
	if instalment.track.value == "plan":
		return get_url("/invoices")  # a plan instalment pays the invoices the plan covers
	route = "orders" if instalment.track.value == "deposit" else "invoices"
	return get_url(f"/{route}/{instalment.invoice}")


def render(template_name: str, context: dict) -> tuple[str, str]:
	if not template_name or not frappe.db.exists("Email Template", template_name):
		frappe.throw(
			_("Email Template {0} does not exist.").format(template_name or "-"), title=_("Missing Template")
		)
	template = frappe.get_cached_doc("Email Template", template_name)
	body = template.response_html if template.use_html else template.response
	return frappe.render_template(template.subject or "", context), frappe.render_template(
		body or "", context
	)


def send_after(msg_policy_calendar, now: datetime | None = None) -> datetime | None:
	"""The start of the next sending window when now is outside it (None: send at once)."""
	now = now or now_datetime()
	nxt = msg_policy_calendar.next_send_time(now)
	return None if nxt <= now else nxt


def send_email(msg: Message, case_name: str, sender: str | None, calendar) -> str:
	subject, body = render(msg.template, message_context(msg, case_name))
	from frappe.core.doctype.communication.email import _make

	result = _make(
		doctype="Collection Case",
		name=case_name,
		subject=subject,
		content=body,
		recipients=[msg.email],
		sender=sender,
		send_email=True,
		print_format=STATEMENT_FORMAT,
		send_after=send_after(calendar),
		communication_type="Communication",
		email_template=msg.template,
		print_language=msg.language,
	)
	return result["name"]


def create_task(
	msg: Message, case_name: str, collector: str | None, reason: str | None = None, due_on=None
) -> str:
	"""A ToDo for the step's owner (a user, or the collector for a role), due at the step's SLA (or on
	``due_on``: a call is due the day its step fires)."""
	owner = msg.lead.owner
	user = owner if owner and frappe.db.exists("User", owner) else None
	role = owner if owner and not user and frappe.db.exists("Role", owner) else None
	user = user or collector or _first_user_with_role(role or "Collections Manager")
	sla_hours = msg.lead.sla_hours or 24
	lines = "".join(
		f"<li>{a.instalment.invoice} ({a.instalment.payment_term or '-'}): {money(a.amount, msg.currency)}, "
		f"{_(a.step.title)}</li>"
		for a in msg.actions
	)
	todo = frappe.get_doc(
		{
			"doctype": "ToDo",
			"allocated_to": user,
			"role": role,
			"reference_type": "Collection Case",
			"reference_name": case_name,
			"date": getdate(due_on) if due_on else getdate(add_to_date(now_datetime(), hours=sla_hours)),
			"priority": "High" if msg.lead.severity >= 3 else "Medium",
			"description": _("{0} for {1}: {2}").format(_(msg.lead.title), msg.customer, reason or "")
			+ f"<ul>{lines}</ul>",
		}
	)
	todo.insert(ignore_permissions=True)
	return todo.name


def queue_letter(msg: Message, case_name: str) -> str:
	"""Renders the statement as a PDF attached to the case, queued for printing and posting; the
	letter carries the case's collection page link as a QR code and URL (collect_links.letter_link)."""
	frappe.flags.dunning_plus_letter_case = case_name
	try:
		pdf = frappe.attach_print(
			"Collection Case",
			case_name,
			print_format=STATEMENT_FORMAT,
			file_name=f"{case_name}-{msg.lead.code}",
			lang=msg.language,
		)
	finally:
		frappe.flags.dunning_plus_letter_case = None
	file = frappe.get_doc(
		{
			"doctype": "File",
			"file_name": pdf["fname"],
			"content": pdf["fcontent"],
			"is_private": 1,
			"attached_to_doctype": "Collection Case",
			"attached_to_name": case_name,
		}
	)
	file.save(ignore_permissions=True)
	return file.file_url


def create_fee_dunning(msg: Message, case_name: str, posting_date) -> str | None:
	"""Fees and interest go through ERPNext's own Dunning so the accounting stays native."""
	if not (msg.fee or msg.interest):
		return None
	dunning_type = _fee_dunning_type(msg)
	doc = frappe.get_doc(
		{
			"doctype": "Dunning",
			"company": msg.company,
			"customer": msg.customer,
			"posting_date": getdate(posting_date),
			"currency": msg.currency,
			"conversion_rate": 1,
			"dunning_type": dunning_type,
			"dunning_fee": flt(msg.fee),
			"rate_of_interest": flt(max((a.step.interest_rate for a in msg.actions), default=0)),
			"overdue_payments": [
				{
					"sales_invoice": a.instalment.invoice,
					"payment_schedule": a.instalment.id,
					"payment_term": a.instalment.payment_term or None,
					"due_date": a.instalment.due_date,
					"overdue_days": max(a.days_overdue, 0),
					"payment_amount": flt(a.instalment.amount or a.instalment.outstanding),
					"outstanding": flt(a.instalment.outstanding),
					"dunning_level": a.step.level or 1,
				}
				for a in msg.actions
				if a.instalment.track.value == "invoice"
			],
		}
	)
	doc.flags.ignore_permissions = True
	doc.insert()
	doc.submit()
	frappe.get_doc("Collection Case", case_name).add_comment(
		"Info",
		_("Dunning {0} raised for a fee of {1} and interest of {2}").format(
			doc.name, money(msg.fee, msg.currency), money(msg.interest, msg.currency)
		),
	)
	return doc.name


def _fee_dunning_type(msg: Message) -> str:
	"""The company's ERPNext Dunning Type for the step, made on first use.

	ERPNext names a Dunning Type "<type> - <company abbr>" but keeps its ``dunning_type`` unique across
	all companies: the first company to use a step gets the step's title, every other one the title
	with its abbreviation, so each company has its own and none collides with another's."""
	company = msg.company
	abbr = frappe.get_cached_value("Company", company, "abbr")
	title = msg.lead.title
	candidates = list(dict.fromkeys([title, f"{title} ({abbr})", f"{title} ({company})"]))
	dt = frappe.qb.DocType("Dunning Type")
	found = {
		r[0]: r[1]
		for r in frappe.qb.from_(dt)
		.select(dt.dunning_type, dt.name)
		.where((dt.company == company) & dt.dunning_type.isin(candidates))
		.run()
	}
	for dunning_type in candidates:
		if dunning_type in found:
			return found[dunning_type]
	taken = {
		r[0]
		for r in frappe.qb.from_(dt).select(dt.dunning_type).where(dt.dunning_type.isin(candidates)).run()
	}
	free = [c for c in candidates if c not in taken]
	if not free:
		frappe.throw(
			_("Every Dunning Type name for {0} in {1} is used by another company: {2}").format(
				title, company, ", ".join(candidates)
			)
		)
	dunning_type = free[0]
	savepoint = f"dpt_{frappe.generate_hash(length=8)}"
	frappe.db.savepoint(savepoint)
	try:
		doc = frappe.get_doc(
			{
				"doctype": "Dunning Type",
				"dunning_type": dunning_type,
				"company": company,
				"dunning_fee": flt(msg.fee),
				"rate_of_interest": flt(msg.lead.interest_rate),
				"income_account": frappe.get_cached_value("Company", company, "default_income_account"),
				"cost_center": frappe.get_cached_value("Company", company, "cost_center"),
			}
		).insert(ignore_permissions=True)
	except (frappe.DuplicateEntryError, frappe.UniqueValidationError):
		# Another worker of the same company made it a moment ago: use theirs.
		frappe.db.rollback(save_point=savepoint)
		name = (
			frappe.qb.from_(dt)
			.select(dt.name)
			.where((dt.company == company) & (dt.dunning_type == dunning_type))
			.for_update()
			.run()
		)
		if not name:
			raise
		return name[0][0]
	return doc.name


def _first_user_with_role(role: str) -> str:
	return next(iter(users_with_role(role)), "Administrator")


def users_with_role(role: str) -> list[str]:
	has_role = frappe.qb.DocType("Has Role")
	user = frappe.qb.DocType("User")
	return [
		r[0]
		for r in frappe.qb.from_(has_role)
		.join(user)
		.on(user.name == has_role.parent)
		.select(user.name)
		.where(
			(has_role.role == role)
			& (user.enabled == 1)
			& (has_role.parenttype == "User")
			& (user.name != "Guest")
		)
		.orderby(user.name)
		.run()
	]
