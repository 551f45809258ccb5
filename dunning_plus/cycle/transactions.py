"""Units of work of the cycle: each customer, message and batch is a transaction of its own.

Real runs commit after every unit, so a run killed halfway leaves finished units done and the rest
for the next run; a unit the database rolled back (deadlock, lock wait timeout) is tried again.
Tests keep one transaction, to roll back, and undo a unit to its savepoint."""

from __future__ import annotations

import random
import time

import frappe


def settings():
	return frappe.get_cached_doc("Dunning Plus Settings")


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


def retrying(fn, *args) -> None:
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
