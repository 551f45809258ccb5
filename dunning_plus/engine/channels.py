"""How a message reaches the customer, how long an SMS is, and what a logged call leads to.

Channel fallback: a step lists its channels in order (its own channel first, then the fallbacks).
The first one the customer can receive is used: an email needs an address, an SMS a mobile number,
a letter a postal address; a call or a task always works (a person finds a way). When none of the
step's channels reaches the customer the message becomes a task for the collector. The choice
says which channel was used and why, so the case and the message can tell.

Calls: the outcome a collector logs decides what follows. "No answer" is tried again after the
policy's retry days (on a business day), up to the policy's number of calls per step; after the
last try, or on a wrong number, the case moves on to the policy's next step. "Call back" needs the
day the customer asked for. "Promise made" and "dispute raised" hand over to the promise and
dispute flows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from dunning_plus.engine.calendar import BusinessCalendar
from dunning_plus.engine.errors import EngineError, _
from dunning_plus.engine.policy import Channel

ALWAYS_REACHABLE = (Channel.CALL, Channel.TASK)

_UNREACHABLE = {
	Channel.EMAIL: _("no email address on file"),
	Channel.SMS: _("no mobile number on file"),
	Channel.LETTER: _("no postal address on file"),
}


@dataclass(frozen=True)
class Reach:
	"""What the customer can be reached by. ``has_address`` None: not known, letters go out."""

	email: str | None = None
	mobile: str | None = None
	has_address: bool | None = None


def unreachable_reason(channel: Channel, reach: Reach) -> str | None:
	"""Why ``channel`` cannot reach the customer (an untranslated text), or None when it can."""
	if channel == Channel.EMAIL and not (reach.email or "").strip():
		return _UNREACHABLE[channel]
	if channel == Channel.SMS and not (reach.mobile or "").strip():
		return _UNREACHABLE[channel]
	if channel == Channel.LETTER and reach.has_address is False:
		return _UNREACHABLE[channel]
	return None


@dataclass(frozen=True)
class ChannelChoice:
	channel: Channel
	wanted: Channel  # the step's first channel
	passed_over: tuple[tuple[Channel, str], ...] = ()  # channels tried first, each with why not
	none_reached: bool = False  # no channel of the step reaches the customer: a task instead

	@property
	def fell_back(self) -> bool:
		return self.channel != self.wanted

	def explain(self, translate: Callable[[str], str] = lambda text: text) -> str:
		"""Which channel and why, in one sentence (``translate`` is ``frappe._`` in the desk)."""
		why = "; ".join(translate(reason) for _channel, reason in self.passed_over)
		label = translate(self.channel.label)
		if self.none_reached:
			return translate("{0}, please contact the customer").format(why)
		if not self.passed_over:
			return translate("Sent by {0}, the step's first channel").format(label)
		return translate("Sent by {0} instead of {1}: {2}").format(label, translate(self.wanted.label), why)


def choose_channel(channels: Iterable[Channel], reach: Reach) -> ChannelChoice:
	"""The first of ``channels`` (in order) that reaches the customer, with the ones passed over."""
	channels = tuple(dict.fromkeys(channels)) or (Channel.EMAIL,)
	passed: list[tuple[Channel, str]] = []
	for channel in channels:
		reason = unreachable_reason(channel, reach)
		if reason is None:
			return ChannelChoice(channel, channels[0], tuple(passed))
		passed.append((channel, reason))
	return ChannelChoice(Channel.TASK, channels[0], tuple(passed), none_reached=True)


# ----------------------------------------------------------------------------- SMS length

GSM_SINGLE = 160
GSM_PART = 153  # a part of a long message loses 7 characters to the header that joins the parts
UCS2_SINGLE = 70
UCS2_PART = 67

_GSM_BASIC = set(
	"@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
	"¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")  # two characters each (escape + character)


@dataclass(frozen=True)
class SmsLength:
	characters: int  # in the encoding's units (an extended GSM character counts twice)
	parts: int
	unicode: bool
	per_part: int  # characters that fit in one part of this message

	@property
	def too_long(self) -> bool:
		"""More than one part: the warning the step form shows."""
		return self.parts > 1


def sms_length(text: str) -> SmsLength:
	"""Characters and parts of ``text`` as an SMS: GSM 7-bit (160 in one part, 153 per part of a
	longer one) unless a character needs Unicode (70, then 67 per part)."""
	text = text or ""
	if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in text):
		units = sum(2 if ch in _GSM_EXTENDED else 1 for ch in text)
		single, part, unicode = GSM_SINGLE, GSM_PART, False
	else:
		# UTF-16 code units: a character outside the basic plane (an emoji) takes two
		units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)
		single, part, unicode = UCS2_SINGLE, UCS2_PART, True
	if units <= single:
		return SmsLength(units, 1 if units else 0, unicode, single)
	return SmsLength(units, -(-units // part), unicode, part)


# ----------------------------------------------------------------------------- calls


class CallOutcome(StrEnum):
	REACHED = "reached"
	NO_ANSWER = "no_answer"
	WRONG_NUMBER = "wrong_number"
	PROMISE_MADE = "promise_made"
	DISPUTE_RAISED = "dispute_raised"
	CALL_BACK = "call_back"

	@property
	def label(self) -> str:
		return _OUTCOME_LABELS[self]


_OUTCOME_LABELS = {
	CallOutcome.REACHED: "Reached",
	CallOutcome.NO_ANSWER: "No Answer",
	CallOutcome.WRONG_NUMBER: "Wrong Number",
	CallOutcome.PROMISE_MADE: "Promise Made",
	CallOutcome.DISPUTE_RAISED: "Dispute Raised",
	CallOutcome.CALL_BACK: "Call Back",
}
OUTCOME_FROM_LABEL = {v: k for k, v in _OUTCOME_LABELS.items()}


class CallFollowUp(StrEnum):
	NONE = "none"
	CALL_AGAIN = "call_again"  # a new call on ``next_call``
	NEXT_STEP = "next_step"  # no more calls for this step: the policy's next step follows
	PROMISE = "promise"  # record the promise (the promise dialog)
	DISPUTE = "dispute"  # open the dispute (the dispute dialog)


@dataclass(frozen=True)
class CallDecision:
	outcome: CallOutcome
	follow_up: CallFollowUp
	attempt: int  # this call's number among the step's calls that were not answered (1 = first)
	next_call: date | None = None
	note: str = ""  # untranslated template
	note_args: tuple = ()

	def explain(self, translate: Callable[[str], str] = lambda text: text) -> str:
		return translate(self.note).format(*self.note_args)


def decide_call(
	outcome: CallOutcome | str,
	on: date,
	unanswered_before: int,
	retry_days: int,
	max_tries: int,
	call_back_on: date | None = None,
	calendar: BusinessCalendar | None = None,
) -> CallDecision:
	"""What follows a call logged on ``on``. ``unanswered_before`` counts the step's earlier calls
	nobody answered; ``retry_days`` and ``max_tries`` are the policy's."""
	outcome = CallOutcome(outcome)
	if unanswered_before < 0:
		raise EngineError(_("The number of earlier calls cannot be negative."))
	calendar = calendar or BusinessCalendar(weekend=frozenset())
	attempt = unanswered_before + 1
	if outcome == CallOutcome.NO_ANSWER:
		if attempt >= max_tries:
			return CallDecision(
				outcome,
				CallFollowUp.NEXT_STEP,
				attempt,
				note=_("No answer on call {0} of {1}: no more calls for this step, the next step follows."),
				note_args=(attempt, max_tries),
			)
		nxt = calendar.next_business_day(on + timedelta(days=max(retry_days, 1)))
		return CallDecision(
			outcome,
			CallFollowUp.CALL_AGAIN,
			attempt,
			next_call=nxt,
			note=_("No answer on call {0} of {1}: call again on {2}."),
			note_args=(attempt, max_tries, nxt.isoformat()),
		)
	if outcome == CallOutcome.CALL_BACK:
		if call_back_on is None:
			raise EngineError(_("Give the day the customer asked to be called back."))
		if call_back_on < on:
			raise EngineError(_("The call-back day {0} is in the past."), call_back_on.isoformat())
		return CallDecision(
			outcome,
			CallFollowUp.CALL_AGAIN,
			unanswered_before,
			next_call=call_back_on,
			note=_("The customer asked to be called back on {0}."),
			note_args=(call_back_on.isoformat(),),
		)
	if outcome == CallOutcome.WRONG_NUMBER:
		return CallDecision(
			outcome,
			CallFollowUp.NEXT_STEP,
			unanswered_before,
			note=_("Wrong number: correct the customer's phone number; the next step follows."),
		)
	if outcome == CallOutcome.PROMISE_MADE:
		return CallDecision(
			outcome, CallFollowUp.PROMISE, unanswered_before, note=_("The customer promised to pay.")
		)
	if outcome == CallOutcome.DISPUTE_RAISED:
		return CallDecision(
			outcome, CallFollowUp.DISPUTE, unanswered_before, note=_("The customer disputes items.")
		)
	return CallDecision(outcome, CallFollowUp.NONE, unanswered_before, note=_("The customer was reached."))
