# Copyright (c) 2026, dunning_plus contributors
# For license information, please see license.txt
"""The Sales Invoice's dunning fields move from the Terms tab to a Collections tab of their own."""

from dunning_plus.install import create_dunning_custom_fields


def execute():
	create_dunning_custom_fields()
