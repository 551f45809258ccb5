app_name = "dunning_plus"
app_title = "Dunning Plus"
app_publisher = "dunning_plus contributors"
app_description = (
	"Governed payment collection for ERPNext: deposits, reminders, dunning levels, promises, "
	"disputes, resolution and reconciliation."
)
app_email = "dev@dunning-plus.invalid"
app_license = "mit"
# "org/repo" as frappe/hrms writes it: a bare "erpnext" makes Frappe look the org up on GitHub at install.
required_apps = ["frappe/erpnext"]

# Installation
# ------------
after_install = "dunning_plus.install.after_install"
before_uninstall = "dunning_plus.install.before_uninstall"
