frappe.listview_settings["Collection Action"] = {
	add_fields: ["status", "currency", "channel", "step_kind"],
	get_indicator(doc) {
		const colors = {
			Sent: "green",
			Done: "green",
			"To Print": "blue",
			Queued: "light-blue",
			Proposed: "yellow",
			"Pending Approval": "yellow",
			Failed: "red",
			Skipped: "gray",
			Dropped: "gray",
		};
		return [__(doc.status), colors[doc.status] || "gray", "status,=," + doc.status];
	},
};
