// The invoice's collection state on top of the Sales Invoice form: level, dispute, promise, plan, block.
frappe.ui.form.on("Sales Invoice", {
	refresh(frm) {
		if (frm.doc.docstatus !== 1) return;
		if (frm.doc.current_dunning_level) {
			frm.dashboard.add_indicator(
				__("Dunning Level {0}", [frm.doc.current_dunning_level]),
				frm.doc.current_dunning_level >= 2 ? "red" : "orange"
			);
		}
		if (frm.doc.dunning_block) {
			frm.dashboard.add_indicator(__("Dunning Blocked"), "gray");
		}
		if (frm.doc.collection_case) {
			frm.add_custom_button(
				__("Collection Case"),
				() => frappe.set_route("Form", "Collection Case", frm.doc.collection_case),
				__("View")
			);
			frappe
				.xcall("dunning_plus.dashboards.invoice_collection_status", { invoice: frm.doc.name })
				.then((s) => {
					if (s.disputed_amount > 0) {
						frm.dashboard.add_indicator(
							__("Disputed {0}", [format_currency(s.disputed_amount, s.currency)]),
							"purple"
						);
					}
					if (s.promised_until) {
						frm.dashboard.add_indicator(
							__("Promised by {0}", [frappe.datetime.str_to_user(s.promised_until)]),
							"cyan"
						);
					}
					if (s.on_plan) {
						frm.dashboard.add_indicator(__("On Payment Plan {0}", [s.payment_plan || ""]), "blue");
					}
				});
		}
	},
});
