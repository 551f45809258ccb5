#!/usr/bin/env python3
"""Browser check of the customer's collection page on a served site (loopback only).

    /opt/pw-venv/bin/python scripts/collection_page_check.py --bench BENCH --site SITE [--url URL]

Prepares a case with a real link (`bench --site SITE execute
dunning_plus.tests.collection_page_fixture.prepare`; the site needs the _Test records of a test
run), opens the link in headless Chromium (Debian's /usr/bin/chromium driven by Playwright's Python
package; no browser is downloaded), promises to pay, disputes an item with a PDF attached, uploads
a remittance advice, then checks the case through the REST API as Administrator. Screenshots at
1440x900 and 390x844 go to --out. Prints one line per check and ends with
`collection-page-check: N passed, M failed (Ts)`; exits 1 on any failure, 3 when Chromium or
Playwright is missing.
"""

from __future__ import annotations

import argparse
import datetime
import http.cookiejar
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from browser_common import ARGS, CHROMIUM, Checks, prepare

BY_CUSTOMER = "(by the customer via the collection page)"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
# a 1x1 PNG
PNG = bytes.fromhex(
	"89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002"
	"000154a24f5d0000000049454e44ae426082"
)


class Api:
	"""The site's REST API as Administrator (loopback)."""

	def __init__(self, base: str, user: str, password: str):
		self.base = base.rstrip("/")
		self.opener = urllib.request.build_opener(
			urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
		)
		body = urllib.parse.urlencode({"usr": user, "pwd": password}).encode()
		self.opener.open(f"{self.base}/api/method/login", body, timeout=30).read()

	def list(self, doctype: str, filters: list, fields: list) -> list[dict]:
		query = urllib.parse.urlencode(
			{"filters": json.dumps(filters), "fields": json.dumps(fields), "limit_page_length": 100}
		)
		url = f"{self.base}/api/resource/{urllib.parse.quote(doctype)}?{query}"
		return json.loads(self.opener.open(url, timeout=30).read())["data"]


def run(opts) -> int:
	t0 = time.monotonic()
	checks = Checks()
	try:
		from playwright.sync_api import sync_playwright
	except ImportError:
		print("collection-page-check: skipped, Playwright's Python package is not installed")
		return 3
	if not os.access(CHROMIUM, os.X_OK):
		print(f"collection-page-check: skipped, {CHROMIUM} is not there")
		return 3

	fixture = prepare(opts.bench, opts.site, "dunning_plus.tests.collection_page_fixture.prepare")
	url = fixture["url"]
	if opts.url:  # the link as the site writes it, on the address this check reaches the site at
		url = opts.url.rstrip("/") + "/collect/" + url.rsplit("/collect/", 1)[1]
	base = url.split("/collect/")[0]
	print(f"case {fixture['case']} of {fixture['customer']}: {url}")
	os.makedirs(opts.out, exist_ok=True)
	files = tempfile.mkdtemp(prefix="collection-page-")
	pdf, png = os.path.join(files, "delivery-note.pdf"), os.path.join(files, "remittance.png")
	with open(pdf, "wb") as f:
		f.write(PDF)
	with open(png, "wb") as f:
		f.write(PNG)
	shot = lambda name: os.path.join(opts.out, name)  # noqa: E731
	promised = (datetime.date.today() + datetime.timedelta(days=7)).isoformat()
	errors: list[str] = []

	with sync_playwright() as pw:
		browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
		try:
			desk = browser.new_context(viewport={"width": 1440, "height": 900})
			page = desk.new_page()
			page.on("pageerror", lambda e: errors.append(str(e)))
			response = page.goto(url, wait_until="networkidle")
			checks.check(response.status == 200, "the link opens the page", f"HTTP {response.status}")
			checks.check(page.locator(".dp-item").count() == 3, "three open items are listed")
			checks.check(
				page.locator("#dp-reference").count() == 1, "bank details and the reference to quote"
			)
			page.screenshot(path=shot("desktop-1440x900.png"), full_page=True)

			page.click("#dp-promise summary")
			page.fill("#dp-promise-date", promised)
			page.fill("#dp-promise-amount", "500")
			page.fill("#dp-promise-note", "Paying the first part next week.")
			page.click("#dp-promise button[type=submit]")
			page.wait_for_url("**done=promise", timeout=30000)
			checks.check(page.locator("#dp-done").count() == 1, "the promise is confirmed")

			page.click("#dp-dispute summary")
			page.locator("#dp-dispute input[name=items]").first.check()
			page.select_option("#dp-dispute-reason", "Damaged Goods")
			page.fill("#dp-dispute-comment", "Two boxes arrived broken; photos attached.")
			page.set_input_files("#dp-dispute-file", pdf)
			page.click("#dp-dispute button[type=submit]")
			page.wait_for_url("**done=dispute", timeout=30000)
			checks.check(page.locator(".badge-warning").count() >= 1, "the disputed item is marked")

			page.click("#dp-remittance summary")
			page.fill("#dp-remittance-reference", "TRF-4711")
			page.fill("#dp-remittance-amount", "250")
			page.set_input_files("#dp-remittance-file", png)
			page.click("#dp-remittance button[type=submit]")
			page.wait_for_url("**done=remittance", timeout=30000)
			checks.check(page.locator("#dp-done").count() == 1, "the remittance advice is confirmed")
			page.screenshot(path=shot("desktop-1440x900-after.png"), full_page=True)

			phone = browser.new_context(
				viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
			)
			mobile = phone.new_page()
			mobile.on("pageerror", lambda e: errors.append(str(e)))
			mobile.goto(url, wait_until="networkidle")
			mobile.screenshot(path=shot("mobile-390x844.png"))
			mobile.screenshot(path=shot("mobile-390x844-full.png"), full_page=True)
			width = mobile.evaluate("document.documentElement.scrollWidth")
			checks.check(width <= 390, "no sideways scrolling on a phone", f"page is {width}px wide")
			for summary in ("#dp-promise summary", "#dp-remittance summary"):
				if mobile.locator(summary).count():
					mobile.click(summary)
			mobile.screenshot(path=shot("mobile-390x844-forms.png"), full_page=True)
			bad = url[:-3] + ("aaa" if not url.endswith("aaa") else "bbb")
			response = mobile.goto(bad, wait_until="networkidle")
			checks.check(
				response.status == 404 and fixture["customer"] not in mobile.content(),
				"a tampered link gets the neutral page",
			)
			mobile.screenshot(path=shot("mobile-390x844-neutral.png"))
		finally:
			browser.close()
	shutil.rmtree(files, ignore_errors=True)
	checks.check(not errors, "no script errors on the page", "; ".join(errors))

	api = Api(base, opts.user, opts.password)
	case = fixture["case"]
	promises = api.list(
		"Payment Promise", [["collection_case", "=", case]], ["name", "source", "amount", "promised_date"]
	)
	checks.check(
		[(p["source"], float(p["amount"]), p["promised_date"]) for p in promises]
		== [("Customer", 500.0, promised)],
		"a Payment Promise with source Customer",
		json.dumps(promises),
	)
	disputes = api.list(
		"Collection Dispute", [["collection_case", "=", case]], ["name", "source", "reason", "description"]
	)
	checks.check(
		[(d["source"], d["reason"]) for d in disputes] == [("Customer", "Damaged Goods")],
		"a Collection Dispute with source Customer",
		json.dumps(disputes),
	)
	attached = api.list(
		"File",
		[
			["attached_to_doctype", "=", "Collection Dispute"],
			["attached_to_name", "in", [d["name"] for d in disputes]],
		],
		["file_name", "is_private"],
	)
	checks.check(
		[(f["file_name"], f["is_private"]) for f in attached] == [("delivery-note.pdf", 1)],
		"the dispute's attachment, private",
		json.dumps(attached),
	)
	advice = api.list(
		"File",
		[["attached_to_doctype", "=", "Collection Case"], ["attached_to_name", "=", case]],
		["file_name", "is_private"],
	)
	checks.check(
		("remittance.png", 1) in [(f["file_name"], f["is_private"]) for f in advice],
		"the remittance advice on the case, private",
		json.dumps(advice),
	)
	todos = api.list("ToDo", [["reference_name", "=", case], ["status", "=", "Open"]], ["description"])
	checks.check(
		any("TRF-4711" in t["description"] for t in todos), "a ToDo for the accountant", json.dumps(todos)
	)
	details = [
		a["details"] for a in api.list("Collection Action", [["collection_case", "=", case]], ["details"])
	]
	marked = [d for d in details if BY_CUSTOMER in (d or "")]
	checks.check(len(marked) >= 3, "promise, dispute and remittance in the audit trail", json.dumps(details))

	print(f"screenshots: {opts.out}")
	print(
		f"collection-page-check: {checks.passed} passed, {checks.failed} failed ({time.monotonic() - t0:.1f}s)"
	)
	return 1 if checks.failed else 0


def main() -> int:
	parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
	parser.add_argument("--bench", required=True, help="the bench directory")
	parser.add_argument("--site", required=True)
	parser.add_argument("--url", help="where the site is served (default: the site's own host_name)")
	parser.add_argument("--out", default="/tmp/collection-page-check", help="screenshot folder")
	parser.add_argument("--user", default="Administrator")
	parser.add_argument("--password", default=os.environ.get("ADMIN_PASSWORD", "admin"))
	return run(parser.parse_args())


if __name__ == "__main__":
	sys.exit(main())
