"""Tests for which work date a check-in belongs to, and which date a working_group points at."""

from __future__ import annotations

import random

from rules_helpers import POLICY, at, day, event, figures, local, plan, policy, scan, scans, shift

from jobs.calendar import Calendar
from jobs.figures import ShiftSource, Status
from jobs.rules import attribute


def work_dates(checkins, rules=POLICY, user_id=None) -> list[str]:
    return [date.isoformat() for date in attribute(checkins, rules, Calendar(rules), user_id=user_id)]


def test_window_of_day_shift_is_closed_interval() -> None:
    placed = plan([], "2026-11-23").shift

    assert local(placed.window_begin_ms) == "2026-11-23 05:00:00"
    assert local(placed.window_end_ms) == "2026-11-23 23:00:00"
    assert placed.window_begin_ms == at("2026-11-23 05:00:00")
    assert placed.window_end_ms == at("2026-11-23 23:00:00")


def test_window_begin_edge_inside_and_one_ms_before() -> None:
    # The night before runs 13:00–01:00 (window to 07:00). At 05:00:00 both windows
    # contain the check-in and the day shift is nearer; one ms earlier only the
    # night's window does.
    night = scan("2026-11-22 12:55", group=(1300, 100))
    checkins = [night, scan("2026-11-23 05:00:00"), scan("2026-11-23 04:59:59.999")]

    assert work_dates(checkins) == ["2026-11-22", "2026-11-23", "2026-11-22"]


def test_window_end_edge_inside_and_one_ms_after() -> None:
    # With 6 h windows on both sides, the next date's 05:00 shift opens its window at
    # 23:00. At 23:00:00 both are 6 h away and the earlier date wins the tie; one ms
    # later only the next date's window contains the check-in.
    rules = policy(window_before_minutes=360)
    next_shift = scan("2026-11-24 05:30", group=(500, 1300))
    checkins = [scan("2026-11-23 23:00:00"), scan("2026-11-23 23:00:00.001"), next_shift]

    assert work_dates(checkins, rules) == ["2026-11-23", "2026-11-24", "2026-11-24"]


def test_window_end_past_midnight() -> None:
    rules = policy(default_shift=shift(800, 2000, (1200, 1300)))
    checkins = scans("2026-11-27 19:55", "2026-11-28 02:00:00", "2026-11-28 02:00:00.001")

    assert work_dates(checkins, rules) == ["2026-11-27", "2026-11-27", "2026-11-28"]


def test_checkin_in_no_window_belongs_to_own_date() -> None:
    assert work_dates(scans("2026-11-29 10:00", "2026-11-29 23:59:59", "2026-11-30 00:00")) == [
        "2026-11-29",
        "2026-11-29",
        "2026-11-30",
    ]


def test_night_then_day_shift_handover() -> None:
    checkins = [
        scan("2026-11-25 18:55", group=(1900, 700)),
        scan("2026-11-26 07:00:00"),
        scan("2026-11-26 07:01", group=(700, 1900)),
        scan("2026-11-26 19:02"),
    ]

    assert work_dates(checkins) == ["2026-11-25", "2026-11-25", "2026-11-26", "2026-11-26"]
    night = figures(checkins, "2026-11-25")
    assert local(night.last_out_ms) == "2026-11-26 07:00:00"
    day_after = figures(checkins, "2026-11-26")
    assert local(day_after.first_in_ms) == "2026-11-26 07:01:00"
    assert day_after.late_minutes == 0


def test_nearest_shift_wins_between_two_windows() -> None:
    # Night shift 22:00–06:00 then the default day: 06:10 is 10 min from the night's
    # end and 110 min from the day's begin.
    checkins = [scan("2026-11-23 21:55", group=(2200, 600)), scan("2026-11-24 06:10"), scan("2026-11-24 07:55")]

    assert work_dates(checkins) == ["2026-11-23", "2026-11-23", "2026-11-24"]


def test_tie_goes_to_earliest_date() -> None:
    # Night 19:00–07:00 and day 09:00–17:00 next date: 08:00 is 1 h from both.
    rules = policy(default_shift=shift(900, 1700, (1200, 1300)))
    checkins = [scan("2026-11-25 18:55", group=(1900, 700)), scan("2026-11-26 08:00")]

    assert work_dates(checkins, rules) == ["2026-11-25", "2026-11-25"]


def test_working_group_at_checkout_points_at_previous_night() -> None:
    checkins = [scan("2026-11-25 21:50"), scan("2026-11-26 06:10", group=(2200, 600))]
    placed = plan(checkins, "2026-11-25").shift

    assert local(placed.begin_ms) == "2026-11-25 22:00:00"
    assert work_dates(checkins) == ["2026-11-25", "2026-11-25"]


def test_working_group_after_midnight() -> None:
    checkins = [scan("2026-11-25 23:45", group=(30, 830)), scan("2026-11-26 08:40")]
    result = figures(checkins, "2026-11-26")

    assert work_dates(checkins) == ["2026-11-26", "2026-11-26"]
    assert local(result.shift_begin_ms) == "2026-11-26 00:30:00"
    assert local(result.shift_end_ms) == "2026-11-26 08:30:00"
    assert result.late_minutes == 0
    assert result.status is Status.PRESENT
    assert figures(checkins, "2026-11-25").status is Status.ABSENT


def test_working_group_outside_windows() -> None:
    checkins = [scan("2026-11-29 20:00", group=(800, 1000))]

    assert local(plan(checkins, "2026-11-29").shift.begin_ms) == "2026-11-29 08:00:00"


def test_working_group_prefers_own_date() -> None:
    # 08:00–23:00 has windows 05:00 to 05:00 the next day, so at 05:00:00 on Monday
    # Sunday's window and Monday's both contain the check-in: its own date comes first.
    checkins = [scan("2026-11-30 05:00:00", group=(800, 2300))]

    assert plan(checkins, "2026-11-29").shift is None
    assert plan(checkins, "2026-11-30").shift.source is ShiftSource.WORKING_GROUP


def test_overnight_shift_collects_both_sides_of_midnight() -> None:
    checkins = [scan("2026-11-25 21:58", group=(2200, 600)), scan("2026-11-26 06:03")]
    result = figures(checkins, "2026-11-25")

    assert result.checkin_count == 2
    assert result.status is Status.PRESENT
    assert result.worked_minutes == 480
    assert figures(checkins, "2026-11-26").checkin_count == 0


def test_order_of_checkins_never_changes_attribution() -> None:
    checkins = [
        scan("2026-11-25 18:55", group=(1900, 700)),
        scan("2026-11-26 07:00:00"),
        scan("2026-11-26 07:01", group=(700, 1900)),
        scan("2026-11-26 19:02"),
        scan("2026-11-27 08:00"),
        scan("2026-11-27 17:05"),
    ]
    expected = dict(zip((c.timestamp_ms for c in checkins), work_dates(checkins)))
    shuffled = list(checkins)
    random.Random(7).shuffle(shuffled)

    assert dict(zip((c.timestamp_ms for c in shuffled), work_dates(shuffled))) == expected


def test_attribute_gives_event_its_calendar_date() -> None:
    checkins = [scan("2026-11-25 21:58", group=(2200, 600)), event("2026-11-26 05:00"), scan("2026-11-26 06:03")]

    assert work_dates(checkins) == ["2026-11-25", "2026-11-26", "2026-11-25"]


def test_attribute_of_nothing_is_empty() -> None:
    assert attribute([], POLICY, Calendar(POLICY)) == []


def test_events_never_count_as_attendance() -> None:
    result = figures([event("2026-11-23 08:00"), event("2026-11-23 17:00")], "2026-11-23")

    assert result.checkin_count == 0
    assert result.status is Status.ABSENT
    assert day("2026-11-23") == result.date
