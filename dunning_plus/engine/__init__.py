"""The collection engine: pure Python rules, no Frappe.

Plain dataclasses in, decisions out; the date is always a parameter. Modules:
policy, precedence, calendar, cadence, case, promises, allocation, aging, kpis, score, forecast.
"""

from dunning_plus.engine.errors import (
	AllocationError,
	CalendarError,
	CurrencyMismatchError,
	EngineError,
	LedgerError,
	PolicyError,
	TransitionError,
)
