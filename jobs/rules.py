"""The attendance rules: one employee's check-ins to the kind, shift and figures of each date.

Pure functions of their arguments: no database, clock or network. Instants are Unix
milliseconds; dates and clock times are local to `policy.timezone`, converted with
`zoneinfo` whatever the machine's zone. Durations are measured between real instants,
so a day with a daylight-saving change has its real length.

The steps, each decided once per call for every date the call needs:

1. the kind of each date (holiday, rest, work) and its shift, from the calendar, the
   config and the `working_group`s that check-ins point at the date;
2. the work date each check-in belongs to (its attribution), by the shifts' windows;
3. the figures of each requested date from the check-ins attributed to it.

Only CHECKIN deliveries count; other types in the input are ignored. Copies of one
check-in (same timestamp) count once.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import functools
import logging
import unicodedata
from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

from ingest.payload import is_unspecified
from jobs.calendar import Calendar
from jobs.figures import (
    Checkin,
    DateKind,
    DayFigures,
    HolidayKind,
    ShiftSource,
    Status,
    WebhookType,
    WorkingGroup,
)
from jobs.policy import AttendancePolicy, HoursMethod, Shift

logger = logging.getLogger(__name__)

MINUTE_MS = 60_000
DAY_MS = 86_400_000
MINUTES_PER_DAY = 1440

NEIGHBOUR_DAYS = 3
"""A date's figures depend on check-ins from this many days before to this many after it."""

_FOREVER_MS = 2**62

_MARGIN_DAYS = NEIGHBOUR_DAYS + 2
"""Dates computed around the dates a call needs: shifts of date ± 2 decide attribution to date ± 1."""

REST_OR_HOLIDAY_CAP_MINUTES = 12 * 60
"""Maximum minutes of work in all on a rest day or holiday (Decree 145/2020, art. 60)."""


# ---------------------------------------------------------------------------------------
# Local dates and instants


class LocalDays:
    """Consecutive local dates of one zone, with the instant each begins at.

    Index 0 is `first`. `instant` turns a date index and a clock time into Unix ms.
    `index_of` finds the date of an instant by bisection, so no datetime object is
    built per check-in.
    """

    def __init__(self, zone: ZoneInfo, first: dt.date, count: int) -> None:
        self.zone = zone
        self.first = first
        self.dates = [first + dt.timedelta(days=offset) for offset in range(count)]
        first_ordinal = first.toordinal()
        self.midnights = [_midnight(zone, first_ordinal + offset) for offset in range(count + 1)]
        self.regular = [self.midnights[i + 1] - self.midnights[i] == DAY_MS for i in range(count)]

    def __len__(self) -> int:
        return len(self.dates)

    def index_of(self, instant_ms: int) -> int:
        """Return the index of the local date of `instant_ms`; out of range gives -1 or len."""
        return bisect.bisect_right(self.midnights, instant_ms) - 1

    def index_of_date(self, date: dt.date) -> int:
        return date.toordinal() - self.first.toordinal()

    def instant(self, index: int, minute: int) -> int:
        """Return the instant of clock time `minute` (may exceed 1440: later days) on date `index`."""
        index += minute // MINUTES_PER_DAY
        minute %= MINUTES_PER_DAY
        if self.regular[index]:
            return self.midnights[index] + minute * MINUTE_MS
        return _local_instant(self.zone, self.dates[index], minute)


@functools.lru_cache(maxsize=65_536)
def _midnight(zone: ZoneInfo, ordinal: int) -> int:
    """Return the Unix ms at which the local date with proleptic `ordinal` begins; cached across calls."""
    return _local_instant(zone, dt.date.fromordinal(ordinal), 0)


def _local_instant(zone: ZoneInfo, date: dt.date, minute: int) -> int:
    """Return the Unix ms of local `date` at clock time `minute` (the earlier one when ambiguous)."""
    local = dt.datetime(date.year, date.month, date.day, minute // 60, minute % 60, tzinfo=zone)
    return int(local.timestamp()) * 1000


def _days_around(zone: ZoneInfo, first: dt.date, last: dt.date, margin: int) -> LocalDays:
    start = first - dt.timedelta(days=margin)
    count = (last - first).days + 2 * margin + 1
    return LocalDays(zone, start, count)


# ---------------------------------------------------------------------------------------
# Check-ins as the rules read them


@dataclasses.dataclass(slots=True)
class _Scan:
    """One distinct CHECKIN: copies with the same timestamp merged, `working_group` checked."""

    timestamp_ms: int
    working_group: WorkingGroup | None
    office_location: str | None
    conflict: str | None


def _prepare(checkins: Iterable[Checkin]) -> tuple[list[_Scan], int]:
    """Return the distinct CHECKINs sorted by time, and the count of invalid working_groups dropped.

    Copies of one check-in (same timestamp) merge into one, whatever their order: a
    valid `working_group` beats none, and of different ones the smallest (begin, end)
    is kept and the difference recorded as a conflict.
    """
    ordered = sorted(
        (checkin for checkin in checkins if checkin.webhook_type == WebhookType.CHECKIN),
        key=lambda checkin: checkin.timestamp_ms,
    )
    scans: list[_Scan] = []
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
        scans.append(_Scan(checkin.timestamp_ms, group, office, checkin.working_group_conflict))
        position = end
    return scans, invalid


def _merge_copies(copies: Sequence[Checkin]) -> tuple[_Scan, int]:
    """Merge copies of one check-in into one scan, and count the invalid working_groups dropped."""
    carried = [copy.working_group for copy in copies if copy.working_group is not None]
    groups = sorted({group for group in carried if is_valid_working_group(group)})
    invalid = sum(1 for group in carried if not is_valid_working_group(group))
    known_offices = (_office_key(copy.office_location) for copy in copies)
    offices = sorted({office for office in known_offices if office is not None})
    conflicts = sorted({copy.working_group_conflict for copy in copies if copy.working_group_conflict is not None})
    if len(groups) > 1:
        listed = ", ".join(_format_group(group) for group in groups)
        conflicts.append(f"copies of one check-in carry working_groups {listed}; kept {_format_group(groups[0])}")

    scan = _Scan(
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


# ---------------------------------------------------------------------------------------
# The kind and the shift of each date


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


class _Planner:
    """Decides kinds and shifts for a run of dates of one employee."""

    def __init__(self, policy: AttendancePolicy, calendar: Calendar, user_id: str | None, days: LocalDays) -> None:
        self.policy = policy
        self.calendar = calendar
        self.days = days
        self.user_shift = policy.user_shifts.get(user_id) if user_id is not None else None
        self.office_shifts = {_office_key(name): shift for name, shift in policy.office_shifts.items()}
        self.before_ms = policy.window_before_minutes * MINUTE_MS
        self.after_ms = policy.window_after_minutes * MINUTE_MS

    def plan(self, scans: Sequence[_Scan], office_scans: Sequence[_Scan]) -> list[DatePlan | None]:
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

    def _offices(self, scans: Sequence[_Scan]) -> list[str | None]:
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

    def _pointed_groups(self, scans: Sequence[_Scan]) -> tuple[dict[int, WorkingGroup], dict[int, list[str]]]:
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
                conflicts.setdefault(index, []).append(
                    f"working_group {_format_group(group)} ignored: the date already has {_format_group(kept)}"
                )
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


# ---------------------------------------------------------------------------------------
# Attribution: the work date of each check-in


def _attribute_scans(days: LocalDays, plans: Sequence[DatePlan | None], scans: Sequence[_Scan]) -> list[int]:
    """Return the work date index of each scan: the nearest shift whose window contains it.

    Candidates are the scan's own date and the dates either side. The distance is 0
    within [begin, end], else the distance to the nearer end, and the earliest date
    wins a tie. A scan in no window belongs to its own date.
    """
    shifts = [plan.shift if plan is not None else None for plan in plans]
    last = len(shifts) - 1
    result = []
    for scan in scans:
        instant = scan.timestamp_ms
        own = days.index_of(instant)
        best = own
        best_distance = -1
        for index in (own - 1, own, own + 1):
            if index < 0 or index > last:
                continue
            shift = shifts[index]
            if shift is None or instant < shift.window_begin_ms or instant > shift.window_end_ms:
                continue
            if instant < shift.begin_ms:
                distance = shift.begin_ms - instant
            elif instant > shift.end_ms:
                distance = instant - shift.end_ms
            else:
                distance = 0
            if best_distance < 0 or distance < best_distance:
                best, best_distance = index, distance
        result.append(best)
    return result


def attribute(
    checkins: Sequence[Checkin], policy: AttendancePolicy, calendar: Calendar, *, user_id: str | None = None
) -> list[dt.date]:
    """Return the work date of each check-in in `checkins`, parallel to the input.

    `user_id` selects the shift assigned to the employee in config; without it the
    user assignments are not consulted. A check-in of another type than CHECKIN gets
    its own local calendar date.
    """
    if not checkins:
        return []
    zone = ZoneInfo(policy.timezone)
    scans, invalid = _prepare(checkins)
    _warn_invalid(invalid)

    stamps = [checkin.timestamp_ms for checkin in checkins]
    days = _days_around(zone, _local_date(zone, min(stamps)), _local_date(zone, max(stamps)), _MARGIN_DAYS)
    plans = _Planner(policy, calendar, user_id, days).plan(scans, scans)
    indexes = _attribute_scans(days, plans, scans)
    work_dates = {scan.timestamp_ms: days.dates[index] for scan, index in zip(scans, indexes)}

    result = []
    for checkin in checkins:
        if checkin.webhook_type == WebhookType.CHECKIN:
            result.append(work_dates[checkin.timestamp_ms])
        else:
            result.append(days.dates[days.index_of(checkin.timestamp_ms)])
    return result


def _local_date(zone: ZoneInfo, instant_ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(instant_ms / 1000, tz=zone).date()


def _warn_invalid(count: int) -> None:
    if count:
        logger.warning(
            "Ignored %d invalid working_group value(s): begin equal to end, or not a clock time", count
        )


# ---------------------------------------------------------------------------------------
# The figures of one work date


Interval = tuple[int, int]
"""A half-open span of instants [begin_ms, end_ms)."""


@dataclasses.dataclass(frozen=True, slots=True)
class _Overtime:
    """The counted minutes of one overtime kind and their night part."""

    minutes: int
    night_minutes: int


class _FigureContext:
    """Computes the figures of dates from their plans, caching what the dates of one call share."""

    def __init__(self, policy: AttendancePolicy, days: LocalDays, plans: Sequence[DatePlan | None]) -> None:
        self.policy = policy
        self.days = days
        self.plans = plans
        self.double_scan_ms = policy.double_scan_minutes * MINUTE_MS
        self.pairs = policy.hours_method == HoursMethod.PAIRS
        self.holidays = [plan is not None and plan.kind is DateKind.HOLIDAY for plan in plans]
        self.nights: dict[int, Interval] = {}
        self.shift_fields: dict[int, dict[str, object]] = {}

    def figures(self, index: int, stamps: list[int], now_ms: int) -> DayFigures:
        """Return the figures of date `index` from the instants of the check-ins attributed to it."""
        plan = self.plans[index]
        if plan is None:
            raise ValueError(f"Date index {index} lies outside the planned run: plan dates around every requested one.")
        shift = plan.shift

        first_in = stamps[0] if stamps else None
        last_out = stamps[-1] if stamps and stamps[-1] - stamps[0] >= self.double_scan_ms else None
        closing_ms = self.days.midnights[index + 1]
        if shift is not None:
            closing_ms = max(closing_ms, shift.window_end_ms)

        if now_ms < closing_ms:
            return _blank_figures(plan, Status.OPEN, first_in, last_out, len(stamps))
        if first_in is None:
            return _blank_figures(plan, _STATUS_WITHOUT_CHECKIN[plan.kind], None, None, 0)

        status = Status.PRESENT if last_out is not None else Status.MISSING_CHECKOUT
        return self._measured(index, plan, stamps, status, first_in, last_out)

    def _measured(
        self, index: int, plan: DatePlan, stamps: list[int], status: Status, first_in: int, last_out: int | None
    ) -> DayFigures:
        shift = plan.shift
        at_work = self._time_at_work(stamps, last_out)
        if shift is not None and shift.break_begin_ms is not None and shift.break_end_ms is not None:
            at_work = _cut(at_work, shift.break_begin_ms, shift.break_end_ms)

        holidays = self._holiday_spans(index)
        if holidays:
            on_holiday = _intersect(at_work, holidays)
            off_holiday = _subtract(at_work, holidays)
        else:
            on_holiday, off_holiday = [], at_work
        nights = self._night_spans(index)

        worked_ms = holiday_inside_ms = 0
        workday_overtime: list[Interval] = []
        dayoff_overtime: list[Interval] = []
        if plan.kind is DateKind.WORK and shift is not None:
            worked_ms = _overlap(off_holiday, shift.begin_ms, shift.end_ms)
            holiday_inside_ms = _overlap(on_holiday, shift.begin_ms, shift.end_ms)
            workday_overtime = _clip(off_holiday, shift.end_ms, _FOREVER_MS)
            if self.policy.count_early_overtime:
                workday_overtime = _clip(off_holiday, -_FOREVER_MS, shift.begin_ms) + workday_overtime
        else:
            dayoff_overtime = off_holiday

        kinds = [self._overtime(spans, nights) for spans in (workday_overtime, dayoff_overtime, on_holiday)]
        overtime_minutes = kinds[0].minutes + kinds[1].minutes + kinds[2].minutes
        late, early = self._late_and_early(plan, first_in, last_out)
        workday = self._workday(plan, status, (worked_ms + holiday_inside_ms) // MINUTE_MS)
        at_work_minutes = _length(at_work) // MINUTE_MS

        return DayFigures(
            date=plan.date,
            kind=plan.kind,
            holiday_kind=plan.holiday_kind,
            on_weekday=plan.on_weekday,
            status=status,
            **self._shift_fields(index, plan),
            first_in_ms=first_in,
            last_out_ms=last_out,
            checkin_count=len(stamps),
            time_at_work_minutes=at_work_minutes,
            late_minutes=late,
            early_leave_minutes=early,
            worked_minutes=worked_ms // MINUTE_MS,
            overtime_workday_minutes=kinds[0].minutes,
            overtime_dayoff_minutes=kinds[1].minutes,
            overtime_holiday_minutes=kinds[2].minutes,
            overtime_minutes=overtime_minutes,
            overtime_night_minutes=kinds[0].night_minutes + kinds[1].night_minutes + kinds[2].night_minutes,
            night_minutes=_overlap_all(at_work, nights) // MINUTE_MS,
            workday=workday,
            needs_explanation=status is Status.MISSING_CHECKOUT,
            overtime_over_daily_cap=self._over_daily_cap(plan, overtime_minutes, holiday_inside_ms, at_work_minutes),
        )

    def _shift_fields(self, index: int, plan: DatePlan) -> dict[str, object]:
        fields = self.shift_fields.get(index)
        if fields is None:
            fields = _shift_fields(plan)
            self.shift_fields[index] = fields
        return fields

    def _time_at_work(self, stamps: list[int], last_out: int | None) -> list[Interval]:
        """Return time at work before the break is taken out: the span, or the union of pairs."""
        if last_out is None:
            return []
        if not self.pairs:
            return [(stamps[0], last_out)]

        kept: list[int] = []
        for stamp in stamps:
            if kept and stamp - kept[-1] < self.double_scan_ms:
                continue
            kept.append(stamp)
        return [(kept[position], kept[position + 1]) for position in range(0, len(kept) - 1, 2)]

    def _holiday_spans(self, index: int) -> list[Interval]:
        """Return the public-holiday calendar dates around date `index` as spans of instants."""
        spans: list[Interval] = []
        for near in range(index - 1, index + 3):
            if self.holidays[near]:
                spans.append((self.days.midnights[near], self.days.midnights[near + 1]))
        return _merge(spans) if spans else spans

    def _night_spans(self, index: int) -> list[Interval]:
        """Return the night hours (default 22:00–06:00) that touch the shift or date `index`."""
        return [self._night(near) for near in range(index - 1, index + 2)]

    def _night(self, index: int) -> Interval:
        """Return the night that begins on date `index`."""
        night = self.nights.get(index)
        if night is None:
            begin = self.policy.night_begin
            end = self.policy.night_end if self.policy.night_end > begin else self.policy.night_end + MINUTES_PER_DAY
            night = (self.days.instant(index, begin), self.days.instant(index, end))
            self.nights[index] = night
        return night

    def _overtime(self, spans: list[Interval], nights: list[Interval]) -> _Overtime:
        """Count one overtime kind: nothing under the floor, else rounded down to the step."""
        if not spans:
            return _NO_OVERTIME
        minutes = _length(spans) // MINUTE_MS
        if minutes < self.policy.overtime_floor_minutes:
            return _NO_OVERTIME
        step = self.policy.overtime_step_minutes
        if step > 0:
            minutes -= minutes % step
        night = _overlap_all(spans, nights) // MINUTE_MS
        return _Overtime(minutes, min(night, minutes))

    def _late_and_early(self, plan: DatePlan, first_in: int, last_out: int | None) -> tuple[int, int]:
        """Return late and early-leave minutes: 0 within the grace, never more than the shift's length."""
        shift = plan.shift
        if plan.kind is not DateKind.WORK or shift is None:
            return 0, 0
        length = (shift.end_ms - shift.begin_ms) // MINUTE_MS

        late = max(0, first_in - shift.begin_ms) // MINUTE_MS
        if late <= self.policy.late_grace_minutes:
            late = 0

        early = 0
        if last_out is not None:
            early = max(0, shift.end_ms - last_out) // MINUTE_MS
            if early <= self.policy.early_grace_minutes:
                early = 0

        return min(late, length), min(early, length)

    def _workday(self, plan: DatePlan, status: Status, credited_minutes: int) -> float:
        """Return the workday credit (ngày công) of a `work` date; every other date earns 0."""
        shift = plan.shift
        if plan.kind is not DateKind.WORK or shift is None:
            return 0.0
        if status is Status.MISSING_CHECKOUT:
            return shift.workday * self.policy.missing_checkout_fraction
        normal = shift.normal_minutes
        if credited_minutes >= self.policy.full_day_ratio * normal:
            return shift.workday
        if credited_minutes >= self.policy.half_day_ratio * normal:
            return shift.workday / 2
        return 0.0

    def _over_daily_cap(
        self, plan: DatePlan, overtime_minutes: int, holiday_inside_ms: int, at_work_minutes: int
    ) -> bool:
        """Return whether the date's overtime passes the legal daily cap.

        On a work date the cap is half the shift's normal minutes. Holiday overtime
        inside the shift is normal hours paid as holiday, so it is not extra time.
        On a rest day or holiday the cap is 12 hours of work in all.
        """
        shift = plan.shift
        if plan.kind is DateKind.WORK and shift is not None:
            extra = max(0, overtime_minutes - holiday_inside_ms // MINUTE_MS)
            return 2 * extra > shift.normal_minutes
        return at_work_minutes > REST_OR_HOLIDAY_CAP_MINUTES


_NO_OVERTIME = _Overtime(0, 0)

_STATUS_WITHOUT_CHECKIN = {
    DateKind.HOLIDAY: Status.HOLIDAY,
    DateKind.REST: Status.DAY_OFF,
    DateKind.WORK: Status.ABSENT,
}


def _shift_fields(plan: DatePlan) -> dict[str, object]:
    shift = plan.shift
    return {
        "shift_source": shift.source if shift is not None else ShiftSource.NONE,
        "shift_begin_ms": shift.begin_ms if shift is not None else None,
        "shift_end_ms": shift.end_ms if shift is not None else None,
        "shift_workday": shift.workday if shift is not None else 0.0,
        "shift_normal_minutes": shift.normal_minutes if shift is not None else 0,
        "office_location": plan.office_location,
        "conflict": plan.conflict,
    }


def _blank_figures(
    plan: DatePlan, status: Status, first_in: int | None, last_out: int | None, checkin_count: int
) -> DayFigures:
    """Return a date with every measured figure 0: no check-in, or still `open`."""
    return DayFigures(
        date=plan.date,
        kind=plan.kind,
        holiday_kind=plan.holiday_kind,
        on_weekday=plan.on_weekday,
        status=status,
        **_shift_fields(plan),
        first_in_ms=first_in,
        last_out_ms=last_out,
        checkin_count=checkin_count,
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


# ---------------------------------------------------------------------------------------
# Spans of instants: sorted, disjoint, half-open; a handful per date


def _length(spans: list[Interval]) -> int:
    return sum(end - begin for begin, end in spans)


def _overlap(spans: list[Interval], low: int, high: int) -> int:
    """Return how many ms of `spans` lie within [low, high)."""
    total = 0
    for begin, end in spans:
        if begin < low:
            begin = low
        if end > high:
            end = high
        if begin < end:
            total += end - begin
    return total


def _overlap_all(spans: list[Interval], cuts: list[Interval]) -> int:
    return sum(_overlap(spans, low, high) for low, high in cuts)


def _clip(spans: list[Interval], low: int, high: int) -> list[Interval]:
    """Return the parts of `spans` within [low, high)."""
    clipped = []
    for begin, end in spans:
        begin = max(begin, low)
        end = min(end, high)
        if begin < end:
            clipped.append((begin, end))
    return clipped


def _cut(spans: list[Interval], low: int, high: int) -> list[Interval]:
    """Return `spans` without [low, high)."""
    result = []
    for begin, end in spans:
        if end <= low or high <= begin:
            result.append((begin, end))
            continue
        if begin < low:
            result.append((begin, low))
        if high < end:
            result.append((high, end))
    return result


def _merge(spans: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for begin, end in sorted(spans):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


def _intersect(spans: list[Interval], cuts: list[Interval]) -> list[Interval]:
    result = []
    for begin, end in spans:
        for cut_begin, cut_end in cuts:
            low = max(begin, cut_begin)
            high = min(end, cut_end)
            if low < high:
                result.append((low, high))
    return sorted(result)


def _subtract(spans: list[Interval], cuts: list[Interval]) -> list[Interval]:
    result = []
    for begin, end in spans:
        pieces = [(begin, end)]
        for cut_begin, cut_end in cuts:
            next_pieces = []
            for low, high in pieces:
                if cut_end <= low or high <= cut_begin:
                    next_pieces.append((low, high))
                    continue
                if low < cut_begin:
                    next_pieces.append((low, cut_begin))
                if cut_end < high:
                    next_pieces.append((cut_end, high))
            pieces = next_pieces
        result.extend(pieces)
    return result


# ---------------------------------------------------------------------------------------
# Public entry points


def compute_days(
    checkins: Sequence[Checkin],
    dates: Iterable[dt.date],
    policy: AttendancePolicy,
    calendar: Calendar,
    now_ms: int,
    *,
    user_id: str | None = None,
) -> list[DayFigures]:
    """Return the figures of each of `dates`, in the order given, for one employee.

    `checkins` must cover at least three days before to three days after every
    requested date. More is allowed and changes nothing, except that an older
    check-in still gives the office of a date when no newer one carries an office.
    `now_ms` decides which dates are still `open`. `user_id` selects the shift
    assigned to the employee in config; without it user assignments are skipped.
    """
    dates = list(dates)
    if not dates:
        return []
    run = _Run(checkins, min(dates), max(dates), policy, calendar, user_id)

    by_date: dict[int, list[int]] = {}
    for scan, index in zip(run.scans, _attribute_scans(run.days, run.plans, run.scans)):
        by_date.setdefault(index, []).append(scan.timestamp_ms)

    context = _FigureContext(policy, run.days, run.plans)
    results = []
    for date in dates:
        index = run.days.index_of_date(date)
        results.append(context.figures(index, by_date.get(index, []), now_ms))
    return results


def plan_dates(
    checkins: Sequence[Checkin],
    first: dt.date,
    last: dt.date,
    policy: AttendancePolicy,
    calendar: Calendar,
    *,
    user_id: str | None = None,
) -> list[DatePlan]:
    """Return the kind, shift, office and conflicts of each date from `first` to `last`.

    `checkins` must cover the same days as for `compute_days`.
    """
    run = _Run(checkins, first, last, policy, calendar, user_id)
    plans = [run.plans[run.days.index_of_date(first) + offset] for offset in range((last - first).days + 1)]
    return [plan for plan in plans if plan is not None]


class _Run:
    """The dates around first..last with their plans, and the check-ins that decide them.

    `scans` are the CHECKINs from three days before `first` to three days after
    `last`; every check-in up to then can give a date its office.
    """

    def __init__(
        self,
        checkins: Sequence[Checkin],
        first: dt.date,
        last: dt.date,
        policy: AttendancePolicy,
        calendar: Calendar,
        user_id: str | None,
    ) -> None:
        all_scans, invalid = _prepare(checkins)
        _warn_invalid(invalid)

        self.days = _days_around(ZoneInfo(policy.timezone), first, last, _MARGIN_DAYS)
        near_begin_ms = self.days.midnights[_MARGIN_DAYS - NEIGHBOUR_DAYS]
        near_end_ms = self.days.midnights[len(self.days) - _MARGIN_DAYS + NEIGHBOUR_DAYS]
        self.scans = [scan for scan in all_scans if near_begin_ms <= scan.timestamp_ms < near_end_ms]
        self.plans = _Planner(policy, calendar, user_id, self.days).plan(self.scans, all_scans)


def compute_day(
    checkins: Sequence[Checkin],
    date: dt.date,
    policy: AttendancePolicy,
    calendar: Calendar,
    now_ms: int,
    *,
    user_id: str | None = None,
) -> DayFigures:
    """Return the figures of one date; see `compute_days`."""
    return compute_days(checkins, [date], policy, calendar, now_ms, user_id=user_id)[0]
