// Copyright (c) 2026, dunning_plus contributors
// For license information, please see license.txt

// The run's jobs tell an open form when they move on (doc_update after each commit), and the
// form reloads itself; without a realtime connection it looks again every few seconds.
const POLL_MS = 10000;

frappe.ui.form.on("Dunning Run", {
	refresh(frm) {
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
			`<span class="indicator-pill red">${__("Stale")}</span> ${frappe.utils.escape_html(
				frm.doc.status_reason || ""
			)}`
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
	frm.dashboard.set_headline(
		frm.doc.status === "Queued"
			? __("The run is waiting for a worker. This form updates itself.")
			: __("The run is in progress. This form updates itself.")
	);
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
		__("Tick the messages to send or drop in the Messages table, then use Send Selected or Drop Selected."),
		"blue"
	);
	// the ticks are saved first: the server sends what is stored
	const saved = () => (frm.is_dirty() ? frm.save("Update") : Promise.resolve());
	const selected = () => (frm.doc.messages || []).filter((r) => r.select_row && r.status === "Proposed");
	const nothing_selected = () => {
		if (selected().length) return false;
		frappe.msgprint(__("Tick at least one proposed message first."));
		return true;
	};
	frm.add_custom_button(__("Send Selected"), () => {
		if (nothing_selected()) return;
		saved()
			.then(() => frm.call("send_selected"))
			.then((r) => {
				frappe.show_alert({ message: __("{0} messages sent", [r.message]), indicator: "green" });
				frm.reload_doc();
			});
	});
	frm.add_custom_button(__("Drop Selected"), () => {
		if (nothing_selected()) return;
		frappe.prompt(
			{ fieldname: "reason", fieldtype: "Small Text", label: __("Reason"), reqd: 1 },
			(v) =>
				saved()
					.then(() => frm.call("drop_selected", v))
					.then(() => frm.reload_doc()),
			__("Drop Messages")
		);
	});
}
