"""dunning_plus: governed payment collection for ERPNext v15."""

__version__ = "0.1.0"
