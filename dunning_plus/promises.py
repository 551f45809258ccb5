"""Promise review: a payment on or before the promised date keeps a promise; a cancelled payment
reopens it; the promised date plus grace passing without payment breaks it."""

from __future__ import annotations

from datetime import date

import frappe
from frappe import _
from frappe.utils import getdate, nowdate

from dunning_plus import ledger
from dunning_plus.engine.money import ZERO, to_money
from dunning_plus.engine.promises import Payment, Promise, PromiseStatus, promise_status
from dunning_plus.formatting import money


def _grace(company: str, customer: str) -> int:
	from dunning_plus.policies import policy_book

	book = policy_book(company)
	profile = ledger.read_customers([customer]).get(customer)
	name = (
		(profile.policy if profile else None)
		or (book.segment_policies.get(profile.segment) if profile and profile.segment else None)
		or book.company_defaults.get(company)
	)
	policy = book.policies.get(name) if name else None
	return policy.grace_days if policy else 0


def review_promises(company: str, customer: str, as_of: date | None = None) -> list[tuple[str, str]]:
	"""Re-evaluates the customer's pending and kept promises; returns (promise, new status) changes."""
	as_of = getdate(as_of or nowdate())
	names = frappe.get_all(
		"Payment Promise",
		filters={"company": company, "customer": customer, "status": ["in", ["Pending", "Kept"]]},
		pluck="name",
	)
	if not names:
		return []
	open_rows = {i.id: i.outstanding for i in ledger.read_instalments(company, [customer], with_taken=False)}
	grace = _grace(company, customer)
	changes = []
	for name in names:
		doc = frappe.get_doc("Payment Promise", name)
		paid = ZERO
		payments = []
		for item in doc.items:
			reduced = to_money(item.amount) - open_rows.get(item.payment_schedule, ZERO)
			if reduced > 0:
				paid += reduced
				# The ledger tells what is paid now; a payment seen before the date counts on time.
				day = getdate(doc.closed_on) if doc.status == "Kept" and doc.closed_on else as_of
				payments.append(Payment(item.payment_schedule, day, reduced))
		promise = Promise(
			name=doc.name,
			customer=doc.customer,
			promised_date=getdate(doc.promised_date),
			amount=to_money(doc.amount),
			items=tuple(i.payment_schedule for i in doc.items),
			recorded_on=min(getdate(doc.recorded_on), getdate(doc.promised_date)),
		)
		status = promise_status(promise, payments, as_of, grace)
		new = {
			PromiseStatus.KEPT: "Kept",
			PromiseStatus.BROKEN: "Broken",
			PromiseStatus.PENDING: "Pending",
		}[status]
		updates = {"paid_amount": float(paid)}
		if new != doc.status:
			updates["status"] = new
			updates["closed_on"] = as_of if new in ("Kept", "Broken") else None
			changes.append((doc.name, new))
		if any(doc.get(k) != v for k, v in updates.items()):
			doc.db_set(updates)
			if "status" in updates:
				doc.add_comment(
					"Info",
					_("Promise {0}: paid {1} of {2}").format(
						_(new), money(paid, doc.currency), money(doc.amount, doc.currency)
					),
				)
	return changes
