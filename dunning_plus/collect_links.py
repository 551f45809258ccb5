"""Collection page links: one per case and recipient, carried by every message of the case.

A link is ``/collect/<token>``. The token is HMAC-SHA256 over a random 128-bit nonce, keyed with a
secret derived from the site's encryption key, cut to 144 bits (24 URL-safe characters). The
Collection Link row keeps the nonce and the token's SHA-256, never the token: the page finds the link
by hashing what it is given, and the case form and the next message can show the same link again.
The database alone neither holds nor yields a token (that also takes site_config's key); rotating the
site's encryption key ends every link.

A link works while it is Active, its case is open and the last message that carried it is no older
than the validity set in Dunning Plus Settings (default 60 days).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

import frappe
from frappe import _
from frappe.utils import add_days, cint, get_url, getdate, now_datetime, nowdate, validate_email_address

from dunning_plus.audit import record_decision
from dunning_plus.cases import CLOSED

TOKEN_BYTES = 18  # 144 bits: 24 characters of URL-safe base64, no padding
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{24}$")
DEFAULT_VALIDITY_DAYS = 60
ROUTE = "collect"


def _key() -> bytes:
	from frappe.utils.password import get_encryption_key

	return hashlib.sha256(b"dunning_plus.collection_link\x00" + get_encryption_key().encode()).digest()


def _token(nonce: str) -> str:
	mac = hmac.new(_key(), nonce.encode(), hashlib.sha256).digest()[:TOKEN_BYTES]
	return base64.urlsafe_b64encode(mac).decode()


def token_hash(token: str) -> str:
	return hashlib.sha256(token.encode()).hexdigest()


def url_of(link) -> str:
	return get_url(f"/{ROUTE}/{_token(link.nonce)}")


def validity_days() -> int:
	days = frappe.db.get_single_value("Dunning Plus Settings", "collection_link_validity_days")
	return cint(days) if days not in (None, "") else DEFAULT_VALIDITY_DAYS


def valid_until(link):
	start = link.last_message_on or getdate(link.creation)
	return add_days(getdate(start), validity_days())


def _clean_recipient(recipient: str | None) -> str:
	return (recipient or "").strip().lower()


def active_link(case_name: str, recipient: str | None = None):
	name = frappe.db.get_value(
		"Collection Link",
		{"collection_case": case_name, "recipient": _clean_recipient(recipient), "status": "Active"},
		"name",
		order_by="creation desc",
	)
	return frappe.get_doc("Collection Link", name) if name else None


def issue(case_name: str, recipient: str | None = None):
	"""A new link for the case and recipient; the recipient's previous link is revoked."""
	recipient = _clean_recipient(recipient)
	previous = active_link(case_name, recipient)
	if previous:
		_revoke(previous)
	case = frappe.db.get_value("Collection Case", case_name, ["customer", "company"], as_dict=True)
	nonce = secrets.token_urlsafe(16)
	link = frappe.get_doc(
		{
			"doctype": "Collection Link",
			"collection_case": case_name,
			"customer": case.customer,
			"company": case.company,
			"recipient": recipient,
			"status": "Active",
			"nonce": nonce,
			"token_hash": token_hash(_token(nonce)),
			"last_message_on": nowdate(),
		}
	)
	link.insert(ignore_permissions=True)
	return link


def collect_url(case_name: str, recipient: str | None = None) -> str:
	"""The link a message to ``recipient`` carries (issued on the first message); sending it starts
	its validity again."""
	link = active_link(case_name, recipient)
	if link is None or (getdate(nowdate()) > valid_until(link)):
		link = issue(case_name, recipient)
	elif str(link.last_message_on) != nowdate():
		link.db_set("last_message_on", nowdate())
	return url_of(link)


def resolve(token) -> frappe._dict | None:
	"""The link and its case for a token, or None whatever is wrong: unknown, tampered, revoked,
	expired, or the case resolved. Callers answer every None the same way."""
	if not isinstance(token, str) or not TOKEN_PATTERN.match(token):
		return None
	link = frappe.db.get_value(
		"Collection Link",
		{"token_hash": token_hash(token)},
		["name", "collection_case", "status", "nonce", "last_message_on", "creation", "recipient"],
		as_dict=True,
	)
	if not link or link.status != "Active" or not hmac.compare_digest(_token(link.nonce), token):
		return None
	if getdate(nowdate()) > valid_until(link):
		return None
	status = frappe.db.get_value("Collection Case", link.collection_case, "status")
	if not status or status in CLOSED:
		return None
	return link


def _revoke(link) -> None:
	link.db_set({"status": "Revoked", "revoked_on": now_datetime(), "revoked_by": frappe.session.user})


# ---------------------------------------------------------------- the case form


def _case(case: str, ptype: str):
	doc = frappe.get_doc("Collection Case", case)
	doc.check_permission(ptype)
	return doc


def _label(recipient: str) -> str:
	return recipient or _("Letter")


@frappe.whitelist()
def get_links(case: str) -> list[dict]:
	"""The case's active links with their URLs, for the form (copy, revoke, issue again)."""
	_case(case, "read")
	today = getdate(nowdate())
	rows = []
	for name in frappe.get_all(
		"Collection Link",
		filters={"collection_case": case, "status": "Active"},
		order_by="creation asc",
		pluck="name",
	):
		link = frappe.get_doc("Collection Link", name)
		until = valid_until(link)
		rows.append(
			{
				"name": link.name,
				"recipient": link.recipient,
				"label": _label(link.recipient),
				"url": url_of(link),
				"valid_until": until,
				"expired": today > until,
				"last_message_on": link.last_message_on,
			}
		)
	return rows


@frappe.whitelist()
def issue_link(case: str, recipient: str | None = None) -> dict:
	doc = _case(case, "write")
	if doc.status in CLOSED:
		frappe.throw(_("The case is closed: a link to it would not work."))
	recipient = _clean_recipient(recipient)
	if recipient and not validate_email_address(recipient):
		frappe.throw(_("{0} is not an email address.").format(frappe.bold(recipient)))
	link = issue(case, recipient)
	record_decision(
		doc.name,
		doc.company,
		doc.customer,
		"Decision",
		_("Collection page link issued for {0}").format(_label(recipient)),
	)
	return {"name": link.name, "url": url_of(link)}


@frappe.whitelist()
def revoke_link(link: str) -> None:
	row = frappe.get_doc("Collection Link", link)
	doc = _case(row.collection_case, "write")
	if row.status != "Active":
		frappe.throw(_("The link is already revoked."))
	_revoke(row)
	record_decision(
		doc.name,
		doc.company,
		doc.customer,
		"Decision",
		_("Collection page link for {0} revoked").format(_label(row.recipient)),
	)


# ---------------------------------------------------------------- letters


def letter_link(case_name: str) -> dict | None:
	"""For the statement printed as a letter (delivery.queue_letter): the letter's link and its QR
	code as a PNG data URI. Nothing when the statement is printed for any other purpose."""
	if frappe.flags.dunning_plus_letter_case != case_name:
		return None
	import pyqrcode

	url = collect_url(case_name, "")
	qr = pyqrcode.create(url, error="M").png_as_base64_str(scale=3, quiet_zone=2)
	return {"url": url, "qr": f"data:image/png;base64,{qr}"}
