"""What the app adds to ERPNext, as data: roles and custom fields (read by install.py)."""


def get_roles() -> list[dict]:
	return [
		{"role_name": "Collections Manager", "desk_access": 1},
		{"role_name": "Collector", "desk_access": 1},
	]


# ERPNext documents the collection roles read (to open the customer, invoice or order behind a case).
READ_ACCESS = ("Customer", "Sales Invoice", "Sales Order", "Payment Entry", "Dunning")
COLLECTION_ROLES = ("Collections Manager", "Collector")


def get_custom_fields() -> dict[str, list[dict]]:
	"""Custom fields on ERPNext doctypes, keyed by doctype (created in after_install, removed on uninstall)."""
	policy_link = {"fieldtype": "Link", "options": "Dunning Policy", "label": "Dunning Policy"}
	return {
		"Customer": [
			{
				"fieldname": "dunning_section",
				"fieldtype": "Section Break",
				"label": "Collections",
				"insert_after": "credit_limits",
				"collapsible": 1,
			},
			{
				**policy_link,
				"fieldname": "dunning_policy",
				"insert_after": "dunning_section",
				"description": "Overrides the customer group's and the company's default policy",
			},
			{
				"fieldname": "dunning_collector",
				"fieldtype": "Link",
				"options": "User",
				"label": "Collector",
				"insert_after": "dunning_policy",
			},
			{
				"fieldname": "dunning_credit_hold",
				"fieldtype": "Check",
				"label": "On Credit Hold",
				"insert_after": "dunning_collector",
				"description": "Sales Orders are refused while set (set by a dunning step, released on resolution)",
			},
			{
				"fieldname": "dunning_column_break",
				"fieldtype": "Column Break",
				"insert_after": "dunning_credit_hold",
			},
			{
				"fieldname": "dunning_block",
				"fieldtype": "Check",
				"label": "Dunning Blocked",
				"insert_after": "dunning_column_break",
			},
			{
				"fieldname": "dunning_block_reason",
				"fieldtype": "Small Text",
				"label": "Block Reason",
				"insert_after": "dunning_block",
				"depends_on": "dunning_block",
				"mandatory_depends_on": "dunning_block",
			},
			{
				"fieldname": "dunning_block_until",
				"fieldtype": "Date",
				"label": "Blocked Until",
				"insert_after": "dunning_block_reason",
				"depends_on": "dunning_block",
				"description": "Empty = until lifted",
			},
		],
		"Customer Group": [
			{**policy_link, "fieldname": "dunning_policy", "insert_after": "payment_terms"},
		],
		"Company": [
			{
				**policy_link,
				"fieldname": "dunning_policy",
				"label": "Default Dunning Policy",
				"insert_after": "payment_terms",
			},
		],
		# The User Permissions on Customer the app keeps for collectors (see permissions.py): only these
		# are added and removed by it, never one an administrator made.
		"User Permission": [
			{
				"fieldname": "dunning_plus_managed",
				"fieldtype": "Check",
				"label": "Kept by Dunning Plus",
				"insert_after": "apply_to_all_doctypes",
				"read_only": 1,
				"no_copy": 1,
				"description": "Given because the user collects a case of this customer; updated as cases are assigned",
			},
		],
		"Sales Invoice": [
			# A tab of its own (it sat in the Terms tab); the state shows as indicators on top.
			{
				"fieldname": "collections_tab",
				"fieldtype": "Tab Break",
				"label": "Collections",
				"insert_after": "terms",
			},
			{
				"fieldname": "dunning_section",
				"fieldtype": "Section Break",
				"label": "Dunning",
				"insert_after": "collections_tab",
			},
			{
				**policy_link,
				"fieldname": "dunning_policy",
				"insert_after": "dunning_section",
				"allow_on_submit": 1,
				"no_copy": 1,
				"description": "Overrides the customer's policy for this invoice",
			},
			{
				"fieldname": "current_dunning_level",
				"fieldtype": "Int",
				"label": "Dunning Level",
				"insert_after": "dunning_policy",
				"read_only": 1,
				"allow_on_submit": 1,
				"no_copy": 1,
			},
			{
				"fieldname": "collection_case",
				"fieldtype": "Link",
				"options": "Collection Case",
				"label": "Collection Case",
				"insert_after": "current_dunning_level",
				"read_only": 1,
				"allow_on_submit": 1,
				"no_copy": 1,
			},
			{
				"fieldname": "dunning_column_break",
				"fieldtype": "Column Break",
				"insert_after": "collection_case",
			},
			{
				"fieldname": "dunning_block",
				"fieldtype": "Check",
				"label": "Dunning Blocked",
				"insert_after": "dunning_column_break",
				"allow_on_submit": 1,
				"no_copy": 1,
			},
			{
				"fieldname": "dunning_block_reason",
				"fieldtype": "Small Text",
				"label": "Block Reason",
				"insert_after": "dunning_block",
				"depends_on": "dunning_block",
				"mandatory_depends_on": "dunning_block",
				"allow_on_submit": 1,
				"no_copy": 1,
			},
			{
				"fieldname": "dunning_block_until",
				"fieldtype": "Date",
				"label": "Blocked Until",
				"insert_after": "dunning_block_reason",
				"depends_on": "dunning_block",
				"allow_on_submit": 1,
				"no_copy": 1,
			},
		],
	}
