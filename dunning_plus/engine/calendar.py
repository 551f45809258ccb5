"""Business calendar: weekends, holidays and a sending window.

A step whose date falls on a weekend or holiday fires on the next business day. Messages are sent
only inside the sending window (e.g. 08:00-18:00) of a business day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from dunning_plus.engine.errors import CalendarError, _

# Monday = 0 ... Sunday = 6, as date.weekday()
DEFAULT_WEEKEND = frozenset({5, 6})
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MAX_SCAN = 366


@dataclass(frozen=True)
class BusinessCalendar:
	weekend: frozenset[int] = DEFAULT_WEEKEND
	holidays: frozenset[date] = field(default_factory=frozenset)
	window_start: time | None = None
	window_end: time | None = None

	def __post_init__(self):
		if any(d not in range(7) for d in self.weekend):
			raise CalendarError(_("Weekend days must be numbers from 0 (Monday) to 6 (Sunday)."))
		if len(self.weekend) == 7:
			raise CalendarError(_("A calendar cannot have every day of the week as weekend."))
		if (self.window_start is None) != (self.window_end is None):
			raise CalendarError(_("A sending window needs both a start and an end time."))
		if self.window_start is not None and self.window_start == self.window_end:
			raise CalendarError(
				_(
					"The sending window must start before it ends: it starts and ends at {0}. Give it a length, or send at any time."
				),
				self.window_start.strftime("%H:%M"),
			)
		if self.window_start is not None and self.window_start > self.window_end:
			raise CalendarError(
				_("The sending window must start before it ends ({0} is not before {1})."),
				self.window_start.strftime("%H:%M"),
				self.window_end.strftime("%H:%M"),
			)

	@classmethod
	def build(
		cls,
		holidays: Iterable[date] = (),
		weekend: Iterable[int | str] | None = None,
		window: tuple[time | str, time | str] | None = None,
	) -> BusinessCalendar:
		"""Builds a calendar from loose input: weekday names or numbers, 'HH:MM' strings."""
		days = DEFAULT_WEEKEND if weekend is None else frozenset(_weekday(d) for d in weekend)
		start = end = None
		if window:
			start, end = (_time(t) for t in window)
		return cls(weekend=days, holidays=frozenset(holidays), window_start=start, window_end=end)

	def is_business_day(self, day: date) -> bool:
		return day.weekday() not in self.weekend and day not in self.holidays

	def next_business_day(self, day: date) -> date:
		"""``day`` itself if it is a business day, else the first business day after it."""
		for _i in range(_MAX_SCAN):
			if self.is_business_day(day):
				return day
			day += timedelta(days=1)
		raise CalendarError(_("No business day within a year after {0}: check the holiday list."), day)

	def previous_business_day(self, day: date) -> date:
		"""``day`` itself if it is a business day, else the last business day before it."""
		for _i in range(_MAX_SCAN):
			if self.is_business_day(day):
				return day
			day -= timedelta(days=1)
		raise CalendarError(_("No business day within a year before {0}: check the holiday list."), day)

	def add_business_days(self, day: date, count: int) -> date:
		step = 1 if count >= 0 else -1
		remaining = abs(count)
		while remaining:
			day += timedelta(days=step)
			if self.is_business_day(day):
				remaining -= 1
		return day

	def step_date(self, due_date: date, offset_days: int) -> date:
		"""The day a step with ``offset_days`` from ``due_date`` fires: shifted to a business day."""
		return self.next_business_day(due_date + timedelta(days=offset_days))

	def in_window(self, moment: datetime) -> bool:
		if not self.is_business_day(moment.date()):
			return False
		if self.window_start is None:
			return True
		return self.window_start <= moment.time() < self.window_end

	def next_send_time(self, moment: datetime) -> datetime:
		"""``moment`` if messages may go out then, else the start of the next sending window."""
		if self.in_window(moment):
			return moment
		start = self.window_start or time(0, 0)
		day = moment.date()
		if self.is_business_day(day) and self.window_start is not None and moment.time() < start:
			return datetime.combine(day, start)
		return datetime.combine(self.next_business_day(day + timedelta(days=1)), start)


NO_CALENDAR = BusinessCalendar(weekend=frozenset())


def _weekday(value: int | str) -> int:
	if isinstance(value, int):
		return value
	name = str(value).strip().lower()
	for i, full in enumerate(WEEKDAY_NAMES):
		if full.startswith(name[:3]) and len(name) >= 3:
			return i
	raise CalendarError(_("Unknown weekday {0}."), value)


def _time(value: time | str) -> time:
	if isinstance(value, time):
		return value
	try:
		hours, minutes = str(value).strip().split(":")[:2]
		return time(int(hours), int(minutes))
	except (ValueError, TypeError):
		raise CalendarError(_("Sending window time {0} is not in HH:MM form."), value)
