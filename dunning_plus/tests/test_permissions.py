import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, getdate

from dunning_plus.tests.utils import (
	COMPANY,
	case_of,
	make_customer,
	make_invoice,
	make_user,
	setup_collections,
)

T = getdate("2026-03-16")


class TestCollectorPermissions(FrappeTestCase):
	def setUp(self):
		setup_collections()
		self.alice = make_user("dp-alice@example.com", ["Collector"])
		self.bob = make_user("dp-bob@example.com", ["Collector"])
		self.manager = make_user("dp-manager@example.com", ["Collections Manager"])
		self.accountant = make_user("dp-accounts@example.com", ["Accounts User"])
		suffix = frappe.generate_hash(length=5)
		self.mine = make_customer(f"_Test DP Alice {suffix}", dunning_collector=self.alice)
		self.theirs = make_customer(f"_Test DP Bob {suffix}", dunning_collector=self.bob)
		with self.freeze_time(T, tick=True):
			make_invoice(self.mine, add_days(T, -35))
			make_invoice(self.theirs, add_days(T, -35))
			self.my_case = case_of(self.mine)
			self.their_case = case_of(self.theirs)
			self.my_promise = self.my_case.record_promise(str(add_days(T, 5)))
			self.their_promise = self.their_case.record_promise(str(add_days(T, 5)))

	def visible(self, doctype, user):
		with self.set_user(user):
			return set(frappe.get_list(doctype, pluck="name", limit=0))

	def test_collector_lists_only_their_cases_promises_and_actions(self):
		cases = self.visible("Collection Case", self.alice)
		self.assertIn(self.my_case.name, cases)
		self.assertNotIn(self.their_case.name, cases)
		promises = self.visible("Payment Promise", self.alice)
		self.assertIn(self.my_promise, promises)
		self.assertNotIn(self.their_promise, promises)
		actions = self.visible("Collection Action", self.alice)
		their_actions = set(
			frappe.get_all(
				"Collection Action", filters={"collection_case": self.their_case.name}, pluck="name"
			)
		)
		self.assertTrue(their_actions)
		self.assertFalse(actions & their_actions)

	def test_collector_cannot_open_someone_elses_case(self):
		self.assertTrue(frappe.has_permission("Collection Case", "read", self.my_case.name, user=self.alice))
		self.assertFalse(
			frappe.has_permission("Collection Case", "read", self.their_case.name, user=self.alice)
		)
		self.assertFalse(
			frappe.has_permission("Payment Promise", "read", self.their_promise, user=self.alice)
		)

	def test_assignment_gives_access(self):
		from frappe.desk.form.assign_to import add

		add(
			{
				"assign_to": [self.alice],
				"doctype": "Collection Case",
				"name": self.their_case.name,
				"description": "help",
			}
		)
		self.assertIn(self.their_case.name, self.visible("Collection Case", self.alice))
		self.assertTrue(
			frappe.has_permission("Collection Case", "read", self.their_case.name, user=self.alice)
		)

	def test_managers_and_accountants_see_everything(self):
		for user in (self.manager, self.accountant):
			cases = self.visible("Collection Case", user)
			self.assertTrue({self.my_case.name, self.their_case.name} <= cases, user)
