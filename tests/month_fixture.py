"""A hand-made November 2026 for three employees, and its timesheet worked out by hand.

November 2026 starts on a Sunday; 24/11 (Tuesday) is Ngày Văn hóa Việt Nam, a
statutory holiday. The firm works Monday to Saturday with the default shift
08:00–17:00 (break 12:00–13:00), and its Đà Nẵng branch works an early shift
07:00–16:00 (break 11:30–12:30) on Monday to Friday only.

- NV001 works the default shift from 2/11 and shows most rules of a day shift:
  lateness around the grace, a missing check-out, a double scan, an absence, half
  days, a short day, overtime, and work on a Sunday. A JOIN_EVENT on 20/11 must not
  touch the timesheet.
- NV002 works nights sent by ACheckin as `working_group {2200, 600}` from 16/11;
  the night of 23/11 runs into the 24/11 holiday.
- NV003 is in the Đà Nẵng branch: Saturdays are rest days for him; he works on
  Sunday 1/11, on Saturday 7/11 and on the 24/11 holiday.

Each expected figure below was computed by hand from the attendance rules; the
comments show the arithmetic.
"""

from __future__ import annotations

import dataclasses

WORKSPACE = "ws-demo"
OFFICE_HANOI = "Hà Nội"
OFFICE_DANANG = "Chi nhánh Đà Nẵng"

EARLY_SHIFT = """
[attendance.shifts.early]
begin = "07:00"
end = "16:00"
break_begin = "11:30"
break_end = "12:30"
weekdays = ["mon", "tue", "wed", "thu", "fri"]
"""


def fixture_config(shipped: str) -> str:
    """Return the shipped config.toml with the Đà Nẵng branch on the early shift."""
    assigned = shipped.replace("offices = {}", 'offices = { "Chi nhánh Đà Nẵng" = "early" }', 1)
    if assigned == shipped:
        raise AssertionError("config.toml no longer has 'offices = {}' to edit")
    return assigned + EARLY_SHIFT


@dataclasses.dataclass(frozen=True)
class Scan:
    """One check-in: local 'DD HH:MM[:SS]' in November 2026, optional working_group."""

    user_id: str
    local: str
    working_group: tuple[int, int] | None = None
    webhook_type: str = "CHECKIN"


EMPLOYEES = {
    "NV001": ("Nguyễn Văn An", OFFICE_HANOI),
    "NV002": ("Trần Thị Bình", OFFICE_HANOI),
    "NV003": ("Lê Hoàng Cường", OFFICE_DANANG),
}


def _day(user_id: str, day: int, first_in: str, last_out: str | None = None) -> list[Scan]:
    scans = [Scan(user_id, f"{day:02d} {first_in}")]
    if last_out:
        scans.append(Scan(user_id, f"{day:02d} {last_out}"))
    return scans


def _nv001() -> list[Scan]:
    normal = ("07:55", "17:10")
    scans: list[Scan] = []
    for day in (2, 14, 16, 17, 18, 19, 20, 21, 23, 28, 30):
        scans += _day("NV001", day, *normal)
    scans += _day("NV001", 3, "08:07", "17:10")
    scans += _day("NV001", 4, "08:05:59", "17:10")
    scans += _day("NV001", 5, "07:58")
    scans += _day("NV001", 7, "07:58", "12:00")
    scans += _day("NV001", 9, "07:50", "18:40")
    scans += _day("NV001", 10, "07:58", "08:01")
    scans += _day("NV001", 11, "07:55", "16:50")
    scans += _day("NV001", 12, "09:30", "17:10")
    scans += _day("NV001", 13, "10:30", "17:10")
    scans += _day("NV001", 15, "09:00", "11:30")
    scans += _day("NV001", 25, "13:30", "17:10")
    scans += _day("NV001", 26, "07:55", "14:00")
    scans += _day("NV001", 27, "07:55", "10:00")
    scans.append(Scan("NV001", "20 15:00", webhook_type="JOIN_EVENT"))
    return scans


def _nv002() -> list[Scan]:
    scans: list[Scan] = []
    for day in (16, 17, 18, 19, 20, 21, 23, 25, 26, 27, 28):
        scans.append(Scan("NV002", f"{day:02d} 21:55", working_group=(2200, 600)))
        scans.append(Scan("NV002", f"{day + 1:02d} 06:05"))
    return scans


def _nv003() -> list[Scan]:
    normal = ("06:55", "16:05")
    scans: list[Scan] = []
    for day in (2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 16, 17, 18, 19, 20, 23, 25, 27):
        scans += _day("NV003", day, *normal)
    scans += _day("NV003", 1, "08:00", "11:00")
    scans += _day("NV003", 7, "08:00", "12:30")
    scans += _day("NV003", 24, "07:00", "11:00")
    scans += _day("NV003", 26, "06:55", "15:00")
    scans += _day("NV003", 30, "06:55", "19:00")
    return scans


SCANS: list[Scan] = _nv001() + _nv002() + _nv003()

# The grid, date by date: '' is a blank cell.
GRID: dict[str, list[str]] = {
    "NV001": [
        "",  # 1 Sun: before his first work date
        "X", "X",  # 2, 3: 3/11 is 7 min late (> 5 of grace), still X
        "X",  # 4: 5 min 59 s late floors to 5: not late
        "Q",  # 5: one scan only
        "V",  # 6: absent
        "X/2",  # 7: 08:00-12:00 = 240 of 480 min = 50 % (>= 37.5 %)
        "",  # 8 Sun
        "X",  # 9: 100 min after 17:00 -> 90 min overtime
        "Q",  # 10: 07:58 and 08:01 are a double scan (< 5 min): no check-out
        "X",  # 11: 10 min early, 470 min worked
        "X",  # 12: 90 min late, 150 + 240 = 390 min >= 360
        "X/2",  # 13: 150 min late, 90 + 240 = 330 min < 360
        "X",  # 14
        "NN",  # 15 Sun: 150 min of day-off overtime
        "X", "X", "X", "X", "X", "X",  # 16-21 (the JOIN_EVENT on 20 changes nothing)
        "",  # 22 Sun
        "X",  # 23
        "L",  # 24: holiday, not worked
        "X/2",  # 25: 330 min late; 13:30-17:00 = 210 min = 43.75 %
        "X/2",  # 26: 240 + 60 = 300 min = 62.5 %, 180 min early
        "TG",  # 27: 120 min = 25 %: present but no credit
        "X",  # 28
        "",  # 29 Sun
        "X",  # 30
    ],
    "NV002": [""] * 15
    + [
        "X", "X", "X", "X", "X", "X",  # 16-21: nights 22:00-06:00, 480 min each
        "",  # 22 Sun
        "X",  # 23: 120 min on 23/11 + 360 min of holiday overtime inside the shift
        "L",  # 24: holiday, her 06:05 check-out belongs to the night of 23
        "X", "X", "X", "X",  # 25-28
        "",  # 29 Sun
        "V",  # 30: no night sent, default day shift, no check-in
    ],
    "NV003": [
        "NN",  # 1 Sun: 08:00-11:00 = 180 min day-off overtime
        "X", "X", "X", "X", "X",  # 2-6
        "NN",  # 7 Sat: a rest day for the branch; 270 min day-off overtime
        "",  # 8 Sun
        "X", "X", "X", "X", "X",  # 9-13
        "", "",  # 14 Sat, 15 Sun
        "X", "X", "X", "X", "X",  # 16-20
        "", "",  # 21 Sat, 22 Sun
        "X",  # 23
        "NL",  # 24: holiday worked 07:00-11:00 = 240 min holiday overtime
        "X",  # 25
        "X",  # 26: 60 min early, 270 + 150 = 420 min
        "X",  # 27
        "", "",  # 28 Sat, 29 Sun
        "X",  # 30: 06:55-19:00 -> 180 min overtime after 16:00
    ],
}

# Totals by the keys of MonthTotals.
TOTALS: dict[str, dict[str, object]] = {
    "NV001": {
        "workdays": 18.0,  # 16 X + 4 X/2
        "paid_holidays": 1,  # 24/11
        "payable_days": 19.0,
        "standard_workdays": 25,  # Mon-Sat dates 2..30
        "days_absent": 1,
        "days_missing_checkout": 2,
        "times_late": 4,  # 3, 12, 13, 25
        "minutes_late": 577,  # 7 + 90 + 150 + 330
        "times_early": 4,  # 7, 11, 26, 27
        "minutes_early": 910,  # 300 + 10 + 180 + 420
        "overtime_workday_hours": 1.5,
        "overtime_dayoff_hours": 2.5,
        "overtime_holiday_hours": 0.0,
        "overtime_night_hours": 0.0,
        "overtime_hours": 4.0,
        "night_hours": 0.0,
        "overtime_ytd_hours": 4.0,
    },
    "NV002": {
        "workdays": 11.0,
        "paid_holidays": 1,
        "payable_days": 12.0,
        "standard_workdays": 13,  # Mon-Sat dates 16..30
        "days_absent": 1,
        "days_missing_checkout": 0,
        "times_late": 0,
        "minutes_late": 0,
        "times_early": 0,
        "minutes_early": 0,
        "overtime_workday_hours": 0.0,
        "overtime_dayoff_hours": 0.0,
        "overtime_holiday_hours": 6.0,  # 00:00-06:05 on 24/11 = 365 -> 360
        "overtime_night_hours": 6.0,
        "overtime_hours": 6.0,
        "night_hours": 88.0,  # 11 nights x 480 min
        "overtime_ytd_hours": 6.0,
    },
    "NV003": {
        "workdays": 20.0,
        "paid_holidays": 1,
        "payable_days": 21.0,
        "standard_workdays": 21,  # Mon-Fri dates 1..30
        "days_absent": 0,
        "days_missing_checkout": 0,
        "times_late": 0,
        "minutes_late": 0,
        "times_early": 1,
        "minutes_early": 60,
        "overtime_workday_hours": 3.0,
        "overtime_dayoff_hours": 7.5,  # 180 + 270
        "overtime_holiday_hours": 4.0,
        "overtime_night_hours": 0.0,
        "overtime_hours": 14.5,
        "night_hours": 0.0,
        "overtime_ytd_hours": 14.5,
    },
}
