"""Dunning policies: ordered steps and the rules that make a policy valid.

A policy has three tracks. The invoice track (reminders, dunning levels, final notice, escalation,
write-off proposal) runs on invoice instalments; the deposit track (deposit reminders) runs on
expected deposits of sales orders; the plan track (plan reminders) runs on the instalments of
active payment plans. Within a track, steps are ordered by their offset from the due date
(negative = before due).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cached_property
from itertools import pairwise

from dunning_plus.engine.calendar import BusinessCalendar
from dunning_plus.engine.errors import CalendarError, PolicyError, Problem, _
from dunning_plus.engine.money import ZERO

MAX_OFFSET_DAYS = 3650


class StepKind(StrEnum):
	REMINDER = "reminder"
	DUNNING = "dunning"
	FINAL_NOTICE = "final_notice"
	ESCALATION = "escalation"
	WRITE_OFF = "write_off_proposal"
	DEPOSIT_REMINDER = "deposit_reminder"
	PLAN_REMINDER = "plan_reminder"

	@property
	def label(self) -> str:
		return _KIND_LABELS[self]


_KIND_LABELS = {
	StepKind.REMINDER: "Reminder",
	StepKind.DUNNING: "Dunning Level",
	StepKind.FINAL_NOTICE: "Final Notice",
	StepKind.ESCALATION: "Escalation",
	StepKind.WRITE_OFF: "Write-off Proposal",
	StepKind.DEPOSIT_REMINDER: "Deposit Reminder",
	StepKind.PLAN_REMINDER: "Plan Reminder",
}


class Channel(StrEnum):
	EMAIL = "email"
	TASK = "task"
	LETTER = "letter"
	SMS = "sms"
	CALL = "call"

	@property
	def label(self) -> str:
		return _CHANNEL_LABELS[self]


_CHANNEL_LABELS = {
	Channel.EMAIL: "Email",
	Channel.TASK: "Task",
	Channel.LETTER: "Letter",
	Channel.SMS: "SMS",
	Channel.CALL: "Call",
}
# Channels whose text comes from a template: an SMS may use the step's own text instead.
TEMPLATED_CHANNELS = (Channel.EMAIL, Channel.LETTER)


class Track(StrEnum):
	INVOICE = "invoice"
	DEPOSIT = "deposit"
	PLAN = "plan"


TRACK_OF_KIND = {"deposit_reminder": Track.DEPOSIT, "plan_reminder": Track.PLAN}


# Severity decides which step leads a consolidated message and orders the case's status.
SEVERITY = {
	StepKind.DEPOSIT_REMINDER: 0,
	StepKind.PLAN_REMINDER: 0,
	StepKind.REMINDER: 1,
	StepKind.DUNNING: 2,
	StepKind.FINAL_NOTICE: 3,
	StepKind.ESCALATION: 4,
	StepKind.WRITE_OFF: 5,
}


@dataclass(frozen=True)
class PolicyStep:
	code: str
	offset_days: int
	kind: StepKind
	channel: Channel = Channel.EMAIL
	level: int = 0
	templates: Mapping[str, str] = field(default_factory=dict)
	fee: Decimal = ZERO
	interest_rate: Decimal = ZERO  # percent per year on the overdue amount
	approval_role: str | None = None
	owner: str | None = None  # a role or a user
	sla_hours: int | None = None
	credit_hold: bool = False
	fallbacks: tuple[Channel, ...] = ()  # tried in order when the customer cannot get ``channel``
	sms_text: str | None = None  # the SMS text (Jinja); else the template's plain text

	@property
	def channels(self) -> tuple[Channel, ...]:
		"""The step's channels in the order they are tried: its own channel, then the fallbacks."""
		return tuple(dict.fromkeys((self.channel, *self.fallbacks)))

	@property
	def track(self) -> Track:
		return TRACK_OF_KIND.get(self.kind, Track.INVOICE)

	@property
	def needs_approval(self) -> bool:
		return bool(self.approval_role)

	@cached_property
	def severity(self) -> int:
		return SEVERITY[self.kind]

	@property
	def title(self) -> str:
		if self.kind == StepKind.DUNNING:
			return f"{self.kind.label} {self.level}"
		return self.kind.label

	def template_for(self, language: str | None) -> str | None:
		"""The template for ``language`` (``de-CH`` falls back to ``de``), else the default one."""
		if not self.templates:
			return None
		if language:
			if language in self.templates:
				return self.templates[language]
			base = language.split("-")[0]
			if base in self.templates:
				return self.templates[base]
		for key in ("default", "", "en"):
			if key in self.templates:
				return self.templates[key]
		return next(iter(self.templates.values()))


@dataclass(frozen=True)
class TrackSteps:
	"""The steps of one track, ordered, with the effective offsets cadence bisects on."""

	steps: tuple[PolicyStep, ...]
	effective_offsets: tuple[int, ...]
	index_by_code: Mapping[str, int]
	codes: tuple[str, ...] = ()  # the steps' codes, in order (a slice of it names skipped steps)


@dataclass(frozen=True)
class Policy:
	name: str
	steps: tuple[PolicyStep, ...]
	minimum_amount: Decimal = ZERO
	grace_days: int = 0
	pause_on_dispute: bool = True
	pause_on_promise: bool = True
	calendar: BusinessCalendar = field(default_factory=BusinessCalendar)
	company: str | None = None
	enabled: bool = True
	call_retry_days: int = 2  # a call nobody answered is tried again after this many days
	call_max_tries: int = 3  # calls per step before the case moves on to the next step

	def __post_init__(self):
		validate_policy(self)

	@cached_property
	def _tracks(self) -> dict[Track, TrackSteps]:
		tracks = {}
		for track in Track:
			steps = tuple(s for s in self.steps if s.track == track)
			tracks[track] = TrackSteps(
				steps=steps,
				effective_offsets=tuple(self.effective_offset(s) for s in steps),
				index_by_code={s.code: i for i, s in enumerate(steps)},
				codes=tuple(s.code for s in steps),
			)
		return tracks

	def track(self, track: Track | str) -> TrackSteps:
		return self._tracks[Track(track)]

	def effective_offset(self, step: PolicyStep) -> int:
		"""Grace days push every step after the due date back; steps before it are untouched."""
		if step.offset_days > 0:
			return step.offset_days + self.grace_days
		return step.offset_days

	def step(self, code: str) -> PolicyStep:
		for s in self.steps:
			if s.code == code:
				return s
		raise KeyError(code)

	def schedule(self, due_date: date, track: Track | str = Track.INVOICE) -> list[tuple[PolicyStep, date]]:
		"""Each step of the track with the business day it fires on for an item due on ``due_date``."""
		from datetime import timedelta

		ts = self.track(track)
		return [
			(s, self.calendar.next_business_day(due_date + timedelta(days=off)))
			for s, off in zip(ts.steps, ts.effective_offsets, strict=True)
		]


def validate_policy(policy: Policy) -> None:
	"""Raises :class:`PolicyError` listing every problem of ``policy``."""
	problems: list[Problem] = []
	add = problems.append
	if not policy.name or not str(policy.name).strip():
		add(Problem(_("The policy needs a name."), field="name"))
	if not policy.steps:
		add(Problem(_("Policy {0} has no steps: add at least one reminder or dunning step."), policy.name))
	if policy.minimum_amount < 0:
		add(Problem(_("The minimum amount cannot be negative."), field="minimum_amount"))
	if not 1 <= policy.call_retry_days <= 365:
		add(Problem(_("Call retry days must be between 1 and 365."), field="call_retry_days"))
	if not 1 <= policy.call_max_tries <= 20:
		add(Problem(_("Calls per step must be between 1 and 20."), field="call_max_tries"))
	if policy.grace_days < 0:
		add(Problem(_("Grace days cannot be negative."), field="grace_days"))
	elif policy.grace_days > 365:
		add(Problem(_("Grace days cannot be more than 365."), field="grace_days"))

	codes: set[str] = set()
	levels: set[int] = set()
	for i, step in enumerate(policy.steps, start=1):
		name = step.code or f"#{i}"
		if not step.code:
			add(Problem(_("Step {0} needs a code."), i, field="code"))
		elif step.code in codes:
			add(Problem(_("Step code {0} is used twice: each step needs its own code."), step.code))
		codes.add(step.code)
		if abs(step.offset_days) > MAX_OFFSET_DAYS:
			add(Problem(_("Step {0}: the offset of {1} days is beyond ten years."), name, step.offset_days))
		if step.fee < 0:
			add(Problem(_("Step {0}: the fee cannot be negative."), name))
		if step.interest_rate < 0:
			add(Problem(_("Step {0}: the interest rate cannot be negative."), name))
		if step.interest_rate > 100:
			add(Problem(_("Step {0}: an interest rate above 100% a year is not allowed."), name))
		if step.sla_hours is not None and step.sla_hours < 0:
			add(Problem(_("Step {0}: SLA hours cannot be negative."), name))
		if step.kind == StepKind.DUNNING:
			if step.level < 1:
				add(Problem(_("Step {0}: a dunning level step needs a level of 1 or more."), name))
			elif step.level in levels:
				add(Problem(_("Dunning level {0} is defined twice."), step.level))
			levels.add(step.level)
		elif step.level:
			add(Problem(_("Step {0}: only dunning level steps carry a level number."), name))
		if step.offset_days <= 0 and step.track == Track.INVOICE and step.kind != StepKind.REMINDER:
			add(
				Problem(
					_("Step {0}: a {1} can only be sent after the due date (offset above 0)."),
					name,
					step.kind.label,
				)
			)
		if step.offset_days <= 0 and (step.fee or step.interest_rate):
			add(Problem(_("Step {0}: fees and interest can only be charged after the due date."), name))
		if step.offset_days <= 0 and step.credit_hold:
			add(Problem(_("Step {0}: a credit hold can only be set after the due date."), name))
		for channel in step.channels:
			if channel in TEMPLATED_CHANNELS and not step.templates:
				add(Problem(_("Step {0} sends by {1} but has no template."), name, channel.value))
			elif channel == Channel.SMS and not (step.templates or (step.sms_text or "").strip()):
				add(Problem(_("Step {0} sends an SMS but has neither an SMS text nor a template."), name))
		if step.kind == StepKind.WRITE_OFF and not step.approval_role:
			add(Problem(_("Step {0}: a write-off proposal must name the role that approves it."), name))

	for track in Track:
		steps = [s for s in policy.steps if s.track == track]
		for prev, cur in pairwise(steps):
			if cur.offset_days == prev.offset_days:
				add(
					Problem(
						_("Steps {0} and {1} have the same offset ({2} days): each step needs its own day."),
						prev.code,
						cur.code,
						cur.offset_days,
					)
				)
			elif cur.offset_days < prev.offset_days:
				add(
					Problem(
						_(
							"Step {0} ({1} days) comes after step {2} ({3} days): order the steps by their offset."
						),
						cur.code,
						cur.offset_days,
						prev.code,
						prev.offset_days,
					)
				)
			if cur.kind == prev.kind == StepKind.DUNNING and cur.level <= prev.level:
				add(
					Problem(
						_("Dunning level {0} comes after level {1}: levels must rise with the offset."),
						cur.level,
						prev.level,
					)
				)
		# Escalation hands the case to a person and may sit anywhere after the due date; every other
		# step must be at least as strong as the strongest one before it.
		strongest: PolicyStep | None = None
		for cur in steps:
			if cur.kind == StepKind.ESCALATION:
				continue
			if strongest is not None and cur.severity < strongest.severity:
				if cur.kind == StepKind.REMINDER:
					add(
						Problem(
							_("Reminder {0} cannot come after {1} ({2}): reminders precede dunning."),
							cur.code,
							strongest.code,
							strongest.title,
						)
					)
				else:
					add(
						Problem(
							_("Step {0} ({1}) cannot come after the stronger step {2} ({3})."),
							cur.code,
							cur.title,
							strongest.code,
							strongest.title,
						)
					)
			if strongest is None or cur.severity >= strongest.severity:
				strongest = cur
		first_dunning = next(
			(i for i, s in enumerate(steps) if s.kind in (StepKind.DUNNING, StepKind.FINAL_NOTICE)), None
		)
		for i, s in enumerate(steps):
			if s.kind == StepKind.WRITE_OFF and (first_dunning is None or i < first_dunning):
				add(
					Problem(
						_(
							"Write-off proposal {0} must come after at least one dunning level or final notice."
						),
						s.code,
					)
				)
	if problems:
		raise PolicyError(problems)


# ----------------------------------------------------------------------------- parsing


def policy_from_dict(data: Mapping, holidays: Iterable[date] = ()) -> Policy:
	"""Builds a policy from plain data (a JSON/YAML file, or a Dunning Policy document as a dict).

	Every malformed field is reported together in one :class:`PolicyError`.
	"""
	problems: list[Problem] = []
	if not isinstance(data, Mapping):
		raise PolicyError([Problem(_("A policy must be a mapping of fields, not {0}."), type(data).__name__)])
	name = str(data.get("name") or data.get("policy_name") or "").strip()
	raw_steps = data.get("steps") or []
	if not isinstance(raw_steps, list | tuple):
		raise PolicyError([Problem(_("The steps of policy {0} must be a list."), name)])
	steps = []
	for i, raw in enumerate(raw_steps, start=1):
		step = _step_from_dict(raw, i, problems)
		if step is not None:
			steps.append(step)
	cal_data = data.get("calendar") or {}
	calendar = BusinessCalendar()
	try:
		window = cal_data.get("window")
		if not window and cal_data.get("window_start"):
			window = (cal_data.get("window_start"), cal_data.get("window_end"))
		hol = list(holidays) + [_date(d, problems, "holiday") for d in cal_data.get("holidays") or []]
		calendar = BusinessCalendar.build(
			holidays=[d for d in hol if d is not None], weekend=cal_data.get("weekend"), window=window
		)
	except CalendarError as e:
		problems.append(Problem(e.template, *e.args_))
	except AttributeError:
		problems.append(Problem(_("The calendar of policy {0} must be a mapping."), name))
	minimum = _decimal(data.get("minimum_amount", 0), problems, "minimum amount")
	grace = _int(data.get("grace_days", 0), problems, "grace days")
	retry_days = _int(data.get("call_retry_days") or 2, problems, "call retry days")
	max_tries = _int(data.get("call_max_tries") or 3, problems, "calls per step")
	if problems:
		raise PolicyError(problems)
	return Policy(
		name=name,
		steps=tuple(steps),
		minimum_amount=minimum,
		grace_days=grace,
		pause_on_dispute=_bool(data.get("pause_on_dispute", True)),
		pause_on_promise=_bool(data.get("pause_on_promise", True)),
		calendar=calendar,
		company=data.get("company") or None,
		enabled=_bool(data.get("enabled", True)),
		call_retry_days=retry_days,
		call_max_tries=max_tries,
	)


def policy_to_dict(policy: Policy) -> dict:
	cal = policy.calendar
	return {
		"name": policy.name,
		"company": policy.company,
		"minimum_amount": str(policy.minimum_amount),
		"grace_days": policy.grace_days,
		"pause_on_dispute": policy.pause_on_dispute,
		"pause_on_promise": policy.pause_on_promise,
		"enabled": policy.enabled,
		"call_retry_days": policy.call_retry_days,
		"call_max_tries": policy.call_max_tries,
		"calendar": {
			"weekend": sorted(cal.weekend),
			"holidays": sorted(d.isoformat() for d in cal.holidays),
			"window": [cal.window_start.strftime("%H:%M"), cal.window_end.strftime("%H:%M")]
			if cal.window_start
			else None,
		},
		"steps": [
			{
				"code": s.code,
				"offset_days": s.offset_days,
				"kind": s.kind.value,
				"channel": s.channel.value,
				"level": s.level,
				"templates": dict(s.templates),
				"fee": str(s.fee),
				"interest_rate": str(s.interest_rate),
				"approval_role": s.approval_role,
				"owner": s.owner,
				"sla_hours": s.sla_hours,
				"credit_hold": s.credit_hold,
				"fallbacks": [c.value for c in s.fallbacks],
				"sms_text": s.sms_text,
			}
			for s in policy.steps
		],
	}


def _step_from_dict(raw: object, i: int, problems: list[Problem]) -> PolicyStep | None:
	if not isinstance(raw, Mapping):
		problems.append(Problem(_("Step {0} must be a mapping of fields."), i))
		return None
	code = str(raw.get("code") or raw.get("step") or "").strip() or f"S{i}"
	kind_raw = str(raw.get("kind") or "").strip().lower().replace(" ", "_").replace("-", "_")
	kind_raw = {"dunning_level": "dunning", "write_off": "write_off_proposal", "final": "final_notice"}.get(
		kind_raw, kind_raw
	)
	try:
		kind = StepKind(kind_raw)
	except ValueError:
		problems.append(
			Problem(
				_("Step {0}: unknown kind {1} (use one of: {2})."),
				code,
				raw.get("kind"),
				", ".join(k.value for k in StepKind),
			)
		)
		return None
	channels = []
	raw_fallbacks = raw.get("fallbacks") or []
	if isinstance(raw_fallbacks, str):
		raw_fallbacks = [c for c in raw_fallbacks.replace(",", " ").split() if c]
	for raw_channel in [raw.get("channel") or "email", *raw_fallbacks]:
		try:
			channels.append(Channel(str(raw_channel).strip().lower()))
		except ValueError:
			problems.append(
				Problem(
					_("Step {0}: unknown channel {1} (use email, sms, call, task or letter)."),
					code,
					raw_channel,
				)
			)
	if len(channels) != 1 + len(raw_fallbacks):
		return None
	channel, fallbacks = channels[0], tuple(channels[1:])
	if "offset_days" not in raw and "offset" not in raw:
		problems.append(Problem(_("Step {0} needs an offset in days from the due date."), code))
		return None
	offset = _int(raw.get("offset_days", raw.get("offset")), problems, f"offset of step {code}")
	templates = raw.get("templates")
	if templates is None:
		templates = {"default": raw["template"]} if raw.get("template") else {}
	if not isinstance(templates, Mapping):
		problems.append(Problem(_("Step {0}: templates must map a language to a template name."), code))
		templates = {}
	sla = raw.get("sla_hours")
	return PolicyStep(
		code=code,
		offset_days=offset,
		kind=kind,
		channel=channel,
		level=_int(raw.get("level") or 0, problems, f"level of step {code}"),
		templates={str(k): str(v) for k, v in templates.items() if v},
		fee=_decimal(raw.get("fee") or 0, problems, f"fee of step {code}"),
		interest_rate=_decimal(raw.get("interest_rate") or 0, problems, f"interest rate of step {code}"),
		approval_role=raw.get("approval_role") or None,
		owner=raw.get("owner") or None,
		sla_hours=None if sla in (None, "") else _int(sla, problems, f"SLA hours of step {code}"),
		credit_hold=_bool(raw.get("credit_hold", False)),
		fallbacks=fallbacks,
		sms_text=str(raw.get("sms_text")) if raw.get("sms_text") else None,
	)


def _int(value: object, problems: list[Problem], what: str) -> int:
	try:
		if isinstance(value, bool):
			raise ValueError
		if isinstance(value, float) and not value.is_integer():
			raise ValueError
		return int(value)  # type: ignore[arg-type]
	except (TypeError, ValueError):
		problems.append(Problem(_("The {0} must be a whole number, not {1}."), what, value))
		return 0


def _decimal(value: object, problems: list[Problem], what: str) -> Decimal:
	try:
		if isinstance(value, float):
			value = repr(value)
		result = Decimal(str(value))
		if not result.is_finite():
			raise InvalidOperation
		return result
	except (InvalidOperation, ValueError, TypeError):
		problems.append(Problem(_("The {0} must be a number, not {1}."), what, value))
		return ZERO


def _bool(value: object) -> bool:
	if isinstance(value, str):
		return value.strip().lower() in ("1", "true", "yes", "y", "on")
	return bool(value)


def _date(value: object, problems: list[Problem], what: str) -> date | None:
	if isinstance(value, date):
		return value
	try:
		return date.fromisoformat(str(value))
	except ValueError:
		problems.append(Problem(_("The {0} {1} is not a date (use YYYY-MM-DD)."), what, value))
		return None
