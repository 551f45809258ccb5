// Dunning level and block on the Sales Invoice form.
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
			frm.add_custom_button(__("Collection Case"), () => frappe.set_route("Form", "Collection Case", frm.doc.collection_case), __("View"));
		}
	},
});
