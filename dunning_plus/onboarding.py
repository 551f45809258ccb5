"""Guided setup of the Collections workspace (Frappe's Module Onboarding "Collections"): each step
is marked done from the data, whenever the settings, a policy, a company or a customer is saved, and
when test messages are sent; and "Send Yourself a Test of Each Step".

The steps (dunning_plus/dunning_plus/onboarding_step/):

1. a default policy for a company (Dunning Plus Settings > Company Policies, or Company > Default
   Dunning Policy) that exists;
2. the sending Email Account in the settings;
3. the run hour in the settings;
4. collectors: a default collector in the settings, or a collector on a customer;
5. a test message of each step sent to yourself (an Email Queue entry of a Dunning Policy);
6. automation on, with an enabled default policy."""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import flt, get_url, getdate, nowdate

ONBOARDING = "Collections"
STEP_DEFAULT_POLICY = "Choose the Default Dunning Policy"
STEP_EMAIL_ACCOUNT = "Choose the Sending Email Account"
STEP_RUN_HOUR = "Set the Run Hour"
STEP_COLLECTORS = "Assign Collectors"
STEP_TEST_MESSAGES = "Send Yourself a Test of Each Step"
STEP_AUTOMATION = "Switch On Automation"


def default_policies() -> list[str]:
	rows = frappe.get_all(
		"Dunning Plus Company Policy",
		filters={"parenttype": "Dunning Plus Settings"},
		pluck="dunning_policy",
	)
	if frappe.get_meta("Company").has_field("dunning_policy"):
		rows += frappe.get_all("Company", filters={"dunning_policy": ["is", "set"]}, pluck="dunning_policy")
	return [p for p in dict.fromkeys(rows) if p and frappe.db.exists("Dunning Policy", p)]


def _settings():
	return frappe.get_cached_doc("Dunning Plus Settings")


def has_collectors() -> bool:
	if _settings().default_collector:
		return True
	return bool(
		frappe.get_meta("Customer").has_field("dunning_collector")
		and frappe.db.exists("Customer", {"dunning_collector": ["is", "set"]})
	)


def automation_on() -> bool:
	policies = default_policies()
	enabled = policies and frappe.db.exists("Dunning Policy", {"name": ["in", policies], "enabled": 1})
	return bool(_settings().enable_automation and enabled)


CHECKS = {
	STEP_DEFAULT_POLICY: lambda: bool(default_policies()),
	STEP_EMAIL_ACCOUNT: lambda: bool(_settings().sender_email_account),
	STEP_RUN_HOUR: lambda: _settings().run_hour is not None,
	STEP_COLLECTORS: has_collectors,
	STEP_TEST_MESSAGES: lambda: bool(
		frappe.db.exists("Email Queue", {"reference_doctype": "Dunning Policy"})
	),
	STEP_AUTOMATION: automation_on,
}


def step_status() -> dict[str, bool]:
	return {name: bool(check()) for name, check in CHECKS.items()}


def update_onboarding(*_args, **_kwargs) -> dict[str, bool]:
	"""Marks the steps the data shows done (and the onboarding, when all are); the widget shows it.
	Once the whole onboarding is complete nothing is checked any more (one query per save)."""
	done_already = frappe.db.get_value("Module Onboarding", ONBOARDING, "is_complete")
	if done_already is None or done_already:
		return {}
	frappe.clear_document_cache("Dunning Plus Settings", "Dunning Plus Settings")
	status = step_status()
	for name, done in status.items():
		current = frappe.db.get_value("Onboarding Step", name, "is_complete")
		if current is not None and done and not current:
			frappe.db.set_value("Onboarding Step", name, "is_complete", 1, update_modified=False)
	if all(status.values()):
		frappe.db.set_value("Module Onboarding", ONBOARDING, "is_complete", 1, update_modified=False)
	return status


# -- test messages -----------------------------------------------------------------------------


def customer_with_open_items(company: str | None = None) -> tuple[str, str] | None:
	"""(customer, company) with the most open invoice instalments: a real example to render."""
	from frappe.query_builder import Order
	from frappe.query_builder.functions import Count

	si = frappe.qb.DocType("Sales Invoice")
	q = (
		frappe.qb.from_(si)
		.select(si.customer, si.company, Count("*").as_("n"))
		.where((si.docstatus == 1) & (si.outstanding_amount > 0) & (si.is_return == 0))
		.groupby(si.customer, si.company)
		.orderby(Count("*"), order=Order.desc)
		.orderby(si.customer)
		.limit(1)
	)
	if company:
		q = q.where(si.company == company)
	row = q.run()
	return (row[0][0], row[0][1]) if row else None


def test_context(company: str, customer: str, step, recipient: str) -> dict:
	"""The context a real message of ``step`` to ``customer`` would render with (its open items as
	of today), the collection-page link being the case's own link for ``recipient`` (or the portal)."""
	from dunning_plus.statement import dunning_statement

	st = dunning_statement(company, customer)
	today = getdate(nowdate())
	rows = [r for r in st["rows"] if r["reference_doctype"] == "Sales Invoice" and r["due"] > 0]
	items = [
		{
			"invoice": r["reference_name"],
			"payment_term": r["payment_term"],
			"due_date": r["due_date"],
			"days_overdue": max((today - getdate(r["due_date"])).days, 0),
			"outstanding": flt(r["outstanding"]),
			"credit_applied": flt(r["credit_applied"]),
			"amount": flt(r["due"]),
			"step": step.code,
			"step_title": _(step.title),
			"level": step.level,
			"pay_link": get_url(f"/invoices/{r['reference_name']}"),
		}
		for r in rows
	]
	currency = (
		rows[0]["currency"] if rows else frappe.get_cached_value("Company", company, "default_currency")
	)
	total = sum(i["amount"] for i in items)
	fee = flt(step.fee)
	case = frappe.db.get_value(
		"Collection Case", {"customer": customer, "company": company, "status": ["!=", "Closed"]}, "name"
	)
	if case:
		from dunning_plus.collect_links import collect_url

		link = collect_url(case, recipient)
	else:
		link = get_url("/invoices")
	customer_name = frappe.get_cached_value("Customer", customer, "customer_name")
	return {
		"customer": customer,
		"customer_name": customer_name,
		"company": company,
		"case": case,
		"items": items,
		"credits": [],
		"credit_total": flt(st["open_credit"]),
		"currency": currency,
		"total": total,
		"fee": fee,
		"interest": 0,
		"grand_total": total + fee,
		"level": step.level,
		"step": step.code,
		"step_title": _(step.title),
		"kind": step.kind.value,
		"pay_link": link,
		"collect_url": link,
	}


@frappe.whitelist()
def send_test_messages(policy: str, customer: str | None = None) -> list[dict]:
	"""Renders every email step of ``policy`` with a real customer's open items, in the customer's
	language, and sends each to the current user only (never to the customer)."""
	frappe.has_permission("Dunning Policy", "write", doc=policy, throw=True)
	from dunning_plus.delivery import render
	from dunning_plus.policies import to_engine

	recipient = frappe.db.get_value("User", frappe.session.user, "email")
	if not recipient or "@" not in recipient:
		frappe.throw(_("Your user has no email address to send the test to."), title=_("Test Messages"))
	doc = frappe.get_doc("Dunning Policy", policy)
	engine_policy = to_engine(doc)
	if customer:
		# the company where the customer has open invoices (the policy's own when it has some there)
		companies = frappe.get_all(
			"Sales Invoice",
			filters={"customer": customer, "docstatus": 1, "outstanding_amount": [">", 0], "is_return": 0},
			pluck="company",
			distinct=True,
		)
		company = doc.company if doc.company in companies else next(iter(sorted(companies)), None)
		found = (customer, company) if company else None
	else:
		found = customer_with_open_items(doc.company)
	if not found:
		frappe.throw(
			_("There is no customer with open invoices to render the test with."), title=_("Test Messages")
		)
	customer, company = found
	language = frappe.db.get_value("Customer", customer, "language")
	# from the account real messages go out from (the settings'), else the site's default outgoing one
	account = frappe.db.get_single_value("Dunning Plus Settings", "sender_email_account")
	sender = frappe.db.get_value("Email Account", account, "email_id") if account else None
	sent = []
	for step in engine_policy.steps:
		template = step.template_for(language)
		if step.channel.value != "email" or not template:
			continue
		subject, body = render(template, test_context(company, customer, step, recipient))
		frappe.sendmail(
			recipients=[recipient],
			sender=sender,
			subject=_("[Test {0}] {1}").format(step.code, subject),
			message=body,
			reference_doctype="Dunning Policy",
			reference_name=policy,
		)
		sent.append({"step": step.code, "template": template, "subject": subject})
	update_onboarding()
	return sent
