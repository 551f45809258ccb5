"""Booking an approved write-off proposal: one Journal Entry against the items' receivable, the
decision on the case's audit trail."""

from __future__ import annotations

from collections import defaultdict

import frappe
from frappe import _
from frappe.utils import flt, nowdate

from dunning_plus.cycle import transactions
from dunning_plus.engine.cadence import Message
from dunning_plus.formatting import money


def book_write_off(case, msg: Message) -> str:
	cfg = transactions.settings()
	if not cfg.write_off_account:
		frappe.throw(_("Set the Write-off Account in Dunning Plus Settings before approving a write-off."))
	cost_center = cfg.write_off_cost_center or frappe.get_cached_value("Company", case.company, "cost_center")
	by_invoice: dict[str, float] = defaultdict(float)
	for a in msg.actions:
		by_invoice[a.instalment.invoice] += flt(a.instalment.outstanding)
	accounts = []
	for invoice, amount in by_invoice.items():
		debit_to = frappe.db.get_value("Sales Invoice", invoice, "debit_to")
		accounts.append(
			{
				"account": debit_to,
				"party_type": "Customer",
				"party": case.customer,
				"credit_in_account_currency": amount,
				"reference_type": "Sales Invoice",
				"reference_name": invoice,
			}
		)
	accounts.append(
		{
			"account": cfg.write_off_account,
			"debit_in_account_currency": sum(by_invoice.values()),
			"cost_center": cost_center,
		}
	)
	je = frappe.get_doc(
		{
			"doctype": "Journal Entry",
			"voucher_type": "Write Off Entry",
			"company": case.company,
			"posting_date": nowdate(),
			"accounts": accounts,
			"user_remark": _("Write-off approved on collection case {0}").format(case.name),
		}
	)
	je.flags.ignore_permissions = True
	je.insert()
	from dunning_plus.audit import record_decision

	record_decision(
		case.name,
		case.company,
		case.customer,
		"Decision",
		_("Write-off of {0} booked as {1}").format(money(sum(by_invoice.values()), case.currency), je.name),
		reference=je,
		step_kind="Write-off Proposal",
	)
	je.submit()
	return je.name
