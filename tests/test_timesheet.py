"""The month's symbols and totals, from hand-built day figures."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from jobs.figures import DateKind, DayFigures, HolidayKind, ShiftSource, Status
from jobs.policy import AttendancePolicy, StandardWorkdays
from jobs.settings import Symbols
from jobs.timesheet import summarize_month, symbol_for

SYMBOLS = Symbols()


def day(date: dt.date, **changes: object) -> DayFigures:
    """A closed work date with nothing worked; `changes` override any figure."""
    base = DayFigures(
        date=date,
        kind=DateKind.WORK,
        holiday_kind=None,
        on_weekday=True,
        status=Status.ABSENT,
        shift_source=ShiftSource.DEFAULT,
        shift_begin_ms=None,
        shift_end_ms=None,
        shift_workday=1.0,
        shift_normal_minutes=480,
        office_location=None,
        conflict=None,
        first_in_ms=None,
        last_out_ms=None,
        checkin_count=0,
        time_at_work_minutes=0,
        late_minutes=0,
        early_leave_minutes=0,
        worked_minutes=0,
        overtime_workday_minutes=0,
        overtime_dayoff_minutes=0,
        overtime_holiday_minutes=0,
        overtime_minutes=0,
        overtime_night_minutes=0,
        night_minutes=0,
        workday=0.0,
        needs_explanation=False,
        overtime_over_daily_cap=False,
    )
    return dataclasses.replace(base, **changes)


D = dt.date(2026, 11, 2)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"status": Status.PRESENT, "workday": 1.0, "checkin_count": 2}, "X"),
        ({"status": Status.PRESENT, "workday": 0.5, "checkin_count": 2}, "X/2"),
        ({"status": Status.PRESENT, "workday": 0.0, "checkin_count": 2}, "TG"),
        ({"status": Status.MISSING_CHECKOUT, "checkin_count": 1}, "Q"),
        ({"status": Status.MISSING_CHECKOUT, "kind": DateKind.REST, "checkin_count": 1}, "Q"),
        ({"status": Status.ABSENT}, "V"),
        ({"status": Status.HOLIDAY, "kind": DateKind.HOLIDAY, "holiday_kind": HolidayKind.STATUTORY}, "L"),
        ({"status": Status.HOLIDAY, "kind": DateKind.HOLIDAY, "holiday_kind": HolidayKind.EXTRA_PAID}, "L"),
        ({"status": Status.HOLIDAY, "kind": DateKind.HOLIDAY, "holiday_kind": HolidayKind.COMPENSATORY}, "NB"),
        ({"status": Status.PRESENT, "kind": DateKind.HOLIDAY, "holiday_kind": HolidayKind.STATUTORY}, "NL"),
        ({"status": Status.DAY_OFF, "kind": DateKind.REST}, ""),
        ({"status": Status.PRESENT, "kind": DateKind.REST}, "NN"),
        ({"status": Status.OPEN, "checkin_count": 1}, ""),
        ({"status": Status.PRESENT, "workday": 1.5, "shift_workday": 1.5}, "X"),
        ({"status": Status.PRESENT, "workday": 0.75, "shift_workday": 1.5}, "X/2"),
    ],
)
def test_symbol_of_each_kind_of_day(changes: dict, expected: str) -> None:
    assert symbol_for(day(D, **changes), SYMBOLS) == expected


def test_symbols_follow_the_firms_configuration() -> None:
    symbols = Symbols(workday="+", absent="KP")

    assert symbol_for(day(D, status=Status.PRESENT, workday=1.0), symbols) == "+"
    assert symbol_for(day(D, status=Status.ABSENT), symbols) == "KP"


def test_dates_before_first_work_date_are_blank_and_uncounted() -> None:
    days = [
        day(dt.date(2026, 11, 2)),
        day(dt.date(2026, 11, 3)),
        day(dt.date(2026, 11, 4), status=Status.PRESENT, workday=1.0, checkin_count=2),
    ]

    month = summarize_month(days, dt.date(2026, 11, 4), AttendancePolicy(), SYMBOLS)

    assert month.symbols == {dt.date(2026, 11, 2): "", dt.date(2026, 11, 3): "", dt.date(2026, 11, 4): "X"}
    assert month.totals.days_absent == 0
    assert month.totals.standard_workdays == 1
    assert month.totals.workdays == 1.0


def test_open_dates_are_blank_and_count_in_no_total() -> None:
    days = [
        day(dt.date(2026, 11, 2), status=Status.PRESENT, workday=1.0, checkin_count=2, late_minutes=9),
        day(dt.date(2026, 11, 3), status=Status.OPEN, checkin_count=1, late_minutes=20, workday=1.0),
    ]

    month = summarize_month(days, dt.date(2026, 11, 2), AttendancePolicy(), SYMBOLS)

    assert month.symbols[dt.date(2026, 11, 3)] == ""
    assert month.totals.workdays == 1.0
    assert month.totals.times_late == 1
    assert month.totals.minutes_late == 9
    assert month.totals.standard_workdays == 1


def test_late_and_early_days_are_counted_never_netted() -> None:
    days = [
        day(dt.date(2026, 11, 2), status=Status.PRESENT, workday=1.0, late_minutes=7, overtime_minutes=60,
            overtime_workday_minutes=60),
        day(dt.date(2026, 11, 3), status=Status.PRESENT, workday=1.0, early_leave_minutes=30),
    ]

    totals = summarize_month(days, dt.date(2026, 11, 2), AttendancePolicy(), SYMBOLS).totals

    assert (totals.times_late, totals.minutes_late) == (1, 7)
    assert (totals.times_early, totals.minutes_early) == (1, 30)
    assert totals.overtime_workday_hours == 1.0
    assert totals.overtime_hours == 1.0


def test_paid_holidays_count_only_on_employees_weekdays() -> None:
    holiday = {"kind": DateKind.HOLIDAY, "status": Status.HOLIDAY, "holiday_kind": HolidayKind.STATUTORY}
    days = [
        day(dt.date(2026, 11, 23), status=Status.PRESENT, workday=1.0, checkin_count=2),
        day(dt.date(2026, 11, 24), on_weekday=True, **holiday),
        day(dt.date(2026, 11, 28), on_weekday=False, **holiday),
    ]

    totals = summarize_month(days, dt.date(2026, 11, 23), AttendancePolicy(), SYMBOLS).totals

    assert totals.paid_holidays == 1
    assert totals.payable_days == 2.0
    assert totals.standard_workdays == 2


@pytest.mark.parametrize(
    ("mode", "expected"),
    [(StandardWorkdays.FIXED_26, 26), (StandardWorkdays.FIXED_22, 22), (StandardWorkdays.CALENDAR, 2)],
)
def test_standard_workdays_by_configured_mode(mode: StandardWorkdays, expected: int) -> None:
    days = [
        day(dt.date(2026, 11, 2), status=Status.PRESENT, workday=1.0),
        day(dt.date(2026, 11, 3)),
        day(dt.date(2026, 11, 8), kind=DateKind.REST, status=Status.DAY_OFF, on_weekday=False),
    ]
    policy = AttendancePolicy(standard_workdays=mode)

    assert summarize_month(days, dt.date(2026, 11, 2), policy, SYMBOLS).totals.standard_workdays == expected


def test_overtime_caps_are_flagged() -> None:
    days = [
        day(dt.date(2026, 11, d), status=Status.PRESENT, workday=1.0, overtime_minutes=180,
            overtime_workday_minutes=180, overtime_over_daily_cap=(d == 3))
        for d in range(2, 17)
    ]
    policy = AttendancePolicy(overtime_month_cap_hours=40, overtime_year_cap_hours=200)

    totals = summarize_month(days, dt.date(2026, 11, 2), policy, SYMBOLS, overtime_minutes_before_month=160 * 60).totals

    assert totals.overtime_hours == 45.0
    assert totals.over_month_cap
    assert totals.overtime_ytd_hours == 205.0
    assert totals.over_year_cap
    assert totals.dates_over_daily_cap == (dt.date(2026, 11, 3),)


def test_overtime_within_caps_is_not_flagged() -> None:
    days = [day(dt.date(2026, 11, 2), status=Status.PRESENT, workday=1.0, overtime_minutes=120)]

    totals = summarize_month(days, dt.date(2026, 11, 2), AttendancePolicy(), SYMBOLS).totals

    assert not totals.over_month_cap
    assert not totals.over_year_cap
    assert totals.dates_over_daily_cap == ()
