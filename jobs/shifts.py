"""The kind and the shift of each of one employee's dates, decided before attribution.

Check-ins enter as `Scan`s: one per distinct CHECKIN, copies merged and invalid
working_groups dropped. The `Planner` then decides, for each date, its kind
(holiday, rest or work) from the calendar, the config and the working_groups that
point at it, and places its shift (begin, end, break, window) as instants.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata
from collections.abc import Iterable, Sequence

from ingest.payload import is_unspecified
from jobs.calendar import Calendar
from jobs.figures import Checkin, DateKind, HolidayKind, ShiftSource, WebhookType, WorkingGroup
from jobs.localdays import MINUTE_MS, MINUTES_PER_DAY, LocalDays
from jobs.policy import AttendancePolicy, Shift


@dataclasses.dataclass(slots=True)
class Scan:
    """One distinct CHECKIN: copies with the same timestamp merged, `working_group` checked."""

    timestamp_ms: int
    working_group: WorkingGroup | None
    office_location: str | None
    conflict: str | None


def prepare_scans(checkins: Iterable[Checkin]) -> tuple[list[Scan], int]:
    """Return the distinct CHECKINs sorted by time, and the count of invalid working_groups dropped.

    Copies of one check-in (same timestamp) merge into one, whatever their order: a
    valid `working_group` beats none, and of different ones the smallest (begin, end)
    is kept and the difference recorded as a conflict.
    """
    ordered = sorted(
        (checkin for checkin in checkins if checkin.webhook_type == WebhookType.CHECKIN),
        key=lambda checkin: checkin.timestamp_ms,
    )
    scans: list[Scan] = []
    invalid = 0
    offices: dict[str | None, str | None] = {None: None}
    position = 0
    while position < len(ordered):
        checkin = ordered[position]
        end = position + 1
        while end < len(ordered) and ordered[end].timestamp_ms == checkin.timestamp_ms:
            end += 1

        if end - position > 1:
            scan, dropped = _merge_copies(ordered[position:end])
            invalid += dropped
            scans.append(scan)
            position = end
            continue

        group = checkin.working_group
        if group is not None and not is_valid_working_group(group):
            invalid += 1
            group = None
        if checkin.office_location not in offices:
            offices[checkin.office_location] = _office_key(checkin.office_location)
        office = offices[checkin.office_location]
        scans.append(Scan(checkin.timestamp_ms, group, office, checkin.working_group_conflict))
        position = end
    return scans, invalid


def _merge_copies(copies: Sequence[Checkin]) -> tuple[Scan, int]:
    """Merge copies of one check-in into one scan, and count the invalid working_groups dropped."""
    carried = [copy.working_group for copy in copies if copy.working_group is not None]
    groups = sorted({group for group in carried if is_valid_working_group(group)})
    invalid = sum(1 for group in carried if not is_valid_working_group(group))
    known_offices = (_office_key(copy.office_location) for copy in copies)
    offices = sorted({office for office in known_offices if office is not None})
    conflicts = sorted({copy.working_group_conflict for copy in copies if copy.working_group_conflict is not None})
    if len(groups) > 1:
        listed = ", ".join(_format_group(group) for group in groups)
        conflicts.append(listed)

    scan = Scan(
        timestamp_ms=copies[0].timestamp_ms,
        working_group=groups[0] if groups else None,
        office_location=offices[0] if offices else None,
        conflict="; ".join(conflicts) if conflicts else None,
    )
    return scan, invalid


def is_valid_working_group(group: WorkingGroup) -> bool:
    """Return whether `group` is a usable shift: two clock times that differ."""
    return (
        isinstance(group.begin, int)
        and isinstance(group.end, int)
        and 0 <= group.begin < MINUTES_PER_DAY
        and 0 <= group.end < MINUTES_PER_DAY
        and group.begin != group.end
    )


def _office_key(office: str | None) -> str | None:
    """Return the office as compared with the config's: NFC, trimmed, None when unknown."""
    if office is None or is_unspecified(office):
        return None
    office = unicodedata.normalize("NFC", office).strip()
    return office or None


def _format_clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _format_group(group: WorkingGroup) -> str:
    return f"{_format_clock(group.begin)}-{_format_clock(group.end)}"


@dataclasses.dataclass(frozen=True, slots=True)
class PlacedShift:
    """A shift placed on its work date, as instants in Unix ms.

    The break is None or lies wholly inside [begin_ms, end_ms]. The window is the
    closed interval within which a check-in can belong to this date.
    """

    source: ShiftSource
    begin_ms: int
    end_ms: int
    break_begin_ms: int | None
    break_end_ms: int | None
    workday: float
    window_begin_ms: int
    window_end_ms: int
    normal_minutes: int
    """Length less the break, floored to whole minutes."""


@dataclasses.dataclass(frozen=True, slots=True)
class DatePlan:
    """The kind, shift, office and conflicts of one employee's date, decided before attribution."""

    date: dt.date
    kind: DateKind
    holiday_kind: HolidayKind | None
    on_weekday: bool
    """Whether the employee's assignment (user, office or default shift) covers the date's weekday."""
    shift: PlacedShift | None
    office_location: str | None
    conflict: str | None


class Planner:
    """Decides kinds and shifts for a run of dates of one employee."""

    def __init__(self, policy: AttendancePolicy, calendar: Calendar, user_id: str | None, days: LocalDays) -> None:
        self.policy = policy
        self.calendar = calendar
        self.days = days
        self.user_shift = policy.user_shifts.get(user_id) if user_id is not None else None
        self.office_shifts = {_office_key(name): shift for name, shift in policy.office_shifts.items()}
        self.before_ms = policy.window_before_minutes * MINUTE_MS
        self.after_ms = policy.window_after_minutes * MINUTE_MS

    def plan(self, scans: Sequence[Scan], office_scans: Sequence[Scan]) -> list[DatePlan | None]:
        """Return the plan of every date index but the first and the last two (None there).

        The working_groups of `scans` point at dates; `office_scans` (any sorted
        superset, older check-ins included) give each date's office.
        """
        offices = self._offices(office_scans)
        groups, conflicts = self._pointed_groups(scans)
        plans: list[DatePlan | None] = [None] * len(self.days)
        for index in range(1, len(self.days) - 2):
            plans[index] = self._plan_date(index, offices[index], groups.get(index), conflicts.get(index))
        return plans

    def _offices(self, scans: Sequence[Scan]) -> list[str | None]:
        """Return U's office on each date: the latest known office at or before the date's end.

        NOTE: the lookback has no limit, so a date's office can come from a check-in
        older than three days before it. The caller stays idempotent only if it
        passes the latest earlier check-in that carries an office.
        """
        offices: list[str | None] = []
        current: str | None = None
        position = 0
        for index in range(len(self.days)):
            end_of_date = self.days.midnights[index + 1]
            while position < len(scans) and scans[position].timestamp_ms <= end_of_date:
                if scans[position].office_location is not None:
                    current = scans[position].office_location
                position += 1
            offices.append(current)
        return offices

    def _pointed_groups(self, scans: Sequence[Scan]) -> tuple[dict[int, WorkingGroup], dict[int, list[str]]]:
        """Return the working_group of each date (the earliest pointing at it) and its conflicts."""
        groups: dict[int, WorkingGroup] = {}
        conflicts: dict[int, list[str]] = {}
        for scan in scans:
            group = scan.working_group
            if group is None:
                continue
            index = self._pointed_date(scan.timestamp_ms, group)
            if index is None:
                continue
            if scan.conflict is not None:
                conflicts.setdefault(index, []).append(scan.conflict)
            kept = groups.setdefault(index, group)
            if kept != group:
                conflicts.setdefault(index, []).append(f"{_format_group(kept)} ≠ {_format_group(group)}")
        return groups, conflicts

    def _pointed_date(self, instant_ms: int, group: WorkingGroup) -> int | None:
        """Return the date index `group` carried at `instant_ms` points at (None: outside the run)."""
        own = self.days.index_of(instant_ms)
        if own < 1 or own > len(self.days) - 3:
            return None
        for index in (own, own - 1, own + 1):
            begin_ms, end_ms = self._bounds(index, group.begin, group.end)
            if begin_ms - self.before_ms <= instant_ms <= end_ms + self.after_ms:
                return index
        return own

    def _bounds(self, index: int, begin: int, end: int) -> tuple[int, int]:
        end_minute = end if end > begin else end + MINUTES_PER_DAY
        return self.days.instant(index, begin), self.days.instant(index, end_minute)

    def _plan_date(
        self, index: int, office: str | None, group: WorkingGroup | None, conflicts: list[str] | None
    ) -> DatePlan:
        date = self.days.dates[index]
        holiday_kind = self.calendar.holiday_kind(date)
        weekday = self.calendar.makeup_weekday(date) or date.isoweekday()
        assigned, source = self._assigned_shift(office, weekday)

        if holiday_kind is not None:
            kind = DateKind.HOLIDAY
        elif self.calendar.is_extra_unpaid(date) or assigned is None:
            kind = DateKind.WORK if group is not None else DateKind.REST
        else:
            kind = DateKind.WORK

        if group is not None:
            reference = assigned or self.policy.default_shift
            shift = self._place(index, group.begin, group.end, reference, ShiftSource.WORKING_GROUP)
        elif assigned is not None:
            shift = self._place(index, assigned.begin, assigned.end, assigned, source)
        else:
            shift = None

        return DatePlan(
            date=date,
            kind=kind,
            holiday_kind=holiday_kind,
            on_weekday=assigned is not None,
            shift=shift,
            office_location=office,
            conflict="; ".join(conflicts) if conflicts else None,
        )

    def _assigned_shift(self, office: str | None, weekday: int) -> tuple[Shift | None, ShiftSource]:
        """Return the assigned shift on `weekday`: user, else office, else default.

        The first assignment that exists for the employee decides, so a user shift
        for Monday to Friday makes Saturday a rest day even when the firm works it.
        """
        if self.user_shift is not None:
            return self._on_weekday(self.user_shift, weekday, ShiftSource.USER)
        office_shift = self.office_shifts.get(office) if office is not None else None
        if office_shift is not None:
            return self._on_weekday(office_shift, weekday, ShiftSource.OFFICE)
        if weekday in self.policy.work_days:
            return self.policy.default_shift, ShiftSource.DEFAULT
        return None, ShiftSource.NONE

    def _on_weekday(self, shift: Shift, weekday: int, source: ShiftSource) -> tuple[Shift | None, ShiftSource]:
        weekdays = shift.weekdays if shift.weekdays is not None else self.policy.work_days
        if weekday in weekdays:
            return shift, source
        return None, ShiftSource.NONE

    def _place(self, index: int, begin: int, end: int, reference: Shift, source: ShiftSource) -> PlacedShift:
        """Place begin..end on date `index`, with the workday value and break of `reference`.

        The break goes to the first occurrence of its clock times at or after the
        begin, and is kept only when it lies wholly inside the shift.
        """
        begin_ms, end_ms = self._bounds(index, begin, end)
        break_begin_ms = break_end_ms = None
        if reference.break_begin is not None and reference.break_end is not None and reference.break_minutes > 0:
            break_begin = reference.break_begin
            if break_begin < begin:
                break_begin += MINUTES_PER_DAY
            break_end = break_begin + reference.break_minutes
            candidate_begin_ms = self.days.instant(index, break_begin)
            candidate_end_ms = self.days.instant(index, break_end)
            if begin_ms <= candidate_begin_ms and candidate_end_ms <= end_ms:
                break_begin_ms, break_end_ms = candidate_begin_ms, candidate_end_ms

        break_ms = break_end_ms - break_begin_ms if break_begin_ms is not None and break_end_ms is not None else 0
        return PlacedShift(
            source=source,
            begin_ms=begin_ms,
            end_ms=end_ms,
            break_begin_ms=break_begin_ms,
            break_end_ms=break_end_ms,
            workday=reference.workday,
            window_begin_ms=begin_ms - self.before_ms,
            window_end_ms=end_ms + self.after_ms,
            normal_minutes=(end_ms - begin_ms - break_ms) // MINUTE_MS,
        )
