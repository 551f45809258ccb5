"""People's decisions on decided messages: approving or dropping a step that needs approval on
its case, and sending or dropping the proposed messages of a run in proposal mode."""

from __future__ import annotations

import frappe
from frappe import _

from dunning_plus import cases
from dunning_plus.cycle import delivering, recording, run_log, write_offs
from dunning_plus.engine.policy import StepKind


def approve_actions(case_name: str, action_names: list[str]) -> str:
	case = frappe.get_doc("Collection Case", case_name)
	msg, _rows = delivering.rebuild_message(case.company, case.customer, action_names)
	ca = frappe.qb.DocType("Collection Action")
	user = frappe.session.user
	if msg is None:
		frappe.qb.update(ca).set(ca.status, "Skipped").set(ca.reason, _("Paid before approval")).where(
			ca.name.isin(action_names)
		).run()
		return "Skipped"
	role = msg.approval_role
	if role and role not in frappe.get_roles(user):
		frappe.throw(
			_("Only a user with the role {0} can approve this step.").format(frappe.bold(_(role))),
			frappe.PermissionError,
		)
	_close_approval_todos(case.name)
	if msg.lead.kind == StepKind.WRITE_OFF:
		frappe.qb.update(ca).set(ca.status, "Sent").set(ca.approved_by, user).where(
			ca.name.isin(action_names)
		).run()
		je = write_offs.book_write_off(case, msg)
		frappe.qb.update(ca).set(
			ca.details, recording.appended(ca.details, _("Written off by Journal Entry {0}").format(je))
		).where(ca.name.isin(action_names)).run()
		cases.refresh_case(case.company, case.customer)
		return "Sent"
	frappe.qb.update(ca).set(ca.status, "Queued").set(ca.approved_by, user).where(
		ca.name.isin(action_names)
	).run()
	keys = sorted(
		{
			k
			for k in frappe.get_all(
				"Collection Action", filters={"name": ["in", action_names]}, pluck="message_key"
			)
			if k
		}
	)
	_sent, errors = delivering.deliver_queued(case.company, keys)
	if errors:
		frappe.throw(errors[0]["error"], title=_("Could Not Send"))
	cases.refresh_case(case.company, case.customer)
	return "Sent"


def drop_actions(case_name: str, action_names: list[str], reason: str) -> None:
	if not (reason or "").strip():
		frappe.throw(_("Give a reason for dropping the step."))
	case = frappe.get_doc("Collection Case", case_name)
	ca = frappe.qb.DocType("Collection Action")
	frappe.qb.update(ca).set(ca.status, "Dropped").set(ca.reason, reason).set(
		ca.approved_by, frappe.session.user
	).where(ca.name.isin(action_names)).run()
	_close_approval_todos(case.name)
	case.add_comment("Info", _("Dropped: {0}").format(reason))
	cases.refresh_case(case.company, case.customer)


def _close_approval_todos(case_name: str) -> None:
	todo = frappe.qb.DocType("ToDo")
	frappe.qb.update(todo).set(todo.status, "Closed").where(
		(todo.reference_type == "Collection Case")
		& (todo.reference_name == case_name)
		& (todo.status == "Open")
		& (todo.description.like("%" + _("Approve or drop") + "%"))
	).run()


def review_run_messages(
	run_name: str, send: bool, reason: str | None = None, rows: list[str] | None = None
) -> int:
	"""Sends or drops the proposed messages of a run in proposal mode that are ticked (Select), or
	whose message rows are named in ``rows``."""
	company = frappe.db.get_value("Dunning Run", run_name, "company")
	m = frappe.qb.DocType("Dunning Run Message")
	chosen = m.select_row == 1
	if rows:
		chosen = chosen | m.name.isin(list(rows))
	rows = (
		frappe.qb.from_(m)
		.select(m.message_key, m.customer)
		.where((m.parent == run_name) & (m.parenttype == "Dunning Run") & chosen)
		.where(m.status == "Proposed")
		.orderby(m.idx)
		.run(as_dict=True)
	)
	ca = frappe.qb.DocType("Collection Action")
	for row in rows:
		names = frappe.get_all(
			"Collection Action", filters={"message_key": row.message_key, "status": "Proposed"}, pluck="name"
		)
		if send:
			frappe.qb.update(ca).set(ca.status, "Queued").set(ca.approved_by, frappe.session.user).where(
				ca.name.isin(names)
			).run()
			delivering.deliver_queued(company, [row.message_key], run_name)
		else:
			drop_reason = reason or _("Dropped on review")
			frappe.qb.update(ca).set(ca.status, "Dropped").set(ca.reason, drop_reason).where(
				ca.name.isin(names)
			).run()
			run_log.set_run_row(row.message_key, {"status": "Dropped", "reason": drop_reason})
		cases.refresh_case(company, row.customer)
	frappe.qb.update(m).set(m.select_row, 0).where((m.parent == run_name) & (m.select_row == 1)).run()
	run_log.progress(run_name, finish=True)
	return len(rows)
