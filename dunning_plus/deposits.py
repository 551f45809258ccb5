"""Expected deposits: Sales Order payment-schedule rows due on or before delivery.

A submitted order creates one Expected Deposit per such row. Advances received against the order
(ERPNext keeps their total in the order's ``advance_paid``) settle the deposits earliest due first;
cancelling a payment reopens them. Deposits are chased with the policy's deposit-reminder steps,
like invoice instalments, until paid or until the order is fully billed.
"""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import flt, getdate

from dunning_plus.engine.money import to_money
from dunning_plus.engine.schedule import RowAmount, split_outstanding
from dunning_plus.links import withdraw_pending_actions

OPEN = ("Expected", "Partly Paid")


def deposit_rows(so) -> list:
	"""The order's schedule rows due on or before its delivery date."""
	delivery = getdate(so.delivery_date) if so.delivery_date else None
	if delivery is None:
		return []
	return [row for row in so.payment_schedule if row.due_date and getdate(row.due_date) <= delivery]


def sync_from_order(so) -> list[str]:
	"""Creates the order's expected deposits (once) and brings their paid amounts up to date."""
	names = []
	for row in deposit_rows(so):
		name = frappe.db.get_value("Expected Deposit", {"payment_schedule": row.name}, "name")
		if not name:
			doc = frappe.get_doc(
				{
					"doctype": "Expected Deposit",
					"sales_order": so.name,
					"customer": so.customer,
					"company": so.company,
					"payment_schedule": row.name,
					"payment_term": row.payment_term,
					"due_date": row.due_date,
					"delivery_date": so.delivery_date,
					"currency": so.currency,
					"amount": flt(row.payment_amount),
					"paid_amount": 0,
					"outstanding": flt(row.payment_amount),
					"status": "Expected",
				}
			)
			doc.insert(ignore_permissions=True)
			name = doc.name
		names.append(name)
	settle(so.name)
	return names


def settle(sales_order: str) -> None:
	"""Spreads the order's advances over its deposits, earliest due first."""
	so = frappe.db.get_value(
		"Sales Order",
		sales_order,
		[
			"docstatus",
			"advance_paid",
			"per_billed",
			"status",
			"conversion_rate",
			"party_account_currency",
			"currency",
		],
		as_dict=True,
	)
	deposits = frappe.get_all(
		"Expected Deposit",
		filters={"sales_order": sales_order},
		fields=["name", "amount", "due_date", "status", "paid_amount", "outstanding"],
		order_by="due_date, creation",
	)
	if not so or not deposits:
		return
	paid = to_money(so.advance_paid)
	if so.party_account_currency and so.party_account_currency != so.currency and so.conversion_rate:
		paid = to_money(paid / to_money(so.conversion_rate, 9))
	total = sum(to_money(d.amount) for d in deposits)
	outstanding = split_outstanding(
		[RowAmount(d.name, getdate(d.due_date), to_money(d.amount), idx=i) for i, d in enumerate(deposits)],
		total - paid,
	)
	for d in deposits:
		left = outstanding[d.name]
		amount = to_money(d.amount)
		if so.docstatus == 2:
			status = "Cancelled"
		elif left <= 0:
			status = "Paid"
		elif flt(so.per_billed) >= 100 or so.status in ("Closed", "Completed"):
			status = "Invoiced"
		elif left < amount:
			status = "Partly Paid"
		else:
			status = "Expected"
		values = {"paid_amount": float(amount - left), "outstanding": float(left), "status": status}
		if any(flt(d.get(k)) != flt(v) if k != "status" else d.status != v for k, v in values.items()):
			frappe.db.set_value("Expected Deposit", d.name, values)


def orders_of_payment(doc) -> list[str]:
	return sorted(
		{r.reference_name for r in doc.get("references") or [] if r.reference_doctype == "Sales Order"}
	)


def check_cancel(so) -> None:
	"""Cancelling an order cancels its deposits and withdraws their pending reminders."""
	withdraw_pending_actions("Sales Order", so.name, _("Sales Order {0} was cancelled").format(so.name))
	settle(so.name)
