"""Shared records for dunning_plus's FrappeTestCase suites: a service item, a three-term payment
terms template, a standard policy as the company default, customers, invoices, payments."""

from __future__ import annotations

import frappe
from frappe.utils import add_days, flt, getdate

COMPANY = "_Test Company"
RECEIVABLE = "Debtors - _TC"
INCOME = "Sales - _TC"
COST_CENTER = "Main - _TC"
BANK = "_Test Bank - _TC"
ITEM = "_Test DP Service"
TERMS_3 = "_Test DP 30/30/40"
TERMS_NET30 = "_Test DP Net 30"
POLICY = "_Test DP Standard"
TEMPLATE = "_Test DP Reminder"


def ensure_item():
	if not frappe.db.exists("Item", ITEM):
		frappe.get_doc(
			{
				"doctype": "Item",
				"item_code": ITEM,
				"item_name": ITEM,
				"item_group": "Services",
				"stock_uom": "Nos",
				"is_stock_item": 0,
				"include_item_in_manufacturing": 0,
			}
		).insert(ignore_permissions=True)


def ensure_terms():
	ensure_terms_template(
		TERMS_3, ((30, 30, "_Test DP 30d"), (30, 60, "_Test DP 60d"), (40, 90, "_Test DP 90d"))
	)
	ensure_terms_template(TERMS_NET30, ((100, 30, "_Test DP Net 30d"),))


def ensure_terms_template(name: str, parts) -> None:
	"""A Payment Terms Template of (portion %, days after invoice date, term name) parts."""
	for _portion, days, term in parts:
		if not frappe.db.exists("Payment Term", term):
			frappe.get_doc(
				{
					"doctype": "Payment Term",
					"payment_term_name": term,
					"invoice_portion": 0,
					"due_date_based_on": "Day(s) after invoice date",
					"credit_days": days,
				}
			).insert(ignore_permissions=True)
	if not frappe.db.exists("Payment Terms Template", name):
		t = frappe.get_doc(
			{
				"doctype": "Payment Terms Template",
				"template_name": name,
				"allocate_payment_based_on_payment_terms": 1,
			}
		)
		for portion, days, term in parts:
			t.append(
				"terms",
				{
					"payment_term": term,
					"invoice_portion": portion,
					"due_date_based_on": "Day(s) after invoice date",
					"credit_days": days,
				},
			)
		t.insert(ignore_permissions=True)


def ensure_template(name: str = TEMPLATE):
	if not frappe.db.exists("Email Template", name):
		frappe.get_doc(
			{
				"doctype": "Email Template",
				"name": name,
				"subject": "Payment reminder for {{ customer }}",
				"use_html": 1,
				"response_html": "<p>Dear {{ customer }}, please pay {{ total }}.</p>",
			}
		).insert(ignore_permissions=True)


STANDARD_STEPS = [
	{
		"step_code": "R-7",
		"offset_days": -7,
		"kind": "Reminder",
		"channel": "Email",
		"email_template": TEMPLATE,
	},
	{
		"step_code": "R+3",
		"offset_days": 3,
		"kind": "Reminder",
		"channel": "Email",
		"email_template": TEMPLATE,
	},
	{
		"step_code": "L1",
		"offset_days": 10,
		"kind": "Dunning Level",
		"level": 1,
		"channel": "Email",
		"email_template": TEMPLATE,
		"owner_role": "Collector",
		"sla_hours": 48,
	},
	{
		"step_code": "L2",
		"offset_days": 25,
		"kind": "Dunning Level",
		"level": 2,
		"channel": "Email",
		"email_template": TEMPLATE,
		"fee": 15,
	},
	{
		"step_code": "FINAL",
		"offset_days": 45,
		"kind": "Final Notice",
		"channel": "Letter",
		"email_template": TEMPLATE,
		"approval_role": "Collections Manager",
		"credit_hold": 1,
	},
]


def ensure_policy(name: str = POLICY, steps: list[dict] | None = None, **fields) -> str:
	ensure_template()
	if frappe.db.exists("Dunning Policy", name):
		frappe.delete_doc("Dunning Policy", name, force=True, ignore_permissions=True)
	frappe.get_doc(
		{
			"doctype": "Dunning Policy",
			"policy_name": name,
			"company": COMPANY,
			"enabled": 1,
			"skip_weekends": 0,
			"steps": steps or STANDARD_STEPS,
			**fields,
		}
	).insert(ignore_permissions=True)
	return name


def setup_collections(company_default: str | None = POLICY):
	ensure_item()
	ensure_terms()
	ensure_policy()
	frappe.db.set_value("Company", COMPANY, "dunning_policy", company_default)
	frappe.flags.dunning_plus_policies = None


def make_customer(name: str, **fields) -> str:
	if frappe.db.exists("Customer", name):
		frappe.delete_doc("Customer", name, force=True, ignore_permissions=True)
	frappe.get_doc(
		{
			"doctype": "Customer",
			"customer_name": name,
			"customer_group": "_Test Customer Group",
			"territory": "_Test Territory",
			**fields,
		}
	).insert(ignore_permissions=True)
	return name


DEPOSIT_TERMS = "_Test DP Deposit 30/70"
DEPOSIT_PARTS = ((30, 0, "_Test DP Dep 30%"), (70, 30, "_Test DP Bal 70%"))


def ensure_deposit_terms():
	"""An order template: 30% deposit due at once, 70% balance 30 days later."""
	ensure_terms_template(DEPOSIT_TERMS, DEPOSIT_PARTS)


def make_order(customer: str, date, delivery_days: int = 10, rate: float = 1000, terms: str | None = None):
	ensure_deposit_terms()
	delivery = add_days(getdate(date), delivery_days)
	so = frappe.get_doc(
		{
			"doctype": "Sales Order",
			"customer": customer,
			"company": COMPANY,
			"transaction_date": getdate(date),
			"delivery_date": delivery,
			"currency": "INR",
			"payment_terms_template": terms or DEPOSIT_TERMS,
			"items": [
				{
					"item_code": ITEM,
					"qty": 1,
					"rate": rate,
					"delivery_date": delivery,
					"warehouse": "_Test Warehouse - _TC",
				}
			],
		}
	)
	so.insert(ignore_permissions=True)
	so.submit()
	return so


def pay_order(order: str, amount: float, posting_date):
	from erpnext.accounts.doctype.payment_entry.payment_entry import get_payment_entry

	pe = get_payment_entry("Sales Order", order, party_amount=amount, bank_account=BANK)
	pe.posting_date = getdate(posting_date)
	pe.reference_no, pe.reference_date = f"ADV-{order}-{amount}", getdate(posting_date)
	left = flt(amount)
	refs = []
	for ref in pe.references:  # one row per order payment term, deposit first
		ref.allocated_amount = min(flt(ref.payment_term_outstanding or ref.outstanding_amount), left)
		left -= ref.allocated_amount
		if ref.allocated_amount > 0:
			refs.append(ref)
	pe.set("references", refs)
	pe.set_amounts()
	pe.insert(ignore_permissions=True)
	pe.submit()
	return pe


def unallocated_payment(customer: str, amount: float, posting_date):
	"""A receipt not yet linked to any invoice or order."""
	pe = frappe.get_doc(
		{
			"doctype": "Payment Entry",
			"payment_type": "Receive",
			"company": COMPANY,
			"posting_date": getdate(posting_date),
			"party_type": "Customer",
			"party": customer,
			"paid_from": RECEIVABLE,
			"paid_to": BANK,
			"paid_amount": amount,
			"received_amount": amount,
			"reference_no": f"UNALLOC-{customer}-{amount}",
			"reference_date": getdate(posting_date),
		}
	)
	pe.setup_party_account_field()
	pe.set_missing_values()
	pe.set_amounts()
	pe.insert(ignore_permissions=True)
	pe.submit()
	return pe


def make_invoice(
	customer: str,
	posting_date,
	rate: float = 1000,
	terms: str | None = TERMS_3,
	submit=True,
	sales_order: str | None = None,
	schedule: list | None = None,
	**fields,
):
	si = frappe.get_doc(
		{
			"doctype": "Sales Invoice",
			"customer": customer,
			"company": COMPANY,
			"set_posting_time": 1,
			"posting_date": getdate(posting_date),
			"debit_to": RECEIVABLE,
			"currency": "INR",
			"payment_terms_template": terms,
			"disable_rounded_total": 1,
			"items": [
				{
					"item_code": ITEM,
					"qty": 1,
					"rate": rate,
					"income_account": INCOME,
					"cost_center": COST_CENTER,
				}
			],
			**fields,
		}
	)
	if sales_order:
		si.items[0].sales_order = sales_order
		si.items[0].so_detail = frappe.db.get_value("Sales Order Item", {"parent": sales_order}, "name")
	if schedule:
		si.payment_terms_template = None
		si.set(
			"payment_schedule",
			[
				{"payment_term": t, "due_date": d, "payment_amount": a, "invoice_portion": a * 100 / rate}
				for t, d, a in schedule
			],
		)
		si.due_date = max(d for _t, d, _a in schedule)
	elif not terms:
		si.due_date = add_days(getdate(posting_date), 30)
	si.insert(ignore_permissions=True)
	if submit:
		si.submit()
	return si


def pay(invoice: str, amount: float, posting_date, payment_term: str | None = None, submit=True):
	from erpnext.accounts.doctype.payment_entry.payment_entry import get_payment_entry

	pe = get_payment_entry("Sales Invoice", invoice, party_amount=amount, bank_account=BANK)
	pe.posting_date = getdate(posting_date)
	pe.reference_no = f"REF-{invoice}-{amount}"
	pe.reference_date = getdate(posting_date)
	pe.paid_amount = amount
	pe.received_amount = amount
	left = flt(amount)
	refs = []
	for ref in pe.references:
		if payment_term and ref.payment_term != payment_term:
			continue
		room = flt(ref.payment_term_outstanding) if ref.get("payment_term") else flt(ref.outstanding_amount)
		ref.allocated_amount = min(room or flt(ref.outstanding_amount), left)
		left -= ref.allocated_amount
		if ref.allocated_amount > 0:
			refs.append(ref)
	pe.set("references", refs)
	pe.set_amounts()
	pe.insert(ignore_permissions=True)
	if submit:
		pe.submit()
	return pe


def credit_note(invoice: str, amount: float, posting_date, own_outstanding: bool = False):
	"""A return of ``amount`` against ``invoice``. ``own_outstanding``: ERPNext v15's default "Update
	Outstanding for Self" (the return keeps its own negative outstanding, the invoice is unchanged);
	otherwise the return reduces the invoice's outstanding."""
	from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return

	cn = make_sales_return(invoice)
	cn.set_posting_time = 1
	cn.posting_date = getdate(posting_date)
	cn.items[0].qty = -1
	cn.items[0].rate = amount
	cn.payment_schedule = []
	if cn.meta.has_field("update_outstanding_for_self"):
		cn.update_outstanding_for_self = 1 if own_outstanding else 0
	cn.insert(ignore_permissions=True)
	cn.submit()
	return cn


def case_of(customer: str) -> frappe._dict | None:
	name = frappe.db.get_value(
		"Collection Case",
		{"customer": customer, "company": COMPANY},
		"name",
		order_by="creation desc",
	)
	return frappe.get_doc("Collection Case", name) if name else None


def make_user(email: str, roles: list[str]) -> str:
	if not frappe.db.exists("User", email):
		frappe.get_doc(
			{
				"doctype": "User",
				"email": email,
				"first_name": email.split("@")[0],
				"send_welcome_email": 0,
				"roles": [{"role": r} for r in roles],
			}
		).insert(ignore_permissions=True)
	return email


def make_address(customer: str) -> str:
	"""A billing address for ``customer``: letters need one (else the step falls back)."""
	return (
		frappe.get_doc(
			{
				"doctype": "Address",
				"address_title": customer,
				"address_type": "Billing",
				"address_line1": "1 Main Street",
				"city": "Zurich",
				"country": "Switzerland",
				"links": [{"link_doctype": "Customer", "link_name": customer}],
			}
		)
		.insert(ignore_permissions=True)
		.name
	)
