"""Deciding a batch of customers: their open position read in a few set-based queries, the engine's
plan, and per customer, under its row lock and inside a unit of work of its own: the steps not taken
yet are recorded, the case recomputed once, and the messages queued, held for approval or proposed."""

from __future__ import annotations

import traceback
from collections import defaultdict
from dataclasses import dataclass, field, replace

import frappe
from frappe import _
from frappe.utils import cint, flt, getdate, now_datetime, nowdate

from dunning_plus import cases, ledger
from dunning_plus.cycle import delivering, recording, transactions
from dunning_plus.engine.cadence import Message, plan_cycle
from dunning_plus.policies import policy_book


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
	batch, instalments = _read_batch(company, customers)
	book = batch.book
	plan = plan_cycle(instalments, as_of, book, batch.profiles, batch.promises, batch.disputes, batch.planned)
	batch.ctx = cases.CaseContext.load(company, sorted({m.customer for m in plan.messages}), as_of)
	res.evaluated = plan.evaluated
	res.held = len(plan.holds)
	by_customer: dict[str, list[Message]] = defaultdict(list)
	for msg in plan.messages:
		by_customer[msg.customer].append(msg)
	cfg = transactions.settings()
	# The reads are done: each customer is a transaction of its own whose first plain read comes
	# after the customer's lock, so it sees what a concurrent run committed for that customer.
	transactions.commit()
	if limit is None and len(by_customer) > 1:
		_take_batch(company, by_customer, as_of, mode, run, cfg, book, res, batch)
	else:
		for customer, messages in by_customer.items():
			if limit is not None and res.messages >= limit:
				break
			_take_customer(company, customer, messages, as_of, mode, run, cfg, book, res, batch)
	res.to_deliver = list(dict.fromkeys([*res.to_deliver, *delivering.undelivered(company, customers)]))
	if deliver_now and res.to_deliver:
		sent, _errors = delivering.deliver_queued(company, res.to_deliver, run)
		res.sent += sent
	_refresh_due_cases(company, sorted(_cases_due(company, customers, as_of) - set(by_customer)), as_of, res)
	transactions.commit()
	return res


def _refresh_due_cases(company: str, customers: list[str], as_of, res: BatchResult) -> None:
	"""Cases whose next action fell due today (a promise or block ran out, a step's date came) but
	that got no message are brought up to date: their position read once for all of them, as the
	batch's is, then each case recomputed in a transaction of its own."""
	if not customers:
		return
	batch, _instalments = _read_batch(company, customers)
	batch.ctx = cases.CaseContext.load(company, customers, as_of)
	transactions.commit()

	def refresh_all(_part):
		_lock_customers(customers)
		cases.refresh_batch(company, as_of, {c: _case_data(batch, c, []) for c in customers}, batch.ctx)

	if len(customers) > 1 and _in_one_unit(refresh_all, batch, customers, res):
		return
	for customer in customers:
		try:
			transactions.retrying(
				cases.refresh_case, company, customer, as_of, _case_data(batch, customer, []), batch.ctx
			)
		except Exception as e:
			res.errors.append(
				{"customer": customer, "error": str(e)[:1000], "traceback": traceback.format_exc()}
			)


def _read_batch(company: str, customers: list[str]) -> tuple[BatchData, list]:
	"""The customers' open position, profiles, promises, disputes and plans in a few set-based
	queries, whatever their number; and the open instalments as one list, for the engine. The case
	context is the caller's to load: it depends on whom the batch acts for."""
	instalments, credits, _netting = ledger.read_position(company, customers)
	by_inst: dict[str, list] = defaultdict(list)
	for inst in instalments:
		by_inst[inst.customer].append(inst)
	batch = BatchData(
		by_inst,
		policy_book(company),
		ledger.read_customers(customers),
		ledger.read_promises(company, customers),
		ledger.read_disputes(company, customers),
		None,
		credits,
		ledger.read_planned(company, customers),
	)
	return batch, instalments


def _take_batch(company, by_customer, as_of, mode, run, cfg, book, res: BatchResult, batch) -> None:
	"""The batch's customers in one unit of work: their locks taken in one statement (in name order,
	so two workers never wait on each other in a circle), the steps not taken yet recorded in one
	statement, the cases written by ``cases.refresh_batch``, one commit. If the unit fails for any
	reason (another worker took some of these steps meanwhile, one customer's data breaks its case),
	it is undone and the customers are taken one by one, each in a unit of its own: a failure costs
	the batch its speed, never a customer's step."""
	if _in_one_unit(
		lambda part: _process_batch(company, by_customer, as_of, mode, run, part, batch),
		batch,
		list(by_customer),
		res,
	):
		return
	for customer, messages in by_customer.items():
		_take_customer(company, customer, messages, as_of, mode, run, cfg, book, res, batch)


def _in_one_unit(work, batch, customers: list[str], res: BatchResult) -> bool:
	"""Runs ``work(part)`` and commits it; tried again when the database rolled it back (a deadlock
	or lock wait), undone otherwise. True when it committed (its result is added to ``res``)."""
	for attempt in range(1, transactions.RETRIES + 1):
		savepoint = f"dp_{frappe.generate_hash(length=8)}"
		frappe.db.savepoint(savepoint)
		seen = {c: _context_of(batch, c) for c in customers}
		part = BatchResult()
		try:
			work(part)
			transactions.commit()
		except Exception as e:
			transactions.undo(savepoint)
			for customer, before in seen.items():
				_restore_context(batch, customer, before)
			if transactions.rolled_back_by_database(e) and attempt < transactions.RETRIES:
				transactions.backoff(attempt)
				continue
			return False
		res.add(part)
		return True
	return False


def _process_batch(company, by_customer, as_of, mode, run, res: BatchResult, batch) -> None:
	customers = sorted(by_customer)
	_lock_customers(customers)
	done = _existing_keys([a.key for c in customers for m in by_customer[c] for a in m.actions])
	taken = {}
	start = now_datetime()
	for customer in customers:
		todo = recording.not_taken(by_customer[customer], done)
		if todo:
			statuses = recording.statuses_for(todo, mode)
			at = recording.starts(todo, start)
			recording.note_steps(batch, customer, todo, statuses, as_of, at)
			taken[customer] = (todo, statuses, at)
	if not taken:
		return
	case_of = cases.refresh_batch(
		company, as_of, {c: _case_data(batch, c, todo) for c, (todo, _s, _a) in taken.items()}, batch.ctx
	)
	recording.insert_actions(
		[
			row
			for customer, (todo, statuses, at) in taken.items()
			for msg in todo
			for row in recording.action_rows(
				msg, run, statuses[msg.key], as_of, case_of[customer], at[msg.key]
			)
		]
	)
	for customer, (todo, statuses, _at) in taken.items():
		_account(customer, case_of[customer], todo, statuses, res)


def _take_customer(company, customer, messages, as_of, mode, run, cfg, book, res: BatchResult, batch) -> None:
	"""Decides and records one customer's messages in a transaction of its own, under its lock."""
	for attempt in range(1, transactions.RETRIES + 1):
		savepoint = f"dp_{frappe.generate_hash(length=8)}"
		frappe.db.savepoint(savepoint)
		part = BatchResult()
		seen = _context_of(batch, customer)
		try:
			_process_customer(company, customer, messages, as_of, mode, run, cfg, book, part, batch)
			transactions.commit()
		except Exception as e:
			transactions.undo(savepoint)
			_restore_context(batch, customer, seen)
			if transactions.rolled_back_by_database(e) and attempt < transactions.RETRIES:
				transactions.backoff(attempt)
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
			transactions.commit()
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


def _lock_customers(customers: list[str]) -> None:
	"""The customers' row locks in one statement, taken in name order."""
	c = frappe.qb.DocType("Customer")
	frappe.qb.from_(c).select(c.name).where(c.name.isin(customers)).orderby(c.name).for_update().run()


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
	todo = recording.not_taken(messages, _existing_keys([a.key for m in messages for a in m.actions]))
	if not todo:
		return
	statuses = recording.statuses_for(todo, mode)
	at = recording.starts(todo)
	names = [
		n for msg in todo for n in recording.write_actions(msg, run, statuses[msg.key], as_of, at[msg.key])
	]
	recording.note_steps(batch, customer, todo, statuses, as_of, at)
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
		frappe.qb.update(ca).set(ca.collection_case, case).where(ca.name.isin(names)).run()
	_account(customer, case, todo, statuses, res)


def _account(customer: str, case: str | None, todo: list[Message], statuses: dict, res: BatchResult) -> None:
	"""The approvals asked for, and what the run reports of the recorded messages."""
	for msg in todo:
		channel = msg.delivery_channel
		status = statuses[msg.key]
		row = {
			"customer": customer,
			"collection_case": case,
			"step_code": msg.lead.code,
			"channel": recording.CHANNEL_LABEL[channel],
			"items_count": len(msg.actions),
			"total": flt(msg.total),
			"fee": flt(msg.fee),
			"currency": msg.currency,
			"message_key": msg.key,
			"status": status,
		}
		if status == "Pending Approval":
			recording.request_approval(msg, case)
		elif status == "Queued":
			res.to_deliver.append(msg.key)
		res.rows.append(row)
		res.messages += 1
		res.actions += len(msg.actions)
		res.by_step[f"{msg.lead.code}/{recording.CHANNEL_LABEL[channel]}"] += 1


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
