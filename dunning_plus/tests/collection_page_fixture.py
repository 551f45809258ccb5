"""A collection case with a real link on a test site, for scripts/collection_page_check.py:

    bench --site SITE execute dunning_plus.tests.collection_page_fixture.prepare

needs the _Test records a test run builds (run the app's suite on the site once first). Dates are
today's: the browser acts on the page as a customer would now."""

from __future__ import annotations

import frappe
from frappe.utils import add_days, nowdate

from dunning_plus import collect_links
from dunning_plus.tests.utils import (
	BANK,
	COMPANY,
	case_of,
	make_customer,
	make_invoice,
	setup_collections,
)


def prepare() -> dict:
	"""Makes a customer with two overdue invoices (three open items), a company bank account and
	the case's link; returns the link, the case and the customer."""
	if not frappe.db.exists("Company", COMPANY):
		raise frappe.ValidationError(
			f"{COMPANY} is missing: run the app's test suite on this site once first"
		)
	setup_collections()
	ensure_bank_account()
	customer = make_customer(
		f"_Test DP Browser {frappe.generate_hash(length=6)}", email_id="ap@browser.example"
	)
	today = nowdate()
	make_invoice(customer, add_days(today, -35), rate=1200)
	make_invoice(customer, add_days(today, -70), rate=2500)
	case = case_of(customer)
	url = collect_links.collect_url(case.name, "ap@browser.example")
	return {"url": url, "case": case.name, "customer": customer}


IBAN = "DE02120300000000202051"
SWIFT = "DPTESTBICXXX"


def ensure_bank_account(is_default: int = 0) -> str:
	"""The company's receiving account (not its default unless asked, so ERPNext's own tests on the
	site see no difference)."""
	if not frappe.db.exists("Bank", "_Test DP Bank"):
		frappe.get_doc({"doctype": "Bank", "bank_name": "_Test DP Bank", "swift_number": SWIFT}).insert()
	name = frappe.db.get_value("Bank Account", {"account_name": "_Test DP Receipts", "company": COMPANY})
	if name:
		frappe.db.set_value("Bank Account", name, {"is_default": is_default, "iban": IBAN, "disabled": 0})
		return name
	return (
		frappe.get_doc(
			{
				"doctype": "Bank Account",
				"account_name": "_Test DP Receipts",
				"bank": "_Test DP Bank",
				"account": BANK,
				"is_company_account": 1,
				"company": COMPANY,
				"is_default": is_default,
				"iban": IBAN,
			}
		)
		.insert()
		.name
	)
