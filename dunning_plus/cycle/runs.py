"""A Dunning Run from start to close: split into batches of customers (one long-queue job each,
inline in tests), each batch decided and its messages delivered by a job of its own; a run that
cannot start, a batch that fails and a run whose batches stopped reporting are closed with the
reason."""

from __future__ import annotations

import traceback
from datetime import timedelta

import frappe
from frappe import _
from frappe.query_builder.functions import IfNull
from frappe.utils import cint, now_datetime
from frappe.utils.background_jobs import is_job_enqueued

from dunning_plus.cycle import deciding, delivering, run_log, transactions


def execute_run(run_name: str) -> None:
	"""Splits a submitted Dunning Run into batches of customers, one long-queue job each (inline in
	tests). Batches add their counts to the run atomically; the last one to finish closes the run.
	A run that cannot start is closed as failed, with the reason."""
	savepoint = f"dpr_{frappe.generate_hash(length=8)}"
	frappe.db.savepoint(savepoint)
	try:
		run = frappe.get_doc("Dunning Run", run_name)
		customers = deciding.customers_with_open_items(run.company)
		_refresh_segments(run.company, run.run_date)
		groups = deciding.batches(customers, transactions.settings().batch_size)
		now = now_datetime()
		run.db_set(
			{
				"status": "Running",
				"started_at": now,
				"last_progress_at": now,
				"batches_total": len(groups),
				"batches_done": 0,
				"status_reason": None,
			}
		)
		transactions.commit()
	except Exception as e:
		transactions.undo(savepoint)
		_run_failed(run_name, None, e)
		return
	if not groups:
		run_log.progress(run_name, finish=True)
		transactions.commit()
		return
	for i, group in enumerate(groups, start=1):
		job_id = f"dunning_run::{run_name}::{i}"
		if frappe.flags.in_test:
			run_batch(run_name, i, group)
		elif not is_job_enqueued(job_id):
			frappe.enqueue(
				run_batch,
				queue="long",
				timeout=3600,
				job_id=job_id,
				run_name=run_name,
				batch_no=i,
				customers=group,
			)


def _refresh_segments(company: str, as_of) -> None:
	"""The run starts with each customer's segment up to date; a rule that cannot be evaluated is
	logged and leaves the segments as they were, it never stops the run."""
	from dunning_plus.segments import refresh_segments

	savepoint = f"dps_{frappe.generate_hash(length=8)}"
	frappe.db.savepoint(savepoint)
	try:
		refresh_segments(company, as_of)
	except Exception:
		frappe.db.rollback(save_point=savepoint)
		frappe.log_error(title=_("Dunning segments of {0} could not be refreshed").format(company))


def run_batch(run_name: str, batch_no: int, customers: list[str]) -> None:
	"""One batch of a run. Whatever happens to it, it counts as done and the run is closed after the
	last one: a batch that fails is an error on the run (its customers are taken by the next run)."""
	savepoint = f"dpb_{frappe.generate_hash(length=8)}"
	frappe.db.savepoint(savepoint)
	try:
		run = frappe.db.get_value("Dunning Run", run_name, ["company", "run_date", "mode"], as_dict=True)
		limit = cint(transactions.settings().max_messages_per_run) or None
		if limit is not None:
			limit = max(limit - cint(frappe.db.get_value("Dunning Run", run_name, "messages_count")), 0)
		res = (
			deciding.process_customers(
				run.company, customers, run.run_date, run.mode, run_name, limit, deliver_now=False
			)
			if limit != 0
			else deciding.BatchResult()
		)
		run_log.record_batch(run_name, res)
		transactions.commit()
	except Exception as e:
		transactions.undo(savepoint)
		_run_failed(run_name, batch_no, e)
		return
	if res.to_deliver:
		job_id = f"dunning_deliver::{run_name}::{batch_no}"
		if frappe.flags.in_test and not frappe.flags.dunning_plus_deliver_later:
			delivering.deliver_queued(run.company, res.to_deliver, run_name)
		elif not is_job_enqueued(job_id):
			frappe.enqueue(
				delivering.deliver_queued,
				queue="long",
				timeout=3600,
				job_id=job_id,
				company=run.company,
				message_keys=res.to_deliver,
				run=run_name,
			)


def _run_failed(run_name: str, batch_no: int | None, e: Exception) -> None:
	"""Records why a run (``batch_no`` None) or one of its batches stopped, and closes the run once no
	batch is left."""
	if batch_no is None:
		text = _("The run could not start: {0}").format(str(e)[:800])
	else:
		text = _("Batch {0} stopped: {1}").format(batch_no, str(e)[:800])
	frappe.log_error(
		title=_("Dunning Run {0} failed").format(run_name),
		reference_doctype="Dunning Run",
		reference_name=run_name,
	)
	run_log.lock_run(run_name)
	run_log.add_error(run_name, {"customer": None, "error": text, "traceback": traceback.format_exc()})
	if batch_no is None:
		frappe.db.set_value(
			"Dunning Run",
			run_name,
			{"status": "Failed", "status_reason": text, "finished_at": now_datetime(), "batches_total": 0},
		)
		run_log.progress(run_name)
	else:
		frappe.db.set_value("Dunning Run", run_name, "status_reason", text, update_modified=False)
		run_log.progress(run_name, batch_done=True)
	transactions.commit()


# A batch job times out after an hour: twice that without any report means its worker is gone.
STALE_AFTER = timedelta(hours=2)


def close_stale_runs(now=None) -> list[str]:
	"""Runs shown Queued or Running although none of their batches reported for ``STALE_AFTER``
	(their worker was killed, or the job was lost) are marked Stale, with the reason: the desk no
	longer shows work in progress that is not. Their work is not lost: the hourly check delivers the
	messages they decided, and the next run takes the customers they did not reach; a batch that
	reports after all closes the run as usual."""
	now = frappe.utils.get_datetime(now) if now else now_datetime()
	dr = frappe.qb.DocType("Dunning Run")
	last = IfNull(dr.last_progress_at, IfNull(dr.started_at, dr.modified))
	stale = (
		frappe.qb.from_(dr)
		.select(dr.name, dr.status, dr.batches_done, dr.batches_total, last.as_("last"))
		.where((dr.docstatus == 1) & dr.status.isin(["Queued", "Running"]) & (last < now - STALE_AFTER))
		.run(as_dict=True)
	)
	for r in stale:
		since = frappe.utils.format_datetime(r.last)
		if r.status == "Queued":
			reason = _("The run never started: no worker took it up since {0}.").format(since)
		elif cint(r.batches_done) >= cint(r.batches_total):
			reason = _(
				"Its batches are done, but its messages were not all delivered: the delivery stopped "
				"reporting at {0}. The hourly check delivers the rest."
			).format(since)
		else:
			reason = _(
				"No batch reported since {0} ({1} of {2} batches done): the worker running the rest "
				"was stopped. The hourly check delivers the messages the run decided; the next run "
				"takes the customers it did not reach."
			).format(since, cint(r.batches_done), cint(r.batches_total))
		frappe.db.set_value("Dunning Run", r.name, {"status": "Stale", "status_reason": reason})
		run_log.progress(r.name)
	return [r.name for r in stale]
