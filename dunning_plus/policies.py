"""Dunning Policy documents as engine policies, and the policy book of a company."""

from __future__ import annotations

from datetime import time

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import get_time, getdate

from dunning_plus.engine.cadence import PolicyBook
from dunning_plus.engine.calendar import BusinessCalendar
from dunning_plus.engine.errors import EngineError, PolicyError
from dunning_plus.engine.policy import Policy, policy_from_dict

KIND_TO_ENGINE = {
	"Reminder": "reminder",
	"Dunning Level": "dunning",
	"Final Notice": "final_notice",
	"Escalation": "escalation",
	"Write-off Proposal": "write_off_proposal",
	"Deposit Reminder": "deposit_reminder",
	"Plan Reminder": "plan_reminder",
}
KIND_FROM_ENGINE = {v: k for k, v in KIND_TO_ENGINE.items()}


def engine_error_lines(e: EngineError) -> list[str]:
	"""An engine error translated, one line per problem."""
	if isinstance(e, PolicyError):
		return [_(p.template).format(*p.args) for p in e.problems]
	return [e.translated(_)]


def throw_engine_error(e: EngineError, title: str | None = None):
	"""Shows an engine error translated, every problem on its own line."""
	frappe.throw("<br>".join(engine_error_lines(e)), title=title or _("Invalid Input"))


def policy_dict(doc) -> dict:
	"""The engine's plain-data form of a Dunning Policy document (or an unsaved dict of one)."""
	doc = frappe._dict(doc.as_dict() if isinstance(doc, Document) else doc)
	templates: dict[str, dict[str, str]] = {}
	for row in doc.get("templates") or []:
		row = frappe._dict(row)
		templates.setdefault(row.step_code, {})[row.language] = row.email_template
	fallbacks: dict[str, list[str]] = {}
	for row in doc.get("channel_fallbacks") or []:
		row = frappe._dict(row)
		if row.step_code and row.channel:
			fallbacks.setdefault(row.step_code, []).append(row.channel.lower())
	steps = []
	for row in doc.get("steps") or []:
		row = frappe._dict(row)
		per_language = dict(templates.get(row.step_code, {}))
		if row.email_template:
			per_language["default"] = row.email_template
		steps.append(
			{
				"code": row.step_code,
				"offset_days": row.offset_days or 0,
				"kind": KIND_TO_ENGINE.get(row.kind, row.kind),
				"channel": (row.channel or "Email").lower(),
				"level": row.level or 0,
				"templates": per_language,
				"fee": row.fee or 0,
				"interest_rate": row.interest_rate or 0,
				"approval_role": row.approval_role or None,
				"owner": row.owner_user or row.owner_role or None,
				"sla_hours": row.sla_hours or None,
				"credit_hold": bool(row.credit_hold),
				"fallbacks": fallbacks.get(row.step_code, []),
				"sms_text": row.sms_text or None,
			}
		)
	return {
		"name": doc.policy_name or doc.name,
		"company": doc.company,
		"enabled": bool(doc.enabled) if doc.get("enabled") is not None else True,
		"minimum_amount": doc.minimum_amount or 0,
		"grace_days": doc.grace_days or 0,
		"pause_on_dispute": bool(doc.pause_on_dispute) if doc.get("pause_on_dispute") is not None else True,
		"pause_on_promise": bool(doc.pause_on_promise) if doc.get("pause_on_promise") is not None else True,
		"steps": steps,
		"call_retry_days": doc.get("call_retry_days") or 2,
		"call_max_tries": doc.get("call_max_tries") or 3,
	}


def to_engine(doc) -> Policy:
	"""Builds and validates the engine policy; raises the engine's typed errors."""
	data = policy_dict(doc)
	policy = policy_from_dict(data)
	calendar = business_calendar(doc)
	return Policy(
		name=policy.name,
		steps=policy.steps,
		minimum_amount=policy.minimum_amount,
		grace_days=policy.grace_days,
		pause_on_dispute=policy.pause_on_dispute,
		pause_on_promise=policy.pause_on_promise,
		calendar=calendar,
		company=policy.company,
		enabled=policy.enabled,
		call_retry_days=policy.call_retry_days,
		call_max_tries=policy.call_max_tries,
	)


def business_calendar(doc) -> BusinessCalendar:
	doc = frappe._dict(doc.as_dict() if isinstance(doc, Document) else doc)
	holidays = []
	if doc.holiday_list:
		holidays = [
			getdate(d)
			for d in frappe.get_all(
				"Holiday",
				filters={"parent": doc.holiday_list, "parenttype": "Holiday List"},
				pluck="holiday_date",
			)
		]
	skip_weekends = doc.get("skip_weekends")
	weekend = frozenset({5, 6}) if skip_weekends is None or skip_weekends else frozenset()
	start, end = sending_window(doc)
	return BusinessCalendar(weekend=weekend, holidays=frozenset(holidays), window_start=start, window_end=end)


def sending_window(doc) -> tuple[time | None, time | None]:
	"""The policy's sending hours to the minute, or (None, None) when it does not restrict them.

	Only an explicit "Restrict Sending Hours" makes a window: Frappe sets every Time field of a new
	document to the minute it was made, which must not become a window one instant long."""
	if not doc.get("restrict_sending_hours"):
		return None, None

	def minute(value):
		return get_time(value).replace(second=0, microsecond=0) if value else None

	return minute(doc.get("sending_window_start")), minute(doc.get("sending_window_end"))


def load_policy(name: str) -> Policy:
	cache = frappe.flags.dunning_plus_policies
	if cache is None:
		cache = frappe.flags.dunning_plus_policies = {}
	if name not in cache:
		cache[name] = to_engine(frappe.get_cached_doc("Dunning Policy", name))
	return cache[name]


def clear_policy_cache(*_args, **_kwargs):
	frappe.flags.dunning_plus_policies = None


def policy_book(company: str | None = None) -> PolicyBook:
	"""Every enabled policy, the default of each company, and the customer-group defaults."""
	names = frappe.get_all("Dunning Policy", filters={"enabled": 1}, pluck="name")
	policies = {}
	for name in names:
		try:
			policies[name] = load_policy(name)
		except EngineError:
			# A policy saved before a rule tightened is skipped, never half-applied.
			frappe.log_error(title=_("Dunning Policy {0} is invalid").format(name))
	defaults = {}
	for row in frappe.get_all(
		"Dunning Plus Company Policy",
		filters={"parenttype": "Dunning Plus Settings"},
		fields=["company", "dunning_policy"],
	):
		defaults[row.company] = row.dunning_policy
	for row in frappe.get_all(
		"Company", filters={"dunning_policy": ["is", "set"]}, fields=["name", "dunning_policy"]
	):
		defaults[row.name] = row.dunning_policy
	segments = {
		row.name: row.dunning_policy
		for row in frappe.get_all(
			"Customer Group", filters={"dunning_policy": ["is", "set"]}, fields=["name", "dunning_policy"]
		)
	}
	from dunning_plus.segments import rule_policies

	return PolicyBook(policies, defaults, segments, rule_policies(company))


@frappe.whitelist()
def get_preview(policy: str | dict, due_date: str | None = None) -> dict:
	"""For an example item due on ``due_date`` (default today): the day each step would fire.

	A policy being typed is usually not valid yet: then nothing is thrown (the form calls this on
	every change); ``problems`` says what is missing and ``steps`` is empty."""
	frappe.has_permission("Dunning Policy", "read", throw=True)
	doc = frappe.parse_json(policy) if isinstance(policy, str) else policy
	try:
		engine_policy = to_engine(doc)
	except EngineError as e:
		return {"steps": [], "problems": engine_error_lines(e)}
	due = getdate(due_date)
	out = []
	for track in ("invoice", "deposit", "plan"):
		for step, day in engine_policy.schedule(due, track):
			out.append(
				{
					"step": step.code,
					"kind": KIND_FROM_ENGINE[step.kind.value],
					"level": step.level,
					"channel": step.channel.label,
					"offset_days": step.offset_days,
					"date": str(day),
					"weekday": day.strftime("%A"),
					"shifted": (day - due).days != engine_policy.effective_offset(step),
				}
			)
	return {"steps": out, "problems": []}
