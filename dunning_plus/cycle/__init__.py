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

The stages, each a module of this package, lower ones first (a module imports only those above it):

- ``transactions``: the unit of work (commit, undo, retry after a deadlock) and the settings;
- ``recording``: a decided message's audit rows and approval tasks;
- ``run_log``: a run's rows, counts, progress and closing;
- ``delivering``: sending decided messages, exactly once, and undoing a failed one;
- ``deciding``: a batch of customers read, planned by the engine and recorded, customer by customer;
- ``runs``: a Dunning Run split into batch jobs, closed when they are done or have stopped reporting;
- ``approvals`` and ``write_offs``: what people decide on held and proposed messages.

Scheduler entry points stay in ``dunning_plus.tasks``.
"""

# Background jobs queued before an upgrade name these by their old path (``dunning_plus.cycle.X``).
from dunning_plus.cycle.delivering import deliver_queued
from dunning_plus.cycle.runs import execute_run, run_batch

__all__ = ["deliver_queued", "execute_run", "run_batch"]
