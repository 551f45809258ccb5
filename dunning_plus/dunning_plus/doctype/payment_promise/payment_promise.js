// Copyright (c) 2026, dunning_plus contributors
// For license information, please see license.txt

frappe.ui.form.on("Payment Promise", {
	setup(frm) {
		frm.set_query("sales_invoice", "items", () => ({
			filters: { customer: frm.doc.customer, company: frm.doc.company, docstatus: 1, outstanding_amount: [">", 0] },
		}));
	},
	refresh(frm) {
		if (!frm.is_new() && frm.doc.status === "Pending") {
			frm.add_custom_button(__("Cancel Promise"), () => {
				frappe.prompt(
					{ fieldname: "reason", fieldtype: "Small Text", label: __("Reason") },
					(v) => frm.call("cancel_promise", { reason: v.reason }).then(() => frm.reload_doc()),
					__("Cancel Promise")
				);
			});
		}
	},
});
