"""The app's UI strings in German, French and Spanish (Frappe v15 app translations:
dunning_plus/translations/<lang>.csv, source text and translation per line)."""

import csv
import json
import re
from pathlib import Path

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.translate import clear_cache, get_all_translations

LANGUAGES = ("de", "fr", "es")
PLACEHOLDER = re.compile(r"\{\d+\}")
JS_STRING = re.compile(r"""__\(\s*(["'`])((?:\\.|(?!\1).)*)\1\s*[,)]""")


def app_path(*parts) -> Path:
	return Path(frappe.get_app_path("dunning_plus", *parts))


def read_csv(lang: str) -> dict[str, str]:
	with app_path("translations", f"{lang}.csv").open(encoding="utf-8", newline="") as fh:
		rows = list(csv.reader(fh))
	out = {}
	for n, row in enumerate(rows, start=1):
		assert len(row) in (2, 3), f"{lang}.csv line {n}: {row}"
		assert row[0] not in out, f"{lang}.csv line {n}: {row[0]!r} twice"
		assert row[1].strip(), f"{lang}.csv line {n}: empty translation"
		out[row[0]] = row[1]
	return out


def ui_strings() -> set[str]:
	"""Doctype names, field labels and options of the app, and every __() string of its JS."""
	strings = set()
	for path in app_path("dunning_plus", "doctype").glob("*/*.json"):
		meta = json.loads(path.read_text())
		if meta.get("doctype") != "DocType":
			continue
		strings.add(meta["name"])
		for field in meta.get("fields", []):
			if field.get("label"):
				strings.add(field["label"])
			if field.get("fieldtype") == "Select":
				strings.update(
					o
					for o in (field.get("options") or "").split("\n")
					if o.strip() and field["fieldname"] != "naming_series"  # series are not words
				)
	for path in app_path().rglob("*.js"):
		for m in JS_STRING.finditer(path.read_text()):
			strings.add(m.group(2).replace("\\'", "'").replace('\\"', '"'))
	return strings


class TestTranslations(FrappeTestCase):
	def tearDown(self):
		frappe.local.lang = "en"

	def test_csv_files_parse_and_keep_placeholders(self):
		for lang in LANGUAGES:
			rows = read_csv(lang)
			self.assertGreater(len(rows), 500, lang)
			for source, target in rows.items():
				self.assertEqual(
					sorted(PLACEHOLDER.findall(source)),
					sorted(PLACEHOLDER.findall(target)),
					f"{lang}: {source!r} -> {target!r}",
				)

	def test_every_label_option_and_button_is_translated(self):
		clear_cache()
		for lang in LANGUAGES:
			known = get_all_translations(lang)
			missing = sorted(s for s in ui_strings() if s not in known)
			self.assertEqual(missing, [], lang)

	def test_key_strings_translate(self):
		clear_cache()
		expected = {
			"de": {
				"Dunning Policy": "Mahnrichtlinie",
				"Collection Case": "Inkassofall",
				"Record Promise": "Zusage erfassen",
				"Dunning Level {0}": "Mahnstufe {0}",
				"Backtest": "Backtest",
			},
			"fr": {
				"Dunning Policy": "Politique de relance",
				"Collection Case": "Dossier de recouvrement",
				"Record Promise": "Enregistrer une promesse",
				"Final Notice": "Dernier avis",
			},
			"es": {
				"Dunning Policy": "Política de reclamación",
				"Collection Case": "Caso de cobro",
				"Record Promise": "Registrar promesa",
				"Payment Reminder": "Recordatorio de pago",
			},
		}
		for lang, pairs in expected.items():
			frappe.local.lang = lang
			for source, target in pairs.items():
				self.assertEqual(frappe._(source), target, f"{lang}: {source}")
		frappe.local.lang = "de"
		self.assertEqual(
			frappe._("Dunning Policy {0} does not exist.").format("X"), "Mahnrichtlinie X existiert nicht."
		)
