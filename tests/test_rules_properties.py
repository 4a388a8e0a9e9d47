"""Properties of the rules over generated weeks of check-ins: order, copies, neighbours, counts."""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rules_helpers import POLICY, at, policy, shift

from jobs.calendar import Calendar
from jobs.figures import Checkin, WorkingGroup
from jobs.policy import AttendancePolicy, HoursMethod
from jobs.rules import attribute, compute_days

NOW_MS = at("2027-01-01 00:00")
START_MS = at("2026-11-16 00:00")
"""Monday; the generated check-ins fall in the three weeks from here, holiday 24/11 included."""
SPAN_MS = 21 * 86_400_000
DATES = [dt.date(2026, 11, 13) + dt.timedelta(days=offset) for offset in range(28)]

working_groups = st.one_of(
    st.none(),
    st.sampled_from([WorkingGroup(480, 1020), WorkingGroup(1320, 360), WorkingGroup(1140, 420), WorkingGroup(30, 510)]),
)
checkins = st.builds(
    Checkin,
    timestamp_ms=st.integers(min_value=START_MS, max_value=START_MS + SPAN_MS),
    working_group=working_groups,
    office_location=st.sampled_from([None, "Hà Nội", "Đà Nẵng"]),
)
weeks = st.lists(checkins, min_size=1, max_size=40)

POLICIES = st.sampled_from(
    [
        POLICY,
        policy(hours_method=HoursMethod.PAIRS, count_early_overtime=True),
        policy(default_shift=shift(2200, 600, (200, 245)), work_days=frozenset(range(1, 8))),
        policy(window_before_minutes=360, window_after_minutes=600, default_shift=shift(1900, 700)),
        policy(office_shifts={"Đà Nẵng": shift(900, 1800, (1200, 1300), weekdays=frozenset({1, 2, 3, 4, 5}))}),
    ]
)

PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(weeks, POLICIES, st.randoms(use_true_random=False))
def test_order_and_copies_never_change_figures(week: list[Checkin], rules: AttendancePolicy, random) -> None:
    calendar = Calendar(rules)
    expected = compute_days(week, DATES, rules, calendar, NOW_MS)
    shuffled = week + week[: len(week) // 2]
    random.shuffle(shuffled)

    assert compute_days(shuffled, DATES, rules, calendar, NOW_MS) == expected


@PROPERTY_SETTINGS
@given(weeks, POLICIES)
def test_every_checkin_counts_on_exactly_one_date(week: list[Checkin], rules: AttendancePolicy) -> None:
    figures = compute_days(week, DATES, rules, Calendar(rules), NOW_MS)
    distinct = {checkin.timestamp_ms for checkin in week}

    assert sum(day.checkin_count for day in figures) == len(distinct)


@PROPERTY_SETTINGS
@given(weeks, POLICIES)
def test_attribute_agrees_with_compute_days(week: list[Checkin], rules: AttendancePolicy) -> None:
    calendar = Calendar(rules)
    ordered = sorted(week, key=lambda checkin: checkin.timestamp_ms)
    counts: dict[dt.date, set[int]] = {}
    for checkin, date in zip(ordered, attribute(ordered, rules, calendar)):
        counts.setdefault(date, set()).add(checkin.timestamp_ms)

    for day in compute_days(week, DATES, rules, calendar, NOW_MS):
        assert day.checkin_count == len(counts.get(day.date, set()))


@PROPERTY_SETTINGS
@given(weeks, POLICIES, st.integers(min_value=0, max_value=len(DATES) - 1))
def test_single_date_equals_range(week: list[Checkin], rules: AttendancePolicy, position: int) -> None:
    calendar = Calendar(rules)
    date = DATES[position]

    assert compute_days(week, [date], rules, calendar, NOW_MS) == [
        compute_days(week, DATES, rules, calendar, NOW_MS)[position]
    ]


@PROPERTY_SETTINGS
@given(weeks, POLICIES, st.integers(min_value=3, max_value=len(DATES) - 4))
def test_figures_depend_on_three_days_either_side_only(
    week: list[Checkin], rules: AttendancePolicy, position: int
) -> None:
    # Offices are the one exception (an older check-in can give a date its office),
    # so this property is checked without them.
    week = [dataclasses.replace(checkin, office_location=None) for checkin in week]
    calendar = Calendar(rules)
    date = DATES[position]
    low_ms = at(f"{date - dt.timedelta(days=3)} 00:00")
    high_ms = at(f"{date + dt.timedelta(days=4)} 00:00")
    near = [checkin for checkin in week if low_ms <= checkin.timestamp_ms < high_ms]

    assert compute_days(near, [date], rules, calendar, NOW_MS) == compute_days(week, [date], rules, calendar, NOW_MS)


@PROPERTY_SETTINGS
@given(weeks, POLICIES)
def test_figures_stay_within_their_bounds(week: list[Checkin], rules: AttendancePolicy) -> None:
    for day in compute_days(week, DATES, rules, Calendar(rules), NOW_MS):
        length = (day.shift_end_ms - day.shift_begin_ms) // 60_000 if day.shift_begin_ms is not None else 0

        assert day.worked_minutes <= day.shift_normal_minutes
        assert day.worked_minutes <= day.time_at_work_minutes
        assert day.late_minutes <= length
        assert day.early_leave_minutes <= length
        assert day.overtime_minutes == (
            day.overtime_workday_minutes + day.overtime_dayoff_minutes + day.overtime_holiday_minutes
        )
        assert day.overtime_minutes <= day.time_at_work_minutes
        assert day.overtime_night_minutes <= min(day.overtime_minutes, day.night_minutes)
        assert day.night_minutes <= day.time_at_work_minutes
        assert all(
            kind == 0 or (kind >= 30 and kind % 15 == 0)
            for kind in (day.overtime_workday_minutes, day.overtime_dayoff_minutes, day.overtime_holiday_minutes)
        )
        assert day.workday in {0.0, day.shift_workday / 2, day.shift_workday}
