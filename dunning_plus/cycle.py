"""The daily collection cycle inside ERPNext.

A Dunning Run splits the company's customers with open instalments into batches. Each batch
re-reads its customers' instalments in a few set-based queries, asks the engine which steps are
due and, customer by customer, under a row lock on the customer and inside a savepoint:

1. keeps only the actions whose idempotency key is not in the database yet (the loser of two
   concurrent runs finds them there and skips; a rerun of the day finds them all);
2. writes one Collection Action per item step (the unique key makes a step happen once);
3. sends (email / task / letter), or holds the message for approval, or proposes it for review;
4. books the side effects: ERPNext Dunning for fees and interest, credit hold.

One customer's failure (no template, bad data) rolls back that customer only; it is logged on
the run and on the case, and the next run tries again. Outside tests each customer commits on its
own, so a run killed halfway leaves finished customers done and the rest for the next run.

Two runs (or workers) at once: a customer is a transaction of its own, started after the last
one ended, so its locks go before the next customer is locked and its first read sees what the
other run committed; a customer the database rolled back (deadlock, lock wait timeout) is tried
again. A batch that fails is an error on its run, which still closes after its last batch; a run
whose batches stop reporting is marked Stale by the hourly check (``close_stale_runs``).
"""

from __future__ import annotations

import json
import random
import time
import traceback
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import timedelta

import frappe
from frappe import _
from frappe.query_builder.functions import Concat, Count, IfNull
from frappe.utils import cint, flt, getdate, now_datetime, nowdate
from frappe.utils.background_jobs import is_job_enqueued

from dunning_plus import cases, delivery, ledger
from dunning_plus.engine.cadence import DueAction, Message, action_key, plan_cycle
from dunning_plus.engine.policy import Channel, StepKind
from dunning_plus.formatting import money
from dunning_plus.policies import KIND_FROM_ENGINE, policy_book

CHANNEL_LABEL = {c: c.label for c in Channel}
REFERENCE_OF_TRACK = {"invoice": "Sales Invoice", "deposit": "Sales Order", "plan": "Payment Plan"}


def settings():
	return frappe.get_cached_doc("Dunning Plus Settings")


def customers_with_open_items(company: str) -> list[str]:
	"""Customers with an open invoice or an open expected deposit in the company."""
	si = frappe.qb.DocType("Sales Invoice")
	ed = frappe.qb.DocType("Expected Deposit")
	invoices = (
		frappe.qb.from_(si)
		.select(si.customer)
		.distinct()
		.where(
			(si.company == company) & (si.docstatus == 1) & (si.is_return == 0) & (si.outstanding_amount > 0)
		)
	)
	deposits = (
		frappe.qb.from_(ed)
		.select(ed.customer)
		.distinct()
		.where((ed.company == company) & ed.status.isin(["Expected", "Partly Paid"]))
	)
	return sorted({r[0] for r in invoices.run()} | {r[0] for r in deposits.run()})


def batches(items: list, size: int) -> list[list]:
	size = max(cint(size) or 200, 1)
	return [items[i : i + size] for i in range(0, len(items), size)]


def commit():
	"""Each customer's work is its own transaction in real runs; tests keep one to roll back."""
	if not frappe.flags.in_test:
		frappe.db.commit()  # nosemgrep: background job, one transaction per customer


def undo(savepoint: str) -> None:
	"""Undoes one unit of work (a customer, a message, a batch) and lets go of its locks.

	Real runs commit after every unit, so the transaction holds that unit only: a full rollback
	loses nothing else, releases every lock the unit took (a rollback to a savepoint keeps them),
	and is the only rollback left once the database has rolled the transaction back itself (a
	deadlock removes every savepoint). Tests keep one transaction: there, the savepoint."""
	if frappe.flags.in_test:
		frappe.db.rollback(save_point=savepoint)
	else:
		frappe.db.rollback()


RETRIES = 3  # attempts for a unit the database rolled back or gave up waiting for


def rolled_back_by_database(e: BaseException) -> bool:
	"""A deadlock (1213) or a lock wait timeout (1205): nothing is wrong with the work itself, it
	can be tried again."""
	seen = set()
	while e is not None and id(e) not in seen:
		seen.add(id(e))
		if isinstance(e, frappe.QueryDeadlockError | frappe.QueryTimeoutError):
			return True
		if e.args and isinstance(e.args[0], int) and (frappe.db.is_deadlocked(e) or frappe.db.is_timedout(e)):
			return True
		e = e.__cause__ or e.__context__
	return False


def backoff(attempt: int) -> None:
	"""A short random pause before trying again, so two workers do not meet at the same lock twice."""
	if not frappe.flags.in_test:
		time.sleep(random.uniform(0.05, 0.2) * attempt)


@dataclass
class BatchData:
	"""What a batch read once, shared by its customers' case recomputes."""

	instalments: dict[str, list]
	book: object
	profiles: dict
	promises: list = field(default_factory=list)
	disputes: list = field(default_factory=list)
	ctx: object = None
	credits: list = field(default_factory=list)
	planned: dict = field(default_factory=dict)


class BatchResult:
	def __init__(self):
		self.evaluated = 0
		self.actions = 0
		self.messages = 0
		self.sent = 0
		self.held = 0
		self.skipped = 0
		self.to_deliver: list[str] = []
		self.by_step: dict[str, int] = defaultdict(int)
		self.rows: list[dict] = []
		self.errors: list[dict] = []

	def add(self, other: BatchResult) -> None:
		"""Adds one customer's result, once its work is committed."""
		for name in ("evaluated", "actions", "messages", "sent", "held", "skipped"):
			setattr(self, name, getattr(self, name) + getattr(other, name))
		self.to_deliver.extend(other.to_deliver)
		for k, v in other.by_step.items():
			self.by_step[k] += v
		self.rows.extend(other.rows)
		self.errors.extend(other.errors)


def process_customers(
	company: str,
	customers: list[str],
	as_of=None,
	mode: str = "Send",
	run: str | None = None,
	limit: int | None = None,
	deliver_now: bool = True,
) -> BatchResult:
	"""Plans, records and (unless ``deliver_now`` is off) delivers for ``customers`` of ``company`` on
	``as_of``; safe to run again. Messages left undelivered by an earlier run go out too."""
	as_of = getdate(as_of or nowdate())
	res = BatchResult()
	if not customers:
		return res
	from dunning_plus.plans import refresh_plans

	refresh_plans(company, customers, as_of)
	instalments, credits, _netting = ledger.read_position(company, customers)
	profiles = ledger.read_customers(customers)
	book = policy_book(company)
	promises = ledger.read_promises(company, customers)
	disputes = ledger.read_disputes(company, customers)
	planned = ledger.read_planned(company, customers)
	plan = plan_cycle(instalments, as_of, book, profiles, promises, disputes, planned)
	by_inst: dict[str, list] = defaultdict(list)
	for inst in instalments:
		by_inst[inst.customer].append(inst)
	with_messages = sorted({m.customer for m in plan.messages})
	batch = BatchData(
		by_inst,
		book,
		profiles,
		promises,
		disputes,
		cases.CaseContext.load(company, with_messages, as_of),
		credits,
		planned,
	)
	res.evaluated = plan.evaluated
	res.held = len(plan.holds)
	by_customer: dict[str, list[Message]] = defaultdict(list)
	for msg in plan.messages:
		by_customer[msg.customer].append(msg)
	cfg = settings()
	# The reads are done: each customer is a transaction of its own whose first plain read comes
	# after the customer's lock, so it sees what a concurrent run committed for that customer.
	commit()
	for customer, messages in by_customer.items():
		if limit is not None and res.messages >= limit:
			break
		_take_customer(company, customer, messages, as_of, mode, run, cfg, book, res, batch)
	res.to_deliver = list(dict.fromkeys([*res.to_deliver, *_undelivered(company, customers)]))
	if deliver_now and res.to_deliver:
		sent, _errors = deliver_queued(company, res.to_deliver, run)
		res.sent += sent
	# Cases whose next action fell due today (a promise or block ran out) are brought up to date.
	for customer in sorted(_cases_due(company, customers, as_of) - set(by_customer)):
		try:
			_retrying(cases.refresh_case, company, customer, as_of)
		except Exception as e:
			res.errors.append(
				{"customer": customer, "error": str(e)[:1000], "traceback": traceback.format_exc()}
			)
	commit()
	return res


def _retrying(fn, *args) -> None:
	"""Runs ``fn(*args)`` as a unit of work of its own, committed; again when the database rolled it
	back (up to ``RETRIES`` times)."""
	for attempt in range(1, RETRIES + 1):
		savepoint = f"dpu_{frappe.generate_hash(length=8)}"
		frappe.db.savepoint(savepoint)
		try:
			fn(*args)
			commit()
			return
		except Exception as e:
			undo(savepoint)
			if rolled_back_by_database(e) and attempt < RETRIES:
				backoff(attempt)
				continue
			raise


def _take_customer(company, customer, messages, as_of, mode, run, cfg, book, res: BatchResult, batch) -> None:
	"""Decides and records one customer's messages in a transaction of its own, under its lock."""
	for attempt in range(1, RETRIES + 1):
		savepoint = f"dp_{frappe.generate_hash(length=8)}"
		frappe.db.savepoint(savepoint)
		part = BatchResult()
		seen = _context_of(batch, customer)
		try:
			_process_customer(company, customer, messages, as_of, mode, run, cfg, book, part, batch)
			commit()
		except Exception as e:
			undo(savepoint)
			_restore_context(batch, customer, seen)
			if rolled_back_by_database(e) and attempt < RETRIES:
				backoff(attempt)
				continue
			if isinstance(e, frappe.UniqueValidationError | frappe.DuplicateEntryError):
				# Another worker took these steps between our check and our insert: it sends, we skip.
				res.skipped += 1
				return
			res.errors.append(
				{"customer": customer, "error": str(e)[:1000], "traceback": traceback.format_exc()}
			)
			case = cases.open_case_name(company, customer)
			if case:
				frappe.get_doc("Collection Case", case).add_comment(
					"Info", _("The collection run could not act for this customer: {0}").format(str(e)[:500])
				)
			commit()
			return
		res.add(part)
		return


def _context_of(batch, customer: str):
	"""What the batch's shared case context holds for ``customer``, to put back if its work is undone
	(the context is memory: a rollback does not reach it)."""
	ctx = batch.ctx if batch is not None else None
	if ctx is None:
		return None
	history = ctx.history.get(customer)
	return (
		None if history is None else {k: list(v) for k, v in history.items()},
		customer in ctx.pending_approval,
	)


def _restore_context(batch, customer: str, seen) -> None:
	if seen is None:
		return
	history, pending = seen
	if history is None:
		batch.ctx.history.pop(customer, None)
	else:
		batch.ctx.history[customer] = history
	if pending:
		batch.ctx.pending_approval.add(customer)
	else:
		batch.ctx.pending_approval.discard(customer)


def _cases_due(company: str, customers: list[str], as_of) -> set[str]:
	cc = frappe.qb.DocType("Collection Case")
	rows = (
		frappe.qb.from_(cc)
		.select(cc.customer)
		.where(
			(cc.company == company)
			& cc.customer.isin(customers)
			& cc.status.notin(cases.CLOSED)
			& ((cc.next_action_date <= as_of) | cc.next_action_date.isnull())
		)
		.run()
	)
	return {r[0] for r in rows}


def _lock_customer(customer: str) -> None:
	c = frappe.qb.DocType("Customer")
	frappe.qb.from_(c).select(c.name).where(c.name == customer).for_update().run()


def _existing_keys(keys: list[str]) -> set[str]:
	if not keys:
		return set()
	ca = frappe.qb.DocType("Collection Action")
	return {
		r[0]
		for r in frappe.qb.from_(ca).select(ca.idempotency_key).where(ca.idempotency_key.isin(keys)).run()
	}


def _process_customer(company, customer, messages, as_of, mode, run, cfg, book, res: BatchResult, batch=None):
	_lock_customer(customer)
	keys = [a.key for m in messages for a in m.actions]
	done = _existing_keys(keys)
	todo = []
	for m in messages:
		fresh = [a for a in m.actions if a.key not in done]
		if fresh:
			m.actions = fresh
			todo.append(m)
	if not todo:
		return
	statuses = {}
	names: dict[str, list[str]] = {}
	for msg in todo:
		if msg.needs_approval:
			statuses[msg.key] = "Pending Approval"
		elif mode == "Proposal":
			statuses[msg.key] = "Proposed"
		else:
			statuses[msg.key] = "Queued"
		names[msg.key] = _write_actions(msg, run, statuses[msg.key], as_of)
		if batch is not None and batch.ctx is not None:
			now = now_datetime()
			batch.ctx.add_steps(
				customer,
				[
					{
						"payment_schedule": a.instalment.id,
						"step_code": code,
						"level": a.step.level if code == a.step.code else 0,
						"action_date": as_of,
						"creation": now,
						"status": statuses[msg.key] if code == a.step.code else "Skipped",
						"collection_case": None,
					}
					for a in msg.actions
					for code in (*a.skipped, a.step.code)
				],
			)
	# One recompute of the case, now that the steps are recorded; then the steps point to it.
	case = cases.refresh_case(
		company,
		customer,
		as_of,
		data=_case_data(batch, customer, todo),
		ctx=batch.ctx if batch is not None else None,
	)
	if case:
		ca = frappe.qb.DocType("Collection Action")
		all_names = [n for ns in names.values() for n in ns]
		frappe.qb.update(ca).set(ca.collection_case, case).where(ca.name.isin(all_names)).run()
	for msg in todo:
		channel = msg.delivery_channel
		status = statuses[msg.key]
		row = {
			"customer": customer,
			"collection_case": case,
			"step_code": msg.lead.code,
			"channel": CHANNEL_LABEL[channel],
			"items_count": len(msg.actions),
			"total": flt(msg.total),
			"fee": flt(msg.fee),
			"currency": msg.currency,
			"message_key": msg.key,
			"status": status,
		}
		if status == "Pending Approval":
			_request_approval(msg, case)
		elif status == "Queued":
			res.to_deliver.append(msg.key)
		res.rows.append(row)
		res.messages += 1
		res.actions += len(msg.actions)
		res.by_step[f"{msg.lead.code}/{CHANNEL_LABEL[channel]}"] += 1


def _case_data(batch, customer: str, todo: list[Message]):
	"""The batch's reads for one customer, with the steps just taken, so the case recompute
	needs no second read of the ledger."""
	if batch is None:
		return None
	new: dict[str, tuple[str, ...]] = defaultdict(tuple)
	for msg in todo:
		for a in msg.actions:
			new[a.instalment.id] += (*a.skipped, a.step.code)
	instalments = [
		replace(i, taken=(*i.taken, *new[i.id])) if i.id in new else i
		for i in batch.instalments.get(customer, [])
	]
	return cases.CaseData(
		instalments=instalments,
		book=batch.book,
		profiles={customer: batch.profiles[customer]} if customer in batch.profiles else {},
		promises=[p for p in batch.promises if p.customer == customer],
		disputes=[d for d in batch.disputes if d.customer == customer],
		credits=[c for c in batch.credits if c.customer == customer],
		planned={i.id: batch.planned[i.id] for i in instalments if i.id in batch.planned},
	)


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
)


def _write_actions(msg: Message, run: str | None, status: str, as_of) -> list[str]:
	"""The audit rows of one message in one statement; the unique key rejects a step taken twice.

	Steps passed over by the catch-up rule are named in the taken step's details: the engine only
	needs the highest step taken, and a first run after install would otherwise write several rows
	per item."""
	start = now_datetime()
	user = frappe.session.user
	rows, names = [], []
	for n, a in enumerate(msg.actions):
		created = start + timedelta(microseconds=n)  # keeps the audit trail in order
		details = _("Due since {0}, {1} days after the due date.").format(a.fire_date, a.days_overdue)
		if a.skipped:
			details += " " + _(
				"Passed over after a pause or downtime (only the highest due step is sent): {0}."
			).format(", ".join(a.skipped))
		name = frappe.generate_hash(length=10)
		names.append(name)
		rows.append(
			(
				name,
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
			)
		)
	try:
		ledger.fast_insert("Collection Action", ACTION_FIELDS, rows)
	except Exception as e:
		if frappe.db.is_duplicate_entry(e):
			raise frappe.DuplicateEntryError("Collection Action", msg.key, e)
		raise
	return names


def _appended(column, text):
	"""An audit note added after what the row already says."""
	return Concat(IfNull(column, ""), " ", text)


def _undelivered(company: str, customers: list[str]) -> list[str]:
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
	cfg = settings()
	book = policy_book(company)
	sent, errors = 0, []
	touched: set[str] = {run} if run else set()
	commit()  # each message is a transaction of its own (see undo)
	for key in message_keys:
		for attempt in range(1, RETRIES + 1):
			savepoint = f"dpd_{frappe.generate_hash(length=8)}"
			frappe.db.savepoint(savepoint)
			customer = None
			try:
				customer, done = _deliver_one(company, key, cfg, book, run, touched)
				sent += done
				commit()
			except Exception as e:
				undo(savepoint)
				if rolled_back_by_database(e) and attempt < RETRIES:
					backoff(attempt)
					continue
				customer = customer or frappe.db.get_value(
					"Collection Action", {"message_key": key}, "customer"
				)
				_delivery_failed(company, run, key, customer, e, errors, touched)
				commit()
			break
	for name in sorted(touched):
		_progress(name, finish=True)
	commit()
	return sent, errors


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
		touched.update(_set_run_row(key, {"status": "Skipped", "reason": _("Paid before it was sent")}))
		return customer, 0
	collector = frappe.db.get_value("Collection Case", case, "collector") if case else None
	out = deliver(msg, case, collector, cfg, book.policies[msg.policy], getdate(rows[0].action_date), names)
	frappe.qb.update(ca).set(ca.status, out.get("status", "Sent")).where(ca.name.isin(names)).run()
	# last, just before the commit: the run's row is held for a moment only
	touched.update(
		_set_run_row(
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
	owners = _run_rows_waiting(key) or ([run] if run else [])
	for owner in owners:
		_lock_run(owner)  # the run row before its child rows, as every writer of both does
		_add_error(owner, err)
	_record_failed_delivery(key, e)
	frappe.qb.from_(ca).delete().where((ca.message_key == key) & ca.status.isin(["Queued", "Skipped"])).run()
	_set_run_row(key, {"status": "Failed", "reason": str(e)[:500]})
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


WAITING = ("Queued", "Proposed", "Pending Approval")  # a message row not delivered yet


def _run_rows_waiting(key: str) -> list[str]:
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


def _set_run_row(key: str, values: dict) -> list[str]:
	"""Sets the waiting row of message ``key`` on the run that decided it (a message decided again
	after a failure has a new row; the failed one keeps its status); returns those runs."""
	owners = _run_rows_waiting(key)
	if owners:
		row = frappe.qb.DocType("Dunning Run Message")
		query = frappe.qb.update(row).where(
			(row.message_key == key) & row.status.isin(WAITING) & row.parent.isin(owners)
		)
		for k, v in values.items():
			query = query.set(row[k], v)
		query.run()
	return owners


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
		frappe.qb.update(ca).set(ca.details, _appended(ca.details, out["reason"] + ".")).where(
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
			ca.details, _appended(ca.details, _("Letter to print: {0}").format(url))
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
			ca.details, _appended(ca.details, _("Fee and interest raised as Dunning {0}").format(dunning))
		).where(ca.name.isin(action_names)).run()
	if msg.credit_hold:
		frappe.db.set_value("Customer", msg.customer, "dunning_credit_hold", 1)
		frappe.get_doc("Collection Case", case).add_comment("Info", _("Customer put on credit hold"))
	return out


def _request_approval(msg: Message, case: str) -> None:
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


# ------------------------------------------------------------------------------ runs


def execute_run(run_name: str) -> None:
	"""Splits a submitted Dunning Run into batches of customers, one long-queue job each (inline in
	tests). Batches add their counts to the run atomically; the last one to finish closes the run.
	A run that cannot start is closed as failed, with the reason."""
	savepoint = f"dpr_{frappe.generate_hash(length=8)}"
	frappe.db.savepoint(savepoint)
	try:
		run = frappe.get_doc("Dunning Run", run_name)
		customers = customers_with_open_items(run.company)
		_refresh_segments(run.company, run.run_date)
		groups = batches(customers, settings().batch_size)
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
		commit()
	except Exception as e:
		undo(savepoint)
		_run_failed(run_name, None, e)
		return
	if not groups:
		_progress(run_name, finish=True)
		commit()
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
		limit = cint(settings().max_messages_per_run) or None
		if limit is not None:
			limit = max(limit - cint(frappe.db.get_value("Dunning Run", run_name, "messages_count")), 0)
		res = (
			process_customers(
				run.company, customers, run.run_date, run.mode, run_name, limit, deliver_now=False
			)
			if limit != 0
			else BatchResult()
		)
		_record_batch(run_name, res)
		commit()
	except Exception as e:
		undo(savepoint)
		_run_failed(run_name, batch_no, e)
		return
	if res.to_deliver:
		job_id = f"dunning_deliver::{run_name}::{batch_no}"
		if frappe.flags.in_test and not frappe.flags.dunning_plus_deliver_later:
			deliver_queued(run.company, res.to_deliver, run_name)
		elif not is_job_enqueued(job_id):
			frappe.enqueue(
				deliver_queued,
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
	_lock_run(run_name)
	_add_error(run_name, {"customer": None, "error": text, "traceback": traceback.format_exc()})
	if batch_no is None:
		frappe.db.set_value(
			"Dunning Run",
			run_name,
			{"status": "Failed", "status_reason": text, "finished_at": now_datetime(), "batches_total": 0},
		)
		_progress(run_name)
	else:
		frappe.db.set_value("Dunning Run", run_name, "status_reason", text, update_modified=False)
		_progress(run_name, batch_done=True)
	commit()


def _record_batch(run_name: str, res: BatchResult) -> None:
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
		_add_error(run_name, err)
	_merge_step_counts(run_name, res.by_step)
	_progress(run_name, batch_done=True)


def _lock_run(run_name: str) -> None:
	dr = frappe.qb.DocType("Dunning Run")
	frappe.qb.from_(dr).select(dr.name).where(dr.name == run_name).for_update().run()


def _add_error(run_name: str, err: dict) -> None:
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
	_lock_run(run_name)
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


def _progress(run_name: str, batch_done: bool = False, finish: bool = False) -> None:
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
		_progress(r.name)
	return [r.name for r in stale]


# ------------------------------------------------------------------ approvals and proposals


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


def approve_actions(case_name: str, action_names: list[str]) -> str:
	case = frappe.get_doc("Collection Case", case_name)
	msg, _rows = rebuild_message(case.company, case.customer, action_names)
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
		je = book_write_off(case, msg)
		frappe.qb.update(ca).set(
			ca.details, _appended(ca.details, _("Written off by Journal Entry {0}").format(je))
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
	_sent, errors = deliver_queued(case.company, keys)
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


def book_write_off(case, msg: Message) -> str:
	cfg = settings()
	if not cfg.write_off_account:
		frappe.throw(_("Set the Write-off Account in Dunning Plus Settings before approving a write-off."))
	cost_center = cfg.write_off_cost_center or frappe.get_cached_value("Company", case.company, "cost_center")
	by_invoice: dict[str, float] = defaultdict(float)
	for a in msg.actions:
		by_invoice[a.instalment.invoice] += flt(a.instalment.outstanding)
	accounts = []
	for invoice, amount in by_invoice.items():
		debit_to = frappe.db.get_value("Sales Invoice", invoice, "debit_to")
		accounts.append(
			{
				"account": debit_to,
				"party_type": "Customer",
				"party": case.customer,
				"credit_in_account_currency": amount,
				"reference_type": "Sales Invoice",
				"reference_name": invoice,
			}
		)
	accounts.append(
		{
			"account": cfg.write_off_account,
			"debit_in_account_currency": sum(by_invoice.values()),
			"cost_center": cost_center,
		}
	)
	je = frappe.get_doc(
		{
			"doctype": "Journal Entry",
			"voucher_type": "Write Off Entry",
			"company": case.company,
			"posting_date": nowdate(),
			"accounts": accounts,
			"user_remark": _("Write-off approved on collection case {0}").format(case.name),
		}
	)
	je.flags.ignore_permissions = True
	je.insert()
	from dunning_plus.audit import record_decision

	record_decision(
		case.name,
		case.company,
		case.customer,
		"Decision",
		_("Write-off of {0} booked as {1}").format(money(sum(by_invoice.values()), case.currency), je.name),
		reference=je,
		step_kind="Write-off Proposal",
	)
	je.submit()
	return je.name


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
			deliver_queued(company, [row.message_key], run_name)
		else:
			drop_reason = reason or _("Dropped on review")
			frappe.qb.update(ca).set(ca.status, "Dropped").set(ca.reason, drop_reason).where(
				ca.name.isin(names)
			).run()
			_set_run_row(row.message_key, {"status": "Dropped", "reason": drop_reason})
		cases.refresh_case(company, row.customer)
	frappe.qb.update(m).set(m.select_row, 0).where((m.parent == run_name) & (m.select_row == 1)).run()
	_progress(run_name, finish=True)
	return len(rows)
