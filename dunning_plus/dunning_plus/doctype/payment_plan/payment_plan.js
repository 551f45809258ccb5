// Copyright (c) 2026, dunning_plus contributors
// For license information, please see license.txt

frappe.ui.form.on("Payment Plan", {
	refresh(frm) {
		const colors = {
			Draft: "red",
			Proposed: "orange",
			Active: "blue",
			Completed: "green",
			Broken: "red",
			Cancelled: "gray",
		};
		if (!frm.is_new()) frm.page.set_indicator(__(frm.doc.status), colors[frm.doc.status] || "gray");
		if (frm.doc.docstatus === 0 && !frm.is_new()) {
			frm.add_custom_button(__("Recompute Instalments"), () =>
				frm.call("make_instalments").then(() => frm.refresh_fields())
			);
		}
		if (frm.doc.docstatus !== 1 || frm.doc.status !== "Proposed") return;
		if (!frm.doc.accepted) {
			frm.add_custom_button(__("Customer Accepted"), () =>
				frappe.confirm(__("Record that the customer agreed to this plan?"), () =>
					frm.call("accept").then(() => frm.reload_doc())
				)
			);
		}
		if (frm.doc.needs_approval && !frm.doc.approved_by && frappe.user.has_role(frm.doc.__onload?.approver_role || "Collections Manager")) {
			frm.add_custom_button(__("Approve"), () => frm.call("approve").then(() => frm.reload_doc()));
		}
		if (frm.doc.needs_approval && !frm.doc.approved_by) {
			frm.dashboard.set_headline(
				__("Waiting for approval: {0}", [frappe.utils.escape_html(frm.doc.approval_reasons || "")])
			);
		} else if (!frm.doc.accepted) {
			frm.dashboard.set_headline(__("Waiting for the customer to accept the plan."));
		}
	},
	before_cancel(frm) {
		if (frm.doc.cancel_reason) return;
		frappe.validated = false;
		frappe.prompt(
			{ fieldname: "reason", fieldtype: "Small Text", label: __("Why is the plan cancelled?"), reqd: 1 },
			(values) => frm.call("cancel_plan", { reason: values.reason }).then(() => frm.reload_doc()),
			__("Cancel Payment Plan"),
			__("Cancel Plan")
		);
	},
});
