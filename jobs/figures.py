"""The values the attendance rules take and give: check-ins in, one date's figures out.

Instants are Unix milliseconds (UTC); local dates are `datetime.date` in the firm's
zone. Durations are whole minutes, floored once from exact milliseconds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

# The receiver defines the webhook types; only CHECKIN counts toward attendance.
from ingest.payload import WebhookType  # noqa: F401  (re-exported)


class DateKind(enum.StrEnum):
    """The kind of a calendar date for one employee, decided before attribution."""

    HOLIDAY = "holiday"
    REST = "rest"
    WORK = "work"


class HolidayKind(enum.StrEnum):
    """Why a `holiday` date is one: it decides the symbol `L` or `NB`."""

    STATUTORY = "statutory"
    COMPENSATORY = "compensatory"
    """Nghỉ bù: a statutory holiday fell on the firm's weekly rest day."""
    EXTRA_PAID = "extra_paid"


class Status(enum.StrEnum):
    """The status of one employee's work date."""

    PRESENT = "present"
    MISSING_CHECKOUT = "missing_checkout"
    ABSENT = "absent"
    DAY_OFF = "day_off"
    HOLIDAY = "holiday"
    OPEN = "open"


class ShiftSource(enum.StrEnum):
    """The source of a date's shift; the first source that gives one wins."""

    WORKING_GROUP = "working_group"
    USER = "user"
    OFFICE = "office"
    DEFAULT = "default"
    NONE = "none"


@dataclasses.dataclass(frozen=True, order=True, slots=True)
class WorkingGroup:
    """A shift sent by ACheckin: begin and end as minutes after local midnight."""

    begin: int
    end: int


@dataclasses.dataclass(frozen=True, slots=True)
class Checkin:
    """One distinct check-in of one employee, as the rules need it."""

    timestamp_ms: int
    webhook_type: WebhookType = WebhookType.CHECKIN
    working_group: WorkingGroup | None = None
    office_location: str | None = None
    working_group_conflict: str | None = None
    """Set when two deliveries of this check-in carried different working_groups."""


@dataclasses.dataclass(frozen=True, slots=True)
class DayFigures:
    """The figures of one employee's work date; one row of `daily_attendance`.

    `shift_begin_ms`/`shift_end_ms` are the instants of the date's shift (None when
    the date has none). `overtime_minutes` is the sum of the three kinds.
    `on_weekday` is true when the date falls on one of the employee's weekdays, which
    the month's totals need for paid holidays and standard workdays.
    """

    date: dt.date
    kind: DateKind
    holiday_kind: HolidayKind | None
    on_weekday: bool
    status: Status
    shift_source: ShiftSource
    shift_begin_ms: int | None
    shift_end_ms: int | None
    shift_workday: float
    shift_normal_minutes: int
    """Shift length less its break; 0 without a shift."""
    office_location: str | None
    conflict: str | None
    """Shifts sent for this date that disagree, as clock times with the one used first.

    "09:00-18:00 ≠ 10:00-19:00" means two check-ins point at the date, and
    "08:00-17:00, 08:30-17:30" means copies of one check-in differ. Several
    conflicts are joined by "; "."""
    first_in_ms: int | None
    last_out_ms: int | None
    checkin_count: int
    time_at_work_minutes: int
    late_minutes: int
    early_leave_minutes: int
    worked_minutes: int
    overtime_workday_minutes: int
    overtime_dayoff_minutes: int
    overtime_holiday_minutes: int
    overtime_minutes: int
    overtime_night_minutes: int
    night_minutes: int
    workday: float
    needs_explanation: bool
    overtime_over_daily_cap: bool
    """More overtime than the law allows in one day (half the shift's normal hours
    on a work date; more than 12 h of work in all on a rest day or holiday)."""
