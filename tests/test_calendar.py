"""Tests for the holiday calendar: statutory facts of Vietnam, nghỉ bù from the firm's week, edits."""

from __future__ import annotations

import datetime as dt

import pytest

from jobs.calendar import Calendar
from jobs.figures import HolidayKind
from jobs.policy import AttendancePolicy, HolidayEdits

MON_TO_SAT = frozenset({1, 2, 3, 4, 5, 6})
MON_TO_FRI = frozenset({1, 2, 3, 4, 5})

STATUTORY = HolidayKind.STATUTORY
COMPENSATORY = HolidayKind.COMPENSATORY
EXTRA_PAID = HolidayKind.EXTRA_PAID


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def calendar(work_days: frozenset[int] = MON_TO_SAT, **edits: object) -> Calendar:
    return Calendar(AttendancePolicy(work_days=work_days, holidays=HolidayEdits(**edits)))


def holidays_of(cal: Calendar, year: int) -> dict[dt.date, HolidayKind]:
    day = dt.date(year, 1, 1)
    found = {}
    while day.year == year:
        kind = cal.holiday_kind(day)
        if kind is not None:
            found[day] = kind
        day += dt.timedelta(days=1)
    return found


@pytest.mark.parametrize(
    ("date", "name_vi"),
    [
        ("2026-01-01", "Tết Dương lịch"),
        ("2026-04-26", "Ngày Giỗ Tổ Hùng Vương"),
        ("2026-04-30", "Ngày Chiến thắng"),
        ("2026-05-01", "Ngày Quốc tế Lao động"),
        ("2026-09-01", "Quốc khánh"),
        ("2026-09-02", "Quốc khánh"),
        ("2026-11-24", "Ngày Văn hóa Việt Nam"),
    ],
)
def test_statutory_holidays_2026(date: str, name_vi: str) -> None:
    cal = calendar()

    assert cal.holiday_kind(d(date)) is STATUTORY
    assert cal.holiday_name(d(date), "vi") == name_vi


def test_national_day_2026_takes_1_september_not_3() -> None:
    cal = calendar()

    assert cal.holiday_kind(d("2026-09-01")) is STATUTORY
    assert cal.holiday_kind(d("2026-09-03")) is None


def test_national_day_2027_takes_3_september() -> None:
    cal = calendar()

    assert cal.holiday_kind(d("2027-09-01")) is None
    assert cal.holiday_kind(d("2027-09-03")) is STATUTORY


@pytest.mark.parametrize(
    ("year", "tet_days"),
    [
        (2026, ["2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20"]),
        (2027, ["2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08", "2027-02-09"]),
    ],
)
def test_tet_is_eve_and_first_four_lunar_days(year: int, tet_days: list[str]) -> None:
    cal = calendar()
    february = {date for date, kind in holidays_of(cal, year).items() if date.month == 2 and kind is STATUTORY}

    assert february == {d(day) for day in tet_days}
    assert cal.holiday_name(d(tet_days[0]), "vi") == "Giao thừa Tết Nguyên Đán"
    assert cal.holiday_name(d(tet_days[1]), "vi") == "Tết Nguyên Đán"


def test_tet_2026_neighbours_are_not_holidays() -> None:
    cal = calendar()

    assert cal.holiday_kind(d("2026-02-15")) is None
    assert cal.holiday_kind(d("2026-02-21")) is None


def test_public_sector_swap_day_is_dropped() -> None:
    # The package lists 31/8/2026 as a civil servants' day off swapped with 22/8.
    cal = calendar()

    assert cal.holiday_kind(d("2026-08-31")) is None
    assert cal.holiday_kind(d("2026-08-22")) is None


def test_whole_year_2026_for_a_monday_to_saturday_firm() -> None:
    expected = {d(day): STATUTORY for day in [
        "2026-01-01", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20",
        "2026-04-26", "2026-04-30", "2026-05-01", "2026-09-01", "2026-09-02", "2026-11-24",
    ]}
    expected[d("2026-04-27")] = COMPENSATORY

    assert holidays_of(calendar(), 2026) == expected


def test_sunday_holiday_gives_monday_for_monday_to_saturday_firm() -> None:
    cal = calendar(MON_TO_SAT)

    assert d("2026-04-26").isoweekday() == 7
    assert cal.holiday_kind(d("2026-04-27")) is COMPENSATORY
    assert cal.holiday_name(d("2026-04-27"), "vi") == "Ngày Giỗ Tổ Hùng Vương (nghỉ bù)"
    assert cal.holiday_name(d("2026-04-27"), "en") == "Hung Kings' Commemoration Day (compensatory day off)"


def test_saturday_holiday_gives_monday_for_monday_to_friday_firm() -> None:
    cal = calendar(MON_TO_FRI)

    assert d("2027-05-01").isoweekday() == 6
    assert cal.holiday_kind(d("2027-05-03")) is COMPENSATORY


def test_saturday_holiday_gives_nothing_for_monday_to_saturday_firm() -> None:
    cal = calendar(MON_TO_SAT)

    assert cal.holiday_kind(d("2027-05-01")) is STATUTORY
    assert cal.holiday_kind(d("2027-05-03")) is None


def test_two_holidays_on_rest_days_give_two_days_after_tet() -> None:
    # Tết 2027 runs Friday 5/2 to Tuesday 9/2: Saturday and Sunday are rest days for a
    # Monday-to-Friday firm, so Wednesday 10/2 and Thursday 11/2 are nghỉ bù.
    cal = calendar(MON_TO_FRI)

    assert cal.holiday_kind(d("2027-02-10")) is COMPENSATORY
    assert cal.holiday_kind(d("2027-02-11")) is COMPENSATORY
    assert cal.holiday_kind(d("2027-02-12")) is None


def test_nghi_bu_skips_holidays_already_in_place() -> None:
    # Sunday 7/2/2027 is Tết for a Monday-to-Saturday firm; 8/2 and 9/2 are Tết too.
    cal = calendar(MON_TO_SAT)

    assert cal.holiday_kind(d("2027-02-10")) is COMPENSATORY
    assert cal.holiday_kind(d("2027-02-11")) is None


def test_nghi_bu_skips_an_extra_paid_holiday() -> None:
    cal = calendar(MON_TO_SAT, extra_paid=frozenset({d("2026-04-27")}))

    assert cal.holiday_kind(d("2026-04-27")) is EXTRA_PAID
    assert cal.holiday_kind(d("2026-04-28")) is COMPENSATORY


def test_nghi_bu_follows_the_firm_week_with_sunday_work() -> None:
    # A firm resting on Monday and Tuesday: Sunday 26/4/2026 is a work day, so no
    # nghỉ bù; a holiday on Tuesday 24/11/2026 gives Wednesday 25/11.
    cal = calendar(frozenset({3, 4, 5, 6, 7}))

    assert cal.holiday_kind(d("2026-04-27")) is None
    assert cal.holiday_kind(d("2026-11-25")) is COMPENSATORY


def test_extra_paid_holiday_is_added() -> None:
    cal = calendar(extra_paid=frozenset({d("2026-02-21")}))

    assert cal.holiday_kind(d("2026-02-21")) is EXTRA_PAID
    assert cal.holiday_name(d("2026-02-21"), "vi") == "Ngày nghỉ có hưởng lương của công ty"
    assert cal.holiday_name(d("2026-02-21"), "en") == "Paid holiday granted by the firm"


def test_removed_statutory_date_is_not_a_holiday_and_gives_no_nghi_bu() -> None:
    cal = calendar(removed=frozenset({d("2026-04-26")}))

    assert cal.holiday_kind(d("2026-04-26")) is None
    assert cal.holiday_kind(d("2026-04-27")) is None
    assert cal.holiday_name(d("2026-04-26"), "vi") is None


def test_removed_nghi_bu_is_not_a_holiday() -> None:
    cal = calendar(removed=frozenset({d("2026-04-27")}))

    assert cal.holiday_kind(d("2026-04-26")) is STATUTORY
    assert cal.holiday_kind(d("2026-04-27")) is None
    assert cal.holiday_kind(d("2026-04-28")) is None


def test_extra_paid_wins_over_removed_on_the_same_date() -> None:
    cal = calendar(removed=frozenset({d("2026-09-01")}), extra_paid=frozenset({d("2026-09-01")}))

    assert cal.holiday_kind(d("2026-09-01")) is EXTRA_PAID


def test_firm_split_of_tet_by_edits() -> None:
    # A firm that takes 28 Tết instead of the fourth day of the lunar year.
    cal = calendar(removed=frozenset({d("2026-02-20")}), extra_paid=frozenset({d("2026-02-15")}))

    assert cal.holiday_kind(d("2026-02-15")) is EXTRA_PAID
    assert cal.holiday_kind(d("2026-02-20")) is None


def test_extra_unpaid_day_and_makeup_day_are_reported() -> None:
    cal = calendar(
        extra_unpaid=frozenset({d("2026-12-31")}),
        makeup_work_days={d("2026-12-26"): 4},
    )

    assert cal.is_extra_unpaid(d("2026-12-31")) is True
    assert cal.is_extra_unpaid(d("2026-12-30")) is False
    assert cal.makeup_weekday(d("2026-12-26")) == 4
    assert cal.makeup_weekday(d("2026-12-27")) is None
    assert cal.holiday_kind(d("2026-12-31")) is None


def test_holiday_name_of_ordinary_date_is_none() -> None:
    assert calendar().holiday_name(d("2026-11-23"), "en") is None


def test_holiday_name_rejects_unknown_language() -> None:
    with pytest.raises(ValueError, match="'fr'"):
        calendar().holiday_name(d("2026-11-24"), "fr")


def test_fingerprint_is_stable_across_instances() -> None:
    assert calendar().fingerprint([2026, 2027]) == calendar().fingerprint([2027, 2026])


@pytest.mark.parametrize(
    "edits",
    [
        {"extra_paid": frozenset({d("2026-12-24")})},
        {"extra_unpaid": frozenset({d("2026-12-24")})},
        {"removed": frozenset({d("2026-11-24")})},
        {"makeup_work_days": {d("2026-12-27"): 1}},
    ],
)
def test_fingerprint_changes_with_each_kind_of_edit(edits: dict[str, object]) -> None:
    assert calendar(**edits).fingerprint([2026]) != calendar().fingerprint([2026])


def test_fingerprint_changes_with_the_makeup_weekday() -> None:
    monday = calendar(makeup_work_days={d("2026-12-27"): 1})
    friday = calendar(makeup_work_days={d("2026-12-27"): 5})

    assert monday.fingerprint([2026]) != friday.fingerprint([2026])


def test_fingerprint_changes_with_firm_week_only_when_a_date_changes() -> None:
    # 2027 has a Saturday holiday (1/5): a Monday-to-Friday firm gets nghỉ bù, the
    # other does not. 2026 has no Saturday holiday, so its facts are the same.
    assert calendar(MON_TO_FRI).fingerprint([2027]) != calendar(MON_TO_SAT).fingerprint([2027])
    assert calendar(MON_TO_FRI).fingerprint([2026]) == calendar(MON_TO_SAT).fingerprint([2026])


def test_fingerprint_ignores_edits_in_other_years() -> None:
    assert calendar(extra_paid=frozenset({d("2027-01-02")})).fingerprint([2026]) == calendar().fingerprint([2026])
