"""Dunning Segment Rules in the desk: the facts per customer, the daily refresh, the policy book's
rule policies and the rules' preview.

The facts are the ones the case recompute already reads (``cases.CaseContext``): average days late,
broken promises, open disputes, tenure from the first invoice with the company; the balance and the
overdue amount from the ledger, net of open credits; the risk score as the case computes it. Each
customer's match is stored as a Dunning Customer Segment (one per customer and company), which the
daily run refreshes and the cycle reads: the policy of the matched rule comes after the invoice's
and the customer's own and before the customer group's.
"""

from __future__ import annotations

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import getdate, nowdate

from dunning_plus.engine.errors import EngineError
from dunning_plus.engine.money import ZERO
from dunning_plus.engine.precedence import resolve_policy
from dunning_plus.engine.score import Behaviour, score_customer
from dunning_plus.engine.segments import (
	SegmentFacts,
	SegmentMatch,
	SegmentRule,
	assign_segments,
	preview_moves,
	rule_from_conditions,
)


def engine_rule(doc) -> SegmentRule:
	"""The engine's rule for a Dunning Segment Rule document (or an unsaved dict of one)."""
	doc = frappe._dict(doc.as_dict() if isinstance(doc, Document) else doc)
	return rule_from_conditions(
		doc.rule_name or doc.name,
		doc.company,
		doc.dunning_policy,
		[
			(r.get("fact"), r.get("operator") or "At Least", r.get("value"))
			for r in doc.get("conditions") or []
		],
		order=int(doc.priority or 0),
		segment=doc.segment or "",
		enabled=bool(doc.enabled) if doc.get("enabled") is not None else True,
		customer_group=doc.customer_group or None,
		territory=doc.territory or None,
	)


def read_rules(company: str) -> list[SegmentRule]:
	out = []
	for name in frappe.get_all(
		"Dunning Segment Rule", filters={"company": company, "enabled": 1}, pluck="name"
	):
		try:
			out.append(engine_rule(frappe.get_doc("Dunning Segment Rule", name)))
		except EngineError:
			frappe.log_error(title=_("Dunning Segment Rule {0} is invalid").format(name))
	return out


def _lineage(doctype: str, parent_field: str) -> dict[str, tuple[str, ...]]:
	"""Each node of a tree doctype with the nodes above it, itself first."""
	parent = dict(frappe.get_all(doctype, fields=["name", parent_field], as_list=True))
	out = {}
	for name in parent:
		chain, node, seen = [], name, set()
		while node and node not in seen:
			seen.add(node)
			chain.append(node)
			node = parent.get(node)
		out[name] = tuple(chain)
	return out


def read_facts(company: str, customers: list[str], as_of=None) -> list[SegmentFacts]:
	"""The behaviour facts of ``customers`` with the company, in a handful of set-based reads."""
	from dunning_plus import ledger
	from dunning_plus.cases import CaseContext

	as_of = getdate(as_of or nowdate())
	if not customers:
		return []
	instalments, _credits, _netting = ledger.read_position(company, customers, with_taken=False)
	ctx = CaseContext.load(company, customers, as_of)
	balance: dict[str, object] = {}
	overdue: dict[str, object] = {}
	for i in instalments:
		due = max(i.due, ZERO)
		balance[i.customer] = balance.get(i.customer, ZERO) + due
		if i.due_date < as_of:
			overdue[i.customer] = overdue.get(i.customer, ZERO) + due
	largest = max([ctx.largest, *balance.values()], default=ZERO)
	c = frappe.qb.DocType("Customer")
	profile = {
		r.name: r
		for r in frappe.qb.from_(c)
		.select(c.name, c.customer_group, c.territory)
		.where(c.name.isin(customers))
		.run(as_dict=True)
	}
	groups = _lineage("Customer Group", "parent_customer_group")
	territories = _lineage("Territory", "parent_territory")
	out = []
	for customer in customers:
		since = ctx.since.get(customer)
		closed = ctx.promises_closed.get(customer, [])
		tenure = (as_of - since).days if since else 0
		bal = balance.get(customer, ZERO)
		behaviour = Behaviour(
			customer=customer,
			balance=bal,
			overdue=overdue.get(customer, ZERO),
			avg_days_late=ctx.days_late.get(customer, 0.0),
			promises_made=len(closed),
			promises_broken=closed.count("Broken"),
			open_disputes=ctx.open_disputes.get(customer, 0),
			tenure_days=tenure,
		)
		p = profile.get(customer) or frappe._dict()
		out.append(
			SegmentFacts(
				customer=customer,
				company=company,
				avg_days_late=float(behaviour.avg_days_late),
				broken_promises=behaviour.promises_broken,
				open_disputes=behaviour.open_disputes,
				overdue=behaviour.overdue,
				balance=bal,
				tenure_days=tenure,
				risk_score=score_customer(behaviour, largest).score if bal > 0 else 0.0,
				customer_groups=groups.get(p.customer_group, (p.customer_group,) if p.customer_group else ()),
				territories=territories.get(p.territory, (p.territory,) if p.territory else ()),
			)
		)
	return out


def _customers_to_segment(company: str) -> list[str]:
	from dunning_plus.cycle.deciding import customers_with_open_items

	stored = frappe.get_all("Dunning Customer Segment", filters={"company": company}, pluck="customer")
	return sorted(set(customers_with_open_items(company)) | set(stored))


def refresh_segments(company: str, as_of=None) -> dict[str, int]:
	"""Evaluates the company's rules for its customers with open items (and those segmented before)
	and stores each match; a customer no rule matches any more loses its segment."""
	as_of = getdate(as_of or nowdate())
	rules = read_rules(company)
	if not rules:  # nothing to evaluate: a company without rules costs one read
		customers = frappe.get_all("Dunning Customer Segment", filters={"company": company}, pluck="customer")
		matches = {}
	else:
		customers = _customers_to_segment(company)
		matches = assign_segments(rules, read_facts(company, customers, as_of))
	stored = {
		r.customer: r
		for r in frappe.get_all(
			"Dunning Customer Segment",
			filters={"company": company},
			fields=["name", "customer", "segment_rule", "segment", "dunning_policy", "why"],
		)
	}
	counts = {"segmented": 0, "changed": 0, "removed": 0}
	for customer in customers:
		m = matches.get((company, customer))
		row = stored.get(customer)
		if m is None:
			if row:
				frappe.delete_doc("Dunning Customer Segment", row.name, ignore_permissions=True, force=True)
				counts["removed"] += 1
			continue
		counts["segmented"] += 1
		values = {
			"segment_rule": m.rule,
			"segment": m.segment,
			"dunning_policy": m.policy,
			"why": m.why,
			"evaluated_on": as_of,
		}
		if row is None:
			frappe.get_doc(
				{"doctype": "Dunning Customer Segment", "customer": customer, "company": company, **values}
			).insert(ignore_permissions=True)
			counts["changed"] += 1
		elif (row.segment_rule, row.segment, row.dunning_policy, row.why) != (
			m.rule,
			m.segment,
			m.policy,
			m.why,
		):
			frappe.db.set_value("Dunning Customer Segment", row.name, values)
			counts["changed"] += 1
		else:
			frappe.db.set_value(
				"Dunning Customer Segment", row.name, "evaluated_on", as_of, update_modified=False
			)
	from dunning_plus.policies import clear_policy_cache

	clear_policy_cache()
	return counts


def rule_policies(company: str | None = None) -> dict[tuple[str, str], str]:
	"""(company, customer) -> the policy of the enabled segment rule the customer matched."""
	seg = frappe.qb.DocType("Dunning Customer Segment")
	rule = frappe.qb.DocType("Dunning Segment Rule")
	query = (
		frappe.qb.from_(seg)
		.join(rule)
		.on(rule.name == seg.segment_rule)
		.select(seg.company, seg.customer, rule.dunning_policy)
		.where(rule.enabled == 1)
	)
	if company:
		query = query.where(seg.company == company)
	return {(r[0], r[1]): r[2] for r in query.run() if r[2]}


def segment_of(customer: str, company: str) -> dict | None:
	return frappe.db.get_value(
		"Dunning Customer Segment",
		{"customer": customer, "company": company},
		["segment", "segment_rule", "dunning_policy", "why", "evaluated_on"],
		as_dict=True,
	)


@frappe.whitelist()
def get_segments(customer: str, company: str | None = None) -> list[dict]:
	"""The customer's segments (one per company) for the Customer and Collection Case forms."""
	frappe.has_permission("Customer", "read", customer, throw=True)
	filters = {"customer": customer}
	if company:
		filters["company"] = company
	return frappe.get_all(
		"Dunning Customer Segment",
		filters=filters,
		fields=["company", "segment", "segment_rule", "dunning_policy", "why", "evaluated_on"],
		order_by="company",
	)


def _effective(
	customers: list[str], company: str, matches: dict[tuple[str, str], SegmentMatch | None]
) -> dict[str, str | None]:
	"""The policy that applies to each customer's items (without an invoice's own policy)."""
	from dunning_plus.policies import policy_book

	book = policy_book(company)
	c = frappe.qb.DocType("Customer")
	rows = (
		frappe.qb.from_(c)
		.select(c.name, c.dunning_policy, c.customer_group)
		.where(c.name.isin(customers))
		.run(as_dict=True)
		if customers
		else []
	)
	out = {}
	for r in rows:
		m = matches.get((company, r.name))
		choice = resolve_policy(
			customer=r.dunning_policy or None,
			segment_rule=m.policy if m else None,
			segment=book.segment_policies.get(r.customer_group),
			company_default=book.company_defaults.get(company),
		)
		out[r.name] = choice.policy if choice else None
	return out


@frappe.whitelist()
def preview_rule(rule: str | dict) -> dict:
	"""With the rule as edited (saved or not) in place of its saved version: how many of the company's
	customers would move from which policy to which, and how many each rule would take."""
	frappe.has_permission("Dunning Segment Rule", "read", throw=True)
	from dunning_plus.policies import throw_engine_error

	doc = frappe._dict(frappe.parse_json(rule) if isinstance(rule, str) else rule)
	if not doc.company:
		frappe.throw(_("Choose the company first."))
	try:
		edited = engine_rule(doc)
	except EngineError as e:
		throw_engine_error(e, _("The rule is not valid yet"))
	saved_name = doc.name if doc.get("name") and not str(doc.name).startswith("new-") else None
	current_rules = read_rules(doc.company)
	after_rules = [r for r in current_rules if r.name not in (saved_name, edited.name)] + [edited]
	customers = _customers_to_segment(doc.company)
	facts = read_facts(doc.company, customers)
	before_matches = assign_segments(current_rules, facts)
	after_matches = assign_segments(after_rules, facts)
	preview = preview_moves(
		_effective(customers, doc.company, before_matches),
		_effective(customers, doc.company, after_matches),
		after_matches,
	)
	return {
		"customers": len(customers),
		"unchanged": preview.unchanged,
		"moving": preview.moving,
		"moves": [{"from": m.before, "to": m.after, "customers": m.customers} for m in preview.moves],
		"by_rule": preview.by_rule,
		"this_rule": preview.by_rule.get(edited.name, 0),
	}
