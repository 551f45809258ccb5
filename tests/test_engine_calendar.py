from datetime import datetime, time

import pytest
from conftest import day

from dunning_plus.engine.calendar import NO_CALENDAR, BusinessCalendar
from dunning_plus.engine.errors import CalendarError

# 2024-01-05 Friday, 06 Saturday, 07 Sunday, 08 Monday.
XMAS = BusinessCalendar.build(holidays=[day("2023-12-25"), day("2023-12-26"), day("2024-01-01")])
OFFICE = BusinessCalendar.build(window=("08:00", "18:00"), holidays=[day("2024-01-08")])


@pytest.mark.parametrize(
	"given, expected",
	[
		("2024-01-05", "2024-01-05"),  # Friday is a business day
		("2024-01-06", "2024-01-08"),  # Saturday -> Monday
		("2024-01-07", "2024-01-08"),  # Sunday -> Monday
		("2023-12-23", "2023-12-27"),  # Saturday, Sunday, two holidays -> Wednesday
		("2023-12-30", "2024-01-02"),  # weekend then New Year
	],
)
def test_next_business_day_skips_weekends_and_holidays(given, expected):
	assert XMAS.next_business_day(day(given)) == day(expected)


@pytest.mark.parametrize(
	"given, expected",
	[
		("2024-01-08", "2024-01-08"),
		("2024-01-07", "2024-01-05"),
		("2024-01-01", "2023-12-29"),  # holiday Monday -> previous Friday
		("2023-12-26", "2023-12-22"),
	],
)
def test_previous_business_day(given, expected):
	assert XMAS.previous_business_day(day(given)) == day(expected)


def test_is_business_day():
	assert XMAS.is_business_day(day("2024-01-02"))
	assert not XMAS.is_business_day(day("2024-01-01"))
	assert not XMAS.is_business_day(day("2024-01-06"))
	assert NO_CALENDAR.is_business_day(day("2024-01-06"))


def test_custom_weekend_by_name():
	cal = BusinessCalendar.build(weekend=["fri", "Saturday"])
	assert cal.weekend == frozenset({4, 5})
	assert cal.next_business_day(day("2024-01-05")) == day("2024-01-07")  # Friday -> Sunday


@pytest.mark.parametrize(
	"start, count, expected",
	[
		("2024-01-05", 1, "2024-01-08"),  # Friday + 1 -> Monday
		("2024-01-05", 0, "2024-01-05"),
		("2024-01-06", 0, "2024-01-06"),  # zero days: the day itself, even on a weekend
		("2023-12-22", 3, "2023-12-29"),  # over Christmas
		("2023-12-22", 4, "2024-01-02"),  # ... and New Year
		("2024-01-08", -1, "2024-01-05"),
		("2024-01-02", -2, "2023-12-28"),  # back over New Year
		("2024-01-01", 5, "2024-01-08"),
	],
)
def test_add_business_days(start, count, expected):
	assert XMAS.add_business_days(day(start), count) == day(expected)


def test_step_date_shifts():
	assert XMAS.step_date(day("2024-01-03"), 3) == day("2024-01-08")
	assert XMAS.step_date(day("2024-01-03"), -2) == day("2024-01-02")


def test_in_window():
	assert OFFICE.in_window(datetime(2024, 1, 5, 8, 0))
	assert OFFICE.in_window(datetime(2024, 1, 5, 17, 59))
	assert not OFFICE.in_window(datetime(2024, 1, 5, 18, 0))  # the end is exclusive
	assert not OFFICE.in_window(datetime(2024, 1, 5, 7, 59))
	assert not OFFICE.in_window(datetime(2024, 1, 6, 10, 0))  # Saturday
	assert not OFFICE.in_window(datetime(2024, 1, 8, 10, 0))  # holiday
	assert XMAS.in_window(datetime(2024, 1, 5, 3, 0))  # no window: any time of a business day
	assert not XMAS.in_window(datetime(2024, 1, 6, 3, 0))


@pytest.mark.parametrize(
	"moment, expected",
	[
		(datetime(2024, 1, 4, 10, 30), datetime(2024, 1, 4, 10, 30)),  # inside: now
		(datetime(2024, 1, 4, 6, 15), datetime(2024, 1, 4, 8, 0)),  # before the window: today's start
		(datetime(2024, 1, 4, 18, 0), datetime(2024, 1, 5, 8, 0)),  # after: tomorrow's start
		(
			datetime(2024, 1, 5, 19, 45),
			datetime(2024, 1, 9, 8, 0),
		),  # Friday evening -> Monday is a holiday -> Tue
		(datetime(2024, 1, 6, 9, 0), datetime(2024, 1, 9, 8, 0)),  # Saturday morning
	],
)
def test_next_send_time(moment, expected):
	assert OFFICE.next_send_time(moment) == expected


def test_friday_evening_goes_to_monday_start():
	cal = BusinessCalendar.build(window=("09:00", "17:00"))
	assert cal.next_send_time(datetime(2024, 1, 12, 17, 30)) == datetime(2024, 1, 15, 9, 0)


def test_next_send_time_without_window_on_weekend_is_monday_midnight():
	assert XMAS.next_send_time(datetime(2024, 1, 6, 12, 0)) == datetime(2024, 1, 8, 0, 0)


def test_window_accepts_time_objects():
	cal = BusinessCalendar.build(window=(time(7, 30), "16:45"))
	assert (cal.window_start, cal.window_end) == (time(7, 30), time(16, 45))


@pytest.mark.parametrize(
	"kwargs, message",
	[
		(
			{"window": ("18:00", "08:00")},
			"The sending window must start before it ends (18:00 is not before 08:00).",
		),
		({"window": ("09:00", "09:00")}, "must start before it ends"),
		({"window": ("09:00", "09:00")}, "it starts and ends at 09:00"),
		({"window": ("nine", "17:00")}, "Sending window time nine is not in HH:MM form."),
		({"window": ("25:00", "26:00")}, "Sending window time 25:00 is not in HH:MM form."),
		({"weekend": ["caturday"]}, "Unknown weekday caturday."),
		({"weekend": ["sa"]}, "Unknown weekday sa."),
		({"weekend": [7]}, "Weekend days must be numbers from 0 (Monday) to 6 (Sunday)."),
		({"weekend": range(7)}, "A calendar cannot have every day of the week as weekend."),
	],
)
def test_bad_calendar_input_raises(kwargs, message):
	with pytest.raises(CalendarError) as exc:
		BusinessCalendar.build(**kwargs)
	assert message in str(exc.value)


def test_window_needs_both_ends():
	with pytest.raises(CalendarError, match=r"needs both a start and an end"):
		BusinessCalendar(window_start=time(8))


def test_holiday_list_covering_a_year_fails_clearly():
	from datetime import timedelta

	start = day("2024-01-01")
	cal = BusinessCalendar.build(holidays=[start + timedelta(days=i) for i in range(400)])
	with pytest.raises(CalendarError, match=r"No business day within a year after"):
		cal.next_business_day(start)
	with pytest.raises(CalendarError, match=r"No business day within a year before"):
		cal.previous_business_day(start + timedelta(days=399))
