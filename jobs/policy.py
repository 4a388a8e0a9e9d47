"""The firm's attendance policy: shifts, assignments, windows, graces and thresholds.

These are the typed values of the `[attendance]` section of config.toml. The rules in
`jobs.rules` and the calendar in `jobs.calendar` read them and nothing else, so a test
can build a policy by hand. Clock times are minutes after local midnight (0..1439);
durations are whole minutes; weekdays are ISO numbers (Monday 1 .. Sunday 7).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Mapping


class HoursMethod(enum.StrEnum):
    """The method that measures a date's time at work from its check-ins."""

    FIRST_LAST = "first_last"
    PAIRS = "pairs"


class StandardWorkdays(enum.StrEnum):
    """The rule that counts a month's standard workdays (công chuẩn)."""

    FIXED_26 = "26"
    FIXED_22 = "22"
    CALENDAR = "calendar"


@dataclasses.dataclass(frozen=True)
class Shift:
    """One shift: begin and end as minutes after local midnight, an optional break.

    An end not after its begin runs past midnight. The break is placed at the first
    occurrence of its clock times at or after the begin. `workday` is the credit a
    full day of this shift earns (ngày công).
    """

    begin: int
    end: int
    break_begin: int | None = None
    break_end: int | None = None
    workday: float = 1.0
    weekdays: frozenset[int] | None = None
    name: str = ""

    @property
    def length_minutes(self) -> int:
        """Length from begin to end, wrapping past midnight."""
        return (self.end - self.begin) % 1440 or 1440

    @property
    def break_minutes(self) -> int:
        """Length of the break, 0 without one."""
        if self.break_begin is None or self.break_end is None:
            return 0
        return (self.break_end - self.break_begin) % 1440


DEFAULT_WORK_DAYS = frozenset({1, 2, 3, 4, 5, 6})

DEFAULT_SHIFT = Shift(begin=8 * 60, end=17 * 60, break_begin=12 * 60, break_end=13 * 60, name="default")


@dataclasses.dataclass(frozen=True)
class HolidayEdits:
    """The firm's edits to the statutory calendar, by local date."""

    extra_paid: frozenset[dt.date] = frozenset()
    extra_unpaid: frozenset[dt.date] = frozenset()
    removed: frozenset[dt.date] = frozenset()
    makeup_work_days: Mapping[dt.date, int] = dataclasses.field(default_factory=dict)
    """Make-up work days, each mapped to the ISO weekday whose shifts apply on it."""


@dataclasses.dataclass(frozen=True)
class AttendancePolicy:
    """Every number the attendance rules use, with the documented defaults."""

    timezone: str = "Asia/Ho_Chi_Minh"
    work_days: frozenset[int] = DEFAULT_WORK_DAYS
    default_shift: Shift = DEFAULT_SHIFT
    user_shifts: Mapping[str, Shift] = dataclasses.field(default_factory=dict)
    """Shifts assigned by ACheckin `user_id`."""
    office_shifts: Mapping[str, Shift] = dataclasses.field(default_factory=dict)
    """Shifts assigned by `office_location` (compared after NFC normalisation)."""
    window_before_minutes: int = 180
    window_after_minutes: int = 360
    late_grace_minutes: int = 5
    early_grace_minutes: int = 5
    double_scan_minutes: int = 5
    overtime_floor_minutes: int = 30
    overtime_step_minutes: int = 15
    count_early_overtime: bool = False
    hours_method: HoursMethod = HoursMethod.FIRST_LAST
    full_day_ratio: float = 0.75
    half_day_ratio: float = 0.375
    missing_checkout_fraction: float = 0.0
    night_begin: int = 22 * 60
    night_end: int = 6 * 60
    standard_workdays: StandardWorkdays = StandardWorkdays.CALENDAR
    overtime_month_cap_hours: int = 40
    overtime_year_cap_hours: int = 200
    holidays: HolidayEdits = dataclasses.field(default_factory=HolidayEdits)
