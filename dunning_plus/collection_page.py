"""The customer's collection page, ``/collect/<token>`` (dunning_plus/www/collect.py): what the case of
a link shows, and what the customer does there without a login.

The functions marked ``allow_guest`` below are the page's methods and the only guest methods of the
app. Each one first resolves the token (a wrong, tampered, expired or revoked token, or a resolved
case, gets one and the same refusal), then validates the whole post before it writes anything, and
acts through the controllers a collector's button uses, inside ``audit.customer_acting`` so the
audit trail and the timeline say it was the customer. Posts are rate-limited per address and token.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict

import frappe
from frappe import _
from frappe.query_builder import Order
from frappe.query_builder.functions import Coalesce
from frappe.rate_limiter import rate_limit
from frappe.utils import (
	add_days,
	cint,
	escape_html,
	flt,
	fmt_money,
	formatdate,
	getdate,
	nowdate,
	strip_html,
)

from dunning_plus import collect_links
from dunning_plus.audit import customer_acting, record_decision
from dunning_plus.items import default_items

DEFAULT_MAX_PROMISE_DAYS = 30
DEFAULT_MAX_UPLOAD_MB = 5
NOTE_LIMIT = 2000
REFERENCE_LIMIT = 140
# extension -> how the file's first bytes must look (what is claimed is checked against the content)
FILE_SIGNATURES = {
	"pdf": (b"%PDF-",),
	"png": (b"\x89PNG\r\n\x1a\n",),
	"jpg": (b"\xff\xd8\xff",),
	"jpeg": (b"\xff\xd8\xff",),
}
POSTS_PER_HOUR = 20
DOWNLOADS_PER_HOUR = 60
# what a successful post tells the customer after the page reloads (?done=<key>)
DONE = {
	"promise": "Thank you: we have noted your promise to pay.",
	"dispute": "Thank you: we have noted your dispute and will come back to you.",
	"remittance": "Thank you: we have received your remittance advice.",
	"plan": "Thank you: your payment plan is active. We will remind you before each instalment.",
}


class CollectionPageError(frappe.PermissionError):
	"""The one answer to a link that does not work, whatever is wrong with it."""


def _refuse():
	frappe.throw(
		_("This link does not work (any more). Please use the link in our latest message or contact us."),
		CollectionPageError,
		title=_("Link Not Valid"),
	)


def _open(token) -> tuple[frappe._dict, object]:
	link = collect_links.resolve(token)
	if link is None:
		_refuse()
	case = frappe.get_doc("Collection Case", link.collection_case)
	set_language(case.customer)
	return link, case


def set_language(customer: str) -> str:
	"""The customer's language (Customer.language), falling back to the system language."""
	lang = (
		frappe.db.get_value("Customer", customer, "language")
		or frappe.db.get_single_value("System Settings", "language")
		or "en"
	)
	frappe.local.lang = lang
	return lang


# ---------------------------------------------------------------- what the page shows


def open_items(case) -> list[frappe._dict]:
	"""The case's open items with what the customer needs per item."""
	today = getdate(nowdate())
	promised = _promised_rows(case.name)
	rows = []
	for r in case.items:
		if flt(r.outstanding) <= 0:
			continue
		due = max(flt(r.outstanding) - flt(r.credit_applied), 0)
		disputed = flt(r.disputed_amount) > 0 or r.paused_by == "Dispute"
		rows.append(
			frappe._dict(
				id=r.payment_schedule,
				reference_doctype=r.reference_doctype,
				reference_name=r.reference_name,
				payment_term=r.payment_term,
				due_date=getdate(r.due_date),
				days_overdue=max((today - getdate(r.due_date)).days, 0),
				outstanding=flt(r.outstanding),
				credit_applied=flt(r.credit_applied),
				due=due,
				disputed_amount=flt(r.disputed_amount),
				payable=max(due - flt(r.disputed_amount), 0) if r.paused_by != "Dispute" else 0,
				disputed=disputed,
				promised=r.payment_schedule in promised or r.paused_by == "Promise",
				planned=r.paused_by == "Plan",
				currency=r.currency or case.currency,
			)
		)
	return rows


def _promised_rows(case_name: str) -> set[str]:
	pp = frappe.qb.DocType("Payment Promise")
	item = frappe.qb.DocType("Payment Promise Item")
	return {
		r[0]
		for r in frappe.qb.from_(item)
		.join(pp)
		.on(pp.name == item.parent)
		.select(item.payment_schedule)
		.where((pp.collection_case == case_name) & (pp.status == "Pending"))
		.run()
	}


def offered_plans(case) -> list[frappe._dict]:
	"""Payment plans of the case the customer can accept here: proposed, not accepted yet, and not
	waiting for an approval (approved, or not needing one); each with its instalments."""
	pp = frappe.qb.DocType("Payment Plan")
	plans = (
		frappe.qb.from_(pp)
		.select(pp.name, pp.covered_amount, pp.currency, pp.needs_approval, pp.approved_by)
		.where(
			(pp.collection_case == case.name)
			& (pp.docstatus == 1)
			& (pp.status == "Proposed")
			& (pp.accepted == 0)
			& ((pp.needs_approval == 0) | (Coalesce(pp.approved_by, "") != ""))
		)
		.orderby(pp.creation)
		.run(as_dict=True)
	)
	return [_with_instalments(p) for p in plans]


def active_plans(case) -> list[frappe._dict]:
	"""The case's active payment plans with their instalments, to show what is due when."""
	plans = frappe.get_all(
		"Payment Plan",
		filters={"collection_case": case.name, "docstatus": 1, "status": "Active"},
		fields=["name", "covered_amount", "currency"],
		order_by="creation asc",
	)
	return [_with_instalments(p) for p in plans]


def _with_instalments(plan) -> frappe._dict:
	plan = frappe._dict(plan)
	plan.instalments = frappe.get_all(
		"Payment Plan Instalment",
		filters={"parent": plan.name, "parenttype": "Payment Plan"},
		fields=["due_date", "amount", "paid_amount", "status"],
		order_by="idx asc",
	)
	return plan


def max_promise_days(case) -> int:
	days = frappe.db.get_value("Dunning Policy", case.policy, "max_promise_days") if case.policy else None
	return cint(days) if days not in (None, "") else DEFAULT_MAX_PROMISE_DAYS


def max_upload_bytes() -> int:
	mb = frappe.db.get_single_value("Dunning Plus Settings", "collection_page_max_upload_mb")
	return (cint(mb) if mb not in (None, "") else DEFAULT_MAX_UPLOAD_MB) * 1024 * 1024


def gateway_account(company: str, currency: str | None) -> str | None:
	"""The company's Payment Gateway Account for the currency (the default one first), when the
	payments app is there to take the payment."""
	if not currency or "payments" not in frappe.get_installed_apps():
		return None
	pga = frappe.qb.DocType("Payment Gateway Account")
	acc = frappe.qb.DocType("Account")
	found = (
		frappe.qb.from_(pga)
		.join(acc)
		.on(acc.name == pga.payment_account)
		.select(pga.name)
		.where((acc.company == company) & (pga.currency == currency))
		.where(pga.payment_channel.isnull() | (pga.payment_channel != "Phone"))
		.orderby(pga.is_default, order=Order.desc)
		.orderby(pga.name)
		.limit(1)
		.run()
	)
	return found[0][0] if found else None


def bank_details(company: str) -> frappe._dict | None:
	"""The company's default bank account, for customers paying by transfer."""
	ba = frappe.qb.DocType("Bank Account")
	bank = frappe.qb.DocType("Bank")
	found = (
		frappe.qb.from_(ba)
		.left_join(bank)
		.on(bank.name == ba.bank)
		.select(
			ba.account_name,
			ba.bank,
			ba.iban,
			ba.bank_account_no,
			ba.branch_code,
			bank.swift_number,
		)
		.where((ba.company == company) & (ba.is_company_account == 1) & (ba.disabled == 0))
		.orderby(ba.is_default, order=Order.desc)
		.orderby(ba.creation)
		.limit(1)
		.run(as_dict=True)
	)
	return found[0] if found else None


def company_details(company: str) -> frappe._dict:
	info = frappe.db.get_value(
		"Company", company, ["company_name", "company_logo", "email", "phone_no", "website"], as_dict=True
	)
	from erpnext.setup.doctype.company.company import get_default_company_address
	from frappe.contacts.doctype.address.address import render_address

	address = get_default_company_address(company)
	html = render_address(address, check_permissions=False) if address else ""
	info.address_lines = [
		t for t in (strip_html(p).strip() for p in re.split(r"<br\s*/?>|\n", html or "")) if t
	]
	if not (info.company_logo or "").startswith(("/files/", "https://", "http://")):
		info.company_logo = None  # a private file would not load for the customer
	return info


def _money(amount, currency) -> str:
	return fmt_money(flt(amount), currency=currency)


def page_context(token) -> dict:
	"""Everything the page template needs; ``valid`` False (and nothing else) for a link that does
	not work."""
	link = collect_links.resolve(token)
	if link is None:
		return {"valid": False}
	case = frappe.get_doc("Collection Case", link.collection_case)
	lang = set_language(case.customer)
	today = getdate(nowdate())
	items = open_items(case)
	currency = case.currency or (items[0].currency if items else None)
	gateway = gateway_account(case.company, currency)
	promise_items = {i["payment_schedule"] for i in default_items(case, exclude_paused=("Dispute",))}
	promise_max = sum(i.payable for i in items if i.id in promise_items)
	pending = frappe.get_all(
		"Payment Promise",
		filters={"collection_case": case.name, "status": "Pending"},
		fields=["name", "promised_date", "amount", "notes", "source"],
		order_by="promised_date asc",
	)
	disputes = frappe.get_all(
		"Collection Dispute",
		filters={"collection_case": case.name},
		fields=["name", "reason", "amount", "status", "description", "source", "opened_on"],
		order_by="opened_on desc, creation desc",
		limit=20,
	)
	customer = frappe.db.get_value("Customer", case.customer, ["customer_name", "email_id"], as_dict=True)
	base = "/api/method/dunning_plus.collection_page"
	return {
		"valid": True,
		"lang": lang,
		"token": token,
		"case": case.name,
		"today": today,
		"company": company_details(case.company),
		"customer_name": customer.customer_name or case.customer,
		"currency": currency,
		"items": items,
		"totals": {
			"overdue": sum(i.due for i in items if i.due_date < today),
			"not_due": sum(i.due for i in items if i.due_date >= today),
			"disputed": sum(i.disputed_amount for i in items),
			"promised": sum(flt(p.amount) for p in pending),
		},
		"open_credit": flt(case.open_credit_amount),
		"pay_online": bool(gateway),
		"pay_all": sum(i.payable for i in items),
		"bank": None if gateway else bank_details(case.company),
		"references": sorted({i.reference_name for i in items}),
		"promise": {
			"min": today,
			"max": add_days(today, max_promise_days(case)),
			"max_amount": promise_max,
		},
		"pending_promises": pending,
		"offered_plans": offered_plans(case),
		"active_plans": active_plans(case),
		"disputes": disputes,
		"dispute_items": [i for i in items if i.reference_doctype == "Sales Invoice" and not i.disputed],
		"reasons": frappe.get_all("Dispute Reason", pluck="name", order_by="name asc"),
		"max_upload_mb": max_upload_bytes() // (1024 * 1024),
		"statement_url": f"{base}.statement?token={token}",
		"document_url": f"{base}.document?token={token}&name=",
		"api": base,
		"done": _(DONE[frappe.form_dict.get("done")]) if frappe.form_dict.get("done") in DONE else None,
		"money": _money,
		"formatdate": formatdate,
	}


# ---------------------------------------------------------------- validation of posts


def _amount(value, label: str) -> float:
	amount = flt(value) if isinstance(value, str | int | float) else 0
	if amount <= 0 or amount > 1e12:
		frappe.throw(_("Enter an amount above zero for {0}.").format(label), title=_("Invalid Amount"))
	return amount


def _date(value):
	try:
		return getdate(value) if value else None
	except Exception:
		return None


def _text(value, limit: int, label: str, required: bool = False) -> str:
	text = (value or "").strip() if isinstance(value, str) else ""
	if required and not text:
		frappe.throw(_("Enter {0}.").format(label), title=_("Missing Value"))
	if len(text) > limit:
		frappe.throw(_("{0} is too long: at most {1} characters.").format(label, limit), title=_("Too Long"))
	return text


def _item_ids(value) -> list[str]:
	if value in (None, ""):
		return []
	if isinstance(value, str):
		try:
			value = json.loads(value)
		except ValueError:
			value = [v for v in value.split(",") if v.strip()]
	if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
		frappe.throw(_("The chosen items could not be read."), title=_("Invalid Items"))
	return list(dict.fromkeys(v.strip() for v in value))


def _case_items(case, ids: list[str]) -> list[frappe._dict]:
	"""The posted items as this case's open items; anything else (another case's or customer's
	item, a settled one) refuses the whole post."""
	by_id = {i.id: i for i in open_items(case)}
	if not ids or any(i not in by_id for i in ids):
		frappe.throw(_("Choose items from the open items on this page."), title=_("Invalid Items"))
	return [by_id[i] for i in ids]


def _posted_file(fieldname: str, required: bool) -> tuple[str, bytes] | None:
	"""The uploaded file of the post, checked: PDF, PNG or JPG by name and by content, within the
	size limit."""
	storage = frappe.request.files.get(fieldname) if frappe.request and frappe.request.files else None
	if storage is None or not storage.filename:
		if required:
			frappe.throw(_("Attach the file (PDF, PNG or JPG)."), title=_("File Missing"))
		return None
	name = os.path.basename(storage.filename.replace("\\", "/")).strip()[:120] or "upload"
	ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
	limit = max_upload_bytes()
	content = storage.stream.read(limit + 1)
	if len(content) > limit:
		frappe.throw(
			_("The file is too large: at most {0} MB.").format(limit // (1024 * 1024)),
			title=_("File Too Large"),
		)
	if ext not in FILE_SIGNATURES or not content.startswith(FILE_SIGNATURES[ext]):
		frappe.throw(_("Only PDF, PNG and JPG files can be sent."), title=_("File Type Not Allowed"))
	return name, content


def _save_file(upload: tuple[str, bytes], doctype: str, name: str):
	file = frappe.get_doc(
		{
			"doctype": "File",
			"file_name": upload[0],
			"content": upload[1],
			"is_private": 1,
			"attached_to_doctype": doctype,
			"attached_to_name": name,
		}
	)
	file.flags.ignore_permissions = True
	file.insert()
	return file


def _todo(user: str, doctype: str, name: str, description: str) -> str:
	todo = frappe.get_doc(
		{
			"doctype": "ToDo",
			"allocated_to": user,
			"reference_type": doctype,
			"reference_name": name,
			"date": nowdate(),
			"priority": "Medium",
			"description": description,
		}
	)
	todo.insert(ignore_permissions=True)
	return todo.name


def _collector(case) -> str:
	from dunning_plus.delivery import users_with_role

	return (
		case.collector
		or frappe.db.get_single_value("Dunning Plus Settings", "default_collector")
		or next(iter(users_with_role("Collections Manager")), None)
		or "Administrator"
	)


def _accountant() -> str:
	from dunning_plus.delivery import users_with_role

	return (
		frappe.db.get_single_value("Dunning Plus Settings", "remittance_owner")
		or next(iter(u for u in users_with_role("Accounts User") if u != "Administrator"), None)
		or "Administrator"
	)


# ---------------------------------------------------------------- the page's methods (guest)


@frappe.whitelist(allow_guest=True, methods=["POST"])
@rate_limit(key="token", limit=POSTS_PER_HOUR, seconds=60 * 60)
def promise(token: str, promised_date: str, amount: str | float, note: str | None = None) -> dict:
	"""A promise to pay ``amount`` by ``promised_date``: a Payment Promise with source Customer over
	the undisputed open items, and a ToDo for the collector; dunning pauses as for any promise."""
	_link, case = _open(token)
	day = _date(promised_date)
	today = getdate(nowdate())
	latest = add_days(today, max_promise_days(case))
	if day is None:
		frappe.throw(_("Enter the date you will pay by."), title=_("Invalid Date"))
	if day < today or day > latest:
		frappe.throw(
			_("Choose a date from {0} to {1}.").format(formatdate(today), formatdate(latest)),
			title=_("Invalid Date"),
		)
	value = _amount(amount, _("the promise"))
	items = {i["payment_schedule"] for i in default_items(case, exclude_paused=("Dispute",))}
	undisputed = sum(i.payable for i in open_items(case) if i.id in items)
	if value > undisputed + 0.005:
		frappe.throw(
			_("You can promise at most {0}, the undisputed amount outstanding.").format(
				_money(undisputed, case.currency)
			),
			title=_("Invalid Amount"),
		)
	note = _text(note, NOTE_LIMIT, _("The note"))
	with customer_acting():
		doc = case.make_promise(day, value, note or None, source="Customer", ignore_permissions=True)
		_todo(
			_collector(case),
			"Payment Promise",
			doc.name,
			escape_html(
				_("{0} promised on the collection page to pay {1} by {2}.").format(
					case.customer_name or case.customer, _money(value, case.currency), formatdate(day)
				)
			),
		)
	return {"name": doc.name, "done": "promise"}


@frappe.whitelist(allow_guest=True, methods=["POST"])
@rate_limit(key="token", limit=POSTS_PER_HOUR, seconds=60 * 60)
def dispute(
	token: str,
	items: str | list,
	reason: str,
	amount: str | float,
	comment: str | None = None,
) -> dict:
	"""A dispute of the chosen items with a Dispute Reason, an amount, a comment and optionally a
	file (PDF, PNG, JPG): a Collection Dispute with source Customer, routed like any dispute."""
	_link, case = _open(token)
	chosen = _case_items(case, _item_ids(items))
	if any(i.reference_doctype != "Sales Invoice" or i.disputed for i in chosen):
		frappe.throw(
			_("Only invoices that are not disputed already can be disputed here."),
			title=_("Invalid Items"),
		)
	if not isinstance(reason, str) or not reason or not frappe.db.exists("Dispute Reason", reason):
		frappe.throw(_("Choose a reason from the list."), title=_("Invalid Reason"))
	value = _amount(amount, _("the dispute"))
	covered = sum(i.outstanding for i in chosen)
	if value > covered + 0.005:
		frappe.throw(
			_("You can dispute at most {0}, the outstanding amount of the chosen items.").format(
				_money(covered, case.currency)
			),
			title=_("Invalid Amount"),
		)
	comment = _text(comment, NOTE_LIMIT, _("The comment"))
	upload = _posted_file("attachment", required=False)
	rows = [{"sales_invoice": i.reference_name, "payment_schedule": i.id} for i in chosen]
	with customer_acting():
		doc = case.make_dispute(
			reason, rows, value, comment or None, source="Customer", ignore_permissions=True
		)
		if upload:
			_save_file(upload, "Collection Dispute", doc.name)
	return {"name": doc.name, "done": "dispute"}


@frappe.whitelist(allow_guest=True, methods=["POST"])
@rate_limit(key="token", limit=POSTS_PER_HOUR, seconds=60 * 60)
def accept_plan(token: str, plan: str) -> dict:
	"""The customer accepts a payment plan offered on the case (one the page shows): the plan becomes
	Active and dunning pauses on its items, as when the collector records the customer's consent."""
	from dunning_plus.plans import accept

	_link, case = _open(token)
	offered = {p.name for p in offered_plans(case)}
	if not isinstance(plan, str) or plan not in offered:
		frappe.throw(
			_("This payment plan cannot be accepted (any more). Please contact us."),
			title=_("Plan Not Available"),
		)
	doc = frappe.get_doc("Payment Plan", plan, for_update=True)  # two posts at once: one accepts
	if doc.status != "Proposed" or doc.accepted:
		frappe.throw(
			_("This payment plan cannot be accepted (any more). Please contact us."),
			title=_("Plan Not Available"),
		)
	with customer_acting():
		accept(doc, "Customer")
	return {"name": doc.name, "done": "plan"}


@frappe.whitelist(allow_guest=True, methods=["POST"])
@rate_limit(key="token", limit=POSTS_PER_HOUR, seconds=60 * 60)
def remittance(token: str, reference: str, amount: str | float) -> dict:
	"""A remittance advice (a PDF, PNG or JPG with the payment's reference and amount): attached to
	the case, with a ToDo for the accountant to match the payment."""
	_link, case = _open(token)
	reference = _text(reference, REFERENCE_LIMIT, _("The payment reference"), required=True)
	value = _amount(amount, _("the payment"))
	upload = _posted_file("file", required=True)
	with customer_acting():
		file = _save_file(upload, "Collection Case", case.name)
		text = _("Remittance advice {0} for {1}: {2}").format(
			escape_html(reference), _money(value, case.currency), escape_html(file.file_name)
		)
		_todo(
			_accountant(),
			"Collection Case",
			case.name,
			_("{0} sent a remittance advice on the collection page: reference {1}, {2}, file {3}.").format(
				escape_html(case.customer_name or case.customer),
				escape_html(reference),
				_money(value, case.currency),
				escape_html(file.file_url),
			),
		)
		record_decision(case.name, case.company, case.customer, "Payment", text, reference=file)
	return {"name": file.name, "done": "remittance"}


@frappe.whitelist(allow_guest=True, methods=["POST"])
@rate_limit(key="token", limit=POSTS_PER_HOUR, seconds=60 * 60)
def pay(token: str, items: str | list | None = None) -> dict:
	"""Online payment of the chosen items (empty: everything payable) through ERPNext's Payment
	Request and the company's payment gateway: one request per invoice, an open one reused. The
	gateway's payment comes back through ERPNext (Payment Entry) and our events update the case."""
	link, case = _open(token)
	gateway = gateway_account(case.company, case.currency)
	if not gateway:
		frappe.throw(
			_("Online payment is not available: please pay by bank transfer as shown on the page."),
			title=_("Online Payment Not Available"),
		)
	ids = _item_ids(items)
	chosen = _case_items(case, ids) if ids else [i for i in open_items(case) if i.payable > 0]
	if not chosen or any(i.payable <= 0 for i in chosen):
		frappe.throw(_("Nothing of the chosen items can be paid now."), title=_("Invalid Items"))
	amounts: dict[tuple[str, str], float] = defaultdict(float)
	for i in chosen:
		amounts[(i.reference_doctype, i.reference_name)] += i.payable
	email = link.recipient or frappe.db.get_value("Customer", case.customer, "email_id")
	requests = []
	with customer_acting():
		for (doctype, name), value in amounts.items():
			pr, new = _payment_request(case, doctype, name, value, gateway, email)
			if new:
				record_decision(
					case.name,
					case.company,
					case.customer,
					"Payment",
					_("Payment Request {0} for {1} opened to pay online").format(
						pr.name, _money(pr.grand_total, pr.currency)
					),
					reference=pr,
				)
			requests.append(
				{"reference": name, "amount": _money(pr.grand_total, pr.currency), "url": pr.payment_url}
			)
	if len(requests) == 1:
		return {"redirect": requests[0]["url"]}
	return {"requests": requests}


def _payment_request(case, doctype: str, name: str, amount: float, gateway: str, email: str | None):
	"""An open ERPNext Payment Request of the document for this amount, or a new one (superseding
	the document's unpaid open requests, as ERPNext's own shopping cart does)."""
	from erpnext.accounts.doctype.payment_request.payment_request import (
		get_irequest_status,
		make_payment_request,
	)

	open_requests = frappe.get_all(
		"Payment Request",
		filters={
			"reference_doctype": doctype,
			"reference_name": name,
			"docstatus": 1,
			"payment_request_type": "Inward",
			"status": ["in", ["Requested", "Initiated"]],
		},
		fields=["name", "grand_total", "payment_gateway_account", "payment_url"],
		order_by="creation desc",
	)
	for r in open_requests:
		if (
			r.payment_gateway_account == gateway
			and r.payment_url
			and abs(flt(r.grand_total) - amount) < 0.005
		):
			return frappe.get_doc("Payment Request", r.name), False
	if open_requests and get_irequest_status([r.name for r in open_requests]):
		frappe.throw(
			_("A payment of {0} is already being processed.").format(name), title=_("Payment In Progress")
		)
	for r in open_requests:
		old = frappe.get_doc("Payment Request", r.name)
		old.flags.ignore_permissions = True
		old.cancel()
	pr = make_payment_request(
		dt=doctype,
		dn=name,
		party_type="Customer",
		party=case.customer,
		recipient_id=email,
		payment_gateway_account=gateway,
		mute_email=1,
		return_doc=1,
	)
	pr.grand_total = min(flt(amount), flt(pr.grand_total))
	pr.flags.ignore_permissions = True
	pr.flags.mute_email = True
	if pr.is_new():
		pr.insert()
	else:
		pr.save()
	pr.submit()
	pr.set_payment_request_url()
	return pr, True


def payment_entry_from_page_request(doc, method=None):
	"""Payment Entry before_validate: a payment of a collection page's Payment Request covers only
	the request's amount.

	ERPNext v15 makes the Payment Entry of a request (on the gateway's confirmation) from the whole
	invoice: with payment terms it allocates every term, gives the request's amount to the first
	rows and keeps the rest as extra rows without a request, so a request for part of the invoice
	(one open item) fails with "Difference Amount must be zero" and the payment is never booked.
	Those extra rows are dropped here, for requests this page made only."""
	requests = {r.payment_request for r in doc.references if r.payment_request}
	if not requests or doc.payment_type != "Receive":
		return
	ca = frappe.qb.DocType("Collection Action")
	ours = (
		frappe.qb.from_(ca)
		.select(ca.reference_name)
		.where((ca.reference_doctype == "Payment Request") & ca.reference_name.isin(list(requests)))
		.run(pluck=True)
	)
	if not ours:
		return
	paid = flt(doc.paid_amount)  # receiving: in the party account's currency, as the allocations are
	covered = {(r.reference_doctype, r.reference_name) for r in doc.references if r.payment_request in ours}
	allocated = sum(flt(r.allocated_amount) for r in doc.references)
	if allocated <= paid + 0.005:
		return
	keep = [
		r
		for r in doc.references
		if r.payment_request or (r.reference_doctype, r.reference_name) not in covered
	]
	for idx, row in enumerate(keep, start=1):
		row.idx = idx
	doc.set("references", keep)


# ---------------------------------------------------------------- downloads (guest)


@frappe.whitelist(allow_guest=True, methods=["GET"])
@rate_limit(key="token", limit=DOWNLOADS_PER_HOUR, seconds=60 * 60)
def statement(token: str) -> None:
	"""The case's open-items statement as a PDF, in the customer's language."""
	_link, case = _open(token)
	from dunning_plus.delivery import STATEMENT_FORMAT

	_send_pdf("Collection Case", case.name, STATEMENT_FORMAT, _("Statement {0}").format(case.name))


@frappe.whitelist(allow_guest=True, methods=["GET"])
@rate_limit(key="token", limit=DOWNLOADS_PER_HOUR, seconds=60 * 60)
def document(token: str, name: str) -> None:
	"""An open item's invoice (or order) as a PDF in its default print format."""
	_link, case = _open(token)
	refs = {i.reference_name: i.reference_doctype for i in open_items(case)}
	if not isinstance(name, str) or name not in refs:
		frappe.throw(_("Choose a document from the open items on this page."), title=_("Invalid Items"))
	doctype = refs[name]
	print_format = frappe.get_meta(doctype).default_print_format or "Standard"
	_send_pdf(doctype, name, print_format, name)


def _send_pdf(doctype: str, name: str, print_format: str, filename: str) -> None:
	frappe.flags.ignore_print_permissions = True
	try:
		pdf = frappe.get_print(doctype, name, print_format=print_format, as_pdf=True)
	finally:
		frappe.flags.ignore_print_permissions = False
	frappe.local.response.filename = f"{filename.replace('/', '-')}.pdf"
	frappe.local.response.filecontent = pdf
	frappe.local.response.type = "pdf"
