frappe.listview_settings["Expected Deposit"] = {
	get_indicator(doc) {
		const colors = { Expected: "orange", "Partly Paid": "yellow", Paid: "green", Invoiced: "blue", Cancelled: "gray" };
		return [__(doc.status), colors[doc.status] || "gray", "status,=," + doc.status];
	},
};
