// Copyright (c) 2026, dunning_plus contributors
// For license information, please see license.txt

frappe.query_reports["Collections Aging"] = {
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
			fieldname: "report_date",
			label: __("As of Date"),
			fieldtype: "Date",
			reqd: 1,
			default: frappe.datetime.get_today(),
		},
		{
			fieldname: "ageing_based_on",
			label: __("Ageing Based On"),
			fieldtype: "Select",
			options: [
				{ value: "Due Date", label: __("Due Date") },
				{ value: "Posting Date", label: __("Posting Date") },
			],
			default: "Due Date",
		},
		{
			fieldname: "range",
			label: __("Ageing Range"),
			fieldtype: "Data",
			default: "30, 60, 90, 120",
			description: __("Upper limits of the buckets in days, separated by commas"),
		},
		{
			fieldname: "group_by",
			label: __("Group By"),
			fieldtype: "Select",
			options: [
				{ value: "Customer", label: __("Customer") },
				{ value: "Customer Group", label: __("Customer Group") },
				{ value: "Territory", label: __("Territory") },
				{ value: "Collector", label: __("Collector") },
				{ value: "Dunning Level", label: __("Dunning Level") },
				{ value: "Instalment", label: __("Instalment") },
			],
			default: "Customer",
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
		{
			fieldname: "dunning_level",
			label: __("Dunning Level"),
			fieldtype: "Int",
		},
	],
	formatter(value, row, column, data, default_formatter) {
		value = default_formatter(value, row, column, data);
		// A customer's total drills down to its instalments.
		if (column.fieldname === "outstanding" && data && data.customer && frappe.query_report.get_filter_value("group_by") === "Customer") {
			return `<a class="dp-drill" data-customer="${encodeURIComponent(data.customer)}">${value}</a>`;
		}
		return value;
	},
	onload(report) {
		report.page.wrapper.on("click", ".dp-drill", (e) => {
			const customer = decodeURIComponent($(e.currentTarget).attr("data-customer"));
			report.set_filter_value({ customer: customer, group_by: "Instalment" });
		});
	},
};
