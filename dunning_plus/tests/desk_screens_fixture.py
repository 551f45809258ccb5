"""A collection case to look at in the desk, for scripts/desk_screens_check.py:

    bench --site SITE execute dunning_plus.tests.desk_screens_fixture.prepare

needs the _Test records a test run builds. Dates are today's: a customer with three overdue invoices
that went through the daily run (a case with items and actions), one invoice disputed in part and a
promise over the rest."""

from __future__ import annotations

import frappe
from frappe.utils import add_days, nowdate

from dunning_plus.tasks import run_daily_cycle
from dunning_plus.tests.utils import COMPANY, case_of, make_customer, make_invoice, setup_collections


def prepare() -> dict:
	if not frappe.db.exists("Company", COMPANY):
		raise frappe.ValidationError(
			f"{COMPANY} is missing: run the app's test suite on this site once first"
		)
	setup_collections()
	settings = frappe.get_single("Dunning Plus Settings")
	settings.update({"sender_email_account": "_Test Email Account 1", "proposal_mode": 0})
	settings.save()
	customer = make_customer(f"_Test DP Desk {frappe.generate_hash(length=6)}", email_id="ap@desk.example")
	today = nowdate()
	invoices = [
		make_invoice(customer, add_days(today, -days), rate=rate).name
		for days, rate in ((75, 1500), (45, 2400), (34, 640))
	]
	run_daily_cycle(as_of=today, company=COMPANY)
	case = case_of(customer)
	if not frappe.db.exists("Dispute Reason", "Pricing"):
		frappe.get_doc({"doctype": "Dispute Reason", "reason": "Pricing"}).insert()
	case.open_dispute(reason="Pricing", amount=400, sales_invoice=invoices[0], description="Wrong unit price")
	case = case_of(customer)
	case.record_promise(str(add_days(today, 7)), 1000, "Paying the first part next week")
	frappe.db.commit()  # the browser reads it from another connection
	return {"case": case.name, "customer": customer, "invoices": invoices}
