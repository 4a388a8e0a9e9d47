"""Tests for the figures of one work date: status, time at work, late, overtime, night, workday."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest
from rules_helpers import POLICY, at, day, edits, figures, local, policy, scan, scans, shift

from jobs.calendar import Calendar
from jobs.figures import Checkin, DateKind, HolidayKind, Status
from jobs.policy import HoursMethod
from jobs.rules import compute_days

PAIRS = policy(hours_method=HoursMethod.PAIRS)


# first_in, last_out and status


def test_present_with_first_in_and_last_out() -> None:
    result = figures(scans("2026-11-23 07:55", "2026-11-23 17:03"), "2026-11-23")

    assert result.status is Status.PRESENT
    assert local(result.first_in_ms) == "2026-11-23 07:55:00"
    assert local(result.last_out_ms) == "2026-11-23 17:03:00"
    assert result.checkin_count == 2
    assert result.needs_explanation is False


@pytest.mark.parametrize(
    ("second", "status"),
    [("2026-11-23 08:04:59.999", Status.MISSING_CHECKOUT), ("2026-11-23 08:05:00", Status.PRESENT)],
)
def test_double_scan_under_five_minutes_is_no_checkout(second: str, status: Status) -> None:
    result = figures(scans("2026-11-23 08:00", second), "2026-11-23")

    assert result.status is status
    assert result.checkin_count == 2


def test_missing_checkout_needs_explanation_and_earns_nothing() -> None:
    result = figures(scans("2026-11-23 07:58", "2026-11-23 08:01"), "2026-11-23")

    assert result.status is Status.MISSING_CHECKOUT
    assert result.last_out_ms is None
    assert result.needs_explanation is True
    assert result.workday == 0.0
    assert result.time_at_work_minutes == 0
    assert result.worked_minutes == 0
    assert result.early_leave_minutes == 0


def test_missing_checkout_earns_configured_fraction() -> None:
    rules = policy(missing_checkout_fraction=0.5)

    assert figures(scans("2026-11-23 07:58"), "2026-11-23", rules).workday == 0.5


def test_missing_checkout_on_rest_day() -> None:
    rules = policy(missing_checkout_fraction=0.5)
    result = figures(scans("2026-11-29 09:00"), "2026-11-29", rules)

    assert result.status is Status.MISSING_CHECKOUT
    assert result.workday == 0.0
    assert result.needs_explanation is True


def test_missing_checkout_still_records_late() -> None:
    assert figures(scans("2026-11-23 08:20"), "2026-11-23").late_minutes == 20


# open dates


@pytest.mark.parametrize(
    ("now", "status"),
    [
        ("2026-11-23 23:59:59.999", Status.OPEN),
        ("2026-11-24 00:00:00", Status.PRESENT),
    ],
)
def test_open_until_end_of_date(now: str, status: Status) -> None:
    result = figures(scans("2026-11-23 08:00", "2026-11-23 17:00"), "2026-11-23", now_ms=at(now))

    assert result.status is status


@pytest.mark.parametrize(
    ("now", "status"),
    [
        ("2026-11-26 11:59:59.999", Status.OPEN),
        ("2026-11-26 12:00:00", Status.PRESENT),
    ],
)
def test_open_until_end_of_night_shift_window(now: str, status: Status) -> None:
    checkins = [scan("2026-11-25 21:55", group=(2200, 600)), scan("2026-11-26 06:02")]

    assert figures(checkins, "2026-11-25", now_ms=at(now)).status is status


def test_open_date_counts_in_no_total() -> None:
    result = figures(scans("2026-11-23 08:30", "2026-11-23 19:00"), "2026-11-23", now_ms=at("2026-11-23 20:00"))

    assert result.status is Status.OPEN
    assert local(result.first_in_ms) == "2026-11-23 08:30:00"
    assert result.checkin_count == 2
    assert result.late_minutes == 0
    assert result.worked_minutes == 0
    assert result.overtime_minutes == 0
    assert result.workday == 0.0


def test_open_date_without_checkins_is_open_not_absent() -> None:
    assert figures([], "2026-11-23", now_ms=at("2026-11-23 12:00")).status is Status.OPEN


def test_future_date_is_open() -> None:
    assert figures([], "2026-12-01", now_ms=at("2026-11-23 12:00")).status is Status.OPEN


# time at work and worked minutes


def test_worked_minutes_exclude_break_and_time_outside_shift() -> None:
    result = figures(scans("2026-11-23 07:30", "2026-11-23 17:20"), "2026-11-23")

    assert result.time_at_work_minutes == 590 - 60
    assert result.worked_minutes == 480


def test_durations_floored_once_from_milliseconds() -> None:
    result = figures(scans("2026-11-23 08:00:00.500", "2026-11-23 16:59:59.999"), "2026-11-23")

    assert result.worked_minutes == 479
    assert result.early_leave_minutes == 0


def test_pairs_method_sums_pairs_and_skips_break() -> None:
    checkins = scans("2026-11-23 08:00", "2026-11-23 11:30", "2026-11-23 13:30", "2026-11-23 17:00")
    result = figures(checkins, "2026-11-23", PAIRS)

    assert result.time_at_work_minutes == 210 + 210
    assert result.worked_minutes == 420
    assert result.status is Status.PRESENT


def test_pairs_method_drops_double_scans_before_pairing() -> None:
    checkins = scans("2026-11-23 08:00", "2026-11-23 08:03", "2026-11-23 12:00", "2026-11-23 13:00", "2026-11-23 17:00")
    result = figures(checkins, "2026-11-23", PAIRS)

    # Without dropping 08:03 the pairs would be 08:00–08:03 and 12:00–13:00 (the break).
    assert result.time_at_work_minutes == 480
    assert result.checkin_count == 5


def test_pairs_method_unpaired_last_checkin_adds_nothing() -> None:
    checkins = scans("2026-11-23 08:00", "2026-11-23 12:00", "2026-11-23 13:00")
    result = figures(checkins, "2026-11-23", PAIRS)

    assert result.time_at_work_minutes == 240
    assert result.status is Status.PRESENT
    assert result.early_leave_minutes == 240


def test_first_last_method_counts_the_gap() -> None:
    checkins = scans("2026-11-23 08:00", "2026-11-23 10:00", "2026-11-23 15:00", "2026-11-23 17:00")

    assert figures(checkins, "2026-11-23").worked_minutes == 480


# late and early leave


@pytest.mark.parametrize(
    ("first_in", "late"),
    [
        ("2026-11-23 08:05:59", 0),
        ("2026-11-23 08:05:00", 0),
        ("2026-11-23 08:06:00", 6),
        ("2026-11-23 08:07:00", 7),
        ("2026-11-23 07:30:00", 0),
        ("2026-11-23 13:30:00", 330),
    ],
)
def test_late_minutes_with_grace(first_in: str, late: int) -> None:
    assert figures(scans(first_in, "2026-11-23 17:00"), "2026-11-23").late_minutes == late


def test_late_never_more_than_shift_length() -> None:
    assert figures(scans("2026-11-23 19:00", "2026-11-23 22:00"), "2026-11-23").late_minutes == 540


@pytest.mark.parametrize(
    ("last_out", "early"),
    [
        ("2026-11-23 16:54:00.001", 0),
        ("2026-11-23 16:55:00", 0),
        ("2026-11-23 16:54:00", 6),
        ("2026-11-23 16:53:00", 7),
        ("2026-11-23 17:30:00", 0),
    ],
)
def test_early_leave_minutes_with_grace(last_out: str, early: int) -> None:
    assert figures(scans("2026-11-23 08:00", last_out), "2026-11-23").early_leave_minutes == early


def test_early_leave_never_more_than_shift_length() -> None:
    assert figures(scans("2026-11-23 06:00", "2026-11-23 07:00"), "2026-11-23").early_leave_minutes == 540


def test_configured_graces_apply() -> None:
    rules = policy(late_grace_minutes=10, early_grace_minutes=0)
    result = figures(scans("2026-11-23 08:10", "2026-11-23 16:59"), "2026-11-23", rules)

    assert result.late_minutes == 0
    assert result.early_leave_minutes == 1


# overtime


@pytest.mark.parametrize(
    ("last_out", "overtime"),
    [
        ("2026-11-23 17:29:59", 0),
        ("2026-11-23 17:30:00", 30),
        ("2026-11-23 17:44:59", 30),
        ("2026-11-23 17:45:00", 45),
        ("2026-11-23 19:14:00", 120),
    ],
)
def test_overtime_floor_and_step(last_out: str, overtime: int) -> None:
    result = figures(scans("2026-11-23 08:00", last_out), "2026-11-23")

    assert result.overtime_workday_minutes == overtime
    assert result.overtime_minutes == overtime


def test_early_arrival_not_overtime_by_default() -> None:
    result = figures(scans("2026-11-23 06:00", "2026-11-23 17:00"), "2026-11-23")

    assert result.overtime_minutes == 0
    assert result.time_at_work_minutes == 600


def test_early_arrival_overtime_when_configured() -> None:
    rules = policy(count_early_overtime=True)
    result = figures(scans("2026-11-23 06:00", "2026-11-23 17:20"), "2026-11-23", rules)

    assert result.overtime_workday_minutes == 135


def test_overtime_floor_per_kind_not_per_side() -> None:
    # 20 min before and 20 min after count together for the workday kind.
    rules = policy(count_early_overtime=True)

    assert figures(scans("2026-11-23 07:40", "2026-11-23 17:20"), "2026-11-23", rules).overtime_workday_minutes == 30


def test_configured_floor_and_step_apply() -> None:
    rules = policy(overtime_floor_minutes=60, overtime_step_minutes=30)

    assert figures(scans("2026-11-23 08:00", "2026-11-23 17:59"), "2026-11-23", rules).overtime_minutes == 0
    assert figures(scans("2026-11-23 08:00", "2026-11-23 19:29"), "2026-11-23", rules).overtime_minutes == 120


def test_rest_day_overtime_dayoff() -> None:
    result = figures(scans("2026-11-29 09:00", "2026-11-29 12:10"), "2026-11-29")

    assert result.kind is DateKind.REST
    assert result.status is Status.PRESENT
    assert result.overtime_dayoff_minutes == 180
    assert result.overtime_workday_minutes == 0
    assert result.worked_minutes == 0
    assert result.late_minutes == 0
    assert result.early_leave_minutes == 0
    assert result.workday == 0.0


def test_holiday_overtime_less_break() -> None:
    result = figures(scans("2026-11-24 08:30", "2026-11-24 17:00"), "2026-11-24")

    assert result.kind is DateKind.HOLIDAY
    assert result.status is Status.PRESENT
    assert result.overtime_holiday_minutes == 450
    assert result.worked_minutes == 0
    assert result.late_minutes == 0
    assert result.workday == 0.0


def test_holiday_on_rest_day_without_shift_counts_span() -> None:
    result = figures(scans("2026-04-26 09:00", "2026-04-26 11:00"), "2026-04-26")

    assert result.kind is DateKind.HOLIDAY
    assert result.overtime_holiday_minutes == 120


def test_night_shift_into_holiday_keeps_credit() -> None:
    checkins = [scan("2026-11-23 21:55", group=(2200, 600)), scan("2026-11-24 06:05")]
    result = figures(checkins, "2026-11-23")

    assert result.kind is DateKind.WORK
    assert result.status is Status.PRESENT
    assert result.worked_minutes == 120
    assert result.overtime_holiday_minutes == 360
    assert result.overtime_workday_minutes == 0
    assert result.overtime_night_minutes == 360
    assert result.night_minutes == 480
    assert result.workday == 1.0
    assert result.overtime_over_daily_cap is False


def test_night_shift_leaving_holiday() -> None:
    checkins = [scan("2026-11-24 21:58", group=(2200, 600)), scan("2026-11-25 06:00")]
    result = figures(checkins, "2026-11-24")

    assert result.kind is DateKind.HOLIDAY
    assert result.overtime_holiday_minutes == 120
    assert result.overtime_dayoff_minutes == 360
    assert result.overtime_minutes == 480


def test_holiday_overtime_under_floor_counts_nothing() -> None:
    # The night of 23/11 ends 20 min into the holiday: too little to count.
    checkins = [scan("2026-11-23 22:00", group=(2200, 600)), scan("2026-11-24 00:20")]
    result = figures(checkins, "2026-11-23")

    assert result.overtime_holiday_minutes == 0
    assert result.worked_minutes == 120
    assert result.early_leave_minutes == 340


def test_makeup_day_counts_like_work_day() -> None:
    rules = policy(holidays=edits(makeup_work_days={day("2026-11-29"): 1}))
    result = figures(scans("2026-11-29 08:00", "2026-11-29 17:40"), "2026-11-29", rules)

    assert result.kind is DateKind.WORK
    assert result.worked_minutes == 480
    assert result.overtime_workday_minutes == 30
    assert result.workday == 1.0


# night minutes and night overtime


def test_night_minutes_between_22_and_06() -> None:
    checkins = [scan("2026-11-25 18:00", group=(1800, 200)), scan("2026-11-26 02:00")]
    result = figures(checkins, "2026-11-25")

    assert result.night_minutes == 240
    assert result.overtime_minutes == 0


def test_night_overtime_is_night_part_of_each_kind() -> None:
    result = figures(scans("2026-11-23 08:00", "2026-11-23 23:00"), "2026-11-23")

    assert result.overtime_workday_minutes == 360
    assert result.overtime_night_minutes == 60
    assert result.night_minutes == 60


def test_night_overtime_capped_at_counted_kind() -> None:
    # Rest day 21:50–22:30: 40 min at work counts 30 of overtime, of which 30 at night.
    result = figures(scans("2026-11-29 21:50", "2026-11-29 22:31"), "2026-11-29")

    assert result.overtime_dayoff_minutes == 30
    assert result.night_minutes == 31
    assert result.overtime_night_minutes == 30


def test_night_overtime_of_kind_under_floor_is_zero() -> None:
    result = figures(scans("2026-11-23 08:00", "2026-11-23 17:29"), "2026-11-23")

    assert result.overtime_night_minutes == 0


# workday credit


@pytest.mark.parametrize(
    ("first_in", "last_out", "workday"),
    [
        ("2026-11-23 08:00", "2026-11-23 15:00", 1.0),
        ("2026-11-23 08:00", "2026-11-23 14:59", 0.5),
        ("2026-11-23 08:00", "2026-11-23 11:00", 0.5),
        ("2026-11-23 08:00", "2026-11-23 10:59", 0.0),
        ("2026-11-23 13:00", "2026-11-23 17:00", 0.5),
    ],
)
def test_workday_thresholds(first_in: str, last_out: str, workday: float) -> None:
    assert figures(scans(first_in, last_out), "2026-11-23").workday == workday


def test_workday_scales_with_shift_value() -> None:
    rules = policy(user_shifts={"u1": shift(800, 1200, workday=0.5)})

    assert figures(scans("2026-11-23 08:00", "2026-11-23 12:00"), "2026-11-23", rules, user_id="u1").workday == 0.5
    assert figures(scans("2026-11-23 08:00", "2026-11-23 10:00"), "2026-11-23", rules, user_id="u1").workday == 0.25


def test_workday_zero_when_absent() -> None:
    result = figures([], "2026-11-23")

    assert result.status is Status.ABSENT
    assert result.workday == 0.0


# the daily overtime cap


@pytest.mark.parametrize(
    ("last_out", "over"),
    [("2026-11-23 21:00", False), ("2026-11-23 21:15", True)],
)
def test_daily_cap_work_day(last_out: str, over: bool) -> None:
    assert figures(scans("2026-11-23 08:00", last_out), "2026-11-23").overtime_over_daily_cap is over


@pytest.mark.parametrize(
    ("last_out", "over"),
    [("2026-11-29 20:00", False), ("2026-11-29 20:01", True)],
)
def test_daily_cap_rest_day(last_out: str, over: bool) -> None:
    assert figures(scans("2026-11-29 08:00", last_out), "2026-11-29").overtime_over_daily_cap is over


# input order, copies, neighbours and zones


def test_order_of_checkins_never_changes_figures() -> None:
    checkins = [
        scan("2026-11-22 21:55", group=(2200, 600)),
        scan("2026-11-23 06:02"),
        scan("2026-11-23 21:58"),
        scan("2026-11-24 06:01"),
        scan("2026-11-24 21:57"),
        scan("2026-11-25 06:30"),
    ]
    dates = [day("2026-11-22"), day("2026-11-23"), day("2026-11-24"), day("2026-11-25")]
    expected = compute_days(checkins, dates, POLICY, Calendar(POLICY), at("2026-12-01 00:00"))
    for seed in range(5):
        shuffled = list(checkins)
        random.Random(seed).shuffle(shuffled)

        assert compute_days(shuffled, dates, POLICY, Calendar(POLICY), at("2026-12-01 00:00")) == expected


def test_late_arriving_copy_changes_nothing() -> None:
    checkins = scans("2026-11-23 07:55", "2026-11-23 17:03")

    assert figures(checkins + [checkins[0]], "2026-11-23") == figures(checkins, "2026-11-23")


def test_checkins_beyond_three_days_change_nothing() -> None:
    near = scans("2026-11-23 07:55", "2026-11-23 17:03")
    far = [scan("2026-11-19 21:00", group=(2100, 500)), scan("2026-11-27 07:30", group=(730, 1530))]

    assert figures(near + far, "2026-11-23") == figures(near, "2026-11-23")


def test_compute_days_keeps_requested_order() -> None:
    dates = [day("2026-11-25"), day("2026-11-23"), day("2026-11-24")]
    results = compute_days([], dates, POLICY, Calendar(POLICY), at("2026-12-01 00:00"))

    assert [result.date for result in results] == dates


def test_compute_days_of_nothing_is_empty() -> None:
    assert compute_days([], [], POLICY, Calendar(POLICY), at("2026-12-01 00:00")) == []


def test_dates_follow_policy_zone_not_machine_zone() -> None:
    # 00:30 in Hanoi is 17:30 UTC the day before.
    result = figures(scans("2026-11-24 00:30", "2026-11-24 02:00"), "2026-11-24")

    assert result.checkin_count == 2
    assert result.kind is DateKind.HOLIDAY
    assert result.holiday_kind is HolidayKind.STATUTORY


def test_durations_are_real_across_daylight_saving_change() -> None:
    # Berlin leaves summer time at 03:00 on 25/10/2026, so 22:00–06:00 lasts 9 h.
    berlin = ZoneInfo("Europe/Berlin")
    rules = policy(timezone="Europe/Berlin", default_shift=shift(2200, 600), work_days=frozenset(range(1, 8)))

    def at_berlin(text: str) -> int:
        return int(dt.datetime.fromisoformat(text).replace(tzinfo=berlin).timestamp() * 1000)

    checkins = [Checkin(at_berlin("2026-10-24 22:00")), Checkin(at_berlin("2026-10-25 06:00"))]
    result = compute_days(checkins, [day("2026-10-24")], rules, Calendar(rules), at("2027-01-01 00:00"))[0]

    assert result.shift_normal_minutes == 540
    assert result.worked_minutes == 540
    assert result.night_minutes == 540
