"""End to end: a hand-made November 2026 posted over HTTP, exported, and read back.

Every cell of the monthly grid and its totals is compared with the figures worked out
by hand in `month_fixture.py`.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from exporters.tables import GRID_SHEET_NAME, month_grid_columns
from jobs.export import export_excel
from jobs.settings import Settings, load_settings
from month_fixture import EMPLOYEES, GRID, SCANS, TOTALS, WORKSPACE, Scan, fixture_config
from conftest import LiveServer, local_ms

REPO = Path(__file__).resolve().parent.parent
KEY = "fixture-key"
NOW_MS = local_ms(2026, 12, 5, 9, 0)
"""The moment of the export: every date of November has closed."""

TOTAL_KEYS = {
    "workdays": "workdays",
    "paid_holidays": "paid_holidays",
    "payable_days": "payable_days",
    "standard_workdays": "standard_workdays",
    "days_absent": "absent_days",
    "days_missing_checkout": "missing_checkout_days",
    "times_late": "late_count",
    "minutes_late": "late_minutes",
    "times_early": "early_leave_count",
    "minutes_early": "early_leave_minutes",
    "overtime_workday_hours": "overtime_workday_hours",
    "overtime_dayoff_hours": "overtime_dayoff_hours",
    "overtime_holiday_hours": "overtime_holiday_hours",
    "overtime_night_hours": "overtime_night_hours",
    "night_hours": "night_hours",
    "overtime_ytd_hours": "overtime_year_hours",
}
"""`month_fixture.TOTALS` keys mapped to the grid's column keys."""


def scan_body(scan: Scan) -> dict[str, object]:
    day, clock = scan.local.split(" ")
    hour, minute, *second = (int(part) for part in clock.split(":"))
    name, office = EMPLOYEES[scan.user_id]
    body: dict[str, object] = {
        "user_id": scan.user_id,
        "workspace_id": WORKSPACE,
        "checkin_timestamp": local_ms(2026, 11, int(day), hour, minute, *second)
        if int(day) <= 30
        else local_ms(2026, 12, int(day) - 30, hour, minute, *second),
        "name": name,
        "sex": "MALE",
        "avatar": "Không xác định",
        "office_location": office,
        "phone_number": "Không xác định",
        "email": "Không xác định",
        "machine_id": "may-01",
    }
    if scan.working_group:
        body["working_group"] = {"begin": scan.working_group[0], "end": scan.working_group[1]}
    return body


@pytest.fixture
def fixture_settings(tmp_path: Path) -> Settings:
    config = tmp_path / "config.toml"
    config.write_text(fixture_config((REPO / "config.toml").read_text(encoding="utf-8")), encoding="utf-8")
    return load_settings(config, environ={})


@pytest.fixture
def posted(start_server: Callable[..., LiveServer], fixture_settings: Settings) -> LiveServer:
    """The month's deliveries posted in a shuffled order, a few of them twice."""
    fixture_settings.database.parent.mkdir(parents=True, exist_ok=True)
    server = start_server(api_keys=(KEY,), clock=lambda: NOW_MS, database=fixture_settings.database)
    deliveries = SCANS + SCANS[:5]
    random.Random(2026).shuffle(deliveries)
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda scan: server.post_delivery(scan_body(scan), webhook_type=scan.webhook_type), deliveries))
    assert [r.status_code for r in responses] == [200] * len(deliveries)
    return server


def read_grid(path: Path) -> dict[str, dict[str, object]]:
    """Read the grid sheet back: each employee's row as {column key: cell value}."""
    workbook = openpyxl.load_workbook(path)
    sheet = workbook[GRID_SHEET_NAME.vi]
    keys = [column.key for column in month_grid_columns(2026, 11)]
    header_row = next(row[0].row for row in sheet.iter_rows() if row[1].value == "Mã NV")
    rows: dict[str, dict[str, object]] = {}
    for cells in sheet.iter_rows(min_row=header_row + 1):
        user_id = cells[1].value
        if user_id not in EMPLOYEES:
            continue
        rows[user_id] = {key: cells[index].value for index, key in enumerate(keys)}
    return rows


def test_november_grid_matches_hand_computed_fixture(posted: LiveServer, fixture_settings: Settings) -> None:
    path = export_excel(posted.store, fixture_settings, "2026-11", None, NOW_MS)

    grid = read_grid(path)

    assert list(grid) == ["NV001", "NV002", "NV003"]
    for index, (user_id, row) in enumerate(grid.items(), start=1):
        name, office = EMPLOYEES[user_id]
        assert row["stt"] == index
        assert row["name"] == name
        assert row["office"] == office
        symbols = [row[f"d{day:02d}"] or "" for day in range(1, 31)]
        for day, (got, expected) in enumerate(zip(symbols, GRID[user_id]), start=1):
            assert got == expected, f"{user_id} on {day:02d}/11: {got!r} != {expected!r}"
        for total, column in TOTAL_KEYS.items():
            assert row[column] == pytest.approx(TOTALS[user_id][total]), f"{user_id} {total}"


def test_november_holiday_inside_shift_not_over_cap(posted: LiveServer, fixture_settings: Settings) -> None:
    """NV002's night of 23/11 has 360 min of holiday overtime inside her shift.

    Those are her normal hours paid at the holiday rate, not extra hours, so they do
    not count against the daily cap of half the shift's hours.
    """
    path = export_excel(posted.store, fixture_settings, "2026-11", None, NOW_MS)

    grid = read_grid(path)

    assert grid["NV001"]["overtime_cap_flags"] is None
    assert grid["NV002"]["overtime_cap_flags"] is None
    assert grid["NV003"]["overtime_cap_flags"] is None


def test_november_exported_twice_is_identical(posted: LiveServer, fixture_settings: Settings, tmp_path: Path) -> None:
    first = export_excel(posted.store, fixture_settings, "2026-11", tmp_path / "a.xlsx", NOW_MS)
    second = export_excel(posted.store, fixture_settings, "2026-11", tmp_path / "b.xlsx", NOW_MS)

    book_a, book_b = openpyxl.load_workbook(first), openpyxl.load_workbook(second)
    assert book_a.sheetnames == book_b.sheetnames
    for name in book_a.sheetnames:
        cells_a = [(c.coordinate, c.value, c.number_format, c.fill.fgColor.rgb, c.font.b) for row in book_a[name].iter_rows() for c in row]
        cells_b = [(c.coordinate, c.value, c.number_format, c.fill.fgColor.rgb, c.font.b) for row in book_b[name].iter_rows() for c in row]
        assert cells_a == cells_b, name


def test_november_event_checkin_is_listed_apart(posted: LiveServer, fixture_settings: Settings) -> None:
    path = export_excel(posted.store, fixture_settings, "2026-11", None, NOW_MS)

    workbook = openpyxl.load_workbook(path)
    events = [row for row in workbook["Tham gia sự kiện"].iter_rows(values_only=True) if "NV001" in row]
    log = [row for row in workbook["Nhật ký chấm công"].iter_rows(values_only=True) if "NV001" in row]

    assert len(events) == 1
    assert dt.datetime(2026, 11, 20, 15, 0) in events[0]
    assert len(log) == sum(1 for scan in SCANS if scan.user_id == "NV001" and scan.webhook_type == "CHECKIN")
