// Copyright (c) 2026, dunning_plus contributors
// For license information, please see license.txt

frappe.ui.form.on("Dunning Run", {
	setup(frm) {
		frappe.realtime.on("progress", (data) => {
			if (data.doctype === "Dunning Run" && data.docname === frm.doc.name && data.percent >= 100) {
				frm.reload_doc();
			}
		});
	},
	refresh(frm) {
		if (frm.doc.docstatus === 1 && frm.doc.status === "Proposed") {
			frm.add_custom_button(__("Send Selected"), () =>
				frm.call("send_selected").then((r) => {
					frappe.show_alert({ message: __("{0} messages sent", [r.message]), indicator: "green" });
					frm.reload_doc();
				})
			);
			frm.add_custom_button(__("Drop Selected"), () =>
				frappe.prompt(
					{ fieldname: "reason", fieldtype: "Small Text", label: __("Reason"), reqd: 1 },
					(v) => frm.call("drop_selected", v).then(() => frm.reload_doc()),
					__("Drop Messages")
				)
			);
		}
		if (["Queued", "Running"].includes(frm.doc.status)) {
			frm.dashboard.set_headline(__("The run is in progress…"));
		}
	},
});
