# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt
"""What the case's screens show and allow (issue 15 items 7, 9, 10, 11 and 20), through the same
server methods and desk API the forms call."""

import frappe
from frappe.utils import add_days, flt

from dunning_plus.dashboards import invoice_collection_status
from dunning_plus.dunning_plus.doctype.collection_case.collection_case import _collections_manager
from dunning_plus.dunning_plus.doctype.dunning_run.test_dunning_run import D0, DUE, CycleTestCase
from dunning_plus.permissions import sync_customer_permissions
from dunning_plus.tests.utils import (
	COMPANY,
	TERMS_NET30,
	case_of,
	make_customer,
	make_invoice,
	make_user,
)


class TestCaseScreens(CycleTestCase):
	def tearDown(self):
		super().tearDown()
		# Frappe keeps new-document templates (with their "Today" defaults) for the whole process
		frappe.local.new_doc_templates.clear()

	def invoice(self, customer=None, rate=1000):
		with self.freeze_time(D0, tick=True):
			return make_invoice(customer or self.customer, D0, rate=rate, terms=TERMS_NET30)

	def pending_final(self):
		self.invoice()
		self.run_on(add_days(DUE, 26))  # L2 sent
		self.run_on(add_days(DUE, 46))  # the Final Notice waits for a Collections Manager
		case = case_of(self.customer)
		self.assertEqual(case.status, "Pending Approval")
		return case

	# ------------------------------------------------------------------ item 7
	def test_hold_on_a_case_pending_approval_shows_on_hold_and_release_brings_it_back(self):
		case = self.pending_final()
		with self.freeze_time(add_days(DUE, 46), tick=True):
			case.hold("Customer in talks")
			case = case_of(self.customer)
			self.assertEqual(case.status, "On Hold")  # so the form offers Release Hold
			case.release_hold()
			self.assertEqual(case_of(self.customer).status, "Pending Approval")

	def test_escalate_without_a_recipient_makes_a_new_task_with_the_note(self):
		make_user("dp-escalation-manager@example.com", ["Collections Manager"])
		case = self.pending_final()  # the approval already gave the manager an open ToDo on the case
		manager = _collections_manager()
		before = frappe.db.count("ToDo", {"reference_name": case.name, "allocated_to": manager})
		self.assertGreaterEqual(before, 1)
		frappe.clear_messages()
		case.escalate(note="Customer stopped answering")
		todos = frappe.get_all(
			"ToDo",
			filters={"reference_name": case.name, "allocated_to": manager},
			fields=["allocated_to", "description", "status"],
		)
		self.assertEqual(len(todos), before + 1)
		self.assertIn("Customer stopped answering", [t.description for t in todos])
		self.assertEqual(frappe.message_log, [])
		with self.assertRaises(frappe.ValidationError):
			case.escalate(to_user="nobody-at-all@example.com", note="x")

	def test_the_approval_menu_is_only_for_who_can_approve(self):
		case = self.pending_final()
		collector = make_user(f"dp-coll-{frappe.generate_hash(length=5)}@example.com", ["Collector"])
		manager = make_user("dp-approver@example.com", ["Collections Manager"])
		frappe.db.set_value("Customer", self.customer, "dunning_collector", collector)
		with self.freeze_time(add_days(DUE, 46), tick=True):
			case.recompute()
		case = case_of(self.customer)
		self.assertEqual(
			case.approval_rights(collector),
			{"can_approve": False, "can_drop": True, "role": "Collections Manager"},
		)
		self.assertEqual(
			case.approval_rights(manager),
			{"can_approve": True, "can_drop": True, "role": "Collections Manager"},
		)
		with self.set_user(collector):
			onload = frappe.get_doc("Collection Case", case.name)
			onload.run_method("onload")
			self.assertFalse(onload.get_onload().approval["can_approve"])

	# ------------------------------------------------------------------ items 9, 10
	def test_items_show_days_overdue_and_texts_format_money(self):
		self.invoice(rate=1500)
		self.run_on(add_days(DUE, 3))
		case = case_of(self.customer)
		with self.freeze_time(add_days(DUE, 12)):
			self.assertEqual(frappe.get_doc("Collection Case", case.name).items[0].days_overdue, 12)
			self.assertEqual(
				frappe.get_doc("Collection Case", case.name).as_dict()["items"][0]["days_overdue"], 12
			)
		with self.freeze_time(add_days(DUE, 12), tick=True):
			case.record_promise(str(add_days(DUE, 20)), 1000)
		texts = frappe.get_all(
			"Collection Action",
			filters={"customer": self.customer, "action_type": "Promise"},
			pluck="details",
		) + frappe.get_all("Comment", filters={"reference_name": case.name}, pluck="content")
		promise = next(t for t in texts if t and "Promise to pay" in t)
		self.assertNotIn("1000.0", promise)
		self.assertIn("1,000.00", promise)
		for text in texts:
			self.assertNotRegex(text or "", r"\d\.0(?!\d)")

	# ------------------------------------------------------------------ item 11
	def test_the_invoice_says_it_is_disputed(self):
		si = self.invoice()
		self.run_on(add_days(DUE, 3))
		case = case_of(self.customer)
		with self.freeze_time(add_days(DUE, 4), tick=True):
			case.open_dispute(reason=self.dispute_reason(), amount=300, description="Wrong quantity")
		status = invoice_collection_status(si.name)
		self.assertEqual(flt(status["disputed_amount"]), 300)
		meta = frappe.get_meta("Sales Invoice")
		# the dunning fields sit on a Collections tab of their own, not on Terms
		fields = [df.fieldname for df in meta.fields]
		tab = fields.index("collections_tab")
		self.assertLess(tab, fields.index("dunning_policy"))
		self.assertGreater(tab, fields.index("terms"))

	def dispute_reason(self):
		if not frappe.db.exists("Dispute Reason", "_Test DP Quantity"):
			frappe.get_doc({"doctype": "Dispute Reason", "reason": "_Test DP Quantity"}).insert()
		return "_Test DP Quantity"

	# ------------------------------------------------------------------ item 20
	def test_collectors_see_only_the_customers_of_their_cases(self):
		tag = frappe.generate_hash(length=5)
		alice = make_user(f"dp-alice-{tag}@example.com", ["Collector"])
		bob = make_user(f"dp-bob-{tag}@example.com", ["Collector"])
		carol = make_user(f"dp-carol-{tag}@example.com", ["Collector"])  # no case at all
		mine = make_customer(f"_Test DP Alice {tag}", dunning_collector=alice)
		theirs = make_customer(f"_Test DP Bob {tag}", dunning_collector=bob)
		mine_si = self.invoice(mine)
		theirs_si = self.invoice(theirs)
		self.run_on(add_days(DUE, 3))  # both get a case (and their collector with it)

		def visible(user, doctype):
			with self.set_user(user):
				return set(frappe.get_list(doctype, pluck="name", limit_page_length=0))

		self.assertIn(mine, visible(alice, "Customer"))
		self.assertNotIn(theirs, visible(alice, "Customer"))
		self.assertIn(mine_si.name, visible(alice, "Sales Invoice"))
		self.assertNotIn(theirs_si.name, visible(alice, "Sales Invoice"))
		self.assertEqual(visible(carol, "Customer"), set())
		with self.set_user(alice), self.assertRaises(frappe.PermissionError):
			frappe.client.get("Customer", theirs)  # the desk API the form uses
		with self.set_user(alice), self.assertRaises(frappe.PermissionError):
			frappe.client.get("Sales Invoice", theirs_si.name)
		with self.set_user(alice):
			self.assertEqual(frappe.client.get("Customer", mine)["name"], mine)

		# reassigning the case moves the customer to the new collector
		with self.freeze_time(add_days(DUE, 4), tick=True):
			case_of(theirs).reassign(alice)
		self.assertIn(theirs, visible(alice, "Customer"))
		self.assertNotIn(theirs, visible(bob, "Customer"))
		# an assignment (ToDo) on a case gives its customer too, and closing it takes it back
		case = case_of(mine)
		todo = frappe.get_doc(
			{
				"doctype": "ToDo",
				"allocated_to": carol,
				"description": "Call the customer",
				"reference_type": "Collection Case",
				"reference_name": case.name,
			}
		).insert(ignore_permissions=True)
		self.assertEqual(visible(carol, "Customer"), {mine})
		todo.status = "Closed"
		todo.save(ignore_permissions=True)
		self.assertEqual(visible(carol, "Customer"), set())
		# the sweep changes nothing when the events kept up; an administrator's own rows are never touched
		self.assertEqual(sync_customer_permissions(), {"added": 0, "removed": 0})
		# the setting off: the app's rows go, the collector's roles decide again
		settings = frappe.get_single("Dunning Plus Settings")
		settings.collectors_see_own_customers = 0
		settings.save()
		self.assertFalse(
			frappe.get_all("User Permission", filters={"user": alice, "dunning_plus_managed": 1})
		)
		self.assertIn(theirs, visible(bob, "Customer"))
