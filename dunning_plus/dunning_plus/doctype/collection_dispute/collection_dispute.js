// Copyright (c) 2026, dunning_plus contributors
// For license information, please see license.txt

frappe.ui.form.on("Collection Dispute", {
	setup(frm) {
		frm.set_query("sales_invoice", "items", () => ({
			filters: { customer: frm.doc.customer, company: frm.doc.company, docstatus: 1, outstanding_amount: [">", 0] },
		}));
	},
});
