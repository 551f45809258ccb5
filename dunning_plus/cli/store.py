"""The embedded SQLite store: a ledger file the runner reads and the demo writes.

Amounts are stored as decimal strings, dates as ISO strings. ``save`` writes into a temporary
file and renames it into place, so a failed run never leaves a half-written ledger behind.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

from dunning_plus.cli.ledger import Customer, Invoice, Ledger, PaymentDoc, ScheduleRow
from dunning_plus.engine.errors import LedgerError, PolicyError, _
from dunning_plus.engine.policy import Track, policy_from_dict, policy_to_dict
from dunning_plus.engine.promises import Dispute, DisputeStatus, Payment, Promise, PromiseStatus

SCHEMA_VERSION = "1"

SCHEMA = """
create table meta (key text primary key, value text not null);
create table customers (
	name text primary key, customer_group text, territory text, language text, email text,
	collector text, policy text, block_reason text, block_until text, since text);
create table policies (name text primary key, body text not null);
create table segment_policies (segment text primary key, policy text not null);
create table invoices (
	name text primary key, customer text not null references customers(name), company text not null,
	posting_date text not null, currency text not null, grand_total text not null,
	is_return integer not null default 0, return_against text, policy text, block_reason text, block_until text);
create table schedule (
	id text primary key, invoice text not null, customer text not null, company text not null,
	idx integer not null, payment_term text, due_date text not null, amount text not null,
	currency text not null, posting_date text not null, track text not null default 'invoice');
create table payments (
	name text primary key, customer text not null, posting_date text not null, amount text not null,
	currency text not null, kind text not null);
create table applications (
	payment text not null, row_id text not null references schedule(id), posting_date text not null,
	amount text not null);
create index applications_row on applications(row_id, posting_date);
create table promises (
	name text primary key, customer text not null, promised_date text not null, amount text not null,
	items text not null, recorded_on text not null, status text not null, recorded_by text);
create table disputes (
	name text primary key, customer text not null, amount text not null, items text not null,
	opened_on text not null, reason text, status text not null, resolved_on text, owner text);
create table actions (
	key text primary key, run_date text not null, customer text not null, row_id text not null,
	step text not null, channel text not null, amount text not null, skipped text, message text);
create table messages (
	key text primary key, run_date text not null, customer text not null, channel text not null,
	lead_step text not null, items integer not null, total text not null, fee text not null,
	template text, needs_approval integer not null);
create table runs (
	run_date text primary key, evaluated integer not null, actions integer not null,
	messages integer not null, holds integer not null);
"""


def _d(value: str | None) -> date | None:
	return date.fromisoformat(value) if value else None


def _s(value: date | None) -> str | None:
	return value.isoformat() if value else None


def save(ledger: Ledger, path: str | Path, results: dict | None = None) -> Path:
	"""Writes ``ledger`` (and a simulation's ``results``) to a new SQLite file at ``path``."""
	path = Path(path)
	path.parent.mkdir(parents=True, exist_ok=True)
	fd, tmp = tempfile.mkstemp(prefix=".dunning-plus-", suffix=".sqlite", dir=path.parent)
	os.close(fd)
	try:
		con = sqlite3.connect(tmp)
		try:
			con.executescript(SCHEMA)
			_write(con, ledger, results or {})
			con.commit()
		finally:
			con.close()
		os.replace(tmp, path)
	except BaseException:
		if os.path.exists(tmp):
			os.unlink(tmp)
		raise
	return path


def _write(con: sqlite3.Connection, lg: Ledger, results: dict) -> None:
	con.executemany(
		"insert into meta values (?, ?)",
		[
			("schema_version", SCHEMA_VERSION),
			("company", lg.company),
			("currency", lg.currency),
			("company_default_policy", lg.company_default or ""),
		],
	)
	con.executemany(
		"insert into customers values (?,?,?,?,?,?,?,?,?,?)",
		[
			(
				c.name,
				c.customer_group,
				c.territory,
				c.language,
				c.email,
				c.collector,
				c.policy,
				c.block_reason,
				_s(c.block_until),
				_s(c.since),
			)
			for c in lg.customers.values()
		],
	)
	con.executemany(
		"insert into policies values (?, ?)",
		[(p.name, json.dumps(policy_to_dict(p))) for p in lg.policies.values()],
	)
	con.executemany("insert into segment_policies values (?, ?)", list(lg.segment_policies.items()))
	con.executemany(
		"insert into invoices values (?,?,?,?,?,?,?,?,?,?,?)",
		[
			(
				i.name,
				i.customer,
				i.company,
				_s(i.posting_date),
				i.currency,
				str(i.grand_total),
				int(i.is_return),
				i.return_against,
				i.policy,
				i.block_reason,
				_s(i.block_until),
			)
			for i in lg.invoices.values()
		],
	)
	con.executemany(
		"insert into schedule values (?,?,?,?,?,?,?,?,?,?,?)",
		[
			(
				r.id,
				r.invoice,
				r.customer,
				r.company,
				r.idx,
				r.payment_term,
				_s(r.due_date),
				str(r.amount),
				r.currency,
				_s(r.posting_date),
				r.track.value,
			)
			for r in lg.rows.values()
		],
	)
	con.executemany(
		"insert into payments values (?,?,?,?,?,?)",
		[
			(p.name, p.customer, _s(p.posting_date), str(p.amount), p.currency, p.kind)
			for p in lg.payments.values()
		],
	)
	con.executemany(
		"insert into applications values (?,?,?,?)",
		[(doc, p.instalment, _s(p.posting_date), str(p.amount)) for doc, p in lg.applied],
	)
	con.executemany(
		"insert into promises values (?,?,?,?,?,?,?,?)",
		[
			(
				p.name,
				p.customer,
				_s(p.promised_date),
				str(p.amount),
				json.dumps(list(p.items)),
				_s(p.recorded_on),
				p.status.value,
				p.recorded_by,
			)
			for p in lg.promises
		],
	)
	con.executemany(
		"insert into disputes values (?,?,?,?,?,?,?,?,?)",
		[
			(
				d.name,
				d.customer,
				str(d.amount),
				json.dumps(list(d.items)),
				_s(d.opened_on),
				d.reason,
				d.status.value,
				_s(d.resolved_on),
				d.owner,
			)
			for d in lg.disputes
		],
	)
	con.executemany("insert into actions values (?,?,?,?,?,?,?,?,?)", results.get("actions", []))
	con.executemany("insert into messages values (?,?,?,?,?,?,?,?,?,?)", results.get("messages", []))
	con.executemany("insert into runs values (?,?,?,?,?)", results.get("runs", []))


def load(path: str | Path) -> Ledger:
	"""Reads a ledger file; any problem is one :class:`LedgerError` naming the file."""
	path = Path(path)
	if not path.is_file():
		raise LedgerError(_("Ledger file {0} does not exist."), path)
	try:
		con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
	except sqlite3.Error as e:
		raise LedgerError(_("Cannot open ledger {0}: {1}"), path, e)
	try:
		return _read(con)
	except sqlite3.DatabaseError as e:
		raise LedgerError(_("{0} is not a dunning-plus ledger: {1}"), path, e)
	except (ValueError, KeyError, TypeError, ArithmeticError) as e:
		raise LedgerError(_("Ledger {0} holds malformed data: {1}"), path, e)
	except PolicyError as e:
		raise LedgerError(_("Ledger {0} holds an invalid policy: {1}"), path, e)
	finally:
		con.close()


def _read(con: sqlite3.Connection) -> Ledger:
	meta = dict(con.execute("select key, value from meta"))
	if meta.get("schema_version") != SCHEMA_VERSION:
		raise ValueError(f"schema version {meta.get('schema_version')!r}, expected {SCHEMA_VERSION}")
	lg = Ledger(company=meta["company"], currency=meta["currency"])
	lg.company_default = meta.get("company_default_policy") or None
	for row in con.execute("select * from customers"):
		c = Customer(*row)
		c.block_until, c.since = _d(row[8]), _d(row[9])
		lg.customers[c.name] = c
	for name, body in con.execute("select name, body from policies"):
		lg.policies[name] = policy_from_dict(json.loads(body))
	lg.segment_policies = dict(con.execute("select segment, policy from segment_policies"))
	for r in con.execute("select * from invoices"):
		lg.invoices[r[0]] = Invoice(
			r[0], r[1], r[2], _d(r[3]), r[4], Decimal(r[5]), bool(r[6]), r[7], r[8], r[9], _d(r[10])
		)
	for r in con.execute("select * from schedule"):
		lg.rows[r[0]] = ScheduleRow(
			r[0], r[1], r[2], r[3], r[4], r[5] or "", _d(r[6]), Decimal(r[7]), r[8], _d(r[9]), Track(r[10])
		)
	for r in con.execute("select * from payments"):
		lg.payments[r[0]] = PaymentDoc(r[0], r[1], _d(r[2]), Decimal(r[3]), r[4], r[5])
	for doc, row_id, day, amount in con.execute("select * from applications"):
		lg.applied.append((doc, Payment(row_id, _d(day), Decimal(amount))))
	for r in con.execute("select * from promises"):
		lg.promises.append(
			Promise(
				r[0],
				r[1],
				_d(r[2]),
				Decimal(r[3]),
				tuple(json.loads(r[4])),
				_d(r[5]),
				PromiseStatus(r[6]),
				r[7],
			)
		)
	for r in con.execute("select * from disputes"):
		lg.disputes.append(
			Dispute(
				r[0],
				r[1],
				Decimal(r[2]),
				tuple(json.loads(r[3])),
				_d(r[4]),
				r[5] or "",
				DisputeStatus(r[6]),
				_d(r[7]),
				r[8],
			)
		)
	return lg
