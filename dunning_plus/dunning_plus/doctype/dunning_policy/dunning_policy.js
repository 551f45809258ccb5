// Copyright (c) 2026, dunning_plus contributors
// For license information, please see license.txt

frappe.ui.form.on("Dunning Policy", {
	refresh(frm) {
		frm.trigger("render_preview");
	},
	holiday_list: (frm) => frm.trigger("render_preview"),
	skip_weekends: (frm) => frm.trigger("render_preview"),
	grace_days: (frm) => frm.trigger("render_preview"),
	restrict_sending_hours(frm) {
		// Frappe puts the current time in new Time fields: offer office hours instead.
		const start = (frm.doc.sending_window_start || "").slice(0, 5);
		const end = (frm.doc.sending_window_end || "").slice(0, 5);
		if (frm.doc.restrict_sending_hours && (!start || !end || start >= end)) {
			frm.set_value({ sending_window_start: "08:00:00", sending_window_end: "18:00:00" });
		}
	},
	render_preview(frm) {
		// Called on every change while the policy is typed: debounced, and silent while the policy is
		// not valid yet (the server answers with what is missing instead of an error).
		clearTimeout(frm._dp_preview_timer);
		frm._dp_preview_timer = setTimeout(() => render_preview(frm), 400);
	},
});

function render_preview(frm) {
	const wrapper = frm.get_field("preview").$wrapper;
	if (!(frm.doc.steps || []).length) {
		wrapper.html(`<p class="text-muted">${__("Add steps to see when each one fires.")}</p>`);
		return;
	}
	frappe
		.xcall("dunning_plus.policies.get_preview", { policy: frm.doc })
		.then((r) => {
			if ((r.problems || []).length) {
				wrapper.html(`<p class="text-muted">${__(
					"The preview appears once the policy is complete. Still missing:"
				)}</p><ul class="text-muted small">${r.problems
					.map((p) => `<li>${frappe.utils.escape_html(p)}</li>`)
					.join("")}</ul>`);
				return;
			}
			const rows = (r.steps || [])
				.map(
					(s) => `<tr>
						<td>${frappe.utils.escape_html(s.step)}</td>
						<td>${__(s.kind)}${s.level ? " " + s.level : ""}</td>
						<td>${__(s.channel)}</td>
						<td>${s.offset_days}</td>
						<td>${frappe.datetime.str_to_user(s.date)} (${__(s.weekday)})${
							s.shifted ? ` <span class="text-muted">${__("moved to a business day")}</span>` : ""
						}</td>
					</tr>`
				)
				.join("");
			wrapper.html(`
				<p class="text-muted">${__("For an example invoice due today ({0}):", [
					frappe.datetime.str_to_user(frappe.datetime.get_today()),
				])}</p>
				<table class="table table-bordered table-sm">
					<thead><tr><th>${__("Step")}</th><th>${__("Kind")}</th><th>${__("Channel")}</th>
					<th>${__("Offset (Days)")}</th><th>${__("Fires On")}</th></tr></thead>
					<tbody>${rows}</tbody>
				</table>`);
		})
		.catch(() => wrapper.html(""));
}

frappe.ui.form.on("Dunning Policy Step", {
	offset_days: (frm) => frm.trigger("render_preview"),
	kind: (frm) => frm.trigger("render_preview"),
	steps_remove: (frm) => frm.trigger("render_preview"),
});

// Backtest: what the policy would have sent over the company's own last months, replayed in a
// background job (dunning_plus.backtest); progress on the form, the figures in a dialog.
frappe.ui.form.on("Dunning Policy", {
	refresh(frm) {
		if (!frm.is_new()) {
			frm.add_custom_button(__("Backtest"), () => dunning_plus_backtest.ask(frm));
			frm.add_custom_button(__("Send Test Messages"), () => dunning_plus_backtest.send_tests(frm));
		}
	},
});

const dunning_plus_backtest = {
	ask(frm) {
		const dialog = new frappe.ui.Dialog({
			title: __("Backtest {0}", [frm.doc.name]),
			fields: [
				{
					fieldname: "months",
					fieldtype: "Int",
					label: __("Months"),
					default: 6,
					reqd: 1,
					description: __("Replays the invoices and payments of the last months, day by day."),
				},
				{
					fieldname: "compare_policy",
					fieldtype: "Link",
					options: "Dunning Policy",
					label: __("Compare With"),
					get_query: () => ({ filters: { name: ["!=", frm.doc.name] } }),
				},
			],
			primary_action_label: __("Run Backtest"),
			primary_action(values) {
				dialog.hide();
				frappe
					.call({
						method: "dunning_plus.backtest.start_backtest",
						args: { policy: frm.doc.name, ...values },
					})
					.then((r) => dunning_plus_backtest.wait(frm, r.message.key));
			},
		});
		dialog.show();
	},

	wait(frm, key) {
		frappe.show_alert({ message: __("Backtest started"), indicator: "blue" });
		const poll = () =>
			frappe
				.call({ method: "dunning_plus.backtest.get_backtest_result", args: { key } })
				.then((r) => {
					if (!r.message) {
						setTimeout(poll, 2000);
						return;
					}
					frappe.hide_progress();
					dunning_plus_backtest.show(r.message);
				})
				.catch(() => frappe.hide_progress());
		setTimeout(poll, 1000);
	},

	// Guided setup: every email step rendered with a real customer's open items, sent to you only.
	send_tests(frm) {
		frappe.prompt(
			{
				fieldname: "customer",
				fieldtype: "Link",
				options: "Customer",
				label: __("Customer"),
				description: __("Empty: the customer with the most open invoices"),
			},
			(values) =>
				frappe
					.call({
						method: "dunning_plus.onboarding.send_test_messages",
						args: { policy: frm.doc.name, customer: values.customer },
						freeze: true,
					})
					.then((r) =>
						frappe.msgprint({
							title: __("Test Messages"),
							indicator: "green",
							message: __("Sent to you: {0}", [
								(r.message || []).map((m) => frappe.utils.escape_html(m.subject)).join("<br>"),
							]),
						})
					),
			__("Send Test Messages"),
			__("Send to Me")
		);
	},

	show(result) {
		const dialog = new frappe.ui.Dialog({
			title: __("Backtest of {0}", [result.policy.name]),
			size: "extra-large",
			fields: [{ fieldname: "figures", fieldtype: "HTML" }],
		});
		const wrapper = dialog.get_field("figures").$wrapper;
		wrapper.html(`${result.html}<div class="dp-backtest-chart"></div>`);
		dialog.show();
		if (result.chart.data.labels.length) {
			new frappe.Chart(wrapper.find(".dp-backtest-chart")[0], { ...result.chart, height: 260 });
		}
	},
};
