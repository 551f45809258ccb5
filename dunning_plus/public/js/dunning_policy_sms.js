// SMS steps: warn above 160 characters per part (GSM 7-bit; 70 with characters outside it).
const DP_GSM = new Set(
	"@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
);
const DP_GSM_EXT = new Set("^{}\\[~]|€\f");

function dp_sms_length(text) {
	const chars = Array.from(text || "");
	const gsm = chars.every((c) => DP_GSM.has(c) || DP_GSM_EXT.has(c));
	const units = gsm
		? chars.reduce((n, c) => n + (DP_GSM_EXT.has(c) ? 2 : 1), 0)
		: chars.reduce((n, c) => n + (c.codePointAt(0) > 0xffff ? 2 : 1), 0);
	const single = gsm ? 160 : 70;
	const part = gsm ? 153 : 67;
	return { units, gsm, single, parts: units <= single ? (units ? 1 : 0) : Math.ceil(units / part) };
}

function dp_sms_warnings(frm) {
	const long = (frm.doc.steps || [])
		.filter((s) => s.sms_text)
		.map((s) => [s, dp_sms_length(s.sms_text)])
		.filter(([, l]) => l.parts > 1);
	if (!long.length) {
		frm.dashboard.clear_headline();
		return;
	}
	frm.dashboard.set_headline_alert(
		long
			.map(([s, l]) =>
				__("Step {0}: the SMS text has {1} characters, more than {2} in one SMS: it goes out as {3} parts (before the placeholders are filled in).", [
					frappe.utils.escape_html(s.step_code || "?"), l.units, l.single, l.parts,
				])
			)
			.join("<br>"),
		"orange"
	);
}

frappe.ui.form.on("Dunning Policy", {
	refresh: (frm) => dp_sms_warnings(frm),
});

frappe.ui.form.on("Dunning Policy Step", {
	sms_text(frm, cdt, cdn) {
		const row = locals[cdt][cdn];
		const l = dp_sms_length(row.sms_text);
		if (l.parts > 1) {
			frappe.show_alert({
				message: __("{0} characters: more than {1}, sent as {2} SMS parts", [l.units, l.single, l.parts]),
				indicator: "orange",
			});
		}
		dp_sms_warnings(frm);
	},
});
