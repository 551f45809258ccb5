app_name = "dunning_plus"
app_title = "Dunning Plus"
app_publisher = "dunning_plus contributors"
app_description = (
	"Governed payment collection for ERPNext: deposits, reminders, dunning levels, promises, "
	"disputes, resolution and reconciliation."
)
app_email = "dev@dunning-plus.invalid"
app_license = "mit"
# "org/repo" as frappe/hrms writes it: a bare "erpnext" makes Frappe look the org up on GitHub at install.
required_apps = ["frappe/erpnext"]

# Installation
# ------------
after_install = "dunning_plus.install.after_install"
before_uninstall = "dunning_plus.install.before_uninstall"
# `run-tests --app dunning_plus` runs only our before_tests: it completes ERPNext's setup as ERPNext's own does.
before_tests = "dunning_plus.install.before_tests"

# Document events (ERPNext is extended through events, never by overriding its classes)
# ---------------
doc_events = {
	"Sales Invoice": {
		"validate": "dunning_plus.events.sales_invoice.validate",
		"on_submit": "dunning_plus.events.sales_invoice.on_submit",
		"on_cancel": "dunning_plus.events.sales_invoice.on_cancel",
		"on_update_after_submit": "dunning_plus.events.sales_invoice.on_update_after_submit",
		"on_trash": "dunning_plus.events.sales_invoice.on_trash",
	},
	"Payment Entry": {
		"before_validate": "dunning_plus.collection_page.payment_entry_from_page_request",
		"on_submit": "dunning_plus.events.payments.payment_entry_changed",
		"on_cancel": "dunning_plus.events.payments.payment_entry_changed",
		"on_trash": "dunning_plus.events.payments.payment_entry_trashed",
	},
	"Journal Entry": {
		"on_submit": "dunning_plus.events.payments.journal_entry_changed",
		"on_cancel": "dunning_plus.events.payments.journal_entry_changed",
	},
	"Unreconcile Payment": {
		"on_submit": "dunning_plus.events.payments.unreconcile_changed",
	},
	"Payment Ledger Entry": {
		"on_submit": "dunning_plus.events.payments.ledger_entry_submitted",
	},
	"Sales Order": {
		"before_submit": "dunning_plus.events.sales_order.check_credit_hold",
		"on_submit": "dunning_plus.events.sales_order.on_submit",
		"on_cancel": "dunning_plus.events.sales_order.on_cancel",
		"on_update_after_submit": "dunning_plus.events.sales_order.on_update_after_submit",
		"on_trash": "dunning_plus.events.sales_order.on_trash",
	},
	"Customer": {
		"validate": "dunning_plus.events.customer.validate",
		"on_update": ["dunning_plus.events.customer.on_update", "dunning_plus.onboarding.update_onboarding"],
	},
	# assignments on a case decide which customers a collector sees
	"ToDo": {
		"after_insert": "dunning_plus.permissions.todo_changed",
		"on_update": "dunning_plus.permissions.todo_changed",
		"on_trash": "dunning_plus.permissions.todo_changed",
	},
	# The guided setup (Module Onboarding "Collections") marks its steps done from the data.
	"Company": {"on_update": "dunning_plus.onboarding.update_onboarding"},
	"Dunning Plus Settings": {
		"on_update": [
			"dunning_plus.permissions.settings_changed",
			"dunning_plus.onboarding.update_onboarding",
		],
	},
	"Dunning Policy": {"on_update": "dunning_plus.onboarding.update_onboarding"},
}

# The audit trail and the run log keep the names of documents deleted later, as Communication does;
# the rest of what names an ERPNext document is cleaned up by the on_trash events above (links.py).
ignore_links_on_delete = ["Collection Action", "Dunning Run Message", "Dunning Run Error"]

# Permissions: a Collector works only their own cases
# -----------
permission_query_conditions = {
	"Collection Case": "dunning_plus.permissions.collection_case_query",
	"Payment Promise": "dunning_plus.permissions.payment_promise_query",
	"Collection Dispute": "dunning_plus.permissions.collection_dispute_query",
	"Collection Action": "dunning_plus.permissions.collection_action_query",
	# A Collector with no case yet sees no customer (otherwise User Permissions on Customer limit them)
	**{
		doctype: "dunning_plus.permissions.customer_linked_query"
		for doctype in ("Customer", "Sales Invoice", "Sales Order", "Payment Entry", "Dunning")
	},
}
has_permission = {
	"Collection Case": "dunning_plus.permissions.collection_case_permission",
	"Payment Promise": "dunning_plus.permissions.payment_promise_permission",
	"Collection Dispute": "dunning_plus.permissions.collection_dispute_permission",
	"Collection Action": "dunning_plus.permissions.collection_action_permission",
	**{
		doctype: "dunning_plus.permissions.customer_linked_permission"
		for doctype in ("Customer", "Sales Invoice", "Sales Order", "Payment Entry", "Dunning")
	},
}

# Screens
# -------
doctype_js = {
	"Customer": ["public/js/customer.js", "public/js/customer_segment.js"],
	"Sales Invoice": "public/js/sales_invoice.js",
	# Log Call and the customer's segment on the case (a file of its own, beside the form's)
	"Collection Case": "public/js/collection_case_calls.js",
	# the SMS length warning on the policy's steps
	"Dunning Policy": "public/js/dunning_policy_sms.js",
}
override_doctype_dashboards = {
	"Customer": "dunning_plus.dashboards.customer_dashboard",
	"Sales Invoice": "dunning_plus.dashboards.sales_invoice_dashboard",
}

# Print formats: the open-items statement reads the customer's whole open position and open credits
jinja = {"methods": ["dunning_plus.statement.dunning_statement", "dunning_plus.collect_links.letter_link"]}

# The customer's collection page behind every message (no login; dunning_plus/www/collect.py)
# ------------------------
website_route_rules = [{"from_route": "/collect/<token>", "to_route": "collect"}]

# Scheduled work
# --------------
# The daily cycle starts at the hour set in Dunning Plus Settings (checked by an hourly cron) and
# runs on the long queue; the hourly checks and block expiry are long jobs too.
scheduler_events = {
	"cron": {"0 * * * *": ["dunning_plus.tasks.scheduled_daily_cycle"]},
	"hourly_long": ["dunning_plus.tasks.run_hourly_checks"],
	"daily_long": ["dunning_plus.tasks.expire_blocks"],
}
