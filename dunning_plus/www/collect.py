"""/collect/<token>: the customer's collection page (hooks.website_route_rules); see
dunning_plus.collection_page for what it shows and the methods its forms post to."""

import frappe
from frappe import _

from dunning_plus.collection_page import page_context

no_cache = 1


def get_context(context):
	context.no_cache = 1
	context.hide_login = 1
	context.update(page_context(frappe.form_dict.get("token")))
	if context.valid:
		context.title = _("Open items with {0}").format(context.company.company_name)
		if context.boot:
			context.boot["lang"] = context.lang
	else:
		# one neutral page for every link that does not work, whatever the reason
		context.title = _("Link not valid")
		context.http_status_code = 404
	return context
