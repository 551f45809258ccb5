"""Sites that installed dunning_plus before read access was granted on install get it now."""

from dunning_plus.install import grant_read_access


def execute():
	grant_read_access()
