"""Builders shared by the rules tests: local times in Asia/Ho_Chi_Minh, check-ins, policies.

November 2026 is the month most tests use: 1/11 is a Sunday, 23/11 a Monday and
24/11 (Tuesday) Ngày Văn hóa Việt Nam, a statutory holiday.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

from jobs.calendar import Calendar
from jobs.figures import Checkin, DayFigures, WebhookType, WorkingGroup
from jobs.policy import AttendancePolicy, HolidayEdits, Shift
from jobs.rules import DatePlan, compute_day, plan_dates

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
POLICY = AttendancePolicy()
LATER_MS = int(dt.datetime(2027, 6, 1, tzinfo=ZONE).timestamp() * 1000)
"""A `now` long after every date the tests use, so no date is still open."""


def at(text: str) -> int:
    """Return the Unix ms of a local 'YYYY-MM-DD HH:MM[:SS[.fff]]' in Asia/Ho_Chi_Minh."""
    date_part, time_part = text.split(" ")
    pieces = time_part.split(":")
    hours, minutes = int(pieces[0]), int(pieces[1])
    seconds = float(pieces[2]) if len(pieces) > 2 else 0.0
    whole = int(seconds)
    millis = round((seconds - whole) * 1000)
    local = dt.datetime.combine(dt.date.fromisoformat(date_part), dt.time(hours, minutes, whole), tzinfo=ZONE)
    return int(local.timestamp()) * 1000 + millis


def local(instant_ms: int | None) -> str | None:
    """Return 'YYYY-MM-DD HH:MM:SS' local time of an instant, for readable asserts."""
    if instant_ms is None:
        return None
    return dt.datetime.fromtimestamp(instant_ms / 1000, tz=ZONE).strftime("%Y-%m-%d %H:%M:%S")


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def scan(text: str, group: tuple[int, int] | None = None, office: str | None = None, **fields: object) -> Checkin:
    """Return a CHECKIN at local `text`, with a working_group given as (begin, end) in HHmm."""
    working_group = None
    if group is not None:
        begin, end = group
        working_group = WorkingGroup(begin // 100 * 60 + begin % 100, end // 100 * 60 + end % 100)
    return Checkin(timestamp_ms=at(text), working_group=working_group, office_location=office, **fields)


def scans(*texts: str) -> list[Checkin]:
    return [scan(text) for text in texts]


def event(text: str) -> Checkin:
    return Checkin(timestamp_ms=at(text), webhook_type=WebhookType.JOIN_EVENT)


def hhmm(value: int) -> int:
    """Return minutes after midnight of an HHmm number (830 is 08:30)."""
    return value // 100 * 60 + value % 100


def shift(begin: int, end: int, break_: tuple[int, int] | None = None, **fields: object) -> Shift:
    """Return a Shift from HHmm numbers."""
    if break_ is None:
        return Shift(begin=hhmm(begin), end=hhmm(end), **fields)
    return Shift(begin=hhmm(begin), end=hhmm(end), break_begin=hhmm(break_[0]), break_end=hhmm(break_[1]), **fields)


def policy(**fields: object) -> AttendancePolicy:
    return dataclasses.replace(POLICY, **fields)


def edits(**fields: object) -> HolidayEdits:
    return HolidayEdits(**fields)


def figures(
    checkins: list[Checkin],
    date: str,
    rules: AttendancePolicy = POLICY,
    *,
    user_id: str | None = None,
    now_ms: int = LATER_MS,
) -> DayFigures:
    return compute_day(checkins, day(date), rules, Calendar(rules), now_ms, user_id=user_id)


def plan(
    checkins: list[Checkin], date: str, rules: AttendancePolicy = POLICY, *, user_id: str | None = None
) -> DatePlan:
    return plan_dates(checkins, day(date), day(date), rules, Calendar(rules), user_id=user_id)[0]
