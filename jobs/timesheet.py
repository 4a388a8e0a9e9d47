"""The month of one employee: a symbol per date and the totals of the 01a-LĐTL row.

Pure functions over `DayFigures`: no database, clock or network. A date counts in no
total while it is `open`, and neither do dates before the work date of the employee's
earliest CHECKIN (they show blank), standard workdays included.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from jobs.figures import DateKind, DayFigures, HolidayKind, Status
from jobs.policy import AttendancePolicy, StandardWorkdays
from jobs.settings import Symbols


@dataclasses.dataclass(frozen=True)
class MonthTotals:
    """The totals at the end of one employee's row. Hours have two decimals."""

    workdays: float
    paid_holidays: int
    payable_days: float
    standard_workdays: float
    days_absent: int
    days_missing_checkout: int
    times_late: int
    minutes_late: int
    times_early: int
    minutes_early: int
    overtime_workday_hours: float
    overtime_dayoff_hours: float
    overtime_holiday_hours: float
    overtime_night_hours: float
    overtime_hours: float
    night_hours: float
    overtime_ytd_hours: float
    dates_over_daily_cap: tuple[dt.date, ...]
    over_month_cap: bool
    over_year_cap: bool


@dataclasses.dataclass(frozen=True)
class EmployeeMonth:
    """One employee's month: the symbol of every date, the totals and the counted dates."""

    symbols: dict[dt.date, str]
    totals: MonthTotals
    counted: frozenset[dt.date]
    """Dates that count in the totals: closed, and not before the first work date."""


def symbol_for(day: DayFigures, symbols: Symbols) -> str:
    """Return the cell symbol of one date on or after the first work date.

    Open dates and rest dates not worked are blank.
    """
    if day.status is Status.OPEN:
        return ""
    if day.status is Status.MISSING_CHECKOUT:
        return symbols.missing_checkout
    present = day.status is Status.PRESENT

    if day.kind is DateKind.HOLIDAY:
        if present:
            return symbols.holiday_worked
        return symbols.compensatory if day.holiday_kind is HolidayKind.COMPENSATORY else symbols.holiday
    if day.kind is DateKind.REST:
        return symbols.rest_worked if present else ""

    if not present:
        return symbols.absent
    if day.workday >= day.shift_workday > 0:
        return symbols.workday
    if day.workday > 0:
        return symbols.half_workday
    return symbols.short_hours


def summarize_month(
    days: Sequence[DayFigures],
    first_work_date: dt.date | None,
    policy: AttendancePolicy,
    symbols: Symbols,
    overtime_minutes_before_month: int = 0,
) -> EmployeeMonth:
    """Give every date of the month its symbol and add up the row's totals.

    `days` are the employee's figures for every date of one month. `first_work_date`
    is the work date of their earliest CHECKIN ever; earlier dates are blank.
    `overtime_minutes_before_month` is the overtime already counted this year, for the
    year-to-date total and the yearly cap.
    """
    shown = {d.date: d for d in days if first_work_date is not None and d.date >= first_work_date}
    counted = [d for d in shown.values() if d.status is not Status.OPEN]
    cell_symbols = {d.date: (symbol_for(shown[d.date], symbols) if d.date in shown else "") for d in days}

    workdays = sum(d.workday for d in counted)
    paid_holidays = sum(1 for d in counted if d.kind is DateKind.HOLIDAY and d.on_weekday)
    overtime_minutes = sum(d.overtime_minutes for d in counted)
    overtime_ytd_minutes = overtime_minutes_before_month + overtime_minutes

    totals = MonthTotals(
        workdays=round(workdays, 2),
        paid_holidays=paid_holidays,
        payable_days=round(workdays + paid_holidays, 2),
        standard_workdays=_standard_workdays(counted, policy),
        days_absent=sum(1 for d in counted if d.status is Status.ABSENT),
        days_missing_checkout=sum(1 for d in counted if d.status is Status.MISSING_CHECKOUT),
        times_late=sum(1 for d in counted if d.late_minutes > 0),
        minutes_late=sum(d.late_minutes for d in counted),
        times_early=sum(1 for d in counted if d.early_leave_minutes > 0),
        minutes_early=sum(d.early_leave_minutes for d in counted),
        overtime_workday_hours=_hours(sum(d.overtime_workday_minutes for d in counted)),
        overtime_dayoff_hours=_hours(sum(d.overtime_dayoff_minutes for d in counted)),
        overtime_holiday_hours=_hours(sum(d.overtime_holiday_minutes for d in counted)),
        overtime_night_hours=_hours(sum(d.overtime_night_minutes for d in counted)),
        overtime_hours=_hours(overtime_minutes),
        night_hours=_hours(sum(d.night_minutes for d in counted)),
        overtime_ytd_hours=_hours(overtime_ytd_minutes),
        dates_over_daily_cap=tuple(sorted(d.date for d in counted if d.overtime_over_daily_cap)),
        over_month_cap=overtime_minutes > policy.overtime_month_cap_hours * 60,
        over_year_cap=overtime_ytd_minutes > policy.overtime_year_cap_hours * 60,
    )
    return EmployeeMonth(cell_symbols, totals, frozenset(d.date for d in counted))


def _standard_workdays(counted: Sequence[DayFigures], policy: AttendancePolicy) -> float:
    """Count công chuẩn: fixed, or the counted work and holiday dates on the employee's weekdays."""
    if policy.standard_workdays is StandardWorkdays.FIXED_26:
        return 26
    if policy.standard_workdays is StandardWorkdays.FIXED_22:
        return 22
    return sum(1 for d in counted if d.kind in (DateKind.WORK, DateKind.HOLIDAY) and d.on_weekday)


def _hours(minutes: int) -> float:
    return round(minutes / 60, 2)
