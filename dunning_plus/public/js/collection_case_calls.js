// Log Call on the case (outcome, note, duration; promise and dispute open their dialogs), and the
// customer's segment with the rule that chose it.
const DP_OUTCOMES = ["Reached", "No Answer", "Wrong Number", "Promise Made", "Dispute Raised", "Call Back"];

frappe.ui.form.on("Collection Case", {
	refresh(frm) {
		if (frm.is_new()) return;
		dunning_plus_case_segment(frm);
		if (["Resolved", "Written Off", "Closed"].includes(frm.doc.status)) return;
		frm.add_custom_button(__("Log Call"), () => dunning_plus_log_call(frm), __("Actions"));
	},
});

function dunning_plus_log_call(frm) {
	const d = new frappe.ui.Dialog({
		title: __("Log Call"),
		fields: [
			{ fieldname: "outcome", fieldtype: "Select", label: __("Outcome"), reqd: 1,
				options: DP_OUTCOMES.map((o) => ({ value: o, label: __(o) })) },
			{ fieldname: "call_back_on", fieldtype: "Date", label: __("Call Back On"),
				depends_on: "eval:doc.outcome=='Call Back'", mandatory_depends_on: "eval:doc.outcome=='Call Back'" },
			{ fieldname: "phone_no", fieldtype: "Data", options: "Phone", label: __("Number Called"),
				description: __("Empty = the customer's mobile number") },
			{ fieldname: "duration", fieldtype: "Duration", label: __("Duration") },
			{ fieldname: "note", fieldtype: "Small Text", label: __("Note") },
		],
		primary_action_label: __("Log Call"),
		primary_action(values) {
			frappe
				.call({ method: "dunning_plus.channels.log_call", args: { case: frm.doc.name, ...values }, freeze: true })
				.then((r) => {
					d.hide();
					const out = r.message || {};
					frappe.show_alert({ message: out.message, indicator: "green" }, 7);
					frm.reload_doc().then(() => {
						// the same flow goes on in the case's own promise / dispute dialog
						const next = { promise: __("Record Promise"), dispute: __("Open Dispute") }[out.follow_up];
						const button = next && frm.custom_buttons[next];
						if (button) button.trigger("click");
					});
				});
		},
	});
	d.show();
}

function dunning_plus_case_segment(frm) {
	frappe
		.call({
			method: "dunning_plus.segments.get_segments",
			args: { customer: frm.doc.customer, company: frm.doc.company },
			error_handlers: {},
		})
		.then((r) => {
			const s = (r.message || [])[0];
			if (!s) return;
			frm.dashboard.add_comment(
				__("Segment {0} (rule {1}, policy {2}): {3}", [
					frappe.utils.escape_html(s.segment),
					`<a href="/app/dunning-segment-rule/${encodeURIComponent(s.segment_rule)}">${frappe.utils.escape_html(s.segment_rule)}</a>`,
					frappe.utils.escape_html(s.dunning_policy),
					frappe.utils.escape_html(s.why || ""),
				]),
				"blue",
				true
			);
		});
}
