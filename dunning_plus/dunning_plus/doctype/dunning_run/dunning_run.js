// Copyright (c) 2026, dunning_plus contributors
// For license information, please see license.txt

// The run's jobs tell an open form when they move on (doc_update after each commit), and the
// form reloads itself; without a realtime connection it looks again every few seconds.
const POLL_MS = 10000;

frappe.ui.form.on("Dunning Run", {
	refresh(frm) {
		// proposals are ticked in the Review Proposals dialog: the row's own tick is not for the desk
		const grid = frm.get_field("messages").grid;
		const select = grid.get_docfield("select_row");
		if (select && !select.hidden) {
			select.hidden = 1;
			grid.reset_grid();
		}
		render_counts_by_step(frm);
		show_progress(frm);
		add_review_buttons(frm);
	},
});

function in_progress(frm) {
	return frm.doc.docstatus === 1 && ["Queued", "Running"].includes(frm.doc.status);
}

function show_progress(frm) {
	clearTimeout(frm._dunning_run_poll);
	if (frm.doc.status === "Stale") {
		frm.dashboard.set_headline(
			__("This run stopped reporting and is not running any more: see Status Reason."),
			"red"
		);
		return;
	}
	if (!in_progress(frm)) return;
	const total = cint(frm.doc.batches_total);
	const done = cint(frm.doc.batches_done);
	if (total) {
		frm.dashboard.show_progress(
			__("Batches"),
			(done * 100) / total,
			__("{0} of {1} batches done", [done, total])
		);
	}
	let headline = __("The run is in progress. This form updates itself.");
	if (frm.doc.status === "Queued") {
		headline = __("The run is waiting for a worker. This form updates itself.");
	} else if (total && done >= total) {
		headline = __("Every customer is decided; the messages are being sent. This form updates itself.");
	}
	frm.dashboard.set_headline(headline);
	const name = frm.doc.name;
	frm._dunning_run_poll = setTimeout(() => {
		const connected = frappe.realtime.socket && frappe.realtime.socket.connected;
		if (!connected && cur_frm === frm && frm.doc.name === name && !frm.is_dirty()) {
			frm.reload_doc();
		}
	}, POLL_MS);
}

function render_counts_by_step(frm) {
	const field = frm.get_field("counts_by_step_html");
	if (!field) return;
	let counts = {};
	try {
		counts = JSON.parse(frm.doc.counts_by_step || "{}");
	} catch (e) {
		counts = {};
	}
	const keys = Object.keys(counts).sort();
	if (!keys.length) {
		field.$wrapper.html(
			`<p class="text-muted small">${
				in_progress(frm) ? __("No messages yet.") : __("No messages were decided in this run.")
			}</p>`
		);
		return;
	}
	const esc = frappe.utils.escape_html;
	const rows = keys
		.map((key) => {
			const [step, channel] = key.split("/");
			return `<tr><td>${esc(step)}</td><td>${esc(__(channel || ""))}</td>
				<td class="text-right">${cint(counts[key])}</td></tr>`;
		})
		.join("");
	const total = keys.reduce((sum, key) => sum + cint(counts[key]), 0);
	field.$wrapper.html(`
		<table class="table table-bordered table-condensed" style="max-width: 480px">
			<thead><tr>
				<th>${__("Step")}</th><th>${__("Channel")}</th><th class="text-right">${__("Messages")}</th>
			</tr></thead>
			<tbody>${rows}</tbody>
			<tfoot><tr>
				<th colspan="2">${__("Total")}</th><th class="text-right">${total}</th>
			</tr></tfoot>
		</table>`);
}

function add_review_buttons(frm) {
	if (frm.doc.docstatus !== 1 || frm.doc.status !== "Proposed") return;
	frm.set_intro(
		__("The messages of this run wait for review: use Review Proposals to send or drop them."),
		"blue"
	);
	frm.add_custom_button(__("Review Proposals"), () => review_dialog(frm)).addClass("btn-primary");
}

function review_dialog(frm) {
	const proposed = (frm.doc.messages || []).filter((r) => r.status === "Proposed");
	const dialog = new frappe.ui.Dialog({
		title: __("Review Proposals"),
		size: "large",
		fields: [
			{
				fieldtype: "HTML",
				options: `<p class="text-muted small">${__(
					"Tick the messages, then send them, or drop them with a reason."
				)}</p>`,
			},
			{
				fieldname: "rows",
				fieldtype: "Table",
				cannot_add_rows: true,
				cannot_delete_rows: true,
				in_place_edit: false,
				data: proposed.map((r) => ({
					row: r.name,
					customer: r.customer,
					step_code: r.step_code,
					channel: r.channel,
					items_count: r.items_count,
					total: r.total,
					currency: r.currency,
					__checked: r.select_row ? 1 : 0,
				})),
				fields: [
					{ fieldname: "row", fieldtype: "Data", hidden: 1 },
					{ fieldname: "customer", fieldtype: "Link", options: "Customer", label: __("Customer"), in_list_view: 1, read_only: 1, columns: 4 },
					{ fieldname: "step_code", fieldtype: "Data", label: __("Step"), in_list_view: 1, read_only: 1, columns: 1 },
					{ fieldname: "channel", fieldtype: "Data", label: __("Channel"), in_list_view: 1, read_only: 1, columns: 1 },
					{ fieldname: "items_count", fieldtype: "Int", label: __("Items"), in_list_view: 1, read_only: 1, columns: 1 },
					{ fieldname: "currency", fieldtype: "Link", options: "Currency", hidden: 1 },
					{ fieldname: "total", fieldtype: "Currency", options: "currency", label: __("Total"), in_list_view: 1, read_only: 1, columns: 2 },
				],
			},
			{
				fieldname: "reason",
				fieldtype: "Small Text",
				label: __("Reason for dropping"),
				description: __("Needed to drop messages; kept on each dropped step."),
			},
		],
		primary_action_label: __("Send Selected"),
		primary_action: () => review(frm, dialog, "send_selected"),
		secondary_action_label: __("Drop Selected"),
		secondary_action: () => review(frm, dialog, "drop_selected"),
	});
	dialog.show();
}

function review(frm, dialog, method) {
	const rows = dialog.fields_dict.rows.grid.get_selected_children().map((r) => r.row);
	if (!rows.length) {
		frappe.msgprint(__("Tick at least one message first."));
		return;
	}
	const reason = (dialog.get_value("reason") || "").trim();
	if (method === "drop_selected" && !reason) {
		frappe.msgprint(__("Give a reason for dropping the messages."));
		return;
	}
	frm.call(method, method === "drop_selected" ? { rows, reason } : { rows }).then((r) => {
		dialog.hide();
		frappe.show_alert({
			message:
				method === "send_selected"
					? __("{0} messages sent", [r.message])
					: __("{0} messages dropped", [r.message]),
			indicator: "green",
		});
		frm.reload_doc();
	});
}
