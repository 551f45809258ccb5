#!/usr/bin/env python3
"""Browser check of the desk screens collectors use, on a served site (loopback only).

    /opt/pw-venv/bin/python scripts/desk_screens_check.py --bench BENCH --site SITE --url URL [--out DIR]

Prepares a case (`bench --site SITE execute dunning_plus.tests.desk_screens_fixture.prepare`), logs
in as Administrator in headless Chromium (Debian's /usr/bin/chromium through Playwright's Python
package) at 1440x900 and checks what issue 15 found broken: a new Dunning Policy opens without an
error dialog or a failed request; the Collection Case list shows Outstanding and Overdue; the case's
items grid shows Payment Term, Due Date, Days Overdue and Outstanding uncut; the Collection Action
list names the customer; the disputed Sales Invoice says so; the Collections workspace charts log
no invalid color. Screenshots go to --out. Ends with `desk-screens-check: N passed, M failed (Ts)`;
exits 1 on a failure, 3 when Chromium or Playwright is missing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from browser_common import ARGS, CHROMIUM, Checks, prepare


def cut(page, selector: str) -> list[str]:
	"""Texts of the visible cells matching selector whose content is wider than the cell."""
	return page.eval_on_selector_all(
		selector,
		"""els => els.filter(e => e.offsetParent && e.scrollWidth > e.clientWidth + 1)
			.map(e => e.innerText.trim()).filter(Boolean)""",
	)


def run(opts) -> int:
	t0 = time.monotonic()
	checks = Checks()
	try:
		from playwright.sync_api import sync_playwright
	except ImportError:
		print("desk-screens-check: skipped, Playwright's Python package is not installed")
		return 3
	if not os.access(CHROMIUM, os.X_OK):
		print(f"desk-screens-check: skipped, {CHROMIUM} is not there")
		return 3
	fx = prepare(opts.bench, opts.site, "dunning_plus.tests.desk_screens_fixture.prepare")
	print(f"case {fx['case']} of {fx['customer']}")
	base = opts.url.rstrip("/")
	os.makedirs(opts.out, exist_ok=True)
	shot = lambda name: os.path.join(opts.out, name)  # noqa: E731
	with sync_playwright() as pw:
		browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
		try:
			ctx = browser.new_context(viewport={"width": 1440, "height": 900})
			page = ctx.new_page()
			console: list[str] = []
			failed: list[str] = []
			page.on("console", lambda m: console.append(m.text))
			page.on("pageerror", lambda e: console.append(str(e)))
			page.on(
				"response",
				lambda r: (
					failed.append(f"{r.status} {r.url}") if r.status >= 400 and "/api/" in r.url else None
				),
			)
			page.goto(f"{base}/login", wait_until="networkidle")
			page.fill("#login_email", "Administrator")
			page.fill("#login_password", opts.password)
			page.click(".btn-login")
			page.wait_for_url("**/app**", timeout=60000)

			# item 5: a new policy, then typing in it
			page.goto(f"{base}/app/dunning-policy/new", wait_until="networkidle")
			page.wait_for_timeout(1500)
			page.fill("input[data-fieldname='policy_name']", "Browser check policy")
			page.wait_for_timeout(1500)
			dialogs = page.locator(".modal.show .msgprint, .modal.show .modal-body .msgprint").count()
			page.screenshot(path=shot("policy-new.png"), full_page=True)
			checks.check(dialogs == 0, "a new Dunning Policy opens and is typed in without an error dialog")
			bad = [f for f in failed if "get_preview" in f]
			checks.check(not bad, "the policy preview never fails while typing", "; ".join(bad))

			# item 9: lists and grids
			page.goto(f"{base}/app/collection-case", wait_until="networkidle")
			page.wait_for_timeout(1000)
			heads = " ".join(page.locator(".list-row-head").all_inner_texts())
			page.screenshot(path=shot("case-list.png"))
			checks.check(
				"Outstanding" in heads and "Overdue" in heads,
				"the case list shows Outstanding and Overdue",
				heads,
			)

			page.goto(f"{base}/app/collection-case/{fx['case']}", wait_until="networkidle")
			page.wait_for_timeout(1500)
			grid = page.locator("[data-fieldname='items'] .grid-heading-row").first
			grid.scroll_into_view_if_needed()
			head = grid.inner_text()
			page.screenshot(path=shot("case-form.png"), full_page=True)
			for label in ("Payment Term", "Due Date", "Days Late", "Outstanding"):
				checks.check(label in head, f"the items grid has {label}", head)
			clipped = cut(page, "[data-fieldname='items'] .grid-body .static-area")
			checks.check(not clipped, "no cell of the items grid is cut", ", ".join(clipped))
			menu = page.locator(".inner-group-button[data-label='Approval']").count()
			checks.check(menu == 0, "no Approval menu when nothing waits for approval")

			page.goto(f"{base}/app/collection-action?customer={fx['customer']}", wait_until="networkidle")
			page.wait_for_timeout(1000)
			rows = page.locator(".list-row-container .list-subject").all_inner_texts()
			page.screenshot(path=shot("action-list.png"))
			checks.check(
				bool(rows) and all(fx["customer"][:12] in r for r in rows),
				"the Collection Action list names the customer",
				"; ".join(rows[:3]),
			)

			# item 11: the disputed invoice
			page.goto(f"{base}/app/sales-invoice/{fx['invoices'][0]}", wait_until="networkidle")
			page.wait_for_timeout(2000)
			indicators = " ".join(
				page.locator(".form-dashboard .indicator-pill, .form-dashboard .indicator").all_inner_texts()
			)
			page.screenshot(path=shot("invoice-disputed.png"))
			checks.check("Disputed" in indicators, "the disputed Sales Invoice says Disputed", indicators)
			tabs = page.locator(".form-tabs .nav-link").all_inner_texts()
			checks.check(
				any("Collections" in t for t in tabs), "the invoice has a Collections tab", ", ".join(tabs)
			)

			# item 12: workspace charts
			console.clear()
			page.goto(f"{base}/app/collections", wait_until="networkidle")
			page.wait_for_timeout(4000)
			page.screenshot(path=shot("workspace.png"), full_page=True)
			colors = [c for c in console if "is not a valid color" in c]
			checks.check(not colors, "the workspace charts log no invalid color", "; ".join(colors[:2]))
			labels = page.eval_on_selector_all(
				".widget.dashboard-widget-box .x.axis text", "els => els.map(e => e.textContent || '')"
			)
			short = [t for t in labels if "..." in t or "…" in t]
			checks.check(bool(labels) and not short, "chart labels are whole", ", ".join(labels[:12]))
		finally:
			browser.close()
	print(
		f"desk-screens-check: {checks.passed} passed, {checks.failed} failed ({time.monotonic() - t0:.0f}s)"
	)
	return 0 if checks.failed == 0 else 1


def main() -> int:
	ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	ap.add_argument("--bench", required=True)
	ap.add_argument("--site", required=True)
	ap.add_argument("--url", required=True, help="where the site is served, e.g. http://127.0.0.1:8123")
	ap.add_argument("--password", default=os.environ.get("ADMIN_PASSWORD", "admin"))
	ap.add_argument("--out", default="desk-screens")
	return run(ap.parse_args())


if __name__ == "__main__":
	sys.exit(main())
