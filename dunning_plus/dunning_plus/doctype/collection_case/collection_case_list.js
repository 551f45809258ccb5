frappe.listview_settings["Collection Case"] = {
	add_fields: ["status", "current_level", "next_action_date"],
	get_indicator(doc) {
		const colors = {
			Open: "blue",
			Reminder: "light-blue",
			Dunning: "orange",
			"Final Notice": "red",
			Escalated: "red",
			Disputed: "purple",
			Promised: "cyan",
			"Pending Approval": "yellow",
			"On Hold": "gray",
			Resolved: "green",
			"Written Off": "darkgrey",
			Closed: "green",
		};
		const label = doc.status === "Dunning" ? __("Level {0}", [doc.current_level]) : __(doc.status);
		return [label, colors[doc.status] || "gray", "status,=," + doc.status];
	},
};
