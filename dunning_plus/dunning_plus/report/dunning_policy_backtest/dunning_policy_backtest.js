// Copyright (c) 2026, dunning_plus contributors
// For license information, please see license.txt

frappe.query_reports["Dunning Policy Backtest"] = {
	filters: [
		{
			fieldname: "policy",
			label: __("Dunning Policy"),
			fieldtype: "Link",
			options: "Dunning Policy",
			reqd: 1,
		},
		{
			fieldname: "compare_policy",
			label: __("Compare With"),
			fieldtype: "Link",
			options: "Dunning Policy",
		},
		{
			fieldname: "months",
			label: __("Months"),
			fieldtype: "Int",
			default: 6,
			reqd: 1,
		},
		{
			fieldname: "company",
			label: __("Company"),
			fieldtype: "Link",
			options: "Company",
			default: frappe.defaults.get_user_default("Company"),
		},
	],
};
