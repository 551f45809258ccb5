"""Typed engine errors.

Each error keeps its message as an untranslated template with ``{0}``-style placeholders plus the
arguments, so the Frappe layer can translate the template (``_(err.template).format(*err.args)``)
and the CLI can print ``str(err)``. Templates are wrapped in :func:`_` so Frappe's translation
extractor finds them.
"""

from __future__ import annotations


def _(text: str) -> str:
	"""Marks a message for translation extraction; the engine itself never translates."""
	return text


class EngineError(Exception):
	"""Base class of every error the engine raises on bad input."""

	def __init__(self, template: str, *args: object):
		self.template = template
		self.args_ = args
		super().__init__(template.format(*args))

	@property
	def message(self) -> str:
		return str(self)

	def translated(self, translate) -> str:
		"""The message with its template passed through ``translate`` (e.g. ``frappe._``)."""
		return translate(self.template).format(*self.args_)


class PolicyError(EngineError):
	"""A policy is invalid. ``problems`` lists every problem found, not just the first."""

	def __init__(self, problems: list[Problem]):
		self.problems = problems
		# Re-number placeholders so the joined template formats with one flat argument list.
		args: list[object] = []
		parts = []
		for p in problems:
			parts.append(_renumber(p.template, len(args)))
			args.extend(p.args)
		super().__init__("\n".join(parts), *args)

	def translated(self, translate) -> str:
		return "\n".join(translate(p.template).format(*p.args) for p in self.problems)


class Problem:
	"""One validation problem: a message template and its arguments."""

	__slots__ = ("args", "field", "template")

	def __init__(self, template: str, *args: object, field: str | None = None):
		self.template = template
		self.args = args
		self.field = field

	def __str__(self) -> str:
		return self.template.format(*self.args)

	def __repr__(self) -> str:
		return f"Problem({self!s})"


class CalendarError(EngineError):
	"""A business calendar cannot be built or used as asked."""


class TransitionError(EngineError):
	"""A collection case was asked to move along a transition that is not allowed."""


class AllocationError(EngineError):
	"""An advance cannot be allocated as asked."""


class CurrencyMismatchError(AllocationError):
	"""An advance and the rows it should pay are in different currencies."""


class LedgerError(EngineError):
	"""Input data (a ledger, a policy file, a CSV export) is malformed."""


def _renumber(template: str, offset: int) -> str:
	if not offset:
		return template
	out = []
	i = 0
	while i < len(template):
		ch = template[i]
		if ch == "{" and i + 1 < len(template) and template[i + 1] == "{":
			out.append("{{")
			i += 2
			continue
		if ch == "{":
			j = template.index("}", i)
			field = template[i + 1 : j]
			if field.isdigit():
				out.append("{" + str(int(field) + offset) + "}")
			else:
				out.append(template[i : j + 1])
			i = j + 1
			continue
		out.append(ch)
		i += 1
	return "".join(out)
