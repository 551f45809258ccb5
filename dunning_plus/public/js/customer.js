// Collections on the Customer form: open case, level, promises and disputes.
frappe.ui.form.on("Customer", {
	refresh(frm) {
		if (frm.is_new()) return;
		frappe.db
			.get_list("Collection Case", {
				filters: { customer: frm.doc.name, status: ["not in", ["Resolved", "Written Off", "Closed"]] },
				fields: ["name", "status", "current_level", "outstanding_amount", "overdue_amount", "currency", "next_action", "next_action_date"],
				limit: 5,
			})
			.then((rows) => {
				rows.forEach((c) => {
					const level = c.current_level ? " · " + __("Level {0}", [c.current_level]) : "";
					frm.dashboard.add_indicator(
						`<a href="/app/collection-case/${encodeURIComponent(c.name)}">${__("Collection Case")}: ${__(c.status)}${level}
						 · ${__("Overdue")} ${format_currency(c.overdue_amount, c.currency)}</a>`,
						c.current_level >= 2 ? "red" : "orange"
					);
				});
			});
		frappe.db
			.get_list("Payment Plan", {
				filters: { customer: frm.doc.name, docstatus: 1, status: ["in", ["Proposed", "Active"]] },
				fields: ["name", "status", "covered_amount", "paid_amount", "currency", "next_due_date"],
				limit: 3,
			})
			.then((rows) => {
				rows.forEach((p) => {
					const next = p.next_due_date ? " · " + __("next {0}", [frappe.datetime.str_to_user(p.next_due_date)]) : "";
					frm.dashboard.add_indicator(
						`<a href="/app/payment-plan/${encodeURIComponent(p.name)}">${__("Payment Plan")}: ${__(p.status)}
						 · ${format_currency(p.paid_amount, p.currency)} / ${format_currency(p.covered_amount, p.currency)}${next}</a>`,
						p.status === "Active" ? "blue" : "orange"
					);
				});
			});
		if (frm.doc.dunning_credit_hold) {
			frm.dashboard.add_indicator(__("On Credit Hold"), "red");
		}
		if (frm.doc.dunning_block) {
			frm.dashboard.add_indicator(
				__("Dunning blocked until {0}", [frm.doc.dunning_block_until ? frappe.datetime.str_to_user(frm.doc.dunning_block_until) : __("released")]),
				"gray"
			);
		}
	},
});
