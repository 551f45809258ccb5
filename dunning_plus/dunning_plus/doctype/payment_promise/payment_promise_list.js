frappe.listview_settings["Payment Promise"] = {
	get_indicator(doc) {
		const colors = { Pending: "orange", Kept: "green", Broken: "red", Cancelled: "gray" };
		return [__(doc.status), colors[doc.status] || "gray", "status,=," + doc.status];
	},
};
