"""A Dunning Run's own bookkeeping: its message and error rows, its counts (always recounted from
its rows, so they add up), its progress and its closing status, and the realtime update that makes an
open form reload once the work is committed."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING

import frappe
from frappe import _
from frappe.query_builder.functions import Count
from frappe.utils import cint, now_datetime

if TYPE_CHECKING:
	from dunning_plus.cycle.deciding import BatchResult


WAITING = ("Queued", "Proposed", "Pending Approval")  # a message row not delivered yet


def run_rows_waiting(key: str) -> list[str]:
	"""The runs whose row for message ``key`` is still waiting."""
	row = frappe.qb.DocType("Dunning Run Message")
	return sorted(
		{
			r[0]
			for r in frappe.qb.from_(row)
			.select(row.parent)
			.where((row.message_key == key) & row.status.isin(WAITING) & (row.parenttype == "Dunning Run"))
			.run()
		}
	)


def set_run_row(key: str, values: dict) -> list[str]:
	"""Sets the waiting row of message ``key`` on the run that decided it (a message decided again
	after a failure has a new row; the failed one keeps its status); returns those runs."""
	owners = run_rows_waiting(key)
	if owners:
		row = frappe.qb.DocType("Dunning Run Message")
		query = frappe.qb.update(row).where(
			(row.message_key == key) & row.status.isin(WAITING) & row.parent.isin(owners)
		)
		for k, v in values.items():
			query = query.set(row[k], v)
		query.run()
	return owners


def record_batch(run_name: str, res: BatchResult) -> None:
	"""Adds a finished batch to its run: counts, message and error rows, and the step counts; then
	the run moves on (and closes after its last batch)."""
	dr = frappe.qb.DocType("Dunning Run")
	query = frappe.qb.update(dr).where(dr.name == run_name)  # locks the run row first
	for fieldname, value in (
		("instalments_evaluated", res.evaluated),
		("actions_count", res.actions),
		("held_count", res.held),
	):
		query = query.set(dr[fieldname], dr[fieldname] + value)
	query.run()
	idx = cint(frappe.db.count("Dunning Run Message", {"parent": run_name}))
	for row in res.rows:
		idx += 1
		_child(run_name, "messages", "Dunning Run Message", idx, row)
	for err in res.errors:
		add_error(run_name, err)
	_merge_step_counts(run_name, res.by_step)
	progress(run_name, batch_done=True)


def lock_run(run_name: str) -> None:
	dr = frappe.qb.DocType("Dunning Run")
	frappe.qb.from_(dr).select(dr.name).where(dr.name == run_name).for_update().run()


def add_error(run_name: str, err: dict) -> None:
	idx = cint(frappe.db.count("Dunning Run Error", {"parent": run_name})) + 1
	_child(run_name, "errors", "Dunning Run Error", idx, err)


def _child(parent: str, parentfield: str, doctype: str, idx: int, values: dict) -> None:
	doc = frappe.get_doc(
		{
			"doctype": doctype,
			"parent": parent,
			"parenttype": "Dunning Run",
			"parentfield": parentfield,
			"idx": idx,
			**values,
		}
	)
	doc.db_insert()


def _merge_step_counts(run_name: str, by_step: dict) -> None:
	if not by_step:
		return
	dr = frappe.qb.DocType("Dunning Run")
	current = frappe.qb.from_(dr).select(dr.counts_by_step).where(dr.name == run_name).for_update().run()
	counts = json.loads(current[0][0] or "{}") if current else {}
	for k, v in by_step.items():
		counts[k] = counts.get(k, 0) + v
	frappe.qb.update(dr).set(dr.counts_by_step, json.dumps(dict(sorted(counts.items())), indent=1)).where(
		dr.name == run_name
	).run()


SENT = ("Sent",)


NOT_SENT = ("Failed", "Skipped", "Dropped")


def _recount(run_name: str) -> dict[str, int]:
	"""The run's message and error counts from its rows, so they always add up: Messages = Sent +
	Waiting + Not Sent. The run row is locked first and the rows read with a locking read, which
	sees the latest committed rows (not this transaction's snapshot): two jobs of one run never
	write each other's counts back stale."""
	lock_run(run_name)
	_catch_up_rows(run_name)
	m = frappe.qb.DocType("Dunning Run Message")
	er = frappe.qb.DocType("Dunning Run Error")
	by_status = {
		status: count
		for status, count in frappe.qb.from_(m)
		.select(m.status, Count("*"))
		.where((m.parent == run_name) & (m.parenttype == "Dunning Run"))
		.groupby(m.status)
		.for_update()
		.run()
	}
	errors = (
		frappe.qb.from_(er)
		.select(Count("*"))
		.where((er.parent == run_name) & (er.parenttype == "Dunning Run"))
		.for_update()
		.run()[0][0]
	)
	counts = {
		"messages_count": sum(by_status.values()),
		"sent_count": sum(by_status.get(s, 0) for s in SENT),
		"waiting_count": sum(by_status.get(s, 0) for s in WAITING),
		"not_sent_count": sum(by_status.get(s, 0) for s in NOT_SENT),
		"proposed_count": by_status.get("Proposed", 0),
		"queued_count": by_status.get("Queued", 0),
		"errors_count": cint(errors),
	}
	dr = frappe.qb.DocType("Dunning Run")
	query = frappe.qb.update(dr).where(dr.name == run_name)
	for fieldname in ("messages_count", "sent_count", "waiting_count", "not_sent_count", "errors_count"):
		query = query.set(dr[fieldname], counts[fieldname])
	query.run()
	return counts


IN_PROGRESS = ("Queued", "Running", "Stale")  # not closed yet (a stale run may still report)


def _catch_up_rows(run_name: str) -> None:
	"""Message rows still Queued whose message went out (or failed) before the row was written: a
	concurrent run delivers the messages it finds undelivered, and may do so between the moment
	this run committed a customer and the moment it wrote the batch's rows."""
	m = frappe.qb.DocType("Dunning Run Message")
	ca = frappe.qb.DocType("Collection Action")
	rows = (
		frappe.qb.from_(m)
		.left_join(ca)
		.on((ca.message_key == m.message_key) & (ca.action_type == "Step"))
		.select(m.name, ca.status, ca.communication)
		.where((m.parent == run_name) & (m.parenttype == "Dunning Run") & (m.status == "Queued"))
		.for_update()
		.run(as_dict=True)
	)
	by_row: dict[str, list] = defaultdict(list)
	for r in rows:
		by_row[r.name].append(r)
	for name, actions in by_row.items():
		statuses = {a.status for a in actions}
		if "Queued" in statuses:
			continue  # not delivered yet
		if statuses & {"Sent", "To Print"}:
			values = {
				"status": "Sent",
				"communication": next((a.communication for a in actions if a.communication), None),
			}
		elif statuses == {None}:
			# the delivery failed and undid the decision: the next run takes the steps again
			values = {"status": "Failed", "reason": _("The delivery failed; the next run tries again.")}
		elif statuses & {"Skipped", "Dropped"}:
			values = {"status": "Skipped" if "Skipped" in statuses else "Dropped"}
		else:
			continue
		frappe.db.set_value("Dunning Run Message", name, values, update_modified=False)


def progress(run_name: str, batch_done: bool = False, finish: bool = False) -> None:
	"""The run moved on: its counts are recounted, its last progress time set and a batch counted
	(``batch_done``); after its last batch the run is closed (``finish``: its status is brought up to
	date, e.g. after a late delivery); an open form is told to reload once this is committed."""
	counts = _recount(run_name)
	dr = frappe.qb.DocType("Dunning Run")
	if batch_done:
		frappe.qb.update(dr).set(dr.batches_done, dr.batches_done + 1).where(dr.name == run_name).run()
	run = frappe.db.get_value(
		"Dunning Run",
		run_name,
		["status", "batches_done", "batches_total", "mode", "started_at"],
		as_dict=True,
	)
	if run is None:
		return  # deleted while one of its jobs was still working: nothing is left to report to
	values = {"last_progress_at": now_datetime()}
	# A run is done when its batches are, and the messages they decided are delivered (those
	# waiting for a person, proposed or pending approval, do not keep it open).
	done = cint(run.batches_done) >= cint(run.batches_total) and not counts["queued_count"]
	if (batch_done or finish) and done and run.status != "Cancelled":
		values.update(_closing(run, counts))
	frappe.db.set_value("Dunning Run", run_name, values)
	modified = frappe.db.get_value("Dunning Run", run_name, "modified")
	# what doc.notify_update() sends, without loading every message row: an open form reloads
	frappe.publish_realtime(
		"doc_update",
		{"modified": modified, "doctype": "Dunning Run", "name": run_name},
		doctype="Dunning Run",
		docname=run_name,
		after_commit=True,
	)
	frappe.publish_realtime(
		"list_update",
		{"doctype": "Dunning Run", "name": run_name, "user": frappe.session.user},
		after_commit=True,
	)


def _closing(run, counts: dict) -> dict:
	"""The status of a run whose batches are all done; its finish time when it closes now."""
	errors, messages = counts["errors_count"], counts["messages_count"]
	if errors and not messages:
		status = "Failed"
	elif errors:
		status = "Partly Failed"
	elif run.mode == "Proposal" and counts["proposed_count"]:
		status = "Proposed"
	else:
		status = "Completed"
	out = {"status": status}
	if run.status in IN_PROGRESS:
		finished = now_datetime()
		started = frappe.utils.get_datetime(run.started_at) if run.started_at else finished
		out["finished_at"] = finished
		out["duration_seconds"] = round((finished - started).total_seconds(), 3)
	if run.status == "Stale":
		out["status_reason"] = None  # it finished after all
	return out
