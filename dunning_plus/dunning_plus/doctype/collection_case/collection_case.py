# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import flt, getdate, nowdate

from dunning_plus import cases
from dunning_plus.audit import record_decision
from dunning_plus.items import default_items


class CollectionCase(Document):
	def onload(self):
		self.set_onload("approval", self.approval_rights())

	def approval_rights(self, user: str | None = None) -> dict:
		"""What ``user`` may do with the steps waiting for approval on this case (the form shows only that)."""
		user = user or frappe.session.user
		names = self._pending_actions() if self.status == "Pending Approval" else []
		if not names:
			return {"can_approve": False, "can_drop": False, "role": None}
		from dunning_plus.cycle.delivering import rebuild_message

		roles = set(frappe.get_roles(user))
		msg, _rows = rebuild_message(self.company, self.customer, names)
		role = msg.approval_role if msg else None
		kinds = set(frappe.get_all("Collection Action", filters={"name": ["in", names]}, pluck="step_kind"))
		manager = bool(roles & {"Collections Manager", "System Manager"}) or user == "Administrator"
		can_write = frappe.has_permission("Collection Case", "write", doc=self, user=user)
		return {
			"can_approve": bool(can_write and (not role or role in roles or user == "Administrator")),
			"can_drop": bool(can_write and (manager or "Write-off Proposal" not in kinds)),
			"role": role,
		}

	def validate(self):
		if self.status not in cases.CLOSED:
			cc = frappe.qb.DocType("Collection Case")
			found = (
				frappe.qb.from_(cc)
				.select(cc.name)
				.where(
					(cc.customer == self.customer)
					& (cc.company == self.company)
					& cc.status.notin(cases.CLOSED)
					& (cc.name != (self.name or ""))
				)
				.limit(1)
				.run()
			)
			other = found[0][0] if found else None
			if other:
				frappe.throw(
					_("Customer {0} already has an open collection case {1} in company {2}.").format(
						frappe.bold(self.customer), frappe.bold(other), frappe.bold(self.company)
					),
					title=_("Duplicate Case"),
				)

	def _refresh(self):
		cases.refresh_case(self.company, self.customer)
		self.reload()

	@frappe.whitelist()
	def recompute(self):
		self.check_permission("read")
		self._refresh()

	@frappe.whitelist()
	def record_promise(
		self, promised_date: str, amount: float | None = None, notes: str | None = None
	) -> str:
		self.check_permission("write")
		return self.make_promise(promised_date, amount, notes).name

	def make_promise(
		self, promised_date, amount=None, notes=None, source="Collector", ignore_permissions=False
	):
		"""A Payment Promise over the case's undisputed open items (the collector's button and the
		customer's collection page both come here)."""
		items = default_items(self, exclude_paused=("Dispute",))
		if not items:
			frappe.throw(_("The case has no undisputed open item to promise."))
		promise = frappe.get_doc(
			{
				"doctype": "Payment Promise",
				"collection_case": self.name,
				"customer": self.customer,
				"company": self.company,
				"promised_date": promised_date,
				"amount": flt(amount)
				or sum(flt(r.outstanding) for r in self.items if r.paused_by != "Dispute"),
				"notes": notes,
				"source": source,
				"items": items,
			}
		)
		promise.flags.ignore_permissions = ignore_permissions
		promise.insert()
		return promise

	@frappe.whitelist()
	def open_dispute(
		self,
		reason: str,
		amount: float | None = None,
		sales_invoice: str | None = None,
		description: str | None = None,
	) -> str:
		self.check_permission("write")
		items = default_items(self)
		if sales_invoice:
			items = [i for i in items if i["sales_invoice"] == sales_invoice]
		if not items:
			frappe.throw(_("Invoice {0} is not an open item of this case.").format(sales_invoice or ""))
		return self.make_dispute(reason, items, amount, description).name

	def make_dispute(
		self, reason, items, amount=None, description=None, source="Collector", ignore_permissions=False
	):
		"""A Collection Dispute over ``items`` (rows of default_items), routed by its controller."""
		covered = sum(
			flt(r.outstanding)
			for r in self.items
			if r.payment_schedule in {i["payment_schedule"] for i in items}
		)
		dispute = frappe.get_doc(
			{
				"doctype": "Collection Dispute",
				"collection_case": self.name,
				"customer": self.customer,
				"company": self.company,
				"reason": reason,
				"opened_on": nowdate(),  # not the form's cached "Today" default of an earlier day
				"amount": flt(amount) or covered,
				"description": description,
				"source": source,
				"items": items,
			}
		)
		dispute.flags.ignore_permissions = ignore_permissions
		dispute.insert()
		return dispute

	@frappe.whitelist()
	def offer_payment_plan(
		self,
		instalment_count: int,
		every_days: int,
		start_date: str | None = None,
		down_payment: float | None = None,
		accepted: int | None = 0,
	) -> str:
		"""A draft Payment Plan over the case's open undisputed items, to review and submit."""
		from dunning_plus.plans import offer

		self.check_permission("write")
		plan = offer(self, instalment_count, every_days, start_date, flt(down_payment), bool(accepted))
		plan.insert()
		return plan.name

	@frappe.whitelist()
	def hold(self, reason: str, until: str | None = None):
		"""Holds the case by blocking dunning for the customer, until a date or until released."""
		self.check_permission("write")
		if not (reason or "").strip():
			frappe.throw(_("Give a reason for the hold."))
		if until and getdate(until) < getdate(nowdate()):
			frappe.throw(_("The hold cannot end in the past."))
		customer = frappe.get_doc("Customer", self.customer)
		customer.update({"dunning_block": 1, "dunning_block_reason": reason, "dunning_block_until": until})
		customer.flags.ignore_permissions = True
		customer.save()
		record_decision(
			self.name,
			self.company,
			self.customer,
			"Decision",
			_("On hold until {0}: {1}").format(until or _("released"), reason),
		)
		self._refresh()

	@frappe.whitelist()
	def release_hold(self):
		self.check_permission("write")
		customer = frappe.get_doc("Customer", self.customer)
		customer.update({"dunning_block": 0, "dunning_block_reason": None, "dunning_block_until": None})
		customer.flags.ignore_permissions = True
		customer.save()
		record_decision(self.name, self.company, self.customer, "Decision", _("Hold released"))
		self._refresh()

	@frappe.whitelist()
	def escalate(self, to_user: str | None = None, note: str | None = None):
		"""A new task for ``to_user`` (default: a Collections Manager) with the note, every time:
		an open assignment of the same user on the case does not swallow the escalation."""
		self.check_permission("write")
		if to_user and not frappe.db.exists("User", {"name": to_user, "enabled": 1}):
			frappe.throw(_("User {0} does not exist or is disabled.").format(to_user))
		to_user = to_user or _collections_manager()
		if not to_user:
			frappe.throw(_("No one has the Collections Manager role: choose whom to escalate to."))
		note = (note or "").strip()
		record_decision(
			self.name,
			self.company,
			self.customer,
			"Decision",
			_("Escalated to {0}: {1}").format(to_user, note)
			if note
			else _("Escalated to {0}").format(to_user),
			step_kind="Escalation",
		)
		frappe.get_doc(
			{
				"doctype": "ToDo",
				"allocated_to": to_user,
				"reference_type": self.doctype,
				"reference_name": self.name,
				"description": note
				or _("Escalated case {0} ({1})").format(self.name, self.customer_name or self.customer),
				"priority": "High",
				"assigned_by": frappe.session.user,
				"date": nowdate(),
			}
		).insert(ignore_permissions=True)
		self._refresh()

	@frappe.whitelist()
	def reassign(self, collector: str):
		self.check_permission("write")
		if not frappe.db.exists("User", collector):
			frappe.throw(_("User {0} does not exist.").format(collector))
		previous = self.collector
		frappe.db.set_value("Customer", self.customer, "dunning_collector", collector)
		# the open tasks of the case go with it to the new collector
		if previous and previous != collector:
			for name in frappe.get_all(
				"ToDo",
				filters={
					"reference_type": self.doctype,
					"reference_name": self.name,
					"allocated_to": previous,
					"status": "Open",
				},
				pluck="name",
			):
				todo = frappe.get_doc("ToDo", name)
				todo.allocated_to = collector
				todo.save(ignore_permissions=True)
		record_decision(
			self.name, self.company, self.customer, "Decision", _("Reassigned to {0}").format(collector)
		)
		self._refresh()

	@frappe.whitelist()
	def send_now(self) -> dict:
		"""Takes the steps due for this customer today, now, instead of waiting for the daily run."""
		self.check_permission("write")
		from dunning_plus.cycle.deciding import process_customers

		res = process_customers(self.company, [self.customer], nowdate(), "Send", run=None)
		if res.errors:
			frappe.throw(res.errors[0]["error"], title=_("Could Not Send"))
		if not res.messages:
			frappe.msgprint(_("Nothing is due for this customer today."))
		return {"messages": res.messages, "steps": res.actions}

	def _pending_actions(self) -> list[str]:
		return frappe.get_all(
			"Collection Action",
			filters={"collection_case": self.name, "status": "Pending Approval", "action_type": "Step"},
			pluck="name",
		)

	@frappe.whitelist()
	def approve_pending(self) -> str:
		"""Sends the steps waiting for approval (or books the approved write-off)."""
		self.check_permission("read")
		from dunning_plus.cycle.approvals import approve_actions

		names = self._pending_actions()
		if not names:
			frappe.throw(_("Nothing on this case is waiting for approval."))
		return approve_actions(self.name, names)

	@frappe.whitelist()
	def drop_pending(self, reason: str):
		self.check_permission("read")
		from dunning_plus.cycle.approvals import drop_actions

		names = self._pending_actions()
		if not names:
			frappe.throw(_("Nothing on this case is waiting for approval."))
		roles = set(frappe.get_roles())
		needed = set(frappe.get_all("Collection Action", filters={"name": ["in", names]}, pluck="step_kind"))
		if not roles & {"Collections Manager", "System Manager"} and "Write-off Proposal" in needed:
			frappe.throw(
				_("Only a Collections Manager can drop a write-off proposal."), frappe.PermissionError
			)
		drop_actions(self.name, names, reason)

	@frappe.whitelist()
	def resolve(self, resolution: str, note: str | None = None):
		"""Closes a case whose items are settled (paid, credited or written off)."""
		self.check_permission("write")
		if resolution not in ("Paid", "Dispute Closed", "Written Off", "Cancelled"):
			frappe.throw(_("Unknown resolution {0}.").format(resolution))
		self._refresh()
		if flt(self.outstanding_amount) > 0:
			frappe.throw(
				_(
					"The case still has {0} outstanding: record the payment, a credit note or a write-off first."
				).format(
					frappe.format(
						self.outstanding_amount, {"fieldtype": "Currency", "options": self.currency}
					)
				),
				title=_("Not Settled"),
			)
		self.db_set(
			{"status": "Closed", "resolution": resolution, "resolved_on": self.resolved_on or nowdate()}
		)
		record_decision(
			self.name,
			self.company,
			self.customer,
			"Decision",
			_("Closed: {0}. {1}").format(_(resolution), note or ""),
		)


def _collections_manager() -> str | None:
	from dunning_plus.delivery import users_with_role

	return next(iter(users_with_role("Collections Manager")), None)
