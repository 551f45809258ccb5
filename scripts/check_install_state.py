"""What dunning_plus leaves on a site, checked from the database: run from a bench's sites folder.

	../env/bin/python /path/to/scripts/check_install_state.py --site SITE --expect installed|uninstalled

Prints one line per check, ``ok <what>`` or ``FAIL <what>: <detail>``; exits 1 when a check fails.
With ``installed``: the app, its doctypes, custom fields (and their columns), roles, read grants and
scheduler jobs are there. With ``uninstalled``: none of its custom fields, doctypes, tables, records
of its module, role permissions or scheduler jobs is left, and no hook of it runs.
"""

from __future__ import annotations

import argparse
import sys

APP = "dunning_plus"
MODULE = "Dunning Plus"

failures = 0


def check(what: str, ok: bool, detail: str = "") -> None:
	global failures
	if ok:
		print(f"ok {what}")
	else:
		failures += 1
		print(f"FAIL {what}: {detail}")


def app_doctypes() -> list[str]:
	"""The doctypes the app ships, from its own files (they stay on disk after uninstall)."""
	import json
	import pathlib

	import frappe

	root = pathlib.Path(frappe.get_app_path(APP, "dunning_plus", "doctype"))
	names = []
	for path in sorted(root.glob("*/*.json")):
		if path.stem == path.parent.name:
			names.append(json.loads(path.read_text())["name"])
	return names


def hook_methods() -> list[str]:
	from dunning_plus import hooks

	methods = []
	for value in hooks.scheduler_events.values():
		if isinstance(value, dict):
			for ms in value.values():
				methods.extend(ms)
		else:
			methods.extend(value)
	return methods


def installed() -> None:
	import frappe

	from dunning_plus.setup import COLLECTION_ROLES, get_custom_fields, get_roles

	check("app is installed", APP in frappe.get_installed_apps())
	for dt in app_doctypes():
		exists = frappe.db.exists("DocType", dt)
		table = frappe.db.table_exists(dt) or frappe.db.get_value("DocType", dt, "issingle")
		check(f"doctype {dt}", bool(exists and table), "missing")
	for dt, fields in get_custom_fields().items():
		for f in fields:
			name = frappe.db.exists("Custom Field", {"dt": dt, "fieldname": f["fieldname"]})
			has_column = f["fieldtype"] in ("Section Break", "Column Break", "Tab Break") or (
				frappe.db.has_column(dt, f["fieldname"])
			)
			check(f"custom field {dt}.{f['fieldname']}", bool(name and has_column), "missing")
	for role in get_roles():
		check(f"role {role['role_name']}", bool(frappe.db.exists("Role", role["role_name"])), "missing")
	perms = frappe.get_all("Custom DocPerm", filters={"role": ["in", COLLECTION_ROLES]}, pluck="parent")
	check("collection roles have their read grants", bool(perms), "no Custom DocPerm for the roles")
	for method in hook_methods():
		check(
			f"scheduler job {method}",
			bool(frappe.db.exists("Scheduled Job Type", {"method": method})),
			"not synced",
		)
	events = frappe.get_hooks("doc_events")
	ours = [h for dt in events.values() for hs in dt.values() for h in hs if h.startswith(APP + ".")]
	check("doc events are hooked", bool(ours), "none")


def uninstalled() -> None:
	import frappe

	from dunning_plus.setup import COLLECTION_ROLES, get_custom_fields

	check("app is not installed", APP not in frappe.get_installed_apps())
	for dt in app_doctypes():
		check(f"no doctype {dt}", not frappe.db.exists("DocType", dt), "DocType record left")
		check(f"no table of {dt}", not frappe.db.table_exists(dt), "table left")
	for dt, fields in get_custom_fields().items():
		names = [f["fieldname"] for f in fields]
		left = frappe.get_all(
			"Custom Field", filters={"dt": dt, "fieldname": ["in", names]}, pluck="fieldname"
		)
		check(f"no custom field on {dt}", not left, ", ".join(left))
		meta_left = [n for n in names if frappe.get_meta(dt).has_field(n)]
		check(f"{dt} form has none of our fields", not meta_left, ", ".join(meta_left))
	check("no Module Def", not frappe.db.exists("Module Def", MODULE), "left")
	for dt in ("Report", "Workspace", "Number Card", "Dashboard Chart", "Print Format", "Module Onboarding"):
		if not frappe.db.table_exists(dt):
			continue
		left = frappe.get_all(dt, filters={"module": MODULE}, pluck="name")
		check(f"no {dt} of the module", not left, ", ".join(left))
	for dt in ("Custom DocPerm", "DocPerm"):
		left = frappe.get_all(dt, filters={"role": ["in", COLLECTION_ROLES]}, fields=["parent", "role"])
		check(f"no {dt} for the collection roles", not left, ", ".join(f"{r.parent}/{r.role}" for r in left))
	check(
		"no Property Setter of ours",
		not frappe.get_all("Property Setter", filters={"module": MODULE}, pluck="name"),
		"left",
	)
	jobs = frappe.get_all("Scheduled Job Type", filters={"method": ["like", f"{APP}.%"]}, pluck="method")
	check("no scheduler job", not jobs, ", ".join(jobs))
	frappe.clear_cache()
	events = frappe.get_hooks("doc_events")
	ours = [h for dt in events.values() for hs in dt.values() for h in hs if h.startswith(APP + ".")]
	check("no doc event of ours runs", not ours, ", ".join(ours[:5]))
	jobs_hooked = [
		m for m in frappe.get_hooks("scheduler_events").get("hourly_long", []) if m.startswith(APP)
	]
	check("no scheduler hook of ours", not jobs_hooked, ", ".join(jobs_hooked))


def main() -> int:
	parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	parser.add_argument("--site", required=True)
	parser.add_argument("--expect", choices=("installed", "uninstalled"), required=True)
	args = parser.parse_args()

	import frappe

	frappe.init(site=args.site, sites_path=".")
	frappe.connect()
	try:
		installed() if args.expect == "installed" else uninstalled()
	finally:
		frappe.destroy()
	return 1 if failures else 0


if __name__ == "__main__":
	sys.exit(main())
