"""The Google Sheets exporter, run through gspread's own HTTP client against a fake Sheets API.

Only the transport is fake (tests/fake_sheets.py): every request goes through
gspread's `HTTPClient` and a google-auth `AuthorizedSession` with anonymous
credentials, and a guard refuses any socket to a host other than loopback.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import random
import socket
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fake_sheets import FakeSheets, UnexpectedHostError, fake_session

from exporters import sheets
from exporters.sheets import (
    RetryPolicy,
    SheetsClient,
    SheetsConfigError,
    SheetsRequestError,
    SheetsUnavailableError,
    check_sheets_setup,
    export_month,
    serial_number,
)
from exporters.tables import (
    DAILY_COLUMNS,
    DAILY_TABLE_KEY,
    GRID_TABLE_KEY,
    Column,
    Fill,
    Table,
    ValueType,
    day_key,
    month_grid_columns,
)

SPREADSHEET_ID = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_xyz"
MONTH = "2026-11"
DAILY_TAB = "2026-11 Chi tiết"
GRID_TAB = "2026-11 Bảng chấm công"
FAST_RETRY = RetryPolicy(max_attempts=4, initial_delay_s=0.001, max_delay_s=0.01, timeout_s=1)

COLUMNS = (
    Column("user_id", "Mã NV", "Employee ID", width=12),
    Column("name", "Họ và tên", "Full name", width=26),
    Column("phone", "Điện thoại", "Phone", width=14),
    Column("date", "Ngày", "Date", ValueType.DATE, width=11),
    Column("first_in", "Giờ vào", "First in", ValueType.TIME, width=8),
    Column("workday", "Công", "Workday", ValueType.DECIMAL, width=7),
    Column("late_minutes", "Đi muộn (phút)", "Minutes late", ValueType.INTEGER, width=8),
    Column("notes", "Ghi chú", "Notes", width=30, editable=True),
)


# --- Fixtures and builders ---------------------------------------------------------


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse any socket connection to a host other than loopback."""
    original = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if host not in ("127.0.0.1", "::1", "localhost") and self.family != socket.AF_UNIX:
            raise AssertionError(f"test tried to connect to {address}")
        return original(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture
def fake() -> FakeSheets:
    fake = FakeSheets()
    fake.add_spreadsheet(SPREADSHEET_ID)
    yield fake
    assert fake.unexpected == [], "requests went somewhere other than the fake Sheets API"


@dataclasses.dataclass
class Exporter:
    """Runs exports against the fake and records the retry waits."""

    fake: FakeSheets
    sleeps: list[float]
    seed: int = 0

    def client(self, retry: RetryPolicy = FAST_RETRY) -> SheetsClient:
        return SheetsClient(fake_session(self.fake), retry, sleep=self.sleeps.append, rng=random.Random(self.seed))

    def export(self, tables: list[Table], retry: RetryPolicy = FAST_RETRY, **options: Any) -> sheets.SheetsExportResult:
        self.seed += 1
        return export_month(self.client(retry), SPREADSHEET_ID, MONTH, tables, "vi", rng=random.Random(self.seed), **options)


@pytest.fixture
def exporter(fake: FakeSheets) -> Exporter:
    return Exporter(fake, [])


def employee_rows(employees: int, days: int = 3, first_day: int = 2) -> list[dict[str, Any]]:
    rows = []
    for number in range(1, employees + 1):
        for offset in range(days):
            date = dt.date(2026, 11, first_day + offset)
            rows.append(
                {
                    "user_id": f"NV{number:04d}",
                    "name": f"Nguyễn Văn {number}",
                    "phone": f"09{number:08d}",
                    "date": date,
                    "first_in": dt.datetime.combine(date, dt.time(8, number % 30)),
                    "workday": 1.0,
                    "late_minutes": number % 30,
                }
            )
    return rows


def daily_table(rows: list[dict[str, Any]], columns: tuple[Column, ...] = COLUMNS, **fields: Any) -> Table:
    return Table(DAILY_TABLE_KEY, "Chi tiết", "Daily detail", columns, rows, **fields)


def tab(fake: FakeSheets, title: str):
    return fake.spreadsheets[SPREADSHEET_ID].sheet(title)


def snapshot(fake: FakeSheets) -> dict[str, Any]:
    """Return what a manager can see: tab order, cells, formats, widths, frozen panes."""
    spreadsheet = fake.spreadsheets[SPREADSHEET_ID]
    return {
        sheet.title: {
            "hidden": sheet.hidden,
            "rows": sheet.rows(),
            "formats": dict(sorted(sheet.formats.items())),
            "widths": dict(sorted(sheet.column_widths.items())),
            "frozen": (sheet.frozen_rows, sheet.frozen_columns),
            "size": (sheet.row_count, sheet.column_count),
        }
        for sheet in spreadsheet.sheets
    }


def data_row(fake: FakeSheets, title: str, user_id: str, date: dt.date) -> int:
    """Return the 0-based row of (user_id, date) in a tab laid out with `COLUMNS`."""
    for index, row in enumerate(tab(fake, title).rows()):
        if row[:1] == [user_id] and len(row) > 3 and row[3] == serial_number(date):
            return index
    raise AssertionError(f"no row for {user_id} on {date}")


NOTES_COLUMN = [column.key for column in COLUMNS].index("notes")


# --- Layout, values and formats -----------------------------------------------------------


def test_export_creates_one_tab_per_view(exporter: Exporter, fake: FakeSheets) -> None:
    grid = Table(GRID_TABLE_KEY, "Bảng chấm công", "Timesheet", COLUMNS[:2], [{"user_id": "NV0001", "name": "An"}])
    result = exporter.export([grid, daily_table(employee_rows(2))])

    assert result.tabs == (GRID_TAB, DAILY_TAB)
    assert fake.spreadsheets[SPREADSHEET_ID].titles() == ["Sheet1", GRID_TAB, DAILY_TAB]
    assert not tab(fake, DAILY_TAB).hidden


def test_tab_holds_title_header_rows_and_footer(exporter: Exporter, fake: FakeSheets) -> None:
    table = daily_table(employee_rows(1, days=1), title_lines=["BẢNG CHẤM CÔNG", "Tháng 11/2026"], footer_lines=["Ghi chú: X = đủ công"])
    exporter.export([table])

    rows = tab(fake, DAILY_TAB).rows()
    assert rows[0] == ["BẢNG CHẤM CÔNG"]
    assert rows[1] == ["Tháng 11/2026"]
    assert rows[2] == []
    assert rows[3] == [column.label_vi for column in COLUMNS]
    assert rows[4][0] == "NV0001"
    assert rows[5:] == [[], ["Ghi chú: X = đủ công"]]
    assert tab(fake, DAILY_TAB).frozen_rows == 4


@pytest.mark.parametrize("text", ["0912345678", "+84912345678", '=HYPERLINK("http://example.test","x")', "007", "1/2", "TRUE"])
def test_values_are_sent_raw_and_stay_text(exporter: Exporter, fake: FakeSheets, text: str) -> None:
    rows = employee_rows(1, days=1)
    rows[0].update(name=text, phone=text)
    exporter.export([daily_table(rows)])

    row = tab(fake, DAILY_TAB).rows()[1]
    assert row[1] == text
    assert row[2] == text
    assert {request.json()["valueInputOption"] for request in fake.calls("values:batchUpdate")} == {"RAW"}


def test_control_characters_are_stripped_from_text(exporter: Exporter, fake: FakeSheets) -> None:
    rows = employee_rows(1, days=1)
    rows[0]["name"] = "Nguye\u0302\u0303n\x00 Văn\x1b An\x7f"
    exporter.export([daily_table(rows)])

    assert tab(fake, DAILY_TAB).rows()[1][1] == "Nguyễn Văn An"


@pytest.mark.parametrize(
    ("value", "serial"),
    [
        (dt.date(1900, 3, 1), 61),
        (dt.date(2000, 1, 1), 36526),
        (dt.datetime(2000, 1, 1, 18, 0), 36526.75),
        (dt.datetime(2000, 1, 2, 6, 0), 36527.25),
        (dt.time(12, 0), 0.5),
    ],
)
def test_serial_number_counts_days_since_1899_12_30(value: Any, serial: float) -> None:
    assert serial_number(value) == serial


def test_dates_and_times_are_serials_with_number_formats(exporter: Exporter, fake: FakeSheets) -> None:
    rows = employee_rows(1, days=1)
    exporter.export([daily_table(rows)])

    sheet = tab(fake, DAILY_TAB)
    date_cell = (1, 3)
    time_cell = (1, 4)
    assert sheet.values[date_cell] == serial_number(rows[0]["date"])
    assert sheet.values[time_cell] == serial_number(rows[0]["first_in"])
    assert sheet.formats[date_cell]["numberFormat"] == {"type": "DATE", "pattern": "dd/mm/yyyy"}
    assert sheet.formats[time_cell]["numberFormat"] == {"type": "TIME", "pattern": "hh:mm"}
    assert sheet.formats[(1, 5)]["numberFormat"] == {"type": "NUMBER", "pattern": "0.00"}
    assert sheet.formats[(1, 1)]["numberFormat"] == {"type": "TEXT", "pattern": "@"}


def test_aware_datetime_is_rejected() -> None:
    aware = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.timezone.utc)

    with pytest.raises(ValueError, match="naive local datetime"):
        sheets.cell_value(aware, COLUMNS[4])


def test_header_is_bold_and_columns_sized(exporter: Exporter, fake: FakeSheets) -> None:
    exporter.export([daily_table(employee_rows(1), frozen_columns=2)])

    sheet = tab(fake, DAILY_TAB)
    assert all(sheet.formats[(0, column)]["textFormat"]["bold"] for column in range(len(COLUMNS)))
    assert (sheet.frozen_rows, sheet.frozen_columns) == (1, 2)
    assert sheet.column_widths[1] > sheet.column_widths[0] > sheet.column_widths[5]


def test_shading_of_a_whole_column_is_one_request(exporter: Exporter, fake: FakeSheets) -> None:
    columns = month_grid_columns(2026, 11)
    rows = [{"stt": number, "user_id": f"NV{number:04d}", "name": "An"} for number in range(1, 201)]
    holiday, rest = day_key(1), day_key(7)
    fills = {(row, holiday): Fill.HOLIDAY for row in range(200)} | {(row, rest): Fill.REST for row in range(200)}
    exporter.export([Table(GRID_TABLE_KEY, "Bảng chấm công", "Timesheet", columns, rows, fills=fills)])

    shading = [request for call in fake.calls("batchUpdate") for request in call.json()["requests"] if "backgroundColor" in json.dumps(request)]
    assert len(shading) == 2
    sheet = tab(fake, GRID_TAB)
    holiday_column = [column.key for column in columns].index(holiday)
    assert sheet.formats[(200, holiday_column)]["backgroundColor"] == {"red": round(0xFC / 255, 4), "green": round(0xE4 / 255, 4), "blue": round(0xD6 / 255, 4)}


# --- Re-exports and managers' notes ------------------------------------------------------


def test_month_exported_twice_gives_identical_tabs(exporter: Exporter, fake: FakeSheets) -> None:
    tables = [daily_table(employee_rows(5), fills={(0, "date"): Fill.REST}, title_lines=["BẢNG"], footer_lines=["X"], frozen_columns=2)]
    exporter.export(tables)
    first = snapshot(fake)
    live_id = tab(fake, DAILY_TAB).sheet_id

    exporter.export(tables)

    assert snapshot(fake) == first
    assert tab(fake, DAILY_TAB).sheet_id == live_id


def test_notes_survive_reexport_when_rows_reorder(exporter: Exporter, fake: FakeSheets) -> None:
    rows = employee_rows(3)
    exporter.export([daily_table(rows)])
    noted_date = dt.date(2026, 11, 3)
    tab(fake, DAILY_TAB).values[(data_row(fake, DAILY_TAB, "NV0002", noted_date), NOTES_COLUMN)] = "Đi công tác"

    reordered = list(reversed(rows)) + employee_rows(4)[-3:]
    result = exporter.export([daily_table(reordered)])

    row = tab(fake, DAILY_TAB).rows()[data_row(fake, DAILY_TAB, "NV0002", noted_date)]
    assert row[NOTES_COLUMN] == "Đi công tác"
    assert result.notes_kept == 1
    noted = [row for row in tab(fake, DAILY_TAB).rows()[1:] if len(row) > NOTES_COLUMN and row[NOTES_COLUMN]]
    assert len(noted) == 1


def test_manager_note_wins_over_exported_value(exporter: Exporter, fake: FakeSheets) -> None:
    rows = employee_rows(1, days=1)
    exporter.export([daily_table(rows)])
    tab(fake, DAILY_TAB).values[(1, NOTES_COLUMN)] = "Nghỉ phép"

    rows[0]["notes"] = "từ hệ thống"
    exporter.export([daily_table(rows)])

    assert tab(fake, DAILY_TAB).rows()[1][NOTES_COLUMN] == "Nghỉ phép"


def test_note_whose_row_is_gone_is_kept_below(exporter: Exporter, fake: FakeSheets) -> None:
    exporter.export([daily_table(employee_rows(2, days=1))])
    tab(fake, DAILY_TAB).values[(data_row(fake, DAILY_TAB, "NV0002", dt.date(2026, 11, 2)), NOTES_COLUMN)] = "Đã nghỉ việc"

    exporter.export([daily_table(employee_rows(1, days=1))])

    rows = tab(fake, DAILY_TAB).rows()
    assert rows[2][0] == "NV0002"
    assert rows[2][3] == serial_number(dt.date(2026, 11, 2))
    assert rows[2][NOTES_COLUMN] == "Đã nghỉ việc"


def test_notes_found_after_columns_move(exporter: Exporter, fake: FakeSheets) -> None:
    exporter.export([daily_table(employee_rows(2))])
    tab(fake, DAILY_TAB).values[(data_row(fake, DAILY_TAB, "NV0001", dt.date(2026, 11, 4)), NOTES_COLUMN)] = "Quên chấm công"
    moved = (COLUMNS[-1], Column("office", "Văn phòng", "Office")) + COLUMNS[:-1]
    calls_before = len(fake.requests)

    exporter.export([daily_table(employee_rows(2), columns=moved)])

    notes_by_key = {(row[2], row[5]): row[0] for row in tab(fake, DAILY_TAB).rows()[1:] if row and row[0]}
    assert notes_by_key == {("NV0001", serial_number(dt.date(2026, 11, 4))): "Quên chấm công"}
    assert len(fake.requests) - calls_before == 6


def test_shorter_export_clears_leftover_rows(exporter: Exporter, fake: FakeSheets) -> None:
    exporter.export([daily_table(employee_rows(10), footer_lines=["Chú thích"])])

    exporter.export([daily_table(employee_rows(2), footer_lines=["Chú thích"])])

    rows = tab(fake, DAILY_TAB).rows()
    assert len(rows) == 1 + 6 + 2
    assert rows[-1] == ["Chú thích"]
    assert tab(fake, DAILY_TAB).row_count == len(rows)


def test_no_staging_tab_is_left_visible_or_behind(exporter: Exporter, fake: FakeSheets) -> None:
    exporter.export([daily_table(employee_rows(2))])
    exporter.export([daily_table(employee_rows(3))])

    assert fake.spreadsheets[SPREADSHEET_ID].titles() == ["Sheet1", DAILY_TAB]


# --- Call counts and request sizes ------------------------------------------------------------


def grid_and_daily(employees: int) -> list[Table]:
    grid_columns = month_grid_columns(2026, 11)
    grid_rows = [
        {"stt": number, "user_id": f"NV{number:04d}", "name": f"Trần Thị {number}", "office": "Hà Nội"} | {day_key(day): "X" for day in range(1, 31)} | {"workdays": 21.5}
        for number in range(1, employees + 1)
    ]
    fills = {(row, day_key(day)): Fill.REST for row in range(employees) for day in (1, 8, 15, 22, 29)}
    grid = Table(GRID_TABLE_KEY, "Bảng chấm công", "Timesheet", grid_columns, grid_rows, fills=fills, frozen_columns=4)
    daily_rows = [{"user_id": f"NV{number:04d}", "date": dt.date(2026, 11, 2), "status": "Có mặt"} for number in range(1, employees + 1)]
    return [grid, Table(DAILY_TABLE_KEY, "Chi tiết", "Daily detail", DAILY_COLUMNS, daily_rows, frozen_columns=2)]


@pytest.mark.parametrize("employees", [10, 1000])
def test_calls_per_export_do_not_grow_with_employees(exporter: Exporter, fake: FakeSheets, employees: int) -> None:
    # The daily table has one day per employee so that each request fits at 1,000 employees;
    # a whole month of daily detail is split by size, as the next test shows.
    first = exporter.export(grid_and_daily(employees))
    again = exporter.export(grid_and_daily(employees))

    assert first.api_calls == 4
    assert [request.kind for request in fake.requests[:4]] == ["get", "batchUpdate", "values:batchUpdate", "batchUpdate"]
    assert again.api_calls == 5
    assert [request.kind for request in fake.requests[4:]] == ["get", "values:batchGet", "batchUpdate", "values:batchUpdate", "batchUpdate"]


def test_every_request_is_under_two_megabytes(exporter: Exporter, fake: FakeSheets) -> None:
    rows = employee_rows(1000, days=30, first_day=1)
    exporter.export([daily_table(rows)])

    sizes = [len(request.body) for request in fake.requests]
    assert max(sizes) <= sheets.DEFAULT_MAX_REQUEST_BYTES < 2_000_000
    values_bytes = sum(len(request.body) for request in fake.calls("values:batchUpdate"))
    assert len(fake.calls("values:batchUpdate")) == math.ceil(values_bytes / sheets.DEFAULT_MAX_REQUEST_BYTES)


def test_large_payload_is_split_into_requests_that_fit(fake: FakeSheets) -> None:
    tables = [daily_table(employee_rows(60), fills={(row, "date"): Fill.HOLIDAY for row in range(0, 180, 2)})]
    Exporter(fake, []).export(tables)
    expected = snapshot(fake)
    fake.spreadsheets[SPREADSHEET_ID].sheets = fake.spreadsheets[SPREADSHEET_ID].sheets[:1]
    requests_before = len(fake.requests)

    split = Exporter(fake, []).export(tables, max_request_bytes=8_000)

    sent = fake.requests[requests_before:]
    assert max(len(request.body) for request in sent) <= 8_000
    assert len([request for request in sent if request.kind == "values:batchUpdate"]) > 1
    assert len([request for request in sent if request.kind == "batchUpdate"]) > 2
    assert split.api_calls == len(sent)
    assert snapshot(fake) == expected


# --- Faults -------------------------------------------------------------------------------------


@pytest.mark.parametrize("failing_call", range(5))
def test_429_storm_gives_up_and_leaves_old_tab(exporter: Exporter, fake: FakeSheets, failing_call: int) -> None:
    exporter.export([daily_table(employee_rows(3))])
    old = snapshot(fake)[DAILY_TAB]

    fake.fail_next(FAST_RETRY.max_attempts, 429, retry_after="0", after=failing_call)
    with pytest.raises(SheetsUnavailableError) as raised:
        exporter.export([daily_table(employee_rows(5))])

    assert raised.value.attempts == FAST_RETRY.max_attempts
    assert snapshot(fake)[DAILY_TAB] == old
    exporter.export([daily_table(employee_rows(5))])
    assert len(tab(fake, DAILY_TAB).rows()) == 1 + 15
    assert fake.spreadsheets[SPREADSHEET_ID].titles() == ["Sheet1", DAILY_TAB]


@pytest.mark.parametrize("status", [429, 500, 503])
def test_short_storm_is_retried_to_a_complete_tab(exporter: Exporter, fake: FakeSheets, status: int) -> None:
    fake.fail_next(FAST_RETRY.max_attempts - 1, status, after=2)

    exporter.export([daily_table(employee_rows(4))])

    assert len(tab(fake, DAILY_TAB).rows()) == 1 + 12
    assert len(exporter.sleeps) == FAST_RETRY.max_attempts - 1
    assert all(0 <= delay <= FAST_RETRY.max_delay_s for delay in exporter.sleeps)


def test_backoff_is_capped_and_jittered(exporter: Exporter, fake: FakeSheets) -> None:
    retry = RetryPolicy(max_attempts=6, initial_delay_s=0.001, max_delay_s=0.004, timeout_s=1)
    fake.fail_next(5, 503)

    exporter.export([daily_table(employee_rows(1))], retry=retry)

    caps = [min(0.004, 0.001 * 2**attempt) for attempt in range(5)]
    assert all(delay <= cap for delay, cap in zip(exporter.sleeps, caps, strict=True))
    assert len(set(exporter.sleeps)) == 5


def test_retry_after_is_honoured(exporter: Exporter, fake: FakeSheets) -> None:
    fake.fail_next(2, 429, retry_after="0.008")

    exporter.export([daily_table(employee_rows(1))])

    assert exporter.sleeps[:2] == [0.008, 0.008]


def test_long_retry_after_gives_up(exporter: Exporter, fake: FakeSheets) -> None:
    fake.fail_next(1, 429, retry_after="120")

    with pytest.raises(SheetsUnavailableError) as raised:
        exporter.export([daily_table(employee_rows(1))])

    assert raised.value.retry_after_s == 120
    assert raised.value.attempts == 1
    assert exporter.sleeps == []


def test_hanging_calls_time_out_and_are_retried(exporter: Exporter, fake: FakeSheets) -> None:
    fake.hang_next(2, after=1)

    exporter.export([daily_table(employee_rows(2))])

    assert [request.status for request in fake.requests[1:3]] == ["timeout", "timeout"]
    assert len(tab(fake, DAILY_TAB).rows()) == 1 + 6


def test_lost_swap_response_leaves_new_tab(exporter: Exporter, fake: FakeSheets) -> None:
    exporter.export([daily_table(employee_rows(2))])
    fake.fail_next(1, 500, after=4, after_applying=True)

    with pytest.raises(SheetsUnavailableError, match="may have been applied"):
        exporter.export([daily_table(employee_rows(3))])

    assert len(tab(fake, DAILY_TAB).rows()) == 1 + 9
    assert fake.spreadsheets[SPREADSHEET_ID].titles() == ["Sheet1", DAILY_TAB]


def test_lost_staging_response_cleaned_later(exporter: Exporter, fake: FakeSheets) -> None:
    fake.fail_next(1, 502, after=1, after_applying=True)
    with pytest.raises(SheetsUnavailableError):
        exporter.export([daily_table(employee_rows(2))])
    assert len(fake.spreadsheets[SPREADSHEET_ID].titles()) == 2

    exporter.export([daily_table(employee_rows(2))])

    assert fake.spreadsheets[SPREADSHEET_ID].titles() == ["Sheet1", DAILY_TAB]


def test_rejected_request_is_not_retried(exporter: Exporter, fake: FakeSheets) -> None:
    fake.spreadsheets[SPREADSHEET_ID].shared = False

    with pytest.raises(SheetsRequestError) as raised:
        exporter.export([daily_table(employee_rows(1))])

    assert raised.value.status == 403
    assert len(fake.requests) == 1


# --- Arguments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reference",
    [SPREADSHEET_ID, f"https://docs.google.com/spreadsheets/d/{SPREADSHEET_ID}/edit#gid=0", f"  {SPREADSHEET_ID}\n"],
)
def test_spreadsheet_is_named_by_key_or_url(reference: str) -> None:
    assert sheets.spreadsheet_id_from(reference) == SPREADSHEET_ID


@pytest.mark.parametrize("reference", ["", "Chấm công tháng 11", "https://docs.google.com/document/d/"])
def test_spreadsheet_reference_rejects_other_text(reference: str) -> None:
    with pytest.raises(SheetsConfigError):
        sheets.spreadsheet_id_from(reference)


def test_spreadsheet_reference_must_be_key_or_url() -> None:
    with pytest.raises(SheetsConfigError, match="neither a spreadsheet key nor a URL"):
        sheets.spreadsheet_id_from("Chấm công tháng 11")


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "11-2026", "2026-11-01"])
def test_month_must_be_year_and_month(exporter: Exporter, month: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        export_month(exporter.client(), SPREADSHEET_ID, month, [daily_table([])], "vi")


def test_editable_table_needs_row_key_columns(exporter: Exporter) -> None:
    table = daily_table([], columns=(COLUMNS[1], COLUMNS[-1]))

    with pytest.raises(ValueError, match="user_id"):
        exporter.export([table])


# --- Transport guard --------------------------------------------------------------------------


def test_session_refuses_hosts_other_than_the_fake(fake: FakeSheets) -> None:
    session = fake_session(fake)

    with pytest.raises(UnexpectedHostError):
        session.get("https://oauth2.googleapis.com/token", timeout=1)

    fake.unexpected.clear()


def test_every_request_reaches_the_fake(exporter: Exporter, fake: FakeSheets) -> None:
    client = exporter.client()
    export_month(client, SPREADSHEET_ID, MONTH, [daily_table(employee_rows(2))], "vi")

    assert client.calls == len(fake.requests)
    assert all(request.path.startswith(f"/v4/spreadsheets/{SPREADSHEET_ID}") for request in fake.requests)


# --- doctor ---------------------------------------------------------------------------------------

SERVICE_ACCOUNT_EMAIL = "acheckin-sync@example-project.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


@pytest.fixture
def key_file(tmp_path: Path, private_key_pem: str) -> Path:
    path = tmp_path / "service-account.json"
    key = {
        "type": "service_account",
        "project_id": "example-project",
        "private_key_id": "0123456789abcdef",
        "private_key": private_key_pem,
        "client_email": SERVICE_ACCOUNT_EMAIL,
        "client_id": "1234567890",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    path.write_text(json.dumps(key), encoding="utf-8")
    return path


def doctor(fake: FakeSheets, spreadsheet: str | None, credentials_file: Path | None, environ: dict[str, str] | None = None) -> sheets.SetupReport:
    return check_sheets_setup(spreadsheet, credentials_file, environ=environ or {}, session_factory=lambda credentials: fake_session(fake), retry=FAST_RETRY)


def test_doctor_passes_when_sheet_is_shared(fake: FakeSheets, key_file: Path) -> None:
    report = doctor(fake, SPREADSHEET_ID, key_file)

    assert report.ok
    assert report.service_account_email == SERVICE_ACCOUNT_EMAIL
    assert [check.name for check in report.checks] == ["credentials", "access", "edit"]
    assert fake.spreadsheets[SPREADSHEET_ID].title == "Chấm công"


def test_doctor_reports_view_only_share(fake: FakeSheets, key_file: Path) -> None:
    fake.spreadsheets[SPREADSHEET_ID].read_only = True

    report = doctor(fake, SPREADSHEET_ID, key_file)

    assert not report.ok
    assert [(check.name, check.ok) for check in report.checks] == [("credentials", True), ("access", True), ("edit", False)]
    assert SERVICE_ACCOUNT_EMAIL in report.checks[-1].message_en
    assert "Người chỉnh sửa" in report.checks[-1].message_vi


def test_doctor_reads_key_path_from_environment(fake: FakeSheets, key_file: Path) -> None:
    report = doctor(fake, SPREADSHEET_ID, None, {"GOOGLE_APPLICATION_CREDENTIALS": str(key_file)})

    assert report.ok


def test_doctor_names_the_account_to_share_with(fake: FakeSheets, key_file: Path) -> None:
    fake.spreadsheets[SPREADSHEET_ID].shared = False

    report = doctor(fake, SPREADSHEET_ID, key_file)

    assert not report.ok
    assert SERVICE_ACCOUNT_EMAIL in report.checks[-1].message("vi")
    assert SERVICE_ACCOUNT_EMAIL in report.checks[-1].message("en")
    assert "chia sẻ" in report.checks[-1].message_vi


def test_doctor_reports_missing_spreadsheet(fake: FakeSheets, key_file: Path) -> None:
    report = doctor(fake, "1ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ", key_file)

    assert not report.ok
    assert "not found" in report.checks[-1].message_en
    assert "Không tìm thấy" in report.checks[-1].message_vi


@pytest.mark.parametrize(
    ("contents", "expected"),
    [
        (None, "cannot read"),
        ("{not json", "not a service account"),
        ('{"type": "authorized_user"}', "not a service account"),
    ],
)
def test_doctor_reports_unusable_credentials(fake: FakeSheets, tmp_path: Path, contents: str | None, expected: str) -> None:
    path = tmp_path / "key.json"
    if contents is not None:
        path.write_text(contents, encoding="utf-8")

    report = doctor(fake, SPREADSHEET_ID, path)

    assert not report.ok
    assert report.checks[0].name == "credentials"
    assert expected in report.checks[0].message_en
    assert report.service_account_email is None
    assert fake.requests == []


def test_doctor_without_any_credentials_names_both_settings(fake: FakeSheets) -> None:
    report = doctor(fake, SPREADSHEET_ID, None)

    assert "sheets.credentials_file" in report.checks[0].message_en
    assert "GOOGLE_APPLICATION_CREDENTIALS" in report.checks[0].message_vi


def test_doctor_reports_unconfigured_spreadsheet(fake: FakeSheets, key_file: Path) -> None:
    report = doctor(fake, None, key_file)

    assert not report.ok
    assert "sheets.spreadsheet" in report.checks[-1].message_vi


@pytest.mark.parametrize(("language", "title"), [("vi", DAILY_TAB), ("en", "2026-11 Daily detail")])
def test_tab_title_follows_language(language: str, title: str) -> None:
    assert sheets.tab_title(MONTH, daily_table([]), language) == title


def test_english_export_reads_notes_under_vietnamese_header(exporter: Exporter, fake: FakeSheets) -> None:
    exporter.export([daily_table(employee_rows(1, days=1))])
    tab(fake, DAILY_TAB).values[(1, NOTES_COLUMN)] = "Nghỉ ốm"
    tab(fake, DAILY_TAB).title = "2026-11 Daily detail"

    export_month(exporter.client(), SPREADSHEET_ID, MONTH, [daily_table(employee_rows(1, days=1))], "en")

    rows = tab(fake, "2026-11 Daily detail").rows()
    assert rows[0][NOTES_COLUMN] == "Notes"
    assert rows[1][NOTES_COLUMN] == "Nghỉ ốm"


def test_export_to_sheets_loads_key_from_environment(fake: FakeSheets, key_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sessions = []
    monkeypatch.setattr(sheets, "authorized_session", lambda credentials: sessions.append(credentials) or fake_session(fake))

    result = sheets.export_to_sheets(
        [daily_table(employee_rows(1))],
        MONTH,
        spreadsheet=f"https://docs.google.com/spreadsheets/d/{SPREADSHEET_ID}/edit",
        credentials_file=None,
        language="vi",
        environ={"GOOGLE_APPLICATION_CREDENTIALS": str(key_file)},
        retry=FAST_RETRY,
    )

    assert result.tabs == (DAILY_TAB,)
    assert sessions[0].service_account_email == SERVICE_ACCOUNT_EMAIL
    assert list(sessions[0].scopes) == list(sheets.SCOPES)


def test_retry_log_omits_spreadsheet_key(exporter: Exporter, fake: FakeSheets, caplog: pytest.LogCaptureFixture) -> None:
    fake.fail_next(1, 503)

    with caplog.at_level("INFO", logger="exporters.sheets"):
        exporter.export([daily_table(employee_rows(1))])

    assert "retry 1" in caplog.text
    assert SPREADSHEET_ID not in caplog.text


def test_sleep_budget_ends_retries_early(exporter: Exporter, fake: FakeSheets) -> None:
    retry = RetryPolicy(max_attempts=10, initial_delay_s=0.004, max_delay_s=0.004, timeout_s=1, sleep_budget_s=0.01)
    fake.fail_next(10, 429, retry_after="0.004")

    with pytest.raises(SheetsUnavailableError) as raised:
        exporter.export([daily_table(employee_rows(1))], retry=retry)

    assert raised.value.attempts == 3
    assert sum(exporter.sleeps) <= 0.01


def test_config_errors_carry_vietnamese(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"

    with pytest.raises(sheets.SheetsConfigError) as raised:
        sheets.load_credentials(missing)

    assert "cannot read the Google credentials file" in str(raised.value)
    assert raised.value.message_vi.startswith("không đọc được tệp thông tin xác thực Google")
