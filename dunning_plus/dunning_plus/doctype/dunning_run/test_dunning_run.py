# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt

import json
from unittest.mock import patch

import frappe
import pymysql
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, flt, getdate

from dunning_plus.cycle import deciding, delivering, run_log, runs, transactions
from dunning_plus.tasks import expire_blocks, run_daily_cycle, run_hourly_checks
from dunning_plus.tests.utils import (
	COMPANY,
	STANDARD_STEPS,
	TEMPLATE,
	TERMS_NET30,
	case_of,
	ensure_policy,
	make_address,
	make_customer,
	make_invoice,
	make_user,
	pay,
	setup_collections,
)

D0 = getdate("2026-03-02")  # invoice date (Monday); Net 30 -> due Wednesday 2026-04-01
DUE = add_days(D0, 30)


class CycleTestCase(FrappeTestCase):
	def setUp(self):
		setup_collections()
		settings = frappe.get_single("Dunning Plus Settings")
		settings.update(
			{
				"sender_email_account": "_Test Email Account 1",
				"proposal_mode": 0,
				"max_messages_per_run": 0,
				"batch_size": 2,
			}
		)
		settings.save()
		self.customer = make_customer(
			f"_Test DP Cycle {frappe.generate_hash(length=6)}", email_id="ap@customer.example"
		)

	def tearDown(self):
		frappe.db.rollback()  # each test starts from the same ledger
		frappe.clear_document_cache("Dunning Plus Settings", "Dunning Plus Settings")

	def run_on(self, day, **kw):
		with self.freeze_time(day, tick=True):
			names = run_daily_cycle(as_of=day, company=COMPANY, **kw)
		return frappe.get_doc("Dunning Run", names[0])

	def communications(self, customer=None):
		case = case_of(customer or self.customer)
		if not case:
			return []
		return frappe.get_all(
			"Communication",
			filters={"reference_doctype": "Collection Case", "reference_name": case.name},
			pluck="subject",
		)

	def steps(self, customer=None, with_skipped=False, **filters):
		if not with_skipped:
			filters.setdefault("status", ["!=", "Skipped"])
		return frappe.get_all(
			"Collection Action",
			filters={"customer": customer or self.customer, "action_type": "Step", **filters},
			fields=["step_code", "status", "payment_schedule"],
			order_by="creation",
		)


class TestWorkedExample(CycleTestCase):
	"""shared/domain.md: Net 30 -> D-7 and D+3 reminders -> level 1 to the AR team -> dispute routed
	to the finance manager -> partial payment -> rest paid -> resolved."""

	def test_five_stages(self):
		if not frappe.db.exists("Role", "AR Team"):
			frappe.get_doc({"doctype": "Role", "role_name": "AR Team", "desk_access": 1}).insert()
		ar = make_user("dp-ar-team@example.com", ["AR Team", "Collector"])
		finance = make_user("dp-finance-manager@example.com", ["Collections Manager"])
		frappe.db.set_single_value("Dunning Plus Settings", "dispute_owner", finance)
		steps = [
			{"step_code": "R-7", "offset_days": -7, "kind": "Reminder", "email_template": TEMPLATE},
			{"step_code": "R+3", "offset_days": 3, "kind": "Reminder", "email_template": TEMPLATE},
			{
				"step_code": "L1",
				"offset_days": 10,
				"kind": "Dunning Level",
				"level": 1,
				"email_template": TEMPLATE,
				"owner_role": "AR Team",
				"sla_hours": 48,
			},
			{
				"step_code": "L2",
				"offset_days": 25,
				"kind": "Dunning Level",
				"level": 2,
				"email_template": TEMPLATE,
			},
		]
		ensure_policy(steps=steps)
		frappe.flags.dunning_plus_policies = None
		with self.freeze_time(D0, tick=True):
			si = make_invoice(self.customer, D0, terms=TERMS_NET30)
		self.assertIsNone(case_of(self.customer))

		# 1. reminders scheduled for D-7 and D+3
		self.run_on(add_days(DUE, -8))
		self.assertEqual(self.communications(), [])
		self.run_on(add_days(DUE, -7))
		self.assertEqual([s.step_code for s in self.steps()], ["R-7"])
		case = case_of(self.customer)
		self.assertEqual((case.status, case.next_action), ("Reminder", "Reminder (R+3)"))
		self.assertEqual(getdate(case.next_action_date), add_days(DUE, 3))
		self.run_on(add_days(DUE, 3))
		self.assertEqual([s.step_code for s in self.steps()], ["R-7", "R+3"])
		self.assertEqual(len(self.communications()), 2)

		# 2. no payment: level 1, owned by the AR team (a follow-up task within its SLA)
		self.run_on(add_days(DUE, 10))
		case = case_of(self.customer)
		self.assertEqual((case.status, case.current_level), ("Dunning", 1))
		self.assertEqual(frappe.db.get_value("Sales Invoice", si.name, "current_dunning_level"), 1)
		todo = frappe.get_all(
			"ToDo", filters={"reference_name": case.name, "role": "AR Team"}, fields=["allocated_to"]
		)
		self.assertEqual([t.allocated_to for t in todo], [ar])
		self.assertTrue(case.sla_due)

		# 3. the customer disputes the item: routed to the finance manager, dunning paused
		with self.freeze_time(add_days(DUE, 12), tick=True):
			dispute = case.open_dispute("Pricing", description="Price differs from the quote")
			case = case_of(self.customer)
			self.assertEqual(case.status, "Disputed")
			self.assertTrue(frappe.db.exists("ToDo", {"reference_name": dispute, "allocated_to": finance}))

		# 4. a partial payment: balance and next action update the same moment
		with self.freeze_time(add_days(DUE, 20), tick=True):
			pay(si.name, 600, add_days(DUE, 20))
			case = case_of(self.customer)
		self.assertEqual(flt(case.outstanding_amount), 400)
		self.assertEqual(case.status, "Disputed")
		self.run_on(add_days(DUE, 26))  # L2 is due but the item is disputed: nothing goes out
		self.assertEqual([s.step_code for s in self.steps()], ["R-7", "R+3", "L1"])

		# the dispute is rejected: dunning resumes at once at the step now due
		with self.freeze_time(add_days(DUE, 27), tick=True):
			d = frappe.get_doc("Collection Dispute", dispute)
			d.status, d.resolution_type = "Rejected", "Rejected"
			d.save()
			case = case_of(self.customer)
		self.assertEqual((case.status, case.next_action), ("Dunning", "Dunning Level 2 (L2)"))

		# 5. the rest is paid: resolved
		with self.freeze_time(add_days(DUE, 28), tick=True):
			pay(si.name, 400, add_days(DUE, 28))
			case = case_of(self.customer)
		self.assertEqual((case.status, case.resolution), ("Resolved", "Paid"))
		self.assertEqual(flt(case.outstanding_amount), 0)


class TestDunningRun(CycleTestCase):
	def overdue_invoice(self, customer=None, days=12):
		with self.freeze_time(add_days(D0, 40), tick=True):
			return make_invoice(customer or self.customer, add_days(D0, 40 - 30 - days), terms=TERMS_NET30)

	def test_run_records_counts_by_step_and_channel(self):
		self.overdue_invoice()
		run = self.run_on(add_days(D0, 40))
		self.assertEqual(run.status, "Completed")
		self.assertEqual(
			(run.messages_count, run.actions_count, run.sent_count, run.errors_count), (1, 1, 1, 0)
		)
		self.assertEqual(json.loads(run.counts_by_step), {"L1/Email": 1})
		self.assertEqual(run.messages[0].customer, self.customer)
		self.assertTrue(run.messages[0].communication)
		self.assertGreaterEqual(run.instalments_evaluated, 1)
		comm = frappe.get_doc("Communication", run.messages[0].communication)
		self.assertIn(self.customer, comm.subject)
		self.assertEqual(comm.recipients, "ap@customer.example")
		queue = frappe.get_all(
			"Email Queue", filters={"communication": comm.name}, fields=["name", "attachments"]
		)
		self.assertEqual(len(queue), 1)
		self.assertIn("Open Items Statement", queue[0].attachments)

	def test_email_context_lists_items_with_pay_links(self):
		from dunning_plus.delivery import message_context

		si = self.overdue_invoice()
		with self.freeze_time(add_days(D0, 40), tick=True):
			msg, _rows = delivering.rebuild_message(COMPANY, self.customer, [])
			self.assertIsNone(msg)
			deciding.process_customers(COMPANY, [self.customer], add_days(D0, 40), deliver_now=False)
			names = frappe.get_all(
				"Collection Action", filters={"customer": self.customer, "status": "Queued"}, pluck="name"
			)
			msg, _rows = delivering.rebuild_message(COMPANY, self.customer, names)
			ctx = message_context(msg, case_of(self.customer).name)
		self.assertEqual([i["invoice"] for i in ctx["items"]], [si.name])
		self.assertTrue(ctx["pay_link"].endswith(f"/invoices/{si.name}"))
		self.assertEqual((ctx["total"], ctx["level"], ctx["step"]), (1000, 1, "L1"))

	def test_rerun_same_day_three_times_sends_nothing_new(self):
		self.overdue_invoice()
		for _i in range(3):
			self.run_on(add_days(D0, 40))
		self.assertEqual(len(self.communications()), 1)
		self.assertEqual(len(self.steps()), 1)

	def test_two_workers_at_once_send_exactly_once(self):
		self.overdue_invoice()
		day = add_days(D0, 40)
		with self.freeze_time(day, tick=True):
			first = deciding.process_customers(COMPANY, [self.customer], day)
			# the second worker read before the first committed: it sees no taken step, and loses on insert
			with (
				patch("dunning_plus.cycle.deciding._existing_keys", return_value=set()),
				patch("dunning_plus.ledger.read_taken", return_value={}),
			):
				second = deciding.process_customers(COMPANY, [self.customer], day)
		self.assertEqual((first.messages, second.messages, second.skipped, len(second.errors)), (1, 0, 1, 0))
		self.assertEqual(len(self.communications()), 1)

	def test_run_killed_halfway_is_finished_by_the_next_run(self):
		other = make_customer(
			f"_Test DP Cycle B {frappe.generate_hash(length=6)}", email_id="b@customer.example"
		)
		self.overdue_invoice()
		self.overdue_invoice(other)
		day = add_days(D0, 40)
		first, second = sorted([self.customer, other])
		real = delivering.deliver

		def dies_on_second(msg, *args, **kwargs):
			if msg.customer == second:
				raise SystemExit("worker killed")
			return real(msg, *args, **kwargs)

		def commit_point():
			# what a real commit keeps; the kill below loses everything after the last one
			frappe.db.savepoint("dp_test_committed")

		with self.freeze_time(day, tick=True):
			with (
				patch("dunning_plus.cycle.delivering.deliver", side_effect=dies_on_second),
				patch("dunning_plus.cycle.transactions.commit", side_effect=commit_point),
				self.assertRaises(SystemExit),
			):
				deciding.process_customers(COMPANY, [first, second], day)
			frappe.db.rollback(save_point="dp_test_committed")
			self.assertEqual(len(self.communications(first)), 1)
			# the second customer's step was decided and recorded, but the kill stopped its delivery
			self.assertEqual([s.status for s in self.steps(second)], ["Queued"])
			self.assertEqual(self.communications(second), [])
			deciding.process_customers(COMPANY, [first, second], day)
		self.assertEqual(len(self.communications(first)), 1)
		self.assertEqual(len(self.communications(second)), 1)
		self.assertEqual([s.status for s in self.steps(second)], ["Sent"])

	def test_a_week_without_runs_catches_up_with_one_message_at_the_highest_step(self):
		with self.freeze_time(add_days(DUE, -7), tick=True):
			make_invoice(self.customer, D0, terms=TERMS_NET30)
		self.run_on(add_days(DUE, -7))
		self.run_on(add_days(DUE, 27))  # R+3, L1 and L2 fell due while nothing ran
		steps = self.steps()
		self.assertEqual([(s.step_code, s.status) for s in steps], [("R-7", "Sent"), ("L2", "Sent")])
		details = frappe.db.get_value(
			"Collection Action", {"customer": self.customer, "step_code": "L2"}, "details"
		)
		self.assertIn("R+3, L1", details)
		self.assertEqual(len(self.communications()), 2)

	def test_bad_template_fails_only_that_customer(self):
		other = make_customer(
			f"_Test DP Cycle C {frappe.generate_hash(length=6)}", email_id="c@customer.example"
		)
		broken = "_Test DP Broken Template"
		if not frappe.db.exists("Email Template", broken):
			frappe.get_doc(
				{
					"doctype": "Email Template",
					"name": broken,
					"subject": "{{ items[99].invoice.upper() }}",
					"response": "x",
				}
			).insert()
		frappe.db.set_value(
			"Customer",
			other,
			"dunning_policy",
			ensure_policy(
				"_Test DP Broken",
				steps=[
					{
						"step_code": "L1",
						"offset_days": 10,
						"kind": "Dunning Level",
						"level": 1,
						"email_template": broken,
					}
				],
			),
		)
		frappe.flags.dunning_plus_policies = None
		self.overdue_invoice()
		self.overdue_invoice(other)
		run = self.run_on(add_days(D0, 40))
		self.assertEqual(run.status, "Partly Failed")
		self.assertEqual([e.customer for e in run.errors], [other])
		self.assertEqual(len(self.communications()), 1)
		self.assertEqual(self.steps(other), [])  # nothing written: the next run tries again
		comments = frappe.get_all(
			"Comment", filters={"reference_name": case_of(other).name, "content": ["like", "%could not act%"]}
		)
		self.assertTrue(comments)

	def test_customer_without_email_gets_a_task_for_the_collector(self):
		collector = make_user("dp-collector@example.com", ["Collector"])
		nomail = make_customer(
			f"_Test DP NoMail {frappe.generate_hash(length=6)}", dunning_collector=collector
		)
		self.overdue_invoice(nomail)
		run = self.run_on(add_days(D0, 40))
		self.assertEqual(run.messages[0].channel, "Task")
		case = case_of(nomail)
		self.assertTrue(frappe.db.exists("ToDo", {"reference_name": case.name, "allocated_to": collector}))
		self.assertEqual(self.communications(nomail), [])

	def test_nothing_is_sent_on_weekends(self):
		ensure_policy(skip_weekends=1)
		frappe.flags.dunning_plus_policies = None
		saturday = getdate("2026-04-11")
		with self.freeze_time(saturday, tick=True):
			make_invoice(self.customer, add_days(saturday, -40), terms=TERMS_NET30)  # L1 fell due on Saturday
		self.run_on(saturday)
		self.run_on(add_days(saturday, 1))
		self.assertEqual(self.steps(), [])
		self.run_on(add_days(saturday, 2))
		self.assertEqual([s.step_code for s in self.steps()], ["L1"])

	def test_fee_step_raises_an_erpnext_dunning(self):
		self.overdue_invoice(days=26)  # L2 carries a fee of 15
		run = self.run_on(add_days(D0, 40))
		self.assertEqual([e.error for e in run.errors], [])
		dunning = frappe.get_all(
			"Dunning", filters={"customer": self.customer, "docstatus": 1}, fields=["dunning_fee", "name"]
		)
		self.assertEqual([flt(d.dunning_fee) for d in dunning], [15])
		self.assertEqual(len(frappe.get_doc("Dunning", dunning[0].name).overdue_payments), 1)

	def test_final_notice_waits_for_approval_then_goes_out_and_holds_credit(self):
		manager = make_user("dp-approver@example.com", ["Collections Manager"])
		make_address(self.customer)  # the final notice is a letter
		self.overdue_invoice(days=46)
		self.run_on(add_days(D0, 40))
		case = case_of(self.customer)
		self.assertEqual(case.status, "Pending Approval")
		self.assertEqual([s.status for s in self.steps()], ["Pending Approval"])
		self.assertTrue(
			frappe.db.exists("ToDo", {"reference_name": case.name, "allocated_to": manager, "status": "Open"})
		)
		collector = make_user("dp-plain-collector@example.com", ["Collector"])
		with self.set_user(collector), self.assertRaises(frappe.PermissionError):
			frappe.get_doc("Collection Case", case.name).approve_pending()
		with self.freeze_time(add_days(D0, 40), tick=True), self.set_user(manager):
			frappe.get_doc("Collection Case", case.name).approve_pending()
		self.assertEqual([s.status for s in self.steps()], ["To Print"])  # a letter, queued for printing
		self.assertTrue(
			frappe.get_all("File", filters={"attached_to_name": case.name, "file_name": ["like", "%.pdf"]})
		)
		self.assertEqual(frappe.db.get_value("Customer", self.customer, "dunning_credit_hold"), 1)
		self.assertEqual(case_of(self.customer).status, "Final Notice")
		with self.freeze_time(add_days(D0, 41), tick=True):
			pay(
				frappe.get_all("Sales Invoice", filters={"customer": self.customer}, pluck="name")[0],
				1000,
				add_days(D0, 41),
			)
		self.assertEqual(case_of(self.customer).status, "Resolved")
		self.assertEqual(frappe.db.get_value("Customer", self.customer, "dunning_credit_hold"), 0)

	def test_dropped_step_is_never_proposed_again(self):
		self.overdue_invoice(days=46)
		self.run_on(add_days(D0, 40))
		case = case_of(self.customer)
		with self.freeze_time(add_days(D0, 40), tick=True):
			case.drop_pending("Customer is paying via bank transfer today")
		self.assertEqual([s.status for s in self.steps()], ["Dropped"])
		self.run_on(add_days(D0, 41))
		self.assertEqual(len(self.steps()), 1)

	def test_write_off_with_approval_books_a_journal_entry(self):
		ensure_policy(
			steps=[
				*STANDARD_STEPS,
				{
					"step_code": "WO",
					"offset_days": 90,
					"kind": "Write-off Proposal",
					"channel": "Task",
					"approval_role": "Accounts Manager",
				},
			]
		)
		frappe.flags.dunning_plus_policies = None
		frappe.db.set_single_value("Dunning Plus Settings", "write_off_account", "Write Off - _TC")
		self.overdue_invoice(days=95)
		self.run_on(add_days(D0, 40))
		case = case_of(self.customer)
		self.assertEqual(case.status, "Pending Approval")
		with self.freeze_time(add_days(D0, 40), tick=True):
			case.approve_pending()
		je = frappe.get_all(
			"Journal Entry",
			filters={
				"voucher_type": "Write Off Entry",
				"docstatus": 1,
				"user_remark": ["like", f"%{case.name}%"],
			},
		)
		self.assertEqual(len(je), 1)
		case = case_of(self.customer)
		self.assertEqual((case.status, flt(case.outstanding_amount)), ("Written Off", 0))

	def test_proposal_mode_waits_for_review(self):
		frappe.db.set_single_value("Dunning Plus Settings", "proposal_mode", 1)
		frappe.clear_document_cache("Dunning Plus Settings", "Dunning Plus Settings")
		self.overdue_invoice()
		run = self.run_on(add_days(D0, 40))
		self.assertEqual((run.mode, run.status, run.messages[0].status), ("Proposal", "Proposed", "Proposed"))
		self.assertEqual(self.communications(), [])
		run.messages[0].select_row = 1
		run.save()
		with self.freeze_time(add_days(D0, 40), tick=True):
			self.assertEqual(run.send_selected(), 1)
		run.reload()
		self.assertEqual((run.status, run.messages[0].status), ("Completed", "Sent"))
		self.assertEqual(len(self.communications()), 1)

	def test_max_messages_per_run(self):
		frappe.db.set_single_value("Dunning Plus Settings", "max_messages_per_run", 1)
		frappe.clear_document_cache("Dunning Plus Settings", "Dunning Plus Settings")
		others = [
			make_customer(f"_Test DP Max {i} {frappe.generate_hash(length=4)}", email_id=f"m{i}@x.example")
			for i in range(3)
		]
		for c in others:
			self.overdue_invoice(c)
		run = self.run_on(add_days(D0, 40))
		self.assertEqual(run.messages_count, 1)
		run = self.run_on(add_days(D0, 40))
		self.assertEqual(run.messages_count, 1)

	def test_send_now_from_the_case(self):
		self.overdue_invoice()
		with self.freeze_time(add_days(D0, 40), tick=True):
			case = case_of(self.customer)
			self.assertEqual(case.send_now(), {"messages": 1, "steps": 1})
			self.assertEqual(case.send_now(), {"messages": 0, "steps": 0})
		self.assertEqual(len(self.communications()), 1)


class TestRunsAlwaysClose(CycleTestCase):
	"""Issue 15 items 23 and 24: a run never stays Queued or Running when its work has stopped."""

	def overdue_invoice(self, customer=None, days=12):
		with self.freeze_time(add_days(D0, 40), tick=True):
			return make_invoice(customer or self.customer, add_days(D0, 40 - 30 - days), terms=TERMS_NET30)

	def test_a_customer_the_database_rolled_back_is_tried_again(self):
		self.overdue_invoice()
		real = deciding.cases.refresh_case
		calls = []

		def deadlocks_once(*args, **kwargs):
			calls.append(args[1])
			if len(calls) == 1:  # after the customer's steps were written
				raise frappe.QueryDeadlockError(
					pymysql.err.OperationalError(1213, "Deadlock found when trying to get lock")
				)
			return real(*args, **kwargs)

		with patch.object(deciding.cases, "refresh_case", side_effect=deadlocks_once):
			run = self.run_on(add_days(D0, 40))
		self.assertEqual(calls[:2], [self.customer, self.customer])
		self.assertEqual([e.error for e in run.errors], [])
		self.assertEqual((run.status, run.messages_count, run.sent_count), ("Completed", 1, 1))
		self.assertEqual([(s.step_code, s.status) for s in self.steps()], [("L1", "Sent")])
		self.assertEqual(len(self.communications()), 1)
		case = case_of(self.customer)
		self.assertEqual((case.current_level, case.status), (1, "Dunning"))

	def test_closing_the_run_after_delivery_is_tried_again_after_a_deadlock(self):
		"""Seen with two processes: the delivery's last step, closing the runs it touched, met the other
		worker's locks; the database rolled it back and the worker stopped with the error."""
		self.overdue_invoice()
		real = run_log.progress
		closes = []

		def deadlocks_once(run_name, batch_done=False, finish=False):
			if finish and run_name not in closes:
				closes.append(run_name)
				raise frappe.QueryDeadlockError(
					pymysql.err.OperationalError(1213, "Deadlock found when trying to get lock")
				)
			return real(run_name, batch_done=batch_done, finish=finish)

		with patch.object(run_log, "progress", side_effect=deadlocks_once):
			run = self.run_on(add_days(D0, 40))
		self.assertEqual(closes, [run.name])
		self.assertEqual((run.status, run.messages_count, run.sent_count), ("Completed", 1, 1))
		self.assertEqual(len(self.communications()), 1)

	def test_a_delivery_whose_run_was_deleted_meanwhile_still_delivers(self):
		self.overdue_invoice()
		frappe.flags.dunning_plus_deliver_later = True
		try:
			run = self.run_on(add_days(D0, 40))
		finally:
			frappe.flags.dunning_plus_deliver_later = False
		keys = [m.message_key for m in run.messages if m.status == "Queued"]
		self.assertEqual(len(keys), 1)
		# cancelled and deleted by an administrator before its delivery job got to it
		frappe.get_doc("Dunning Run", run.name).cancel()
		frappe.delete_doc("Dunning Run", run.name, ignore_permissions=True)
		with self.freeze_time(add_days(D0, 40), tick=True):
			sent, errors = delivering.deliver_queued(COMPANY, keys, run.name)
		self.assertEqual((sent, errors), (1, []))
		self.assertEqual(len(self.communications()), 1)

	def test_a_lock_wait_timeout_is_tried_again_and_gives_up_after_three_attempts(self):
		self.overdue_invoice()
		timeout = frappe.QueryTimeoutError(pymysql.err.OperationalError(1205, "Lock wait timeout exceeded"))
		with patch.object(deciding, "_lock_customer", side_effect=timeout) as lock:
			run = self.run_on(add_days(D0, 40))
		self.assertEqual(lock.call_count, transactions.RETRIES)
		self.assertEqual((run.status, run.messages_count, len(run.errors)), ("Failed", 0, 1))
		self.assertIn("Lock wait timeout", run.errors[0].error)
		self.assertEqual(self.steps(), [])  # nothing half-written: the next run takes the step

	def test_messages_a_concurrent_run_delivered_first_still_close_the_run(self):
		self.overdue_invoice()
		real = run_log.record_batch

		def other_run_delivers_first(run_name, res):
			# another run of the day found the committed decision undelivered and sent it before this
			# run wrote its rows (seen with two workers: the run then stayed Running)
			delivering.deliver_queued(COMPANY, list(res.to_deliver))
			return real(run_name, res)

		with patch.object(run_log, "record_batch", side_effect=other_run_delivers_first):
			run = self.run_on(add_days(D0, 40))
		self.assertEqual(
			(run.status, run.messages_count, run.sent_count, run.waiting_count), ("Completed", 1, 1, 0)
		)
		self.assertTrue(run.messages[0].communication)
		self.assertEqual(len(self.communications()), 1)

	def test_a_batch_that_fails_closes_the_run_with_the_error(self):
		self.overdue_invoice()
		with (
			# one batch whatever other tests left open on the site
			patch.object(deciding, "customers_with_open_items", return_value=[self.customer]),
			patch.object(deciding, "process_customers", side_effect=RuntimeError("the database went away")),
		):
			run = self.run_on(add_days(D0, 40))
		self.assertEqual((run.status, run.batches_done, run.batches_total), ("Failed", 1, 1))
		self.assertIn("the database went away", run.status_reason)
		self.assertIn("Batch 1", run.errors[0].error)
		self.assertTrue(run.finished_at)

	def test_a_run_that_cannot_start_is_failed_with_the_reason(self):
		with patch.object(
			deciding, "customers_with_open_items", side_effect=RuntimeError("no customers table")
		):
			run = self.run_on(add_days(D0, 40))
		self.assertEqual(run.status, "Failed")
		self.assertIn("no customers table", run.status_reason)

	def test_a_run_whose_worker_was_killed_is_marked_stale_and_its_work_is_finished(self):
		others = [
			make_customer(f"_Test DP Killed {i} {frappe.generate_hash(length=4)}", email_id=f"k{i}@x.example")
			for i in range(2)
		]
		for c in (self.customer, *others):
			self.overdue_invoice(c)
		day = add_days(D0, 40)
		real = runs.run_batch
		left = []

		def killed_after_first_batch(run_name, batch_no, customers):
			if batch_no == 1:
				return real(run_name, batch_no, customers)
			left.append((run_name, batch_no, customers))  # the worker died: nothing of it is written

		with (
			patch.object(runs, "run_batch", side_effect=killed_after_first_batch),
			patch.object(
				deciding, "customers_with_open_items", return_value=sorted([self.customer, *others])
			),
		):
			run = self.run_on(day)
		self.assertEqual((run.status, run.batches_done, run.batches_total), ("Running", 1, 2))
		with self.freeze_time(add_days(day, 0), tick=True):
			self.assertEqual(run_hourly_checks(f"{day} 01:00:00")["stale_runs"], 0)  # still within reach
			self.assertEqual(run_hourly_checks(f"{day} 03:00:00")["stale_runs"], 1)
			self.assertEqual(run_hourly_checks(f"{day} 04:00:00")["stale_runs"], 0)
		run.reload()
		self.assertEqual(run.status, "Stale")
		self.assertIn("1 of 2 batches", run.status_reason)
		# a failed or stale day may be run again: it takes only what the stale run did not reach
		with self.freeze_time(day, tick=True):
			names = run_daily_cycle(as_of=day)
		again = frappe.get_doc(
			"Dunning Run",
			next(n for n in names if frappe.db.get_value("Dunning Run", n, "company") == COMPANY),
		)
		self.assertEqual(again.status, "Completed")
		self.assertEqual(again.messages_count, len(left[0][2]))
		for c in (self.customer, *others):
			self.assertEqual(len(self.steps(c)), 1)
			self.assertEqual(len(self.communications(c)), 1)
		# the lost batch reports after all: the stale run closes as usual
		with self.freeze_time(day, tick=True):
			real(*left[0])
		run.reload()
		self.assertEqual((run.status, run.status_reason, run.batches_done), ("Completed", None, 2))

	def test_a_run_no_worker_took_up_is_marked_stale(self):
		self.overdue_invoice()
		day = add_days(D0, 40)
		with patch.object(runs, "execute_run"):
			run = self.run_on(day)
		self.assertEqual(run.status, "Queued")
		with self.freeze_time(day, tick=True):
			run_hourly_checks(f"{day} 03:00:00")
		run.reload()
		self.assertEqual(run.status, "Stale")
		self.assertIn("never started", run.status_reason)


class TestRunForm(CycleTestCase):
	"""Issue 15 item 6: the open form refreshes itself; the counts add up and say what they count."""

	def test_each_batch_tells_the_open_form_after_its_commit(self):
		with self.freeze_time(add_days(D0, 40), tick=True):
			make_invoice(self.customer, add_days(D0, -2), terms=TERMS_NET30)
		run = self.run_on(add_days(D0, 40))
		log = getattr(frappe.local, "_realtime_log", [])
		updates = [m for event, m, _room in log if event == "doc_update" and m.get("name") == run.name]
		self.assertTrue(updates)  # queued for after the commit, never sent before it
		# the last one carries what the run's row holds now, so the form's reload finds it
		self.assertIn(str(run.modified), [str(u["modified"]) for u in updates])
		self.assertTrue(run.last_progress_at)

	def test_counts_add_up_and_say_what_they_count(self):
		broken = "_Test DP Broken Count Template"
		if not frappe.db.exists("Email Template", broken):
			frappe.get_doc(
				{"doctype": "Email Template", "name": broken, "subject": "{{ items[99].x }}", "response": "x"}
			).insert()
		failing = make_customer(f"_Test DP Count F {frappe.generate_hash(length=6)}", email_id="f@x.example")
		blocked = make_customer(f"_Test DP Count B {frappe.generate_hash(length=6)}", email_id="b@x.example")
		frappe.db.set_value(
			"Customer",
			failing,
			"dunning_policy",
			ensure_policy(
				"_Test DP Count Broken",
				steps=[
					{
						"step_code": "L1",
						"offset_days": 10,
						"kind": "Dunning Level",
						"level": 1,
						"email_template": broken,
					}
				],
			),
		)
		frappe.flags.dunning_plus_policies = None
		with self.freeze_time(add_days(D0, 40), tick=True):
			for c in (self.customer, failing, blocked):
				make_invoice(c, add_days(D0, -2), terms=TERMS_NET30)
			frappe.db.set_value("Customer", blocked, {"dunning_block": 1, "dunning_block_reason": "Talks"})
		run = self.run_on(add_days(D0, 40))
		self.assertEqual(
			(run.messages_count, run.sent_count, run.waiting_count, run.not_sent_count), (2, 1, 0, 1)
		)
		self.assertEqual(run.messages_count, run.sent_count + run.waiting_count + run.not_sent_count)
		self.assertEqual(run.errors_count, len(run.errors))
		self.assertEqual(run.held_count, 1)  # an instalment, not a message
		meta = frappe.get_meta("Dunning Run")
		self.assertEqual(meta.get_label("held_count"), "Instalments On Hold")
		for fieldname in ("held_count", "messages_count", "waiting_count", "not_sent_count", "errors_count"):
			self.assertTrue(meta.get_field(fieldname).description, fieldname)
		self.assertEqual(meta.get_field("counts_by_step").hidden, 1)
		self.assertEqual(meta.get_field("counts_by_step_html").fieldtype, "HTML")

	def test_proposals_reviewed_by_row_send_and_drop_and_the_counts_follow(self):
		frappe.db.set_single_value("Dunning Plus Settings", "proposal_mode", 1)
		frappe.clear_document_cache("Dunning Plus Settings", "Dunning Plus Settings")
		other = make_customer(f"_Test DP Review {frappe.generate_hash(length=6)}", email_id="r@x.example")
		with self.freeze_time(add_days(D0, 40), tick=True):
			for c in (self.customer, other):
				make_invoice(c, add_days(D0, -2), terms=TERMS_NET30)
		run = self.run_on(add_days(D0, 40))
		self.assertEqual((run.status, run.waiting_count, run.sent_count), ("Proposed", 2, 0))
		row = {r.customer: r.name for r in run.messages}
		with self.freeze_time(add_days(D0, 40), tick=True):
			self.assertEqual(run.send_selected(rows=[row[self.customer]]), 1)
			run.reload()
			self.assertEqual((run.status, run.sent_count, run.waiting_count), ("Proposed", 1, 1))
			self.assertEqual(run.drop_selected("Customer called", rows=[row[other]]), 1)
		run.reload()
		self.assertEqual(
			(run.status, run.messages_count, run.sent_count, run.waiting_count, run.not_sent_count),
			("Completed", 2, 1, 0, 1),
		)
		self.assertEqual(len(self.communications()), 1)
		self.assertEqual(self.communications(other), [])


class TestFeesInManyCompanies(CycleTestCase):
	"""Issue 15 item 22: ERPNext keeps a Dunning Type's ``dunning_type`` unique across companies."""

	OTHER = "_Test Company 1"  # ERPNext's second test company (USD)

	def other_company_customer(self):
		policy = ensure_policy("_Test DP Standard TC1", company=self.OTHER)
		frappe.db.set_value("Company", self.OTHER, "dunning_policy", policy)
		frappe.flags.dunning_plus_policies = None
		customer = make_customer(
			f"_Test DP Cycle TC1 {frappe.generate_hash(length=6)}", email_id="tc1@customer.example"
		)
		with self.freeze_time(add_days(D0, 40), tick=True):
			make_invoice(
				customer,
				add_days(D0, 40 - 30 - 26),
				terms=TERMS_NET30,
				company=self.OTHER,
				debit_to="Debtors - _TC1",
				currency="USD",
				items=[
					{
						"item_code": "_Test DP Service",
						"qty": 1,
						"rate": 1000,
						"income_account": "Sales - _TC1",
						"cost_center": "Main - _TC1",
					}
				],
			)
		return customer

	def fee_dunnings(self, customer):
		return frappe.get_all(
			"Dunning",
			filters={"customer": customer, "docstatus": 1},
			fields=["company", "dunning_type", "dunning_fee"],
		)

	def test_fee_steps_work_in_every_company(self):
		other = self.other_company_customer()
		with self.freeze_time(add_days(D0, 40), tick=True):
			make_invoice(self.customer, add_days(D0, 40 - 30 - 26), terms=TERMS_NET30)  # L2 in _Test Company
		day = add_days(D0, 40)
		with self.freeze_time(day, tick=True):
			first = frappe.get_doc("Dunning Run", run_daily_cycle(as_of=day, company=COMPANY)[0])
			second = frappe.get_doc("Dunning Run", run_daily_cycle(as_of=day, company=self.OTHER)[0])
		self.assertEqual(([e.error for e in first.errors], [e.error for e in second.errors]), ([], []))
		self.assertEqual((first.status, second.status), ("Completed", "Completed"))
		ours, theirs = self.fee_dunnings(self.customer), self.fee_dunnings(other)
		self.assertEqual([(d.company, flt(d.dunning_fee)) for d in ours], [(COMPANY, 15)])
		self.assertEqual([(d.company, flt(d.dunning_fee)) for d in theirs], [(self.OTHER, 15)])
		self.assertEqual(frappe.db.get_value("Dunning Type", ours[0].dunning_type, "company"), COMPANY)
		self.assertEqual(frappe.db.get_value("Dunning Type", theirs[0].dunning_type, "company"), self.OTHER)
		self.assertEqual([s.status for s in self.steps(other)], ["Sent"])
		case = frappe.get_doc(
			"Collection Case", frappe.db.get_value("Collection Case", {"customer": other}, "name")
		)
		self.assertEqual((case.company, case.current_level), (self.OTHER, 2))

	def test_each_company_reuses_its_own_dunning_type(self):
		other = self.other_company_customer()
		third = self.other_company_customer()
		day = add_days(D0, 40)
		with self.freeze_time(day, tick=True):
			# the first company already made its type: the other company must get one of its own
			frappe.get_doc(
				{
					"doctype": "Dunning Type",
					"dunning_type": "Dunning Level 2",
					"company": COMPANY,
					"income_account": "Sales - _TC",
					"cost_center": "Main - _TC",
				}
			).insert()
			run = frappe.get_doc("Dunning Run", run_daily_cycle(as_of=day, company=self.OTHER)[0])
		self.assertEqual([e.error for e in run.errors], [])
		types = {d.dunning_type for c in (other, third) for d in self.fee_dunnings(c)}
		self.assertEqual(len(types), 1)  # one type for the company, made once
		self.assertEqual(frappe.db.get_value("Dunning Type", types.pop(), "company"), self.OTHER)


class TestHourlyAndDaily(CycleTestCase):
	def test_broken_promise_escalates_once_and_resumes(self):
		collector = make_user("dp-hourly@example.com", ["Collector"])
		frappe.db.set_value("Customer", self.customer, "dunning_collector", collector)
		with self.freeze_time(add_days(D0, 40), tick=True):
			make_invoice(self.customer, add_days(D0, -2), terms=TERMS_NET30)
			case_of(self.customer).record_promise(str(add_days(D0, 43)))
		self.assertEqual(case_of(self.customer).status, "Promised")
		with self.freeze_time(add_days(D0, 45), tick=True):
			self.assertEqual(run_hourly_checks(add_days(D0, 45))["promises"], 1)
			self.assertEqual(run_hourly_checks(add_days(D0, 45))["promises"], 0)
		case = case_of(self.customer)
		self.assertEqual(case.status, "Escalated")
		self.assertEqual(
			len(
				frappe.get_all(
					"ToDo", filters={"allocated_to": collector, "description": ["like", "%broken%"]}
				)
			),
			1,
		)

	def test_dispute_open_beyond_its_sla_escalates(self):
		make_user("dp-mgr-sla@example.com", ["Collections Manager"])
		with self.freeze_time(add_days(D0, 40), tick=True):
			make_invoice(self.customer, add_days(D0, -2), terms=TERMS_NET30)
			dispute = case_of(self.customer).open_dispute("Pricing")
		frappe.db.set_value("Dispute Reason", "Pricing", "sla_days", 5)
		self.assertEqual(run_hourly_checks(add_days(D0, 45))["disputes"], 0)
		self.assertEqual(run_hourly_checks(add_days(D0, 46))["disputes"], 1)
		self.assertEqual(run_hourly_checks(add_days(D0, 47))["disputes"], 0)
		self.assertTrue(
			frappe.db.exists("ToDo", {"reference_name": dispute, "allocated_to": "dp-mgr-sla@example.com"})
		)

	def test_cases_due_without_a_message_are_refreshed_from_one_read_per_batch(self):
		"""A case whose next action came due but whose items are held gets no message: the run
		brings it up to date all the same, reading the position of all such customers at once."""
		from dunning_plus import ledger

		frappe.db.set_single_value("Dunning Plus Settings", "batch_size", 10)
		frappe.clear_document_cache("Dunning Plus Settings", "Dunning Plus Settings")
		customers = [self.customer] + [
			make_customer(f"_Test DP Due {n} {frappe.generate_hash(length=6)}", email_id=f"d{n}@x.example")
			for n in range(2)
		]
		with self.freeze_time(D0, tick=True):
			for customer in customers:
				make_invoice(customer, D0, terms=TERMS_NET30)
		self.run_on(add_days(DUE, 3))
		for customer in customers:
			self.assertEqual(getdate(case_of(customer).next_action_date), add_days(DUE, 10))
			# blocked behind the case's back: the case still says L1 is due on DUE + 10
			frappe.db.set_value(
				"Customer",
				customer,
				{
					"dunning_block": 1,
					"dunning_block_reason": "Talks",
					"dunning_block_until": add_days(DUE, 20),
				},
			)
		with patch.object(ledger, "read_position", wraps=ledger.read_position) as read:
			run = self.run_on(add_days(DUE, 10))
		self.assertEqual(run.messages_count, 0)
		# one read for the batch, one for its three due cases: not one per case
		self.assertEqual(read.call_count, 2)
		self.assertEqual(sorted(read.call_args_list[1].args[1]), sorted(customers))
		for customer in customers:
			self.assertEqual([s.step_code for s in self.steps(customer)], ["R+3"])
			self.assertGreater(getdate(case_of(customer).next_action_date), add_days(DUE, 10))

	def test_a_recomputed_case_rewrites_only_the_item_rows_that_changed(self):
		with self.freeze_time(D0, tick=True):
			first = make_invoice(self.customer, D0, terms=TERMS_NET30)
			second = make_invoice(self.customer, add_days(D0, 5), terms=TERMS_NET30)
		self.run_on(add_days(DUE, 3))  # R+3 for the first invoice, R-7 for the second

		def items():
			return {
				r.reference_name: (r.name, r.outstanding, r.last_step)
				for r in frappe.get_all(
					"Collection Case Item",
					filters={"parent": case_of(self.customer).name},
					fields=["name", "reference_name", "outstanding", "last_step"],
				)
			}

		before = items()
		self.assertEqual((before[first.name][2], before[second.name][2]), ("R+3", "R-7"))
		with self.freeze_time(add_days(DUE, 4), tick=True):
			pay(first.name, 400, add_days(DUE, 4))
		self.run_on(add_days(DUE, 4))  # no new step for either
		after = items()
		self.assertEqual(after[second.name], before[second.name])  # the same row, untouched
		self.assertNotEqual(after[first.name][0], before[first.name][0])  # written anew
		self.assertEqual((flt(before[first.name][1]), flt(after[first.name][1])), (1000, 600))
		case = case_of(self.customer)
		self.assertEqual([r.idx for r in case.items], [1, 2])
		self.assertEqual(flt(case.outstanding_amount), 1600)

	def test_expired_blocks_are_lifted(self):
		with self.freeze_time(add_days(D0, 40), tick=True):
			make_invoice(self.customer, add_days(D0, -2), terms=TERMS_NET30)
			case_of(self.customer).hold("Talks", str(add_days(D0, 42)))
		self.assertEqual(expire_blocks(add_days(D0, 42)), 0)
		with self.freeze_time(add_days(D0, 43), tick=True):
			self.assertEqual(expire_blocks(add_days(D0, 43)), 1)
		self.assertEqual(frappe.db.get_value("Customer", self.customer, "dunning_block"), 0)
		self.assertEqual(
			case_of(self.customer).status, "Dunning" if case_of(self.customer).current_level else "Open"
		)
