// Copyright (c) 2026, dunning_plus contributors
// For license information, please see license.txt

frappe.query_reports["Cash Forecast"] = {
	filters: [
		{
			fieldname: "company",
			label: __("Company"),
			fieldtype: "Link",
			options: "Company",
			reqd: 1,
			default: frappe.defaults.get_user_default("Company"),
		},
		{
			fieldname: "as_of",
			label: __("Starting"),
			fieldtype: "Date",
			reqd: 1,
			default: frappe.datetime.get_today(),
		},
		{
			fieldname: "weeks",
			label: __("Weeks"),
			fieldtype: "Int",
			default: 13,
		},
		{
			// the rule is dunning_plus.engine.forecast's (see the report's message and the README)
			fieldname: "at_risk_days",
			label: __("At Risk After (Days Overdue)"),
			fieldtype: "Int",
			default: 90,
			description: __(
				"Rows more than this many days past due (and past their customer's usual payment date) are not expected in the weeks"
			),
		},
		{
			fieldname: "customer",
			label: __("Customer"),
			fieldtype: "Link",
			options: "Customer",
		},
		{
			fieldname: "customer_group",
			label: __("Customer Group"),
			fieldtype: "Link",
			options: "Customer Group",
		},
		{
			fieldname: "territory",
			label: __("Territory"),
			fieldtype: "Link",
			options: "Territory",
		},
		{
			fieldname: "collector",
			label: __("Collector"),
			fieldtype: "Link",
			options: "User",
		},
	],
	formatter(value, row, column, data, default_formatter) {
		value = default_formatter(value, row, column, data);
		if (data && column.fieldname === "week" && data.bucket !== "week") {
			const color = { later: "blue", at_risk: "red", disputed: "orange" }[data.bucket];
			return `<span class="indicator-pill ${color}">${value}</span>`;
		}
		return value;
	},
};
