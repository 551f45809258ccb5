"""Report sections over a ledger as of a date: aging, expected vs actual, projection, KPIs,
cases and the worklist. Each returns plain data (dicts and lists) for tables or JSON."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from dunning_plus.cli.ledger import Ledger
from dunning_plus.cli.sim import SimResult, book_of
from dunning_plus.engine import aging as aging_mod
from dunning_plus.engine import forecast, kpis
from dunning_plus.engine.cadence import Instalment
from dunning_plus.engine.case import CaseFacts, derive_status
from dunning_plus.engine.money import ZERO
from dunning_plus.engine.policy import SEVERITY, Track
from dunning_plus.engine.promises import PromiseStatus, promise_status
from dunning_plus.engine.score import Behaviour, rank_customers


def _num(x: Decimal | float | None, nd: int = 2):
	if x is None:
		return None
	return round(float(x), nd)


def aging_section(
	lg: Ledger, as_of: date, ranges: str | None = None, basis: str = "due_date", by: str = "segment"
) -> dict:
	buckets = aging_mod.AgingBuckets.parse(ranges)
	index = lg.paid_index()
	items = []
	for r in lg.rows.values():
		if r.posting_date > as_of or r.track != Track.INVOICE:
			continue
		left = r.amount - index.paid(r.id, as_of)
		if left > 0:
			items.append(aging_mod.AgingItem(r.id, r.customer, r.due_date, r.posting_date, left))
	groups = {
		"segment": lambda i: lg.customers[i.customer].customer_group,
		"customer": lambda i: i.customer,
		"collector": lambda i: lg.customers[i.customer].collector or "",
		"territory": lambda i: lg.customers[i.customer].territory,
	}
	if by not in groups:
		raise ValueError(by)
	rep = aging_mod.age(items, as_of, buckets, basis, key=groups[by])
	return {
		"as_of": as_of.isoformat(),
		"basis": rep.basis.value,
		"group_by": by,
		"labels": rep.labels,
		"rows": [
			{
				"group": r.key,
				"buckets": [_num(b) for b in r.buckets],
				"total": _num(r.total),
				"items": r.items,
			}
			for r in rep.rows
		],
		"totals": [_num(t) for t in rep.totals],
		"total": _num(rep.total),
	}


def _lines(lg: Ledger) -> list[forecast.ScheduleLine]:
	return [forecast.ScheduleLine(r.id, r.customer, r.due_date, r.amount) for r in lg.rows.values()]


def _promises_as_of(lg: Ledger, as_of: date):
	payments = lg.applications()
	out = []
	for p in lg.promises:
		if p.recorded_on > as_of:
			continue
		st = promise_status(p, payments, as_of, _grace(lg, p.customer))
		out.append((p, st))
	return out


def _grace(lg: Ledger, customer: str) -> int:
	book = book_of(lg)
	c = lg.customers.get(customer)
	name = (
		(c.policy if c else None)
		or (book.segment_policies.get(c.customer_group) if c else None)
		or lg.company_default
	)
	pol = lg.policies.get(name or "")
	return pol.grace_days if pol else 0


def expected_actual_section(lg: Ledger, start: date, end: date, by: str = "month") -> dict:
	pending = [
		replace(p, status=PromiseStatus.PENDING)
		for p, st in _promises_as_of(lg, end)
		if st == PromiseStatus.PENDING
	]
	payments = [p for p in lg.applications() if p.posting_date <= end]
	rows = forecast.expected_vs_actual(
		_lines(lg), payments, forecast.periods_between(start, end, by), pending
	)
	return {
		"by": by,
		"rows": [
			{
				"period": r.period.label,
				"expected": _num(r.expected),
				"actual": _num(r.actual),
				"variance": _num(r.variance),
				"ratio": _num(r.ratio, 3),
			}
			for r in rows
		],
	}


def projection_section(
	lg: Ledger, as_of: date, weeks: int = 13, at_risk_days: int = forecast.AT_RISK_DAYS
) -> dict:
	"""The engine's projection (``forecast.project_cash``): weeks, later, at risk, disputed."""
	payments = [p for p in lg.applications() if p.posting_date <= as_of]
	due = {r.id: r.due_date for r in lg.rows.values()}
	cust = {r.id: r.customer for r in lg.rows.values()}
	late = kpis.average_days_late(payments, due, cust)
	outstanding = lg.outstanding_as_of(as_of)
	items = [forecast.OpenItem(rid, cust[rid], due[rid], amt) for rid, amt in outstanding.items() if amt > 0]
	promises = [
		replace(p, status=st)
		for p, st in _promises_as_of(lg, as_of)
		if st in (PromiseStatus.PENDING, PromiseStatus.BROKEN)
	]
	disputes = [d for d in lg.disputes if d.opened_on <= as_of]
	rows = forecast.project_cash(
		items, as_of, late, promises, weeks, disputes=disputes, at_risk_days=at_risk_days
	)
	by_bucket = {r.bucket: r for r in rows if r.bucket != forecast.Bucket.WEEK}
	return {
		"as_of": as_of.isoformat(),
		"at_risk_days": at_risk_days,
		"weeks": [
			{
				"week": r.week if r.bucket == forecast.Bucket.WEEK else r.bucket.value,
				"start": r.start.isoformat() if r.start else None,
				"end": r.end.isoformat() if r.end else None,
				"amount": _num(r.amount),
				"items": r.items,
			}
			for r in rows
		],
		"in_horizon": _num(sum((r.amount for r in rows if r.bucket == forecast.Bucket.WEEK), ZERO)),
		"later": _num(by_bucket[forecast.Bucket.LATER].amount),
		"at_risk": _num(by_bucket[forecast.Bucket.AT_RISK].amount),
		"disputed": _num(by_bucket[forecast.Bucket.DISPUTED].amount),
		"total": _num(sum((r.amount for r in rows), ZERO)),
	}


def kpi_section(lg: Ledger, as_of: date, window_days: int = 90, sim: SimResult | None = None) -> dict:
	start = as_of - timedelta(days=window_days - 1)
	index = lg.paid_index()

	def ar(day: date, current_only: bool = False) -> Decimal:
		total = ZERO
		for r in lg.rows.values():
			if r.track != Track.INVOICE or r.posting_date > day:
				continue
			if current_only and r.due_date < day:
				continue
			total += r.amount - index.paid(r.id, day)
		return total

	sales = sum(
		(i.grand_total for i in lg.invoices.values() if not i.is_return and start <= i.posting_date <= as_of),
		ZERO,
	)
	ending, current = ar(as_of), ar(as_of, True)
	beginning = ar(start - timedelta(days=1))
	periods = kpis.month_periods(lg.credit_sales_by_month(), as_of, 12)
	dso = kpis.standard_dso(ending, sales, window_days)
	cb = kpis.countback_dso(ending, periods)
	best_std = kpis.best_possible_dso(current, [kpis.SalesPeriod(sales, window_days)], method="standard")
	best_cb = kpis.best_possible_dso(current, periods)
	promises = []
	for p, st in _promises_as_of(lg, as_of):
		promises.append(replace(p, status=st))
	kept = kpis.promise_kept_rate(promises, start, as_of)
	out = {
		"as_of": as_of.isoformat(),
		"window_days": window_days,
		"credit_sales": _num(sales),
		"ending_ar": _num(ending),
		"current_ar": _num(current),
		"dso_standard": _num(dso, 1),
		"dso_countback": _num(cb, 1),
		"best_possible_dso_standard": _num(best_std, 1),
		"best_possible_dso_countback": _num(best_cb, 1),
		"add_standard": _num(kpis.average_days_delinquent(dso, best_std), 1),
		"add_countback": _num(kpis.average_days_delinquent(cb, best_cb), 1),
		"cei": _num(kpis.cei(beginning, sales, ending, current), 1),
		"promise_kept_rate_count": _num(kept.count, 3),
		"promise_kept_rate_amount": _num(kept.amount, 3),
		"promises_due": kept.denominator,
	}
	if sim is not None:
		conv = kpis.reminder_conversion(
			[kpis.SentMessage(k, d, items) for k, d, items in sim.sent if start <= d <= as_of],
			lg.applications(),
			14,
		)
		out["reminder_conversion_14d"] = _num(conv.count, 3)
		out["messages_measured"] = conv.denominator
	disputes = kpis.dispute_aging(lg.disputes, as_of)
	out.update(
		{
			"open_disputes": disputes.open_count,
			"open_disputed_amount": _num(disputes.open_amount),
			"average_dispute_age_days": _num(disputes.average_open_days, 1),
			"average_days_to_resolve_dispute": _num(disputes.average_days_to_resolve, 1),
		}
	)
	return out


def cases_section(lg: Ledger, as_of: date, taken: dict[str, tuple[str, ...]]) -> dict:
	"""Case status per customer that had any step taken, derived from the facts as of ``as_of``."""
	book = book_of(lg)
	index = lg.paid_index()
	outstanding = {
		r.id: r.amount - index.paid(r.id, as_of) for r in lg.rows.values() if r.posting_date <= as_of
	}
	promises = {p.name: st for p, st in _promises_as_of(lg, as_of)}
	by_customer: dict[str, list[str]] = {}
	for row_id in taken:
		by_customer.setdefault(lg.rows[row_id].customer, []).append(row_id)
	counts: dict[str, int] = {}
	cases = []
	for cust, row_ids in sorted(by_customer.items()):
		open_rows = [r for r in row_ids if outstanding.get(r, ZERO) > 0]
		strongest = None
		level = 0
		for r in row_ids:
			row = lg.rows[r]
			inv = lg.invoices.get(row.invoice)
			profile = lg.customers[cust].profile()
			choice = book.choose(
				Instalment(
					r, row.invoice, cust, row.company, row.due_date, ZERO, policy=inv.policy if inv else None
				),
				profile,
			)
			pol = lg.policies.get(choice.policy) if choice else None
			if pol is None or r not in open_rows:
				continue
			for code in taken[r]:
				st = pol.step(code)
				if strongest is None or SEVERITY[st.kind] > SEVERITY[strongest.kind]:
					strongest = st
				level = max(level, st.level)
		disputed = {i for d in lg.disputes if d.customer == cust and d.open_on(as_of) for i in d.items}
		promised = {
			i
			for p in lg.promises
			if p.customer == cust and promises.get(p.name) == PromiseStatus.PENDING
			for i in p.items
		}
		broken = any(p.customer == cust and promises.get(p.name) == PromiseStatus.BROKEN for p in lg.promises)
		customer = lg.customers[cust]
		hold = bool(customer.block_reason) and (customer.block_until is None or as_of <= customer.block_until)
		facts = CaseFacts(
			outstanding=sum((outstanding[r] for r in open_rows), ZERO),
			strongest_step=strongest,
			level=level,
			on_hold=hold,
			fully_disputed=bool(open_rows) and all(r in disputed for r in open_rows),
			promise_pending=bool(open_rows) and all(r in promised or r in disputed for r in open_rows),
			broken_promise=broken and bool(open_rows),
		)
		status, lvl = derive_status(facts)
		counts[status.value] = counts.get(status.value, 0) + 1
		cases.append(
			{"customer": cust, "status": status.value, "level": lvl, "outstanding": _num(facts.outstanding)}
		)
	return {"as_of": as_of.isoformat(), "by_status": dict(sorted(counts.items())), "cases": cases}


def worklist_section(lg: Ledger, as_of: date, cases: dict | None = None, top: int = 10) -> dict:
	index = lg.paid_index()
	payments = [p for p in lg.applications() if p.posting_date <= as_of]
	due = {r.id: r.due_date for r in lg.rows.values()}
	cust_of = {r.id: r.customer for r in lg.rows.values()}
	late = kpis.average_days_late(payments, due, cust_of)
	balance: dict[str, Decimal] = {}
	overdue: dict[str, Decimal] = {}
	for r in lg.rows.values():
		if r.posting_date > as_of:
			continue
		left = r.amount - index.paid(r.id, as_of)
		if left <= 0:
			continue
		balance[r.customer] = balance.get(r.customer, ZERO) + left
		if r.due_date < as_of:
			overdue[r.customer] = overdue.get(r.customer, ZERO) + left
	promise_states = _promises_as_of(lg, as_of)
	open_case = None
	if cases is not None:
		open_case = {
			c["customer"]: c
			for c in cases["cases"]
			if c["status"] not in ("Resolved", "Written Off", "Closed")
		}
	# a customer without a recorded "since" (a CSV export) counts from its first invoice, as the app does
	first_invoice: dict[str, date] = {}
	for inv in lg.invoices.values():
		if not inv.is_return and inv.posting_date <= as_of:
			first_invoice[inv.customer] = min(
				first_invoice.get(inv.customer, inv.posting_date), inv.posting_date
			)
	behaviours = []
	for cust, bal in balance.items():
		if overdue.get(cust, ZERO) <= 0:
			continue
		if open_case is not None and cust not in open_case:
			continue
		c = lg.customers[cust]
		since = c.since or first_invoice.get(cust)
		behaviours.append(
			Behaviour(
				customer=cust,
				balance=bal,
				overdue=overdue.get(cust, ZERO),
				avg_days_late=late.get(cust, 0.0),
				promises_made=sum(1 for p, _st in promise_states if p.customer == cust),
				promises_broken=sum(
					1 for p, st in promise_states if p.customer == cust and st == PromiseStatus.BROKEN
				),
				open_disputes=sum(1 for d in lg.disputes if d.customer == cust and d.open_on(as_of)),
				tenure_days=(as_of - since).days if since else 0,
			)
		)
	ranked = rank_customers(behaviours)
	return {
		"as_of": as_of.isoformat(),
		"open_cases": len(ranked),
		"top": [
			{
				"customer": s.customer,
				"score": s.score,
				"risk": s.risk,
				"value": s.value,
				"collector": lg.customers[s.customer].collector,
				"status": open_case[s.customer]["status"] if open_case else None,
				"overdue": _num(overdue.get(s.customer)),
				"why": s.explain(),
				"drivers": {
					d.name: {"raw": round(d.raw, 3), "points": round(d.points, 4)} for d in s.drivers
				},
			}
			for s in ranked[:top]
		],
	}


def dispute_counts(lg: Ledger) -> dict[str, int]:
	out: dict[str, int] = {}
	for d in lg.disputes:
		out[d.status.value] = out.get(d.status.value, 0) + 1
	return out


__all__ = [
	"aging_section",
	"cases_section",
	"dispute_counts",
	"expected_actual_section",
	"kpi_section",
	"projection_section",
	"worklist_section",
]
