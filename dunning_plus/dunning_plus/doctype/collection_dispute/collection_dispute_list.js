frappe.listview_settings["Collection Dispute"] = {
	get_indicator(doc) {
		const colors = { Open: "orange", Resolved: "green", Rejected: "gray" };
		return [__(doc.status), colors[doc.status] || "gray", "status,=," + doc.status];
	},
};
