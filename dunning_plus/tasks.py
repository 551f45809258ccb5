"""Scheduler entry points. Public names are stable: other tools call them.

- ``run_daily_cycle(as_of=None, company=None)``: one Dunning Run per company (or the one given).
- ``run_hourly_checks(as_of=None)``: runs that stopped reporting, undelivered messages, promises
  kept or broken, payment plans completed or broken, dispute SLAs, case SLAs.
- ``expire_blocks(as_of=None)``: lifts dunning blocks whose end date has passed.
"""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import add_days, add_to_date, get_datetime, getdate, now_datetime, nowdate

from dunning_plus import cases
from dunning_plus.audit import record_decision
from dunning_plus.delivery import users_with_role
from dunning_plus.promises import review_promises


def scheduled_daily_cycle():
	"""Hourly cron: starts the day's cycle at the hour set in Dunning Plus Settings."""
	settings = frappe.get_cached_doc("Dunning Plus Settings")
	if not settings.enable_automation or now_datetime().hour != (settings.run_hour or 0):
		return
	run_daily_cycle()


def run_daily_cycle(as_of=None, company: str | None = None) -> list[str]:
	"""Creates and submits one Dunning Run per company with open receivables; returns their names.

	A company that already has a run for the day keeps it: the cycle runs once a day, and a rerun
	of a run would find every step taken anyway.
	"""
	as_of = getdate(as_of or nowdate())
	settings = frappe.get_cached_doc("Dunning Plus Settings")
	companies = [company] if company else _companies_with_receivables()
	names = []
	for comp in companies:
		existing = frappe.db.get_value(
			"Dunning Run",
			# a failed or stale run of the day may be run again: the steps it took are not taken twice
			{"company": comp, "run_date": as_of, "docstatus": 1, "status": ["not in", ["Failed", "Stale"]]},
			"name",
		)
		if existing and not company:
			continue
		run = frappe.get_doc(
			{
				"doctype": "Dunning Run",
				"company": comp,
				"run_date": as_of,
				"mode": "Proposal" if settings.proposal_mode else "Send",
			}
		)
		run.flags.ignore_permissions = True
		run.insert()
		run.submit()
		names.append(run.name)
	return names


def _companies_with_receivables() -> list[str]:
	si = frappe.qb.DocType("Sales Invoice")
	return [
		r[0]
		for r in frappe.qb.from_(si)
		.select(si.company)
		.distinct()
		.where((si.docstatus == 1) & (si.outstanding_amount > 0))
		.run()
	]


def run_hourly_checks(as_of=None) -> dict:
	as_of_dt = get_datetime(as_of) if as_of else now_datetime()
	day = as_of_dt.date()
	from dunning_plus.cycle.runs import close_stale_runs

	out = {
		"stale_runs": len(close_stale_runs(as_of_dt)),
		"undelivered": _deliver_leftovers(as_of_dt),
		"promises": _check_promises(day),
		"disputes": _check_dispute_sla(day),
		"sla": _check_case_sla(as_of_dt),
		"plans": _check_plans(day),
		"customer_permissions": _sync_customer_permissions(),
	}
	return out


def _sync_customer_permissions() -> int:
	"""Self-healing sweep of the collectors' User Permissions on Customer (normally kept by events)."""
	from dunning_plus.permissions import sync_customer_permissions

	changed = sync_customer_permissions()
	return changed["added"] + changed["removed"]


def _check_plans(day) -> int:
	from dunning_plus.plans import check_active_plans

	return check_active_plans(day)


def _deliver_leftovers(now) -> int:
	"""Steps decided more than half an hour ago but never delivered (a worker was killed) go out now."""
	from dunning_plus.cycle.delivering import deliver_queued

	ca = frappe.qb.DocType("Collection Action")
	rows = (
		frappe.qb.from_(ca)
		.select(ca.company, ca.message_key)
		.distinct()
		.where(
			(ca.action_type == "Step")
			& (ca.status == "Queued")
			& ca.message_key.isnotnull()
			& (ca.creation < add_to_date(now, minutes=-30))
		)
		.run()
	)
	by_company: dict[str, list[str]] = {}
	for company, key in rows:
		by_company.setdefault(company, []).append(key)
	return sum(deliver_queued(company, keys)[0] for company, keys in by_company.items())


def _once(key: str) -> bool:
	"""True the first time ``key`` is seen: hourly escalations never repeat."""
	return not frappe.db.exists("Collection Action", {"idempotency_key": key})


def _escalate(
	case: str | None, company: str, customer: str, key: str, text: str, users: list[str], reference=None
):
	if not _once(key):
		return False
	name = record_decision(
		case, company, customer, "Decision", text, reference=reference, step_kind="Escalation"
	)
	frappe.db.set_value("Collection Action", name, "idempotency_key", key)
	for user in users:
		if user:
			frappe.get_doc(
				{
					"doctype": "ToDo",
					"allocated_to": user,
					"reference_type": reference.doctype if reference is not None else "Collection Case",
					"reference_name": reference.name if reference is not None else case,
					"date": nowdate(),
					"priority": "High",
					"description": text,
				}
			).insert(ignore_permissions=True)
	return True


def _check_promises(day) -> int:
	pp = frappe.qb.DocType("Payment Promise")
	pairs = (
		frappe.qb.from_(pp)
		.select(pp.company, pp.customer)
		.distinct()
		.where(pp.status.isin(["Pending", "Kept"]))
		.run()
	)
	broken = 0
	for company, customer in pairs:
		for name, status in review_promises(company, customer, day):
			if status != "Broken":
				continue
			promise = frappe.get_doc("Payment Promise", name)
			case = promise.collection_case or cases.open_case_name(company, customer)
			collector = frappe.db.get_value("Collection Case", case, "collector") if case else None
			if _escalate(
				case,
				company,
				customer,
				f"promise-broken::{name}",
				_("Promise {0} of {1} to pay {2} by {3} was broken").format(
					name, customer, promise.amount, promise.promised_date
				),
				[collector or (users_with_role("Collections Manager") or [None])[0]],
				reference=promise,
			):
				broken += 1
		cases.refresh_case(company, customer, day)
	return broken


def _check_dispute_sla(day) -> int:
	cd = frappe.qb.DocType("Collection Dispute")
	reason = frappe.qb.DocType("Dispute Reason")
	rows = (
		frappe.qb.from_(cd)
		.join(reason)
		.on(reason.name == cd.reason)
		.select(cd.name, cd.company, cd.customer, cd.collection_case, cd.opened_on, reason.sla_days)
		.where((cd.status == "Open") & (reason.sla_days > 0))
		.run(as_dict=True)
	)
	managers = users_with_role("Collections Manager")[:3]
	count = 0
	for r in rows:
		if add_days(getdate(r.opened_on), r.sla_days) < day:
			if _escalate(
				r.collection_case,
				r.company,
				r.customer,
				f"dispute-sla::{r.name}",
				_("Dispute {0} of {1} is open for more than {2} days").format(r.name, r.customer, r.sla_days),
				managers,
				reference=frappe.get_doc("Collection Dispute", r.name),
			):
				count += 1
	return count


def _check_case_sla(now) -> int:
	cc = frappe.qb.DocType("Collection Case")
	rows = (
		frappe.qb.from_(cc)
		.select(cc.name, cc.company, cc.customer, cc.collector, cc.sla_due)
		.where(cc.status.notin(cases.CLOSED) & cc.sla_due.isnotnull() & (cc.sla_due < now))
		.run(as_dict=True)
	)
	count = 0
	for r in rows:
		if _escalate(
			r.name,
			r.company,
			r.customer,
			f"case-sla::{r.name}::{r.sla_due}",
			_("SLA of case {0} passed at {1}").format(r.name, r.sla_due),
			[r.collector or (users_with_role("Collections Manager") or [None])[0]],
		):
			count += 1
	return count


def expire_blocks(as_of=None) -> int:
	"""Lifts customer and invoice blocks whose end date has passed, and updates their cases."""
	day = getdate(as_of or nowdate())
	count = 0
	touched = set()
	for name in frappe.get_all(
		"Customer", filters={"dunning_block": 1, "dunning_block_until": ["<", day]}, pluck="name"
	):
		frappe.db.set_value(
			"Customer", name, {"dunning_block": 0, "dunning_block_reason": None, "dunning_block_until": None}
		)
		for company in frappe.get_all(
			"Collection Case", filters={"customer": name, "status": ["not in", cases.CLOSED]}, pluck="company"
		):
			touched.add((company, name))
		count += 1
	for inv in frappe.get_all(
		"Sales Invoice",
		filters={"dunning_block": 1, "dunning_block_until": ["<", day], "docstatus": 1},
		fields=["name", "company", "customer"],
	):
		frappe.db.set_value(
			"Sales Invoice",
			inv.name,
			{"dunning_block": 0, "dunning_block_reason": None, "dunning_block_until": None},
		)
		touched.add((inv.company, inv.customer))
		count += 1
	for company, customer in sorted(touched):
		cases.refresh_case(company, customer, day)
	return count
