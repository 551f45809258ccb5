// Copyright (c) 2026, dunning_plus contributors
// For license information, please see license.txt

frappe.ui.form.on("Dunning Segment Rule", {
	refresh(frm) {
		frm.add_custom_button(__("Preview"), () => {
			frappe
				.call({ method: "dunning_plus.segments.preview_rule", args: { rule: frm.doc }, freeze: true })
				.then((r) => {
					const p = r.message;
					const name = (policy) => (policy ? frappe.utils.escape_html(policy) : `<i>${__("none")}</i>`);
					const rows = p.moves
						.map((m) => `<tr><td>${name(m.from)}</td><td>${name(m.to)}</td><td class="text-right">${m.customers}</td></tr>`)
						.join("");
					frappe.msgprint({
						title: __("If this rule were saved"),
						indicator: p.moving ? "orange" : "green",
						message: `
							<p>${__("{0} of {1} customers with open items would change policy; {2} keep theirs. This rule would take {3} customers.", [
								p.moving, p.customers, p.unchanged, p.this_rule,
							])}</p>
							${rows ? `<table class="table table-bordered table-sm">
								<thead><tr><th>${__("From Policy")}</th><th>${__("To Policy")}</th><th class="text-right">${__("Customers")}</th></tr></thead>
								<tbody>${rows}</tbody></table>` : ""}
							<p class="text-muted">${__("Nothing is saved. An invoice's or a customer's own policy still comes first.")}</p>`,
					});
				});
		});
	},
});
