"""What the browser checks (collection_page_check.py, desk_screens_check.py) share: the Chromium they
drive, the check counter and the fixture a site prepares through `bench execute`."""

from __future__ import annotations

import json
import subprocess

CHROMIUM = "/usr/bin/chromium"
ARGS = [
	"--no-sandbox",
	"--disable-gpu",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
]


class Checks:
	def __init__(self):
		self.passed = self.failed = 0

	def check(self, ok: bool, what: str, detail: str = "") -> bool:
		if ok:
			self.passed += 1
			print(f"ok   {what}")
		else:
			self.failed += 1
			print(f"FAIL {what}{': ' + detail if detail else ''}")
		return ok


def prepare(bench: str, site: str, method: str) -> dict:
	"""Runs a fixture method on the site and returns the dict it returned."""
	out = subprocess.run(
		["bench", "--site", site, "execute", method], cwd=bench, capture_output=True, text=True, check=True
	).stdout
	# bench prints the returned dict as JSON, after whatever the site logged
	start = out.rindex("\n{") + 1 if "\n{" in out else out.index("{")
	return json.loads(out[start:])
