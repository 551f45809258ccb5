"""Existing sites get the disabled "Standard Collection" policy, its templates and letter."""

from dunning_plus.standard_policy import create_standard_collection


def execute():
	create_standard_collection()
