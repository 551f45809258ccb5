"""Delivering decided messages: each message is locked and re-read (``rebuild_message``, with
today's outstanding), so two workers or a rerun never send one twice; sent by its channel with its
side effects (fee Dunning, credit hold, the owner's follow-up); a failed message is undone and
logged, and the next run takes its steps again."""

from __future__ import annotations

import traceback

import frappe
from frappe import _
from frappe.utils import getdate, nowdate

from dunning_plus import cases, delivery, ledger
from dunning_plus.cycle import recording, run_log, transactions
from dunning_plus.engine.cadence import DueAction, Message, action_key
from dunning_plus.engine.policy import Channel
from dunning_plus.policies import policy_book


def undelivered(company: str, customers: list[str]) -> list[str]:
	"""Messages decided earlier but never delivered (a worker died between deciding and sending)."""
	ca = frappe.qb.DocType("Collection Action")
	return [
		r[0]
		for r in frappe.qb.from_(ca)
		.select(ca.message_key)
		.distinct()
		.where(
			(ca.company == company)
			& ca.customer.isin(customers)
			& (ca.action_type == "Step")
			& (ca.status == "Queued")
			& ca.message_key.isnotnull()
		)
		.run()
	]


def deliver_queued(company: str, message_keys: list[str], run: str | None = None) -> tuple[int, list[dict]]:
	"""Delivers decided messages. Each message is locked and re-read, so two workers (or a rerun)
	never send one twice; a message that fails is undone, so the next run takes its steps again.

	The message's row on the run that decided it (``run`` or an earlier one) follows; those runs'
	counts are brought up to date at the end."""
	cfg = transactions.settings()
	book = policy_book(company)
	sent, errors = 0, []
	touched: set[str] = {run} if run else set()
	transactions.commit()  # each message is a transaction of its own (see undo)
	for key in message_keys:
		for attempt in range(1, transactions.RETRIES + 1):
			savepoint = f"dpd_{frappe.generate_hash(length=8)}"
			frappe.db.savepoint(savepoint)
			customer = None
			try:
				customer, done = _deliver_one(company, key, cfg, book, run, touched)
				sent += done
				transactions.commit()
			except Exception as e:
				transactions.undo(savepoint)
				if transactions.rolled_back_by_database(e) and attempt < transactions.RETRIES:
					transactions.backoff(attempt)
					continue
				customer = customer or frappe.db.get_value(
					"Collection Action", {"message_key": key}, "customer"
				)
				_delivery_failed(company, run, key, customer, e, errors, touched)
				transactions.commit()
			break
	# Closing the runs locks their rows and the messages' actions: another worker delivering at the
	# same moment can deadlock with it, and the database then rolls this back; it is tried again.
	for name in sorted(touched):
		transactions.retrying(_close, name)
	transactions.commit()
	return sent, errors


def _close(run_name: str) -> None:
	run_log.progress(run_name, finish=True)


def _deliver_one(company: str, key: str, cfg, book, run: str | None, touched: set) -> tuple[str | None, int]:
	"""Delivers one message; returns its customer and 1 when it went out."""
	ca = frappe.qb.DocType("Collection Action")
	rows = (
		frappe.qb.from_(ca)
		.select(ca.name, ca.customer, ca.collection_case, ca.action_date)
		.where((ca.message_key == key) & (ca.status == "Queued") & (ca.action_type == "Step"))
		.for_update()
		.run(as_dict=True)
	)
	if not rows:
		return None, 0
	names = [r.name for r in rows]
	customer = rows[0].customer
	case = rows[0].collection_case or cases.open_case_name(company, customer)
	msg, _rows = rebuild_message(company, customer, names)
	if msg is None:
		frappe.qb.update(ca).set(ca.status, "Skipped").set(ca.reason, _("Paid before it was sent")).where(
			ca.name.isin(names)
		).run()
		touched.update(
			run_log.set_run_row(key, {"status": "Skipped", "reason": _("Paid before it was sent")})
		)
		return customer, 0
	collector = frappe.db.get_value("Collection Case", case, "collector") if case else None
	out = deliver(msg, case, collector, cfg, book.policies[msg.policy], getdate(rows[0].action_date), names)
	frappe.qb.update(ca).set(ca.status, out.get("status", "Sent")).where(ca.name.isin(names)).run()
	# last, just before the commit: the run's row is held for a moment only
	touched.update(
		run_log.set_run_row(
			key, {"status": "Sent", "communication": out.get("communication"), "reason": out.get("reason")}
		)
	)
	return customer, 1


def _delivery_failed(
	company: str,
	run: str | None,
	key: str,
	customer: str | None,
	e: Exception,
	errors: list,
	touched: set | None = None,
) -> None:
	"""Undoes the message's decision (the next run takes its steps again) and logs it on the run that
	decided it (or the one delivering it) and on the case."""
	ca = frappe.qb.DocType("Collection Action")
	err = {"customer": customer, "error": str(e)[:1000], "traceback": traceback.format_exc()}
	errors.append(err)
	owners = run_log.run_rows_waiting(key) or ([run] if run else [])
	for owner in owners:
		run_log.lock_run(owner)  # the run row before its child rows, as every writer of both does
		run_log.add_error(owner, err)
	_record_failed_delivery(key, e)
	frappe.qb.from_(ca).delete().where((ca.message_key == key) & ca.status.isin(["Queued", "Skipped"])).run()
	run_log.set_run_row(key, {"status": "Failed", "reason": str(e)[:500]})
	if touched is not None:
		touched.update(owners)
	if customer:
		cases.refresh_case(company, customer)
		name = cases.open_case_name(company, customer)
		if name:
			frappe.get_doc("Collection Case", name).add_comment(
				"Info", _("The collection run could not act for this customer: {0}").format(str(e)[:500])
			)


def _record_failed_delivery(key: str, e: Exception) -> None:
	"""A Failed delivery action per step of the message, with the reason (an SMS gateway's error, a
	broken template): the audit trail keeps the attempt while the steps themselves are undone, so
	the next run takes them again."""
	ca = frappe.qb.DocType("Collection Action")
	rows = (
		frappe.qb.from_(ca)
		.select(
			ca.collection_case,
			ca.customer,
			ca.company,
			ca.step_code,
			ca.step_kind,
			ca.level,
			ca.channel,
			ca.reference_doctype,
			ca.reference_name,
			ca.payment_schedule,
			ca.amount,
			ca.currency,
			ca.dunning_run,
		)
		.where((ca.message_key == key) & (ca.status == "Queued") & (ca.action_type == "Step"))
		.run(as_dict=True)
	)
	for r in rows:
		frappe.get_doc(
			{
				"doctype": "Collection Action",
				**r,
				"action_date": nowdate(),
				"action_type": "Delivery",
				"status": "Failed",
				"message_key": key,
				"reason": str(e)[:1000],
				"details": _("Sending {0} by {1} failed; the next run tries again.").format(
					r.step_code, _(r.channel or "")
				),
			}
		).insert(ignore_permissions=True)


def deliver(
	msg: Message, case: str, collector: str | None, cfg, policy, as_of, action_names: list[str]
) -> dict:
	"""Sends one message and books its side effects; returns what to record on the run row."""
	out: dict = {}
	channel = msg.delivery_channel
	ca = frappe.qb.DocType("Collection Action")
	choice = msg.channel_choice
	if choice.passed_over:
		# the case and the run's message say which channel was used and why
		out["reason"] = choice.explain(_)
		frappe.qb.update(ca).set(ca.details, recording.appended(ca.details, out["reason"] + ".")).where(
			ca.name.isin(action_names)
		).run()
		frappe.get_doc("Collection Case", case).add_comment("Info", out["reason"])
	if channel == Channel.EMAIL:
		sender = (
			frappe.db.get_value("Email Account", cfg.sender_email_account, "email_id")
			if cfg.sender_email_account
			else None
		)
		comm = delivery.send_email(msg, case, sender, policy.calendar)
		out["communication"] = comm
		frappe.qb.update(ca).set(ca.communication, comm).where(ca.name.isin(action_names)).run()
	elif channel == Channel.SMS:
		from dunning_plus.channels import send_sms

		comm = send_sms(msg, case, delivery.message_context(msg, case))
		out["communication"] = comm
		frappe.qb.update(ca).set(ca.communication, comm).where(ca.name.isin(action_names)).run()
	elif channel == Channel.CALL:
		from dunning_plus.channels import call_reason

		todo = delivery.create_task(msg, case, collector, call_reason(msg), due_on=as_of)
		frappe.qb.update(ca).set(ca.todo, todo).where(ca.name.isin(action_names)).run()
	elif channel == Channel.TASK:
		reason = None if msg.channel == Channel.TASK else choice.explain(_)
		todo = delivery.create_task(msg, case, collector, reason)
		frappe.qb.update(ca).set(ca.todo, todo).where(ca.name.isin(action_names)).run()
		out["reason"] = reason
	else:
		url = delivery.queue_letter(msg, case)
		frappe.qb.update(ca).set(
			ca.details, recording.appended(ca.details, _("Letter to print: {0}").format(url))
		).where(ca.name.isin(action_names)).run()
		out["status"] = "To Print"
	if channel not in (Channel.TASK, Channel.CALL) and msg.lead.owner:
		# The step's owner follows the message up by its SLA.
		delivery.create_task(
			msg, case, collector, _("follow up the {0} sent today").format(_(msg.lead.title))
		)
	dunning = delivery.create_fee_dunning(msg, case, as_of)
	if dunning:
		frappe.qb.update(ca).set(
			ca.details,
			recording.appended(ca.details, _("Fee and interest raised as Dunning {0}").format(dunning)),
		).where(ca.name.isin(action_names)).run()
	if msg.credit_hold:
		frappe.db.set_value("Customer", msg.customer, "dunning_credit_hold", 1)
		frappe.get_doc("Collection Case", case).add_comment("Info", _("Customer put on credit hold"))
	return out


def rebuild_message(company: str, customer: str, action_names: list[str]) -> tuple[Message, list]:
	"""The message behind stored step actions, with today's outstanding (for approval or review)."""
	rows = frappe.get_all(
		"Collection Action",
		filters={"name": ["in", action_names]},
		fields=["name", "payment_schedule", "step_code", "amount", "action_date", "message_key"],
		order_by="creation",
	)
	book = policy_book(company)
	profiles = ledger.read_customers([customer])
	open_rows = {i.id: i for i in ledger.read_position(company, [customer])[0] if i.due > 0}
	actions = []
	policy_name = None
	for r in rows:
		inst = open_rows.get(r.payment_schedule)
		if inst is None:
			continue  # paid since: nothing to send for it
		choice = book.choose(inst, profiles.get(customer))
		policy = book.policies[choice.policy]
		policy_name = policy.name
		ts = policy.track(inst.track)
		step = policy.step(r.step_code)
		actions.append(
			DueAction(
				instalment=inst,
				policy=policy.name,
				step=step,
				step_index=ts.index_by_code[step.code],
				fire_date=getdate(r.action_date),
				amount=inst.due,
				days_overdue=(getdate(nowdate()) - inst.due_date).days,
				skipped=(),
				key=action_key(company, customer, inst.id, step.code),
			)
		)
	if not actions:
		return None, rows
	profile = profiles.get(customer)
	lead = max(actions, key=lambda a: (a.step.severity, a.step_index))
	msg = Message(
		company=company,
		customer=customer,
		currency=actions[0].instalment.currency,
		channel=lead.step.channel,
		policy=policy_name,
		lead=lead.step,
		lead_index=lead.step_index,
		actions=actions,
		language=profile.language if profile else None,
		email=profile.email if profile else None,
		mobile=profile.mobile if profile else None,
		has_address=profile.has_address if profile else None,
	)
	return msg, rows
