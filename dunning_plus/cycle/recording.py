"""Recording a decided message: its Collection Action audit rows (the unique idempotency key makes
a step happen once) and, for a step that needs approval, the approvers' tasks."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import frappe
from frappe import _
from frappe.query_builder.functions import Concat, IfNull
from frappe.utils import flt, now_datetime, nowdate

from dunning_plus import delivery, ledger
from dunning_plus.engine.cadence import Message
from dunning_plus.engine.policy import Channel
from dunning_plus.formatting import money
from dunning_plus.policies import KIND_FROM_ENGINE

CHANNEL_LABEL = {c: c.label for c in Channel}


REFERENCE_OF_TRACK = {"invoice": "Sales Invoice", "deposit": "Sales Order", "plan": "Payment Plan"}


ACTION_FIELDS = (
	"name",
	"creation",
	"modified",
	"owner",
	"modified_by",
	"docstatus",
	"idx",
	"customer",
	"company",
	"action_date",
	"action_type",
	"status",
	"step_code",
	"step_kind",
	"level",
	"channel",
	"reference_doctype",
	"reference_name",
	"payment_schedule",
	"amount",
	"currency",
	"message_key",
	"dunning_run",
	"idempotency_key",
	"details",
	"reason",
	"collection_case",
)


def write_actions(msg: Message, run: str | None, status: str, as_of, start=None) -> list[str]:
	"""The audit rows of one message in one statement; the unique key rejects a step taken twice."""
	rows = action_rows(msg, run, status, as_of, start=start)
	insert_actions(rows)
	return [r[0] for r in rows]


def action_rows(
	msg: Message, run: str | None, status: str, as_of, case: str | None = None, start=None
) -> list[tuple]:
	"""The audit rows of one message (``ACTION_FIELDS``), pointing to ``case`` when it is known; the
	n-th action is created at ``start`` (default: now) plus n microseconds (``created_at``).

	Steps passed over by the catch-up rule are named in the taken step's details: the engine only
	needs the highest step taken, and a first run after install would otherwise write several rows
	per item."""
	start = start or now_datetime()
	user = frappe.session.user
	rows = []
	for n, a in enumerate(msg.actions):
		created = created_at(start, n)
		details = _("Due since {0}, {1} days after the due date.").format(a.fire_date, a.days_overdue)
		if a.skipped:
			details += " " + _(
				"Passed over after a pause or downtime (only the highest due step is sent): {0}."
			).format(", ".join(a.skipped))
		rows.append(
			(
				frappe.generate_hash(length=10),
				created,
				created,
				user,
				user,
				0,
				0,
				msg.customer,
				msg.company,
				as_of,
				"Step",
				status,
				a.step.code,
				KIND_FROM_ENGINE[a.step.kind.value],
				a.step.level,
				CHANNEL_LABEL[msg.delivery_channel],
				REFERENCE_OF_TRACK[a.instalment.track.value],
				a.instalment.invoice,
				a.instalment.id,
				flt(a.amount),
				msg.currency,
				msg.key,
				run,
				a.key,
				details,
				None,
				case,
			)
		)
	return rows


def created_at(start, n: int):
	"""The creation time of a message's n-th action: in order, so the audit trail reads in order."""
	return start + timedelta(microseconds=n)


def starts(messages: list[Message], base=None) -> dict[str, object]:
	"""Each message's first creation time, after the previous message's actions."""
	base = base or now_datetime()
	out, offset = {}, 0
	for msg in messages:
		out[msg.key] = created_at(base, offset)
		offset += len(msg.actions)
	return out


def insert_actions(rows: list[tuple]) -> None:
	"""Audit rows of any number of messages, in one statement per 500; a step already taken (its
	unique idempotency key) raises DuplicateEntryError and writes nothing of the statement."""
	try:
		ledger.fast_insert("Collection Action", ACTION_FIELDS, rows)
	except Exception as e:
		if frappe.db.is_duplicate_entry(e):
			raise frappe.DuplicateEntryError("Collection Action", rows[0][21] if rows else None, e)
		raise


def not_taken(messages: list[Message], done: set[str]) -> list[Message]:
	"""The messages with only their steps not taken yet (by an earlier or a concurrent run)."""
	todo = []
	for m in messages:
		fresh = [a for a in m.actions if a.key not in done]
		if len(fresh) == len(m.actions):
			todo.append(m)
		elif fresh:
			todo.append(replace(m, actions=fresh))
	return todo


def statuses_for(todo: list[Message], mode: str) -> dict[str, str]:
	statuses = {}
	for msg in todo:
		if msg.needs_approval:
			statuses[msg.key] = "Pending Approval"
		elif mode == "Proposal":
			statuses[msg.key] = "Proposed"
		else:
			statuses[msg.key] = "Queued"
	return statuses


def note_steps(batch, customer: str, todo: list[Message], statuses: dict, as_of, at: dict) -> None:
	"""The steps just decided, in the batch's case context, so the case recompute sees them as
	they are stored (their creation times included: an SLA runs from there)."""
	if batch is None or batch.ctx is None:
		return
	batch.ctx.add_steps(
		customer,
		[
			{
				"payment_schedule": a.instalment.id,
				"step_code": code,
				"level": a.step.level if code == a.step.code else 0,
				"action_date": as_of,
				"creation": created_at(at[msg.key], n),
				"status": statuses[msg.key] if code == a.step.code else "Skipped",
				"collection_case": None,
			}
			for msg in todo
			for n, a in enumerate(msg.actions)
			for code in (*a.skipped, a.step.code)
		],
	)


def appended(column, text):
	"""An audit note added after what the row already says."""
	return Concat(IfNull(column, ""), " ", text)


def request_approval(msg: Message, case: str) -> None:
	role = msg.approval_role
	for user in delivery.users_with_role(role)[:5]:
		if not frappe.db.exists(
			"ToDo",
			{
				"allocated_to": user,
				"reference_type": "Collection Case",
				"reference_name": case,
				"status": "Open",
			},
		):
			frappe.get_doc(
				{
					"doctype": "ToDo",
					"allocated_to": user,
					"role": role,
					"reference_type": "Collection Case",
					"reference_name": case,
					"date": nowdate(),
					"priority": "High",
					"description": _("Approve or drop {0} for {1} ({2})").format(
						_(msg.lead.title), msg.customer, money(msg.total, msg.currency)
					),
				}
			).insert(ignore_permissions=True)
