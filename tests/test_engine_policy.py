import json
from datetime import time

import pytest
from conftest import day, money, standard_policy, standard_steps, step

from dunning_plus.engine.calendar import BusinessCalendar
from dunning_plus.engine.errors import PolicyError
from dunning_plus.engine.policy import (
	Channel,
	Policy,
	PolicyStep,
	StepKind,
	Track,
	policy_from_dict,
	policy_to_dict,
)


def problems_of(exc_info) -> list[str]:
	return [str(p) for p in exc_info.value.problems]


def build(*steps, **kw):
	return Policy(name=kw.pop("name", "P"), steps=tuple(steps), **kw)


# ----------------------------------------------------------------------------- valid policies


def test_standard_policy_builds_and_splits_tracks():
	p = standard_policy()
	inv = p.track(Track.INVOICE)
	dep = p.track("deposit")
	assert [s.code for s in inv.steps] == ["R-7", "R+3", "L1", "L2", "FN", "WO"]
	assert inv.effective_offsets == (-7, 3, 10, 24, 38, 60)
	assert inv.index_by_code["L2"] == 3
	assert [s.code for s in dep.steps] == ["DEP-3", "DEP+2"]
	assert p.step("L1").owner == "AR team"
	with pytest.raises(KeyError):
		p.step("nope")


def test_step_properties():
	p = standard_policy()
	assert p.step("L2").title == "Dunning Level 2"
	assert p.step("FN").title == "Final Notice"
	assert p.step("FN").needs_approval and not p.step("L1").needs_approval
	assert p.step("DEP-3").track == Track.DEPOSIT and p.step("R-7").track == Track.INVOICE
	assert p.step("R-7").severity < p.step("L1").severity < p.step("FN").severity < p.step("WO").severity


def test_escalation_may_sit_between_levels():
	p = build(
		step("R", -3),
		step("L1", 5, "dunning", level=1),
		step("ESC", 7, "escalation", channel=Channel.TASK, templates={}),
		step("L2", 14, "dunning", level=2),
	)
	assert [s.code for s in p.steps] == ["R", "L1", "ESC", "L2"]


def test_task_step_needs_no_template():
	p = build(step("L1", 5, "dunning", level=1, channel=Channel.TASK, templates={}))
	assert p.steps[0].template_for("en") is None


# ----------------------------------------------------------------------------- validation rules


@pytest.mark.parametrize(
	"steps, kw, expected",
	[
		((), {}, "Policy P has no steps"),
		((step("R", -3),), {"name": " "}, "The policy needs a name."),
		(
			(step("A", 3), step("B", 3)),
			{},
			"Steps A and B have the same offset (3 days)",
		),
		(
			(step("A", 3), step("B", -7)),
			{},
			"Step B (-7 days) comes after step A (3 days): order the steps by their offset.",
		),
		((step("A", -3), step("A", 3)), {}, "Step code A is used twice"),
		(
			(step("L1", 10, "dunning", level=1), step("L1b", 20, "dunning", level=1)),
			{},
			"Dunning level 1 is defined twice.",
		),
		(
			(step("L2", 10, "dunning", level=2), step("L1", 20, "dunning", level=1)),
			{},
			"Dunning level 1 comes after level 2: levels must rise with the offset.",
		),
		((step("L0", 10, "dunning", level=0),), {}, "a dunning level step needs a level of 1 or more"),
		((step("R", 3, level=2),), {}, "Step R: only dunning level steps carry a level number."),
		((step("L1", 10, "dunning", level=1, fee=money(-1)),), {}, "Step L1: the fee cannot be negative."),
		(
			(step("L1", 10, "dunning", level=1, interest_rate=money("-0.5")),),
			{},
			"Step L1: the interest rate cannot be negative.",
		),
		(
			(step("L1", 10, "dunning", level=1, interest_rate=money(101)),),
			{},
			"an interest rate above 100% a year is not allowed",
		),
		((step("L1", 10, "dunning", level=1, sla_hours=-1),), {}, "SLA hours cannot be negative"),
		((step("R", 4000),), {}, "Step R: the offset of 4000 days is beyond ten years."),
		((step("R", 3),), {"minimum_amount": money(-5)}, "The minimum amount cannot be negative."),
		((step("R", 3),), {"grace_days": -1}, "Grace days cannot be negative."),
		((step("R", 3),), {"grace_days": 400}, "Grace days cannot be more than 365."),
		(
			(step("R", -3), step("WO", 60, "write_off_proposal")),
			{},
			"Write-off proposal WO must come after at least one dunning level or final notice.",
		),
		(
			(step("L1", 10, "dunning", level=1), step("WO", 60, "write_off_proposal", approval_role=None)),
			{},
			"Step WO: a write-off proposal must name the role that approves it.",
		),
		(
			(step("R", -7, fee=money(5)),),
			{},
			"Step R: fees and interest can only be charged after the due date.",
		),
		(
			(step("R", 0, interest_rate=money(4)),),
			{},
			"Step R: fees and interest can only be charged after the due date.",
		),
		((step("R", -1, credit_hold=True),), {}, "Step R: a credit hold can only be set after the due date."),
		((step("R", -1, templates={}),), {}, "Step R sends by email but has no template."),
		(
			(step("L1", 5, "dunning", level=1, channel=Channel.LETTER, templates={}),),
			{},
			"Step L1 sends by letter but has no template.",
		),
		(
			(step("L1", 0, "dunning", level=1),),
			{},
			"Step L1: a Dunning Level can only be sent after the due date (offset above 0).",
		),
		(
			(step("L1", 5, "dunning", level=1), step("R", 9)),
			{},
			"Reminder R cannot come after L1 (Dunning Level 1): reminders precede dunning.",
		),
		(
			(step("FN", 5, "final_notice"), step("L1", 9, "dunning", level=1)),
			{},
			"Step L1 (Dunning Level 1) cannot come after the stronger step FN (Final Notice).",
		),
	],
)
def test_each_rule_rejects_with_a_clear_message(steps, kw, expected):
	with pytest.raises(PolicyError) as exc:
		build(*steps, **kw)
	assert any(expected in msg for msg in problems_of(exc)), problems_of(exc)
	assert expected in str(exc.value)


def test_policy_error_lists_every_problem_at_once():
	with pytest.raises(PolicyError) as exc:
		build(
			step("R", -7, fee=money(5), credit_hold=True),
			step("L1", 10, "dunning", level=1, templates={}, fee=money(-2)),
			step("WO", 60, "write_off_proposal", approval_role=None),
			name="",
			grace_days=-1,
		)
	msgs = problems_of(exc)
	expected = [
		"The policy needs a name.",
		"Grace days cannot be negative.",
		"Step R: fees and interest can only be charged after the due date.",
		"Step R: a credit hold can only be set after the due date.",
		"Step L1: the fee cannot be negative.",
		"Step L1 sends by email but has no template.",
		"Step WO: a write-off proposal must name the role that approves it.",
	]
	for e in expected:
		assert e in msgs
	assert len(msgs) == len(expected)
	# The joined message renumbers the placeholders, so each line shows its own arguments.
	assert str(exc.value).splitlines() == msgs
	assert {p.field for p in exc.value.problems} >= {"name", "grace_days"}


def test_policy_error_translates_each_problem():
	with pytest.raises(PolicyError) as exc:
		build(step("A", 3, fee=money(-1)), step("B", 2, fee=money(-1)))
	translated = exc.value.translated(lambda t: t.replace("Step", "Schritt"))
	assert "Schritt A: the fee cannot be negative." in translated.splitlines()
	assert "Schritt B: the fee cannot be negative." in translated.splitlines()


# ----------------------------------------------------------------------------- policy_from_dict


def test_from_dict_parses_aliases_and_defaults():
	p = policy_from_dict(
		{
			"policy_name": "Retail",
			"minimum_amount": "25.50",
			"grace_days": "2",
			"pause_on_promise": "no",
			"company": "Co",
			"steps": [
				{"code": "R", "offset": -5, "kind": "Reminder", "template": "Friendly"},
				{
					"code": "L1",
					"offset_days": 10,
					"kind": "Dunning Level",
					"level": 1,
					"template": "Firm",
					"fee": 7.5,
				},
				{"code": "FN", "offset_days": 30, "kind": "final", "template": "Final", "sla_hours": "24"},
				{
					"code": "WO",
					"offset_days": 60,
					"kind": "write-off",
					"channel": "TASK",
					"approval_role": "CFO",
				},
			],
			"calendar": {"weekend": ["sat", "Sunday"], "window_start": "08:00", "window_end": "18:00"},
		}
	)
	assert p.name == "Retail" and p.company == "Co"
	assert p.minimum_amount == money("25.50") and p.grace_days == 2
	assert p.pause_on_promise is False and p.pause_on_dispute is True
	assert [s.kind for s in p.steps] == [
		StepKind.REMINDER,
		StepKind.DUNNING,
		StepKind.FINAL_NOTICE,
		StepKind.WRITE_OFF,
	]
	assert p.step("R").templates == {"default": "Friendly"}
	assert p.step("L1").fee == money("7.5")
	assert p.step("FN").sla_hours == 24
	assert p.step("WO").channel == Channel.TASK
	assert p.calendar.weekend == frozenset({5, 6})
	assert (p.calendar.window_start, p.calendar.window_end) == (time(8), time(18))


def test_from_dict_reports_unknown_kind_and_channel_and_bad_numbers_together():
	with pytest.raises(PolicyError) as exc:
		policy_from_dict(
			{
				"name": "Bad",
				"grace_days": "two",
				"minimum_amount": "lots",
				"steps": [
					{"code": "A", "offset_days": 3, "kind": "nagging"},
					{"code": "B", "offset_days": 5, "kind": "reminder", "channel": "pigeon"},
					{"code": "C", "offset_days": "x", "kind": "reminder", "template": "t"},
					{"code": "D", "offset_days": 9, "kind": "dunning", "level": 1.5, "template": "t"},
					{
						"code": "E",
						"offset_days": 12,
						"kind": "dunning",
						"level": 2,
						"fee": "ten",
						"template": "t",
					},
					{"code": "F", "kind": "reminder"},
					"not a step",
				],
				"calendar": {"weekend": ["funday"], "holidays": ["2024-13-01"]},
			}
		)
	msgs = problems_of(exc)
	joined = "\n".join(msgs)
	assert "Step A: unknown kind nagging (use one of: reminder, dunning," in joined
	assert "Step B: unknown channel pigeon (use email, sms, call, task or letter)." in msgs
	assert "The offset of step C must be a whole number, not x." in msgs
	assert "The level of step D must be a whole number, not 1.5." in msgs
	assert "The fee of step E must be a number, not ten." in msgs
	assert "Step F needs an offset in days from the due date." in msgs
	assert "Step 7 must be a mapping of fields." in msgs
	assert "Unknown weekday funday." in msgs
	assert "The holiday 2024-13-01 is not a date (use YYYY-MM-DD)." in msgs
	assert "The grace days must be a whole number, not two." in msgs
	assert "The minimum amount must be a number, not lots." in msgs
	assert len(msgs) == 11


@pytest.mark.parametrize(
	"data, expected",
	[
		(["not", "a", "mapping"], "A policy must be a mapping of fields, not list."),
		({"name": "X", "steps": "R-7"}, "The steps of policy X must be a list."),
		(
			{"name": "X", "steps": [{"kind": "reminder", "offset": 1, "template": "t"}], "calendar": "x"},
			"must be a mapping",
		),
		(
			{
				"name": "X",
				"steps": [{"kind": "reminder", "offset": 1, "template": "t"}],
				"calendar": {"window": ["8am", "5pm"]},
			},
			"Sending window time 8am is not in HH:MM form.",
		),
		(
			{
				"name": "X",
				"steps": [{"kind": "reminder", "offset": 1, "template": "t"}],
				"minimum_amount": "NaN",
			},
			"The minimum amount must be a number, not NaN.",
		),
		(
			{"name": "X", "steps": [{"kind": "reminder", "offset": True, "template": "t"}]},
			"must be a whole number, not True",
		),
		({"name": "X", "steps": []}, "Policy X has no steps"),
	],
)
def test_from_dict_rejects_malformed_input(data, expected):
	with pytest.raises(PolicyError) as exc:
		policy_from_dict(data)
	assert expected in str(exc.value)


def test_from_dict_runs_validation_rules():
	with pytest.raises(PolicyError) as exc:
		policy_from_dict(
			{
				"name": "X",
				"steps": [{"code": "R", "kind": "reminder", "offset_days": -3, "fee": "5", "template": "t"}],
			}
		)
	assert problems_of(exc) == ["Step R: fees and interest can only be charged after the due date."]


def test_from_dict_missing_code_gets_positional_code():
	p = policy_from_dict({"name": "X", "steps": [{"kind": "reminder", "offset": -2, "template": "t"}]})
	assert p.steps[0].code == "S1"


def test_round_trip_through_dict_and_json():
	cal = BusinessCalendar.build(
		holidays=[day("2024-12-25"), day("2024-01-01")], weekend=[4, 5], window=("07:30", "19:00")
	)
	original = standard_policy(
		calendar=cal,
		minimum_amount=money("50.00"),
		grace_days=3,
		pause_on_dispute=False,
		company="Co",
		enabled=False,
	)
	data = policy_to_dict(original)
	assert data["calendar"] == {
		"weekend": [4, 5],
		"holidays": ["2024-01-01", "2024-12-25"],
		"window": ["07:30", "19:00"],
	}
	again = policy_from_dict(json.loads(json.dumps(data)))
	assert again == original
	assert policy_to_dict(again) == data


def test_round_trip_without_window():
	original = standard_policy()
	data = policy_to_dict(original)
	assert data["calendar"]["window"] is None
	assert policy_from_dict(data) == original


def test_from_dict_merges_extra_holidays():
	data = policy_to_dict(standard_policy())
	p = policy_from_dict(data, holidays=[day("2024-05-01")])
	assert p.calendar.holidays == frozenset({day("2024-05-01")})


# ----------------------------------------------------------------------------- templates, grace, schedule


def test_template_for_language_fallback():
	s = step("R", -3, templates={"default": "Default", "de": "Deutsch", "fr-CH": "Romand"})
	assert s.template_for("de-CH") == "Deutsch"
	assert s.template_for("de") == "Deutsch"
	assert s.template_for("fr-CH") == "Romand"
	assert s.template_for("fr") == "Default"  # only fr-CH exists; fr falls back to the default
	assert s.template_for("it") == "Default"
	assert s.template_for(None) == "Default"
	assert step("R", -3, templates={"en": "English", "de": "Deutsch"}).template_for("it") == "English"
	assert step("R", -3, templates={"nl": "Dutch"}).template_for("it") == "Dutch"
	assert PolicyStep("T", 3, StepKind.REMINDER, channel=Channel.TASK).template_for("de") is None


def test_grace_days_shift_only_steps_after_due():
	p = build(
		step("R-7", -7), step("R0", 0), step("R+3", 3), step("L1", 10, "dunning", level=1), grace_days=5
	)
	assert p.track(Track.INVOICE).effective_offsets == (-7, 0, 8, 15)
	assert [p.effective_offset(s) for s in p.steps] == [-7, 0, 8, 15]
	sched = {s.code: d for s, d in p.schedule(day("2024-02-01"))}  # a Thursday
	assert sched == {
		"R-7": day("2024-01-25"),
		"R0": day("2024-02-01"),
		"R+3": day("2024-02-09"),  # 1 Feb + 8 = Friday 9 Feb
		"L1": day("2024-02-16"),
	}


def test_schedule_shifts_to_business_days():
	cal = BusinessCalendar.build(holidays=[day("2024-01-08")])
	p = build(step("R-7", -7), step("R+3", 3), step("L1", 10, "dunning", level=1), calendar=cal)
	# due Wednesday 3 Jan: D-7 is Wed 27 Dec; D+3 is Saturday 6 Jan -> Monday 8 Jan is a holiday -> Tuesday 9.
	sched = [(s.code, d) for s, d in p.schedule(day("2024-01-03"))]
	assert sched == [("R-7", day("2023-12-27")), ("R+3", day("2024-01-09")), ("L1", day("2024-01-15"))]
	dep = [(s.code, d) for s, d in standard_policy().schedule(day("2024-01-03"), Track.DEPOSIT)]
	assert dep == [("DEP-3", day("2024-01-01")), ("DEP+2", day("2024-01-05"))]


def test_standard_steps_fixture_is_a_valid_policy_each_time():
	assert standard_steps() == standard_policy().steps
