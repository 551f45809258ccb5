// The customer's dunning segment per company: the segment, the rule that chose it and why.
frappe.ui.form.on("Customer", {
	refresh(frm) {
		if (frm.is_new()) return;
		frappe
			.call({ method: "dunning_plus.segments.get_segments", args: { customer: frm.doc.name }, error_handlers: {} })
			.then((r) => {
				(r.message || []).forEach((s) => {
					frm.dashboard.add_indicator(
						`<a href="/app/dunning-segment-rule/${encodeURIComponent(s.segment_rule)}"
							title="${frappe.utils.escape_html(s.why || "")}">
							${__("Segment")}: ${frappe.utils.escape_html(s.segment)} (${frappe.utils.escape_html(s.company)})
							· ${__("Policy")} ${frappe.utils.escape_html(s.dunning_policy)}</a>`,
						"blue"
					);
				});
			});
	},
});
