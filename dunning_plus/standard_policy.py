"""The ready-to-use "Standard Collection" policy: its steps, an Email Template per step in English,
German, French and Spanish, and the "Dunning Letter" print format.

Made on install and by a patch on existing sites, disabled until an administrator enables it. Each
record is created only when it is missing: what an administrator edited (or renamed, or deleted
rows of) is never overwritten by a reinstall or a migrate.

The templates render the context of ``delivery.message_context``: ``items`` (invoice, payment_term,
due_date, days_overdue, amount), ``total``, ``fee``, ``interest``, ``grand_total``, ``credits`` /
``credit_total``, ``currency``, ``customer_name``, ``company`` and ``collect_url`` (the customer's
collection page)."""

from __future__ import annotations

import frappe

STANDARD_POLICY = "Standard Collection"
LETTER_FORMAT = "Dunning Letter"
LANGUAGES = ("en", "de", "fr", "es")

# (step code, offset, kind, channel, level, extra fields of the step row)
STEPS = (
	("R-7", -7, "Reminder", "Email", 0, {}),
	("R+3", 3, "Reminder", "Email", 0, {}),
	("L1", 10, "Dunning Level", "Email", 1, {"owner_role": "Collector", "sla_hours": 48}),
	("L2", 25, "Dunning Level", "Email", 2, {"fee": 0, "owner_role": "Collector", "sla_hours": 48}),
	(
		"FINAL",
		45,
		"Final Notice",
		"Email",
		3,
		{"approval_role": "Collections Manager", "credit_hold": 1, "owner_role": "Collections Manager"},
	),
	(
		"WO",
		120,
		"Write-off Proposal",
		"Task",
		0,
		{"approval_role": "Accounts Manager", "owner_role": "Collections Manager", "sla_hours": 120},
	),
)
EMAIL_STEPS = tuple(s[0] for s in STEPS if s[3] == "Email")

# Words of the message body per language.
LABELS = {
	"en": {
		"hello": "Dear {{ customer_name or customer }},",
		"invoice": "Invoice",
		"term": "Payment Term",
		"due": "Due Date",
		"days": "Days Overdue",
		"amount": "Amount",
		"total": "Total",
		"fee": "Dunning fee",
		"interest": "Interest",
		"grand": "Amount to pay",
		"credits": "Open credits of {0} on your account are already deducted.",
		"link": "View your open items, pay, promise a payment date or tell us about a problem",
		"contact": "Questions? Contact us",
		"regards": "Kind regards",
	},
	"de": {
		"hello": "Sehr geehrte Damen und Herren ({{ customer_name or customer }}),",
		"invoice": "Rechnung",
		"term": "Zahlungsbedingung",
		"due": "Fällig am",
		"days": "Tage überfällig",
		"amount": "Betrag",
		"total": "Summe",
		"fee": "Mahngebühr",
		"interest": "Zinsen",
		"grand": "Zu zahlender Betrag",
		"credits": "Guthaben von {0} auf Ihrem Konto sind bereits abgezogen.",
		"link": "Offene Posten ansehen, bezahlen, einen Zahlungstermin zusagen oder ein Problem melden",
		"contact": "Fragen? Sprechen Sie uns an",
		"regards": "Mit freundlichen Grüßen",
	},
	"fr": {
		"hello": "Madame, Monsieur ({{ customer_name or customer }}),",
		"invoice": "Facture",
		"term": "Condition de paiement",
		"due": "Échéance",
		"days": "Jours de retard",
		"amount": "Montant",
		"total": "Total",
		"fee": "Frais de relance",
		"interest": "Intérêts",
		"grand": "Montant à payer",
		"credits": "Les avoirs de {0} sur votre compte sont déjà déduits.",
		"link": "Voir vos postes ouverts, payer, promettre une date de paiement ou nous signaler un problème",
		"contact": "Des questions ? Contactez-nous",
		"regards": "Cordialement",
	},
	"es": {
		"hello": "Estimado/a {{ customer_name or customer }}:",
		"invoice": "Factura",
		"term": "Condición de pago",
		"due": "Vencimiento",
		"days": "Días de retraso",
		"amount": "Importe",
		"total": "Total",
		"fee": "Gastos de reclamación",
		"interest": "Intereses",
		"grand": "Importe a pagar",
		"credits": "Los abonos de {0} en su cuenta ya están descontados.",
		"link": "Ver sus partidas abiertas, pagar, prometer una fecha de pago o comunicarnos un problema",
		"contact": "¿Preguntas? Contáctenos",
		"regards": "Atentamente",
	},
}

# Per step and language: (template title, subject, opening paragraph, closing paragraph).
TEXTS = {
	"R-7": {
		"en": (
			"Upcoming Payment",
			"Upcoming payment to {{ company }}: {{ amount }} due soon",
			"This is a friendly reminder that the following items fall due shortly.",
			"If you have already arranged payment, thank you, and please disregard this message.",
		),
		"de": (
			"Bevorstehende Zahlung",
			"Bevorstehende Zahlung an {{ company }}: {{ amount }} bald fällig",
			"wir möchten Sie freundlich daran erinnern, dass die folgenden Posten in Kürze fällig werden.",
			"Falls Sie die Zahlung bereits veranlasst haben, danken wir Ihnen und bitten Sie, diese "
			"Nachricht als gegenstandslos zu betrachten.",
		),
		"fr": (
			"Échéance à venir",
			"Échéance à venir chez {{ company }} : {{ amount }} bientôt dus",
			"nous vous rappelons aimablement que les postes suivants arrivent prochainement à échéance.",
			"Si vous avez déjà organisé le paiement, nous vous en remercions ; veuillez ne pas tenir "
			"compte de ce message.",
		),
		"es": (
			"Próximo vencimiento",
			"Próximo vencimiento con {{ company }}: {{ amount }} vence pronto",
			"le recordamos amablemente que las siguientes partidas vencen en breve.",
			"Si ya ha programado el pago, se lo agradecemos; por favor, ignore este mensaje.",
		),
	},
	"R+3": {
		"en": (
			"Payment Reminder",
			"Payment reminder from {{ company }}: {{ amount }} now due",
			"Our records show that the following items are now past their due date.",
			"Please arrange payment at your earliest convenience. If your payment has crossed this "
			"message, thank you.",
		),
		"de": (
			"Zahlungserinnerung",
			"Zahlungserinnerung von {{ company }}: {{ amount }} fällig",
			"nach unseren Unterlagen sind die folgenden Posten inzwischen fällig.",
			"Bitte veranlassen Sie die Zahlung zeitnah. Sollte sich Ihre Zahlung mit dieser Nachricht "
			"überschnitten haben, danken wir Ihnen.",
		),
		"fr": (
			"Rappel de paiement",
			"Rappel de paiement de {{ company }} : {{ amount }} échus",
			"selon nos écritures, les postes suivants ont dépassé leur date d'échéance.",
			"Merci de procéder au paiement dans les meilleurs délais. Si votre paiement a croisé ce "
			"message, nous vous en remercions.",
		),
		"es": (
			"Recordatorio de pago",
			"Recordatorio de pago de {{ company }}: {{ amount }} vencido",
			"según nuestros registros, las siguientes partidas ya han vencido.",
			"Le rogamos realice el pago lo antes posible. Si su pago se ha cruzado con este mensaje, "
			"se lo agradecemos.",
		),
	},
	"L1": {
		"en": (
			"Dunning Level 1",
			"First dunning notice from {{ company }}: {{ amount }} overdue",
			"Despite our reminder, the following items remain unpaid.",
			"Please pay the overdue amount within 7 days or let us know if there is a problem with any "
			"of these items.",
		),
		"de": (
			"Mahnung Stufe 1",
			"1. Mahnung von {{ company }}: {{ amount }} überfällig",
			"trotz unserer Erinnerung sind die folgenden Posten noch offen.",
			"Bitte zahlen Sie den überfälligen Betrag innerhalb von 7 Tagen oder teilen Sie uns mit, "
			"falls es zu einem Posten ein Problem gibt.",
		),
		"fr": (
			"Relance niveau 1",
			"Première relance de {{ company }} : {{ amount }} en retard",
			"malgré notre rappel, les postes suivants restent impayés.",
			"Merci de régler le montant échu sous 7 jours ou de nous signaler tout problème concernant "
			"ces postes.",
		),
		"es": (
			"Reclamación nivel 1",
			"Primera reclamación de {{ company }}: {{ amount }} vencido",
			"a pesar de nuestro recordatorio, las siguientes partidas siguen pendientes.",
			"Le rogamos abone el importe vencido en un plazo de 7 días o nos comunique si hay algún "
			"problema con estas partidas.",
		),
	},
	"L2": {
		"en": (
			"Dunning Level 2",
			"Second dunning notice from {{ company }}: {{ amount }} seriously overdue",
			"The following items are now seriously overdue and we have not received your payment.",
			"Please pay the full amount within 7 days. Otherwise we will have to take further steps.",
		),
		"de": (
			"Mahnung Stufe 2",
			"2. Mahnung von {{ company }}: {{ amount }} erheblich überfällig",
			"die folgenden Posten sind inzwischen erheblich überfällig, und Ihre Zahlung ist bei uns "
			"nicht eingegangen.",
			"Bitte zahlen Sie den vollen Betrag innerhalb von 7 Tagen. Andernfalls müssen wir weitere "
			"Schritte einleiten.",
		),
		"fr": (
			"Relance niveau 2",
			"Deuxième relance de {{ company }} : {{ amount }} en retard important",
			"les postes suivants sont désormais en retard important et nous n'avons pas reçu votre paiement.",
			"Merci de régler l'intégralité sous 7 jours. À défaut, nous devrons prendre d'autres mesures.",
		),
		"es": (
			"Reclamación nivel 2",
			"Segunda reclamación de {{ company }}: {{ amount }} con retraso importante",
			"las siguientes partidas acumulan un retraso importante y no hemos recibido su pago.",
			"Le rogamos abone el importe total en un plazo de 7 días. De lo contrario, tendremos que "
			"tomar otras medidas.",
		),
	},
	"FINAL": {
		"en": (
			"Final Notice",
			"Final notice from {{ company }}: {{ amount }} overdue",
			"This is our final notice for the following items. Your account has been placed on credit "
			"hold: new orders cannot be accepted until the balance is settled.",
			"Unless we receive payment within 10 days, we will hand the matter over for collection "
			"without further notice.",
		),
		"de": (
			"Letzte Mahnung",
			"Letzte Mahnung von {{ company }}: {{ amount }} überfällig",
			"dies ist unsere letzte Mahnung für die folgenden Posten. Ihr Kundenkonto ist gesperrt: "
			"neue Aufträge können wir erst nach Ausgleich des Saldos annehmen.",
			"Geht die Zahlung nicht innerhalb von 10 Tagen ein, übergeben wir die Forderung ohne "
			"weitere Ankündigung an ein Inkassoverfahren.",
		),
		"fr": (
			"Dernier avis",
			"Dernier avis de {{ company }} : {{ amount }} en retard",
			"ceci est notre dernier avis pour les postes suivants. Votre compte est bloqué : aucune "
			"nouvelle commande ne pourra être acceptée avant le règlement du solde.",
			"Sans paiement sous 10 jours, nous confierons le dossier au recouvrement sans autre avis.",
		),
		"es": (
			"Último aviso",
			"Último aviso de {{ company }}: {{ amount }} vencido",
			"este es nuestro último aviso para las siguientes partidas. Su cuenta está bloqueada: no "
			"podremos aceptar nuevos pedidos hasta que se salde el importe.",
			"Si no recibimos el pago en un plazo de 10 días, trasladaremos el asunto a recobro sin más "
			"aviso.",
		),
	},
}

MONEY = "frappe.utils.fmt_money({0}, currency=currency)"


def template_name(step: str, language: str) -> str:
	return f"{STANDARD_POLICY} - {TEXTS[step]['en'][0]} ({language})"


def template_subject(step: str, language: str) -> str:
	subject = TEXTS[step][language][1]
	return subject.replace("{{ amount }}", "{{ " + MONEY.format("grand_total") + " }}")


def template_body(step: str, language: str) -> str:
	"""The HTML body: greeting, opening, the items table with its totals, the collection-page link,
	closing and the company's contact (read with the template's own safe ``frappe.db.get_value``)."""
	w = LABELS[language]
	_title, _subject, opening, closing = TEXTS[step][language]
	money = MONEY.format
	return f"""<p>{w["hello"]}</p>
<p>{opening}</p>
<table style="border-collapse: collapse; width: 100%;" border="1" cellpadding="6">
<thead><tr><th style="text-align: left;">{w["invoice"]}</th><th style="text-align: left;">{w["term"]}</th>
<th style="text-align: left;">{w["due"]}</th><th style="text-align: right;">{w["days"]}</th>
<th style="text-align: right;">{w["amount"]}</th></tr></thead>
<tbody>
{{% for item in items %}}<tr><td>{{{{ item.invoice }}}}</td><td>{{{{ item.payment_term or "" }}}}</td>
<td>{{{{ frappe.utils.formatdate(item.due_date) }}}}</td>
<td style="text-align: right;">{{{{ item.days_overdue or "" }}}}</td>
<td style="text-align: right;">{{{{ {money("item.amount")} }}}}</td></tr>
{{% endfor %}}
</tbody>
<tfoot>
<tr><th colspan="4" style="text-align: left;">{w["total"]}</th><th style="text-align: right;">{{{{ {money("total")} }}}}</th></tr>
{{% if fee %}}<tr><td colspan="4">{w["fee"]}</td><td style="text-align: right;">{{{{ {money("fee")} }}}}</td></tr>{{% endif %}}
{{% if interest %}}<tr><td colspan="4">{w["interest"]}</td><td style="text-align: right;">{{{{ {money("interest")} }}}}</td></tr>{{% endif %}}
{{% if fee or interest %}}<tr><th colspan="4" style="text-align: left;">{w["grand"]}</th><th style="text-align: right;">{{{{ {money("grand_total")} }}}}</th></tr>{{% endif %}}
</tfoot>
</table>
{{% if credit_total %}}<p>{w["credits"].format("{{ " + money("credit_total") + " }}")}</p>{{% endif %}}
{{% if collect_url %}}<p><a href="{{{{ collect_url }}}}">{w["link"]}</a></p>{{% endif %}}
<p>{closing}</p>
{{% set contact = frappe.db.get_value("Company", company, ["email", "phone_no", "website"], as_dict=True) or {{}} %}}
<p>{w["regards"]}<br>{{{{ company }}}}
{{% if contact.email or contact.phone_no or contact.website %}}<br>{w["contact"]}:
{{% if contact.email %}} {{{{ contact.email }}}}{{% endif %}}{{% if contact.phone_no %}} · {{{{ contact.phone_no }}}}{{% endif %}}{{% if contact.website %}} · {{{{ contact.website }}}}{{% endif %}}{{% endif %}}</p>
"""


def create_standard_collection() -> None:
	"""The templates, the letter print format and the policy, each only when it is missing."""
	for step in EMAIL_STEPS:
		for language in LANGUAGES:
			create_email_template(step, language)
	create_letter_format()
	create_policy()


def create_email_template(step: str, language: str) -> str:
	name = template_name(step, language)
	if not frappe.db.exists("Email Template", name):
		frappe.get_doc(
			{
				"doctype": "Email Template",
				"name": name,
				"subject": template_subject(step, language),
				"use_html": 1,
				"response_html": template_body(step, language),
			}
		).insert(ignore_permissions=True)
	return name


def create_policy() -> str | None:
	if frappe.db.exists("Dunning Policy", STANDARD_POLICY):
		return None
	if not all(frappe.db.exists("Language", lang) for lang in LANGUAGES):
		return None  # a site without the languages (never in practice): the rows could not link
	doc = frappe.get_doc(
		{
			"doctype": "Dunning Policy",
			"policy_name": STANDARD_POLICY,
			"enabled": 0,
			"minimum_amount": 0,
			"grace_days": 0,
			"pause_on_dispute": 1,
			"pause_on_promise": 1,
			"skip_weekends": 1,
		}
	)
	for code, offset, kind, channel, level, extra in STEPS:
		row = {
			"step_code": code,
			"offset_days": offset,
			"kind": kind,
			"channel": channel,
			"level": level if kind == "Dunning Level" else 0,
			**{k: v for k, v in extra.items() if k != "owner_role" or frappe.db.exists("Role", v)},
		}
		if channel == "Email":
			row["email_template"] = template_name(code, "en")
		if extra.get("approval_role") and not frappe.db.exists("Role", extra["approval_role"]):
			row.pop("approval_role")
		doc.append("steps", row)
	for code in EMAIL_STEPS:
		for language in LANGUAGES:
			doc.append(
				"templates",
				{"step_code": code, "language": language, "email_template": template_name(code, language)},
			)
	doc.insert(ignore_permissions=True)
	return doc.name


def create_letter_format() -> str:
	"""A letter for Collection Case in the language it is printed in: the case's current level as a
	heading and text (the same wording as the step's email), its open items and totals, and the
	collection-page link as a QR code when printed as a letter."""
	if not frappe.db.exists("Print Format", LETTER_FORMAT):
		frappe.get_doc(
			{
				"doctype": "Print Format",
				"name": LETTER_FORMAT,
				"doc_type": "Collection Case",
				"module": "Dunning Plus",
				"standard": "No",
				"custom_format": 1,
				"print_format_type": "Jinja",
				"font_size": 12,
				"html": LETTER_HTML,
			}
		).insert(ignore_permissions=True)
	return LETTER_FORMAT


LETTER_HTML = """{% set st = dunning_statement(doc.company, doc.customer, doc.name) %}
{% set company = frappe.db.get_value("Company", doc.company, ["company_name", "email", "phone_no", "website"], as_dict=True) or {} %}
{% set level = doc.current_level or 0 %}
<div class="dp-letter">
<p style="text-align: right;"><b>{{ company.company_name or doc.company }}</b><br>
{% if company.email %}{{ company.email }}<br>{% endif %}{% if company.phone_no %}{{ company.phone_no }}<br>{% endif %}
{{ frappe.utils.formatdate(st.as_of) }}</p>
<p><b>{{ doc.customer_name or doc.customer }}</b></p>
<h3>{% if level >= 3 %}{{ _("Final Notice") }}{% elif level >= 1 %}{{ _("Dunning Level {0}").format(level) }}{% else %}{{ _("Payment Reminder") }}{% endif %}</h3>
<p>{{ _("Dear Sir or Madam,") }}</p>
<p>{% if level >= 3 %}{{ _("This is our final notice for the following items. Your account has been placed on credit hold until the balance is settled.") }}
{% elif level >= 1 %}{{ _("Despite our reminder, the following items remain unpaid.") }}
{% else %}{{ _("Our records show that the following items are open.") }}{% endif %}</p>
<table class="table table-bordered table-condensed">
<thead><tr><th>{{ _("Invoice / Order") }}</th><th>{{ _("Payment Term") }}</th><th>{{ _("Due Date") }}</th>
<th class="text-right">{{ _("Days Overdue") }}</th><th class="text-right">{{ _("Outstanding") }}</th></tr></thead>
<tbody>
{% for row in st.rows %}<tr><td>{{ row.reference_name }}</td><td>{{ row.payment_term or "" }}</td>
<td>{{ frappe.utils.formatdate(row.due_date) }}</td><td class="text-right">{{ row.days_overdue or "" }}</td>
<td class="text-right">{{ frappe.utils.fmt_money(row.outstanding, currency=row.currency) }}</td></tr>
{% endfor %}
</tbody>
<tfoot><tr><th colspan="4">{{ _("Total Outstanding") }}</th>
<th class="text-right">{{ frappe.utils.fmt_money(st.outstanding, currency=doc.currency) }}</th></tr>
{% if st.open_credit %}<tr><td colspan="4">{{ _("Total Open Credits") }}</td>
<td class="text-right">{{ frappe.utils.fmt_money(st.open_credit, currency=doc.currency) }}</td></tr>
<tr><th colspan="4">{{ _("Balance Due") }}</th>
<th class="text-right">{{ frappe.utils.fmt_money(st.balance, currency=doc.currency) }}</th></tr>{% endif %}
</tfoot>
</table>
<p>{% if level >= 3 %}{{ _("Unless we receive payment within 10 days, we will hand the matter over for collection without further notice.") }}
{% elif level >= 1 %}{{ _("Please pay the overdue amount within 7 days or let us know if there is a problem with any of these items.") }}
{% else %}{{ _("Please pay the overdue items or contact us if anything is unclear.") }}{% endif %}</p>
{% set cl = letter_link(doc.name) %}{% if cl %}
<table style="margin-top: 12px; page-break-inside: avoid;"><tr>
<td style="width: 120px; vertical-align: top;"><img src="{{ cl.qr }}" alt="" style="width: 110px; height: 110px;"></td>
<td style="vertical-align: top; padding-left: 12px;"><b>{{ _("Pay, promise a date or tell us about a problem online") }}</b><br>
<span style="font-family: monospace; word-break: break-all;">{{ cl.url }}</span></td>
</tr></table>
{% endif %}
<p>{{ _("Kind regards") }}<br>{{ company.company_name or doc.company }}</p>
</div>
"""


def delete_standard_records() -> None:
	"""On uninstall: the Email Templates made for Standard Collection and the onboarding's steps (which
	Frappe's module removal leaves, having no module of their own)."""
	from dunning_plus.onboarding import CHECKS

	names = [("Email Template", template_name(step, lang)) for step in TEXTS for lang in LANGUAGES]
	names += [("Onboarding Step", step) for step in CHECKS]
	for doctype, name in names:
		if frappe.db.exists(doctype, name):
			frappe.delete_doc(doctype, name, force=True, ignore_permissions=True)
