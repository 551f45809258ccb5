"""Channel fallback, SMS length and what a logged call leads to."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import book_for, day, instalment, step
from hypothesis import given
from hypothesis import strategies as st

from dunning_plus.engine.cadence import CustomerProfile, Message, plan_cycle
from dunning_plus.engine.calendar import BusinessCalendar
from dunning_plus.engine.channels import (
	CallFollowUp,
	CallOutcome,
	Reach,
	choose_channel,
	decide_call,
	sms_length,
)
from dunning_plus.engine.errors import EngineError, PolicyError
from dunning_plus.engine.policy import Channel, Policy, StepKind, policy_from_dict, policy_to_dict

E, S, C, L, T = Channel.EMAIL, Channel.SMS, Channel.CALL, Channel.LETTER, Channel.TASK


# ------------------------------------------------------------------ fallback


def test_first_channel_the_customer_can_receive_is_used():
	choice = choose_channel((E, S, C), Reach(email=None, mobile="+41 79 000 00 00"))
	assert choice.channel == S
	assert choice.wanted == E and choice.fell_back
	assert choice.passed_over == ((E, "no email address on file"),)
	assert choice.explain() == "Sent by SMS instead of Email: no email address on file"


def test_the_first_channel_when_it_reaches():
	choice = choose_channel((E, S), Reach(email="ap@x.example", mobile="+1"))
	assert (choice.channel, choice.fell_back, choice.passed_over) == (E, False, ())
	assert choice.explain() == "Sent by Email, the step's first channel"


def test_sms_needs_a_mobile_letter_an_address_call_always_works():
	reach = Reach(email=None, mobile=" ", has_address=False)
	choice = choose_channel((S, L, C), reach)
	assert choice.channel == C
	assert [c for c, _r in choice.passed_over] == [S, L]
	assert "no postal address on file" in choice.explain()


def test_unknown_address_lets_letters_out():
	assert choose_channel((L,), Reach()).channel == L


def test_no_channel_reaches_a_task_for_the_collector():
	choice = choose_channel((E, S), Reach())
	assert choice.channel == T and choice.none_reached
	assert (
		choice.explain() == "no email address on file; no mobile number on file, please contact the customer"
	)
	# the email-only step keeps the task text the desk always showed
	assert choose_channel((E,), Reach()).explain() == "no email address on file, please contact the customer"


def test_explain_translates_each_part():
	choice = choose_channel((E, S), Reach(mobile="1"))
	upper = choice.explain(lambda text: text.upper())
	assert upper == "SENT BY SMS INSTEAD OF EMAIL: NO EMAIL ADDRESS ON FILE"


@given(
	channels=st.lists(st.sampled_from(list(Channel)), min_size=1, max_size=5),
	email=st.sampled_from([None, "", "a@b.c"]),
	mobile=st.sampled_from([None, "", "+4179"]),
	address=st.sampled_from([None, False, True]),
)
def test_choice_is_the_first_reachable_or_a_task(channels, email, mobile, address):
	reach = Reach(email, mobile, address)
	choice = choose_channel(channels, reach)
	ordered = list(dict.fromkeys(channels))
	assert choice.wanted == ordered[0]
	# every channel passed over is before the chosen one and is really unreachable
	assert [c for c, _r in choice.passed_over] == ordered[: len(choice.passed_over)]
	reachable = {
		E: bool(email),
		S: bool(mobile),
		L: address is not False,
		C: True,
		T: True,
	}
	assert all(not reachable[c] for c, _r in choice.passed_over)
	if choice.none_reached:
		assert choice.channel == T and not any(reachable[c] for c in ordered)
	else:
		assert reachable[choice.channel] and choice.channel == ordered[len(choice.passed_over)]


def test_message_uses_the_lead_steps_fallbacks():
	lead = step("R1", 3, fallbacks=(S, C), sms_text="Please pay {{ total }}")
	msg = Message("Co", "A", "USD", E, "P", lead, [], email=None, mobile="+4179")
	assert msg.delivery_channel == S
	assert msg.channel_choice.explain() == "Sent by SMS instead of Email: no email address on file"
	msg.mobile = None
	assert msg.delivery_channel == C


def test_plan_carries_the_customers_mobile_and_address_to_the_message():
	policy = Policy("P", (step("R1", 3, fallbacks=(S,), sms_text="Pay"),))
	plan = plan_cycle(
		[instalment(due="2024-02-01")],
		day("2024-02-05"),
		book_for(policy),
		{"ACME": CustomerProfile("ACME", mobile="+4179", has_address=True)},
	)
	(msg,) = plan.messages
	assert (msg.mobile, msg.has_address, msg.delivery_channel) == ("+4179", True, S)


# ------------------------------------------------------------------ policy rules


def test_sms_step_needs_a_text_or_a_template():
	with pytest.raises(PolicyError) as exc:
		Policy("P", (step("R1", 3, channel=S, templates={}),))
	assert "Step R1 sends an SMS but has neither an SMS text nor a template." in str(exc.value)
	Policy("P", (step("R1", 3, channel=S, templates={}, sms_text="Pay {{ total }}"),))
	Policy("P", (step("R1", 3, channel=S),))  # the template's plain text


def test_fallback_email_needs_a_template_call_does_not():
	with pytest.raises(PolicyError) as exc:
		Policy("P", (step("R1", 3, channel=C, templates={}, fallbacks=(E,)),))
	assert "Step R1 sends by email but has no template." in str(exc.value)
	Policy("P", (step("R1", 3, channel=C, templates={}, fallbacks=(T,)),))


def test_call_retry_settings_are_bounded():
	with pytest.raises(PolicyError) as exc:
		Policy("P", (step("R1", 3),), call_retry_days=0, call_max_tries=21)
	text = str(exc.value)
	assert "Call retry days must be between 1 and 365." in text
	assert "Calls per step must be between 1 and 20." in text


def test_channels_and_call_settings_round_trip_through_a_dict():
	data = {
		"name": "P",
		"call_retry_days": 4,
		"call_max_tries": 2,
		"steps": [
			{
				"code": "R1",
				"offset_days": 3,
				"kind": "reminder",
				"channel": "email",
				"template": "T",
				"fallbacks": "sms, call",
				"sms_text": "Pay {{ total }}",
			},
		],
	}
	policy = policy_from_dict(data)
	assert policy.step("R1").channels == (E, S, C)
	assert (policy.call_retry_days, policy.call_max_tries) == (4, 2)
	again = policy_from_dict(policy_to_dict(policy))
	assert again.step("R1") == policy.step("R1")
	assert (again.call_retry_days, again.call_max_tries) == (4, 2)


def test_unknown_fallback_channel_is_reported():
	with pytest.raises(PolicyError) as exc:
		policy_from_dict(
			{
				"name": "P",
				"steps": [
					{
						"code": "R1",
						"offset_days": 3,
						"kind": "reminder",
						"template": "T",
						"fallbacks": ["fax"],
					}
				],
			}
		)
	assert "Step R1: unknown channel fax (use email, sms, call, task or letter)." in str(exc.value)


def test_channels_drop_repeats_keeping_order():
	assert step("R", 3, channel=S, fallbacks=(E, S, C, E), sms_text="x").channels == (S, E, C)


# ------------------------------------------------------------------ SMS length


def test_sms_length_gsm_and_unicode():
	assert sms_length("a" * 160) == sms_length("a" * 160)
	assert (sms_length("a" * 160).parts, sms_length("a" * 161).parts) == (1, 2)
	assert sms_length("a" * 306).parts == 2 and sms_length("a" * 307).parts == 3
	assert sms_length("€" * 80).characters == 160 and sms_length("€" * 81).parts == 2
	assert sms_length("ł" * 70).unicode and sms_length("ł" * 70).parts == 1
	assert sms_length("ł" * 71).parts == 2 and sms_length("ł" * 71).per_part == 67
	assert sms_length("").parts == 0 and not sms_length("").too_long
	assert sms_length("Grüße, Müller").unicode is False  # ü is GSM, ß too


@given(st.text(max_size=600))
def test_sms_parts_hold_the_text(text):
	length = sms_length(text)
	assert length.parts * length.per_part >= length.characters
	if length.parts > 1:
		assert (length.parts - 1) * length.per_part < length.characters


# ------------------------------------------------------------------ calls

MON = date(2024, 1, 1)


def test_no_answer_is_tried_again_after_the_retry_days():
	d = decide_call(CallOutcome.NO_ANSWER, MON, 0, retry_days=2, max_tries=3)
	assert (d.follow_up, d.attempt, d.next_call) == (CallFollowUp.CALL_AGAIN, 1, date(2024, 1, 3))
	assert d.explain() == "No answer on call 1 of 3: call again on 2024-01-03."


def test_retry_lands_on_a_business_day():
	cal = BusinessCalendar()  # Saturday and Sunday off
	d = decide_call("no_answer", date(2024, 1, 4), 0, retry_days=2, max_tries=3, calendar=cal)
	assert d.next_call == date(2024, 1, 8)  # Thursday + 2 = Saturday -> Monday


def test_last_unanswered_call_moves_on_to_the_next_step():
	d = decide_call(CallOutcome.NO_ANSWER, MON, 2, retry_days=2, max_tries=3)
	assert (d.follow_up, d.attempt, d.next_call) == (CallFollowUp.NEXT_STEP, 3, None)
	assert "no more calls for this step" in d.explain()


@given(st.integers(0, 30), st.integers(1, 20), st.integers(1, 30))
def test_never_more_calls_than_the_policy_allows(before, max_tries, retry):
	d = decide_call(CallOutcome.NO_ANSWER, MON, before, retry_days=retry, max_tries=max_tries)
	assert d.attempt == before + 1
	if d.follow_up == CallFollowUp.CALL_AGAIN:
		assert d.attempt < max_tries and d.next_call > MON
	else:
		assert d.follow_up == CallFollowUp.NEXT_STEP and d.attempt >= max_tries


def test_call_back_needs_a_day_not_in_the_past():
	with pytest.raises(EngineError, match="called back"):
		decide_call(CallOutcome.CALL_BACK, MON, 0, 2, 3)
	with pytest.raises(EngineError, match="in the past"):
		decide_call(CallOutcome.CALL_BACK, MON, 0, 2, 3, call_back_on=date(2023, 12, 31))
	d = decide_call(CallOutcome.CALL_BACK, MON, 1, 2, 3, call_back_on=date(2024, 1, 9))
	assert (d.follow_up, d.next_call, d.attempt) == (CallFollowUp.CALL_AGAIN, date(2024, 1, 9), 1)


@pytest.mark.parametrize(
	("outcome", "follow_up"),
	[
		(CallOutcome.REACHED, CallFollowUp.NONE),
		(CallOutcome.PROMISE_MADE, CallFollowUp.PROMISE),
		(CallOutcome.DISPUTE_RAISED, CallFollowUp.DISPUTE),
		(CallOutcome.WRONG_NUMBER, CallFollowUp.NEXT_STEP),
	],
)
def test_outcomes_hand_over(outcome, follow_up):
	d = decide_call(outcome, MON, 0, 2, 3)
	assert d.follow_up == follow_up and d.next_call is None


def test_call_step_without_template_is_valid():
	Policy("P", (step("C1", 5, StepKind.DUNNING, level=1, channel=C, templates={}),))
