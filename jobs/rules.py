"""The attendance rules: one employee's check-ins to the kind, shift and figures of each date.

Pure functions of their arguments: no database, clock or network. Instants are Unix
milliseconds; dates and clock times are local to `policy.timezone`, converted with
`zoneinfo` whatever the machine's zone. Durations are measured between real instants,
so a day with a daylight-saving change has its real length.

The steps, each decided once per call for every date the call needs:

1. the kind of each date (holiday, rest, work) and its shift, from the calendar, the
   config and the `working_group`s that check-ins point at the date (`jobs.shifts`);
2. the work date each check-in belongs to (its attribution), by the shifts' windows;
3. the figures of each requested date from the check-ins attributed to it.

Only CHECKIN deliveries count; other types in the input are ignored. Copies of one
check-in (same timestamp) count once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

from jobs import spans
from jobs.calendar import Calendar
from jobs.figures import Checkin, DateKind, DayFigures, ShiftSource, Status, WebhookType
from jobs.localdays import MINUTE_MS, MINUTES_PER_DAY, LocalDays, days_around
from jobs.policy import AttendancePolicy, HoursMethod
from jobs.shifts import DatePlan, PlacedShift, Planner, Scan, prepare_scans
from jobs.spans import Span

__all__ = ["DatePlan", "PlacedShift", "attribute", "compute_day", "compute_days", "plan_dates"]

logger = logging.getLogger(__name__)

NEIGHBOUR_DAYS = 3
"""A date's figures depend on check-ins from this many days before to this many after it."""

_FOREVER_MS = 2**62

_MARGIN_DAYS = NEIGHBOUR_DAYS + 2
"""Dates computed around the dates a call needs: shifts of date ± 2 decide attribution to date ± 1."""

REST_OR_HOLIDAY_CAP_MINUTES = 12 * 60
"""Maximum minutes of work in all on a rest day or holiday (Decree 145/2020, art. 60)."""


def _attribute_scans(days: LocalDays, plans: Sequence[DatePlan | None], scans: Sequence[Scan]) -> list[int]:
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
    scans, invalid = prepare_scans(checkins)
    _warn_invalid(invalid)

    stamps = [checkin.timestamp_ms for checkin in checkins]
    days = days_around(zone, _local_date(zone, min(stamps)), _local_date(zone, max(stamps)), _MARGIN_DAYS)
    plans = Planner(policy, calendar, user_id, days).plan(scans, scans)
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
        self.nights: dict[int, Span] = {}
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
            at_work = spans.cut(at_work, shift.break_begin_ms, shift.break_end_ms)

        holidays = self._holiday_spans(index)
        if holidays:
            on_holiday = spans.intersect(at_work, holidays)
            off_holiday = spans.subtract(at_work, holidays)
        else:
            on_holiday, off_holiday = [], at_work
        nights = self._night_spans(index)

        worked_ms = holiday_inside_ms = 0
        workday_overtime: list[Span] = []
        dayoff_overtime: list[Span] = []
        if plan.kind is DateKind.WORK and shift is not None:
            worked_ms = spans.overlap(off_holiday, shift.begin_ms, shift.end_ms)
            holiday_inside_ms = spans.overlap(on_holiday, shift.begin_ms, shift.end_ms)
            workday_overtime = spans.clip(off_holiday, shift.end_ms, _FOREVER_MS)
            if self.policy.count_early_overtime:
                workday_overtime = spans.clip(off_holiday, -_FOREVER_MS, shift.begin_ms) + workday_overtime
        else:
            dayoff_overtime = off_holiday

        kinds = [self._overtime(kind, nights) for kind in (workday_overtime, dayoff_overtime, on_holiday)]
        overtime_minutes = kinds[0].minutes + kinds[1].minutes + kinds[2].minutes
        late, early = self._late_and_early(plan, first_in, last_out)
        workday = self._workday(plan, status, (worked_ms + holiday_inside_ms) // MINUTE_MS)
        at_work_minutes = spans.length(at_work) // MINUTE_MS

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
            night_minutes=spans.overlap_all(at_work, nights) // MINUTE_MS,
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

    def _time_at_work(self, stamps: list[int], last_out: int | None) -> list[Span]:
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

    def _holiday_spans(self, index: int) -> list[Span]:
        """Return the public-holiday calendar dates around date `index` as spans of instants."""
        holiday_dates: list[Span] = []
        for near in range(index - 1, index + 3):
            if self.holidays[near]:
                holiday_dates.append((self.days.midnights[near], self.days.midnights[near + 1]))
        return spans.merge(holiday_dates) if holiday_dates else holiday_dates

    def _night_spans(self, index: int) -> list[Span]:
        """Return the night hours (default 22:00–06:00) that touch the shift or date `index`."""
        return [self._night(near) for near in range(index - 1, index + 2)]

    def _night(self, index: int) -> Span:
        """Return the night that begins on date `index`."""
        night = self.nights.get(index)
        if night is None:
            begin = self.policy.night_begin
            end = self.policy.night_end if self.policy.night_end > begin else self.policy.night_end + MINUTES_PER_DAY
            night = (self.days.instant(index, begin), self.days.instant(index, end))
            self.nights[index] = night
        return night

    def _overtime(self, kind: list[Span], nights: list[Span]) -> _Overtime:
        """Count one overtime kind: nothing under the floor, else rounded down to the step."""
        if not kind:
            return _NO_OVERTIME
        minutes = spans.length(kind) // MINUTE_MS
        if minutes < self.policy.overtime_floor_minutes:
            return _NO_OVERTIME
        step = self.policy.overtime_step_minutes
        if step > 0:
            minutes -= minutes % step
        night = spans.overlap_all(kind, nights) // MINUTE_MS
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
        all_scans, invalid = prepare_scans(checkins)
        _warn_invalid(invalid)

        self.days = days_around(ZoneInfo(policy.timezone), first, last, _MARGIN_DAYS)
        near_begin_ms = self.days.midnights[_MARGIN_DAYS - NEIGHBOUR_DAYS]
        near_end_ms = self.days.midnights[len(self.days) - _MARGIN_DAYS + NEIGHBOUR_DAYS]
        self.scans = [scan for scan in all_scans if near_begin_ms <= scan.timestamp_ms < near_end_ms]
        self.plans = Planner(policy, calendar, user_id, self.days).plan(self.scans, all_scans)


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
