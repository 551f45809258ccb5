"""What the app adds to ERPNext, as data: roles and custom fields (read by install.py)."""


def get_roles() -> list[dict]:
	return [
		{"role_name": "Collections Manager", "desk_access": 1},
		{"role_name": "Collector", "desk_access": 1},
	]


def get_custom_fields() -> dict[str, list[dict]]:
	"""Custom fields on ERPNext doctypes, keyed by doctype (created in after_install, removed on uninstall)."""
	return {}
