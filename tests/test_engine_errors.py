import pytest

from dunning_plus.engine import (
	AllocationError,
	CalendarError,
	CurrencyMismatchError,
	EngineError,
	LedgerError,
	PolicyError,
	TransitionError,
)
from dunning_plus.engine.errors import Problem, _renumber


def test_engine_error_keeps_template_and_args():
	err = EngineError("Row {0} of {1} is bad.", 3, "file.csv")
	assert str(err) == err.message == "Row 3 of file.csv is bad."
	assert err.template == "Row {0} of {1} is bad."
	assert err.args_ == (3, "file.csv")
	assert err.translated(lambda t: t.replace("is bad", "ist schlecht")) == "Row 3 of file.csv ist schlecht."


@pytest.mark.parametrize("cls", [PolicyError, CalendarError, TransitionError, AllocationError, LedgerError])
def test_every_error_is_an_engine_error(cls):
	assert issubclass(cls, EngineError)
	assert issubclass(CurrencyMismatchError, AllocationError)


def test_policy_error_renumbers_placeholders_across_problems():
	err = PolicyError(
		[
			Problem("Step {0} and {1} clash.", "A", "B", field="steps"),
			Problem("Step {0} has {{braces}}.", "C"),
			Problem("No arguments here."),
		]
	)
	assert str(err) == "Step A and B clash.\nStep C has {braces}.\nNo arguments here."
	assert err.template == "Step {0} and {1} clash.\nStep {2} has {{braces}}.\nNo arguments here."
	assert [str(p) for p in err.problems] == [
		"Step A and B clash.",
		"Step C has {braces}.",
		"No arguments here.",
	]
	assert err.problems[0].field == "steps"
	assert repr(err.problems[0]) == "Problem(Step A and B clash.)"
	assert err.translated(str.upper) == "STEP A AND B CLASH.\nSTEP C HAS {BRACES}.\nNO ARGUMENTS HERE."


def test_renumber_leaves_named_fields_alone():
	assert _renumber("{0} {name} {1}", 2) == "{2} {name} {3}"
	assert _renumber("{0}", 0) == "{0}"
