frappe.listview_settings["Dunning Run"] = {
	get_indicator(doc) {
		const colors = {
			Draft: "red", Queued: "orange", Running: "orange", Proposed: "yellow",
			Completed: "green", "Partly Failed": "orange", Failed: "red", Stale: "red", Cancelled: "gray",
		};
		return [__(doc.status), colors[doc.status] || "gray", "status,=," + doc.status];
	},
};
