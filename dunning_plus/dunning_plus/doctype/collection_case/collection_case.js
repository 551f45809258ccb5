// Copyright (c) 2026, dunning_plus contributors
// For license information, please see license.txt

const OPEN = (doc) => !["Resolved", "Written Off", "Closed"].includes(doc.status);

frappe.ui.form.on("Collection Case", {
	refresh(frm) {
		if (frm.is_new()) return;
		frm.set_intro(
			frm.doc.next_action
				? __("Next: {0} on {1}", [frm.doc.next_action, frappe.datetime.str_to_user(frm.doc.next_action_date)])
				: ""
		);
		if (frm.doc.score_explanation) {
			frm.dashboard.add_comment(__("Risk score {0}: {1}", [frm.doc.risk_score, frm.doc.score_explanation]), "blue", true);
		}
		const call = (method, args) => frm.call(method, args).then(() => frm.reload_doc());
		const act = __("Actions");
		if (OPEN(frm.doc)) {
			frm.add_custom_button(__("Record Promise"), () => {
				frappe.prompt(
					[
						{ fieldname: "promised_date", fieldtype: "Date", label: __("Promised Date"), reqd: 1 },
						{ fieldname: "amount", fieldtype: "Currency", label: __("Amount"), description: __("Empty = all open undisputed items") },
						{ fieldname: "notes", fieldtype: "Small Text", label: __("Notes") },
					],
					(v) => call("record_promise", v),
					__("Record Promise")
				);
			}, act);
			frm.add_custom_button(__("Open Dispute"), () => {
				frappe.prompt(
					[
						{ fieldname: "reason", fieldtype: "Link", options: "Dispute Reason", label: __("Reason"), reqd: 1 },
						{
							fieldname: "sales_invoice", fieldtype: "Select", label: __("Invoice"),
							options: [""].concat([...new Set((frm.doc.items || []).map((r) => r.reference_name))]),
							description: __("Empty = every open item"),
						},
						{ fieldname: "amount", fieldtype: "Currency", label: __("Disputed Amount") },
						{ fieldname: "description", fieldtype: "Small Text", label: __("Customer's Words") },
					],
					(v) => call("open_dispute", v),
					__("Open Dispute")
				);
			}, act);
			if (frm.doc.status === "On Hold") {
				frm.add_custom_button(__("Release Hold"), () => call("release_hold"), act);
			} else {
				frm.add_custom_button(__("Hold"), () => {
					frappe.prompt(
						[
							{ fieldname: "reason", fieldtype: "Small Text", label: __("Reason"), reqd: 1 },
							{ fieldname: "until", fieldtype: "Date", label: __("Until"), description: __("Empty = until released") },
						],
						(v) => call("hold", v),
						__("Hold Dunning")
					);
				}, act);
			}
			frm.add_custom_button(__("Escalate"), () => {
				frappe.prompt(
					[
						{ fieldname: "to_user", fieldtype: "Link", options: "User", label: __("To") },
						{ fieldname: "note", fieldtype: "Small Text", label: __("Note") },
					],
					(v) => call("escalate", v),
					__("Escalate")
				);
			}, act);
			frm.add_custom_button(__("Reassign"), () => {
				frappe.prompt(
					{ fieldname: "collector", fieldtype: "Link", options: "User", label: __("Collector"), reqd: 1 },
					(v) => call("reassign", v),
					__("Reassign")
				);
			}, act);
		}
		if (frm.doc.status !== "Closed") {
			frm.add_custom_button(__("Resolve"), () => {
				frappe.prompt(
					[
						{
							fieldname: "resolution", fieldtype: "Select", label: __("Resolution"), reqd: 1,
							options: ["Paid", "Dispute Closed", "Written Off", "Cancelled"],
						},
						{ fieldname: "note", fieldtype: "Small Text", label: __("Note") },
					],
					(v) => call("resolve", v),
					__("Resolve Case")
				);
			}, act);
		}
		if (OPEN(frm.doc)) {
			frm.add_custom_button(__("Send Now"), () => call("send_now"), act);
		}
		// Only what this user may do: the step's approval role approves, a manager drops a write-off.
		const approval = (frm.doc.__onload || {}).approval || {};
		if (frm.doc.status === "Pending Approval" && approval.can_approve) {
			frm.add_custom_button(__("Approve"), () => call("approve_pending"), __("Approval"));
		}
		if (frm.doc.status === "Pending Approval" && approval.can_drop) {
			frm.add_custom_button(__("Drop"), () =>
				frappe.prompt(
					{ fieldname: "reason", fieldtype: "Small Text", label: __("Reason"), reqd: 1 },
					(v) => call("drop_pending", v),
					__("Drop Step")
				), __("Approval"));
		}
		if (frm.doc.status === "Pending Approval" && !approval.can_approve && approval.role) {
			frm.dashboard.add_comment(
				__("Waiting for approval by a user with the role {0}.", [__(approval.role)]),
				"yellow",
				true
			);
		}
		frm.add_custom_button(__("Recompute"), () => call("recompute"));
	},
});

// Payment plans: offer one from the case (N equal instalments every K days), open the plan.
frappe.ui.form.on("Collection Case", {
	refresh(frm) {
		if (frm.is_new() || !OPEN(frm.doc)) return;
		if (frm.doc.payment_plan) {
			frm.add_custom_button(__("Payment Plan {0}", [frm.doc.payment_plan]), () =>
				frappe.set_route("Form", "Payment Plan", frm.doc.payment_plan)
			, __("View"));
			return;
		}
		frm.add_custom_button(__("Offer Payment Plan"), () => {
			frappe.prompt(
				[
					{ fieldname: "instalment_count", fieldtype: "Int", label: __("Instalments"), default: 3, reqd: 1 },
					{ fieldname: "every_days", fieldtype: "Int", label: __("Every (Days)"), default: 30, reqd: 1 },
					{ fieldname: "start_date", fieldtype: "Date", label: __("First Instalment On"), default: frappe.datetime.get_today(), reqd: 1 },
					{ fieldname: "down_payment", fieldtype: "Currency", label: __("Down Payment"), options: frm.doc.currency },
					{ fieldname: "accepted", fieldtype: "Check", label: __("The customer has agreed") },
				],
				(v) =>
					frm.call("offer_payment_plan", v).then((r) => {
						if (r.message) frappe.set_route("Form", "Payment Plan", r.message);
					}),
				__("Offer Payment Plan"),
				__("Prepare Plan")
			);
		}, __("Actions"));
	},
});

// The customer's collection page: the case's links (one per recipient), copy, revoke, issue anew.
frappe.ui.form.on("Collection Case", {
	refresh(frm) {
		if (!frm.is_new()) dunning_plus_collection_links(frm);
	},
});

function dunning_plus_collection_links(frm) {
	const M = "dunning_plus.collect_links.";
	const open = OPEN(frm.doc);
	const issue = (recipient) =>
		frappe.call(M + "issue_link", { case: frm.doc.name, recipient }).then((r) => {
			frappe.utils.copy_to_clipboard(r.message.url);
			frm.reload_doc();
		});
	if (open) {
		frm.add_custom_button(__("New Collection Page Link"), () => {
			frappe.prompt(
				{
					fieldname: "recipient", fieldtype: "Data", options: "Email", label: __("Recipient"),
					description: __("The email address it is for; empty for letters. Replaces that recipient's link."),
				},
				(v) => issue(v.recipient || ""),
				__("New Collection Page Link")
			);
		}, __("Collection Page"));
	}
	frappe.call(M + "get_links", { case: frm.doc.name }).then((r) => {
		const links = r.message || [];
		if (!links.length) return;
		const rows = links.map((l, i) => `
			<div class="d-flex flex-wrap align-items-center mb-2" data-idx="${i}">
				<span class="mr-3"><b>${frappe.utils.escape_html(l.label)}</b></span>
				<code class="mr-3 text-truncate" style="max-width: 26rem">${frappe.utils.escape_html(l.url)}</code>
				<span class="mr-3 ${l.expired ? "text-danger" : "text-muted"}">${l.expired
					? __("expired on {0}", [frappe.datetime.str_to_user(l.valid_until)])
					: __("valid until {0}", [frappe.datetime.str_to_user(l.valid_until)])}</span>
				<button class="btn btn-xs btn-default mr-2" data-action="copy">${__("Copy")}</button>
				${open ? `<button class="btn btn-xs btn-default mr-2" data-action="renew">${__("New Link")}</button>` : ""}
				<button class="btn btn-xs btn-default" data-action="revoke">${__("Revoke")}</button>
			</div>`).join("");
		frm.dashboard.parent.find(".dp-collection-links").closest(".form-dashboard-section").remove();
		const body = frm.dashboard.add_section(`<div class="dp-collection-links">${rows}</div>`, __("Collection Page"));
		body.on("click", "button[data-action]", (e) => {
			const link = links[$(e.currentTarget).closest("[data-idx]").data("idx")];
			const action = $(e.currentTarget).data("action");
			if (action === "copy") {
				frappe.utils.copy_to_clipboard(link.url);
			} else if (action === "renew") {
				frappe.confirm(__("The current link for {0} stops working. Issue a new one?", [link.label]), () => issue(link.recipient));
			} else {
				frappe.confirm(__("The link for {0} stops working at once. Revoke it?", [link.label]), () =>
					frappe.call(M + "revoke_link", { link: link.name }).then(() => frm.reload_doc())
				);
			}
		});
	});
}
