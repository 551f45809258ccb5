// Copyright (c) 2026, dunning_plus contributors
// For license information, please see license.txt

frappe.ui.form.on("Advance Payment Allocation", {
	setup(frm) {
		frm.set_query("payment_entry", () => ({
			filters: { docstatus: 1, payment_type: "Receive", party_type: "Customer", party: frm.doc.customer, company: frm.doc.company },
		}));
		frm.set_query("sales_order", () => ({ filters: { docstatus: 1, customer: frm.doc.customer, company: frm.doc.company } }));
		frm.set_query("sales_invoice", "allocations", () => ({
			filters: { docstatus: 1, customer: frm.doc.customer, company: frm.doc.company, outstanding_amount: [">", 0] },
		}));
	},
	get_allocations(frm) {
		if (!frm.doc.payment_entry) {
			frappe.msgprint(__("Select the Payment Entry first."));
			return;
		}
		frm.call("get_allocations").then((r) => {
			frm.refresh_fields();
			frm.dirty();
		});
	},
	refresh(frm) {
		frm.toggle_display("get_allocations", frm.doc.docstatus === 0);
	},
});

frappe.ui.form.on("Advance Payment Allocation Row", {
	allocated_amount(frm) {
		const total = (frm.doc.allocations || []).reduce((s, r) => s + (r.allocated_amount || 0), 0);
		frm.set_value("total_allocated", total);
		frm.set_value("difference", (frm.doc.unallocated_amount || 0) - total);
	},
});
