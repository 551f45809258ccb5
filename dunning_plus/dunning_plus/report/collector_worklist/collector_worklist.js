// Copyright (c) 2026, dunning_plus contributors
// For license information, please see license.txt

frappe.query_reports["Collector Worklist"] = {
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
			fieldname: "collector",
			label: __("Collector"),
			fieldtype: "Link",
			options: "User",
		},
		{
			fieldname: "status",
			label: __("Status"),
			fieldtype: "Select",
			options: [
				"",
				{ value: "Open", label: __("Open") },
				{ value: "Reminder", label: __("Reminder") },
				{ value: "Dunning", label: __("Dunning") },
				{ value: "Final Notice", label: __("Final Notice") },
				{ value: "Escalated", label: __("Escalated") },
				{ value: "Disputed", label: __("Disputed") },
				{ value: "Promised", label: __("Promised") },
				{ value: "Pending Approval", label: __("Pending Approval") },
				{ value: "On Hold", label: __("On Hold") },
			],
		},
		{
			fieldname: "customer",
			label: __("Customer"),
			fieldtype: "Link",
			options: "Customer",
		},
	],
	formatter(value, row, column, data, default_formatter) {
		const raw = value;
		value = default_formatter(value, row, column, data);
		if (!data) return value;
		if (column.fieldname === "sla_state" && raw) {
			const color = { Breached: "red", "Due Soon": "orange", "On Track": "green" }[raw] || "gray";
			return `<span class="indicator-pill ${color}">${__(raw)}</span>`;
		}
		if (column.fieldname === "next_action_date" && raw && raw <= frappe.datetime.get_today()) {
			return `<span style="color: var(--red-500); font-weight: 600">${value}</span>`;
		}
		if (column.fieldname === "due_today" && raw) {
			return `<span style="color: var(--orange-600); font-weight: 600">${value}</span>`;
		}
		if (column.fieldname === "status" && raw) {
			return __(raw);
		}
		return value;
	},
};
