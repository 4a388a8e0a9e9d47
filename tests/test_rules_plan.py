"""Tests for the kind and the shift of each date: the calendar, assignments and working_groups."""

from __future__ import annotations

import unicodedata

import pytest
from rules_helpers import at, day, edits, figures, local, plan, policy, scan, scans, shift

from jobs.figures import Checkin, DateKind, HolidayKind, ShiftSource, Status, WorkingGroup

HOLIDAY, REST, WORK = DateKind.HOLIDAY, DateKind.REST, DateKind.WORK

MON_TO_FRI_SHIFT = shift(730, 1630, (1200, 1300), weekdays=frozenset({1, 2, 3, 4, 5}), name="office")


# Section 1: the kind of each date


@pytest.mark.parametrize(
    ("date", "kind", "status"),
    [
        ("2026-11-23", WORK, Status.ABSENT),
        ("2026-11-28", WORK, Status.ABSENT),
        ("2026-11-29", REST, Status.DAY_OFF),
        ("2026-11-24", HOLIDAY, Status.HOLIDAY),
        ("2026-04-27", HOLIDAY, Status.HOLIDAY),
    ],
)
def test_kind_without_checkins(date: str, kind: DateKind, status: Status) -> None:
    result = figures([], date)

    assert result.kind is kind
    assert result.status is status


def test_kind_holiday_kinds_reported() -> None:
    rules = policy(holidays=edits(extra_paid=frozenset({day("2026-11-25")})))

    assert figures([], "2026-11-24", rules).holiday_kind is HolidayKind.STATUTORY
    assert figures([], "2026-04-27", rules).holiday_kind is HolidayKind.COMPENSATORY
    assert figures([], "2026-11-25", rules).holiday_kind is HolidayKind.EXTRA_PAID
    assert figures([], "2026-11-23", rules).holiday_kind is None


def test_kind_extra_unpaid_day_is_rest() -> None:
    rules = policy(holidays=edits(extra_unpaid=frozenset({day("2026-11-23")})))
    result = figures([], "2026-11-23", rules)

    assert result.kind is REST
    assert result.status is Status.DAY_OFF
    assert result.on_weekday is True


def test_kind_holiday_beats_extra_unpaid_and_makeup() -> None:
    rules = policy(
        holidays=edits(extra_unpaid=frozenset({day("2026-11-24")}), makeup_work_days={day("2026-11-24"): 1})
    )

    assert figures([], "2026-11-24", rules).kind is HOLIDAY


def test_kind_extra_unpaid_beats_makeup() -> None:
    rules = policy(
        holidays=edits(extra_unpaid=frozenset({day("2026-11-29")}), makeup_work_days={day("2026-11-29"): 1})
    )

    assert figures([], "2026-11-29", rules).kind is REST


def test_kind_makeup_sunday_works_as_its_weekday() -> None:
    rules = policy(holidays=edits(makeup_work_days={day("2026-11-29"): 1}))
    result = figures([], "2026-11-29", rules)

    assert result.kind is WORK
    assert result.status is Status.ABSENT
    assert result.shift_source is ShiftSource.DEFAULT
    assert local(result.shift_begin_ms) == "2026-11-29 08:00:00"


def test_kind_makeup_uses_assigned_shift_of_that_weekday() -> None:
    friday_only = shift(900, 1800, (1200, 1300), weekdays=frozenset({5}))
    rules = policy(user_shifts={"u1": friday_only}, holidays=edits(makeup_work_days={day("2026-11-29"): 5}))
    result = figures([], "2026-11-29", rules, user_id="u1")

    assert result.kind is WORK
    assert result.shift_source is ShiftSource.USER
    assert local(result.shift_begin_ms) == "2026-11-29 09:00:00"


def test_kind_makeup_day_rest_off_weekday() -> None:
    rules = policy(user_shifts={"u1": MON_TO_FRI_SHIFT}, holidays=edits(makeup_work_days={day("2026-11-29"): 6}))

    assert figures([], "2026-11-29", rules, user_id="u1").kind is REST


def test_kind_assigned_weekdays_define_the_week() -> None:
    # The firm works Monday to Saturday, but this employee's shift lists Monday to
    # Friday: their Saturday is a rest day, not a default-shift day.
    rules = policy(user_shifts={"u1": MON_TO_FRI_SHIFT})
    saturday = figures([], "2026-11-28", rules, user_id="u1")

    assert saturday.kind is REST
    assert saturday.on_weekday is False
    assert saturday.shift_source is ShiftSource.NONE
    assert figures([], "2026-11-28", rules, user_id="u2").kind is WORK


def test_kind_working_group_turns_rest_into_work() -> None:
    result = figures(scans("2026-11-29 08:58") + [scan("2026-11-29 09:00", group=(900, 1800))], "2026-11-29")

    assert result.kind is WORK
    assert result.on_weekday is False
    assert result.shift_source is ShiftSource.WORKING_GROUP


def test_kind_working_group_turns_extra_unpaid_into_work() -> None:
    rules = policy(holidays=edits(extra_unpaid=frozenset({day("2026-11-23")})))

    assert figures([scan("2026-11-23 08:00", group=(800, 1700))], "2026-11-23", rules).kind is WORK


def test_kind_working_group_never_turns_holiday_into_work() -> None:
    result = figures([scan("2026-11-24 08:00", group=(800, 1700)), scan("2026-11-24 17:00")], "2026-11-24")

    assert result.kind is HOLIDAY
    assert result.shift_source is ShiftSource.WORKING_GROUP
    assert result.workday == 0.0
    assert result.overtime_holiday_minutes == 480


@pytest.mark.parametrize(
    ("date", "on_weekday"),
    [("2026-11-24", True), ("2026-04-26", False), ("2026-04-27", True), ("2026-11-29", False)],
)
def test_on_weekday_follows_the_employee_week(date: str, on_weekday: bool) -> None:
    assert figures([], date).on_weekday is on_weekday


# Section 2: the shift of a date


def test_shift_default_on_firm_work_days() -> None:
    result = figures([], "2026-11-23")

    assert result.shift_source is ShiftSource.DEFAULT
    assert local(result.shift_begin_ms) == "2026-11-23 08:00:00"
    assert local(result.shift_end_ms) == "2026-11-23 17:00:00"
    assert result.shift_normal_minutes == 480
    assert result.shift_workday == 1.0


def test_shift_none_on_rest_day() -> None:
    result = figures([], "2026-11-29")

    assert result.shift_source is ShiftSource.NONE
    assert result.shift_begin_ms is None
    assert result.shift_end_ms is None
    assert result.shift_normal_minutes == 0
    assert plan([], "2026-11-29").shift is None


def test_shift_kept_on_holiday_for_windows() -> None:
    result = figures([], "2026-11-24")

    assert result.shift_source is ShiftSource.DEFAULT
    assert local(result.shift_begin_ms) == "2026-11-24 08:00:00"


def test_shift_user_beats_office_beats_default() -> None:
    rules = policy(
        user_shifts={"u1": shift(600, 1500, (1100, 1200))},
        office_shifts={"Hà Nội": shift(700, 1600, (1200, 1300))},
    )
    checkins = [scan("2026-11-23 06:50", office="Hà Nội")]

    assert figures(checkins, "2026-11-23", rules, user_id="u1").shift_source is ShiftSource.USER
    assert figures(checkins, "2026-11-23", rules, user_id="u2").shift_source is ShiftSource.OFFICE
    assert figures(scans("2026-11-23 07:50"), "2026-11-23", rules).shift_source is ShiftSource.DEFAULT


def test_shift_office_from_latest_known_office() -> None:
    rules = policy(office_shifts={"Hà Nội": shift(700, 1600, (1200, 1300))})
    checkins = [
        scan("2026-11-20 07:00", office="Hà Nội"),
        scan("2026-11-23 07:00", office=None),
        scan("2026-11-23 16:00", office=None),
    ]
    result = figures(checkins, "2026-11-23", rules)

    assert result.office_location == "Hà Nội"
    assert result.shift_source is ShiftSource.OFFICE


def test_shift_office_from_checkin_older_than_three_days() -> None:
    rules = policy(office_shifts={"Hà Nội": shift(700, 1600, (1200, 1300))})
    checkins = [scan("2026-11-02 07:00", office="Hà Nội"), scan("2026-11-23 07:00")]

    assert figures(checkins, "2026-11-23", rules).office_location == "Hà Nội"


def test_shift_office_change_applies_from_its_date() -> None:
    rules = policy(office_shifts={"Hà Nội": shift(700, 1600), "Đà Nẵng": shift(900, 1800)})
    checkins = [scan("2026-11-20 07:00", office="Hà Nội"), scan("2026-11-23 08:50", office="Đà Nẵng")]

    assert figures(checkins, "2026-11-21", rules).office_location == "Hà Nội"
    assert local(figures(checkins, "2026-11-23", rules).shift_begin_ms) == "2026-11-23 09:00:00"


def test_shift_office_counts_checkin_at_end_of_date() -> None:
    rules = policy(office_shifts={"Đà Nẵng": shift(900, 1800)})
    checkins = [scan("2026-11-20 07:00", office="Hà Nội"), scan("2026-11-24 00:00:00", office="Đà Nẵng")]

    assert figures(checkins, "2026-11-23", rules).office_location == "Đà Nẵng"
    assert figures(checkins, "2026-11-22", rules).office_location == "Hà Nội"


def test_shift_office_compared_after_nfc() -> None:
    name = "Hà Nội"
    rules = policy(office_shifts={unicodedata.normalize("NFD", name): shift(700, 1600)})
    result = figures([scan("2026-11-23 07:00", office=unicodedata.normalize("NFC", name))], "2026-11-23", rules)

    assert result.shift_source is ShiftSource.OFFICE


def test_shift_office_weekdays_define_the_week() -> None:
    rules = policy(office_shifts={"Hà Nội": MON_TO_FRI_SHIFT})
    result = figures([scan("2026-11-27 07:30", office="Hà Nội")], "2026-11-28", rules)

    assert result.kind is REST
    assert result.shift_source is ShiftSource.NONE


def test_shift_from_working_group_of_earliest_checkin() -> None:
    checkins = [
        scan("2026-11-23 08:55", group=(900, 1800)),
        scan("2026-11-23 12:00", group=(1000, 1900)),
        scan("2026-11-23 18:05"),
    ]
    result = figures(checkins, "2026-11-23")

    assert result.shift_source is ShiftSource.WORKING_GROUP
    assert local(result.shift_begin_ms) == "2026-11-23 09:00:00"
    assert local(result.shift_end_ms) == "2026-11-23 18:00:00"
    assert result.conflict == "09:00-18:00 ≠ 10:00-19:00"


def test_shift_earliest_by_timestamp_not_input_order() -> None:
    checkins = [scan("2026-11-23 12:00", group=(1000, 1900)), scan("2026-11-23 08:55", group=(900, 1800))]

    assert local(figures(checkins, "2026-11-23").shift_begin_ms) == "2026-11-23 09:00:00"


def test_shift_same_working_group_twice_is_no_conflict() -> None:
    checkins = [scan("2026-11-23 08:55", group=(900, 1800)), scan("2026-11-23 18:00", group=(900, 1800))]

    assert figures(checkins, "2026-11-23").conflict is None


@pytest.mark.parametrize("group", [(800, 800), (0, 0)])
def test_shift_working_group_with_equal_times_ignored(group: tuple[int, int]) -> None:
    result = figures([scan("2026-11-23 07:58", group=group)], "2026-11-23")

    assert result.shift_source is ShiftSource.DEFAULT


def test_shift_working_group_not_a_time_ignored() -> None:
    result = figures([Checkin(at("2026-11-23 07:58"), working_group=WorkingGroup(1500, 600))], "2026-11-23")

    assert result.shift_source is ShiftSource.DEFAULT


def test_shift_working_group_inherits_assigned() -> None:
    rules = policy(user_shifts={"u1": shift(800, 1200, (1000, 1015), workday=0.5)})
    result = figures([scan("2026-11-23 08:55", group=(900, 1300))], "2026-11-23", rules, user_id="u1")
    placed = plan([scan("2026-11-23 08:55", group=(900, 1300))], "2026-11-23", rules, user_id="u1").shift

    assert result.shift_workday == 0.5
    assert local(placed.break_begin_ms) == "2026-11-23 10:00:00"
    assert result.shift_normal_minutes == 240 - 15


def test_shift_working_group_inherits_default() -> None:
    placed = plan([scan("2026-11-29 06:55", group=(700, 1600))], "2026-11-29").shift

    assert placed.workday == 1.0
    assert local(placed.break_begin_ms) == "2026-11-29 12:00:00"
    assert local(placed.break_end_ms) == "2026-11-29 13:00:00"


def test_shift_working_group_drops_break_outside_it() -> None:
    placed = plan([scan("2026-11-23 13:55", group=(1400, 2200))], "2026-11-23").shift

    assert placed.break_begin_ms is None
    assert placed.break_end_ms is None


def test_shift_break_placed_after_begin_in_night_shift() -> None:
    rules = policy(default_shift=shift(2200, 600, (200, 245)))
    placed = plan([], "2026-11-23", rules).shift

    assert local(placed.begin_ms) == "2026-11-23 22:00:00"
    assert local(placed.end_ms) == "2026-11-24 06:00:00"
    assert local(placed.break_begin_ms) == "2026-11-24 02:00:00"
    assert local(placed.break_end_ms) == "2026-11-24 02:45:00"
    assert figures([], "2026-11-23", rules).shift_normal_minutes == 480 - 45


def test_shift_conflict_from_copies_reported_on_the_date() -> None:
    checkins = [scan("2026-11-23 07:58", group=(800, 1700), working_group_conflict="copies differ")]

    assert figures(checkins, "2026-11-23").conflict == "copies differ"


def test_shift_copies_keep_working_group() -> None:
    checkins = [scan("2026-11-23 08:55"), scan("2026-11-23 08:55", group=(900, 1800))]
    result = figures(checkins, "2026-11-23")

    assert result.shift_source is ShiftSource.WORKING_GROUP
    assert result.checkin_count == 1
    assert result.conflict is None


def test_shift_copies_with_different_working_groups_keep_smaller() -> None:
    checkins = [scan("2026-11-23 08:55", group=(900, 1800)), scan("2026-11-23 08:55", group=(830, 1730))]
    result = figures(checkins, "2026-11-23")

    assert local(result.shift_begin_ms) == "2026-11-23 08:30:00"
    assert result.conflict == "08:30-17:30, 09:00-18:00"


def test_shift_conflict_across_dates() -> None:
    # The day shift of 25/11 comes first. A night working_group carried by a
    # check-out at 06:10 on 26/11 points back at 25/11, so it is ignored there.
    checkins = [scan("2026-11-25 07:55", group=(800, 1700)), scan("2026-11-26 06:10", group=(2200, 600))]
    result = figures(checkins, "2026-11-25")

    assert local(result.shift_begin_ms) == "2026-11-25 08:00:00"
    assert result.conflict == "08:00-17:00 ≠ 22:00-06:00"
    assert figures(checkins, "2026-11-26").conflict is None


def test_shift_copies_merge_whatever_the_order() -> None:
    first = scan("2026-11-23 06:55", office="Hà Nội")
    copy = scan("2026-11-23 06:55", office="Đà Nẵng")
    rules = policy(office_shifts={"Hà Nội": shift(700, 1600), "Đà Nẵng": shift(900, 1800)})

    assert figures([first, copy], "2026-11-23", rules) == figures([copy, first], "2026-11-23", rules)


def test_shift_invalid_working_group_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="jobs.rules"):
        figures([scan("2026-11-23 07:58", group=(800, 800))], "2026-11-23")

    assert "Ignored 1 invalid working_group" in caplog.text


def test_on_weekday_of_makeup_day_follows_its_weekday() -> None:
    rules = policy(holidays=edits(makeup_work_days={day("2026-11-29"): 2}))

    assert figures([], "2026-11-29", rules).on_weekday is True


@pytest.mark.parametrize("unknown", ["", "  ", "Không xác định", "không xác định "])
def test_shift_office_unknown_values_skipped(unknown: str) -> None:
    rules = policy(office_shifts={"Hà Nội": shift(700, 1600)})
    checkins = [scan("2026-11-20 07:00", office="Hà Nội"), scan("2026-11-23 07:00", office=unknown)]

    assert figures(checkins, "2026-11-23", rules).office_location == "Hà Nội"


def test_shift_assigned_without_weekdays_follows_firm_week() -> None:
    rules = policy(work_days=frozenset({1, 2, 3, 4, 5}), user_shifts={"u1": shift(700, 1600, (1200, 1300))})

    assert figures([], "2026-11-27", rules, user_id="u1").kind is WORK
    assert figures([], "2026-11-28", rules, user_id="u1").kind is REST


def test_shift_none_means_no_break() -> None:
    result = figures(scans("2026-11-29 11:00", "2026-11-29 14:00"), "2026-11-29")

    assert result.shift_source is ShiftSource.NONE
    assert result.time_at_work_minutes == 180
