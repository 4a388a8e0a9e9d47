"""The Excel exporter and the shared column definitions, read back with openpyxl."""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
import unicodedata
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from exporters.excel import clean_text, write_workbook
from exporters.tables import (
    CHECKIN_LOG_COLUMNS,
    DAILY_COLUMNS,
    EVENT_COLUMNS,
    FILL_COLOURS,
    GRID_FROZEN_COLUMNS,
    GRID_LEADING_COLUMNS,
    GRID_TABLE_KEY,
    GRID_TOTAL_COLUMNS,
    SHEET_NAMES,
    SYMBOL_MEANINGS,
    Column,
    Fill,
    Table,
    ValueType,
    day_key,
    grid_columns,
    legend_lines,
    month_grid_columns,
)
from jobs.figures import DayFigures

COLUMNS = (
    Column("user_id", "Mã NV", "Employee ID", ValueType.TEXT, width=12),
    Column("name", "Họ và tên", "Full name", ValueType.TEXT, width=26),
    Column("count", "Số lần", "Count", ValueType.INTEGER, width=7),
    Column("hours", "Số giờ", "Hours", ValueType.DECIMAL, width=8),
    Column("date", "Ngày", "Date", ValueType.DATE, width=11),
    Column("first_in", "Giờ vào", "First in", ValueType.TIME, width=8),
    Column("clock", "Giờ ca", "Shift clock", ValueType.TIME, width=8),
    Column("checkin_time", "Thời gian", "Time", ValueType.DATETIME, width=19),
)

ROW = {
    "user_id": "U001",
    "name": "Nguyễn Văn An",
    "count": 3,
    "hours": 7.5,
    "date": dt.date(2026, 11, 2),
    "first_in": dt.datetime(2026, 11, 2, 8, 7),
    "clock": dt.time(17, 30),
    "checkin_time": dt.datetime(2026, 11, 2, 8, 7, 41),
}

DEFAULT_SYMBOLS = {
    "workday": "X",
    "half_workday": "X/2",
    "short_hours": "TG",
    "missing_checkout": "Q",
    "absent": "V",
    "holiday": "L",
    "compensatory": "NB",
    "holiday_worked": "NL",
    "rest_worked": "NN",
}


def make_table(rows=(ROW,), **changes) -> Table:
    table = Table(key="detail", name_vi="Chi tiết", name_en="Daily detail", columns=COLUMNS, rows=list(rows))
    return dataclasses.replace(table, **changes)


def write_and_open(tmp_path: Path, tables, language="vi", name="out.xlsx"):
    path = write_workbook(tables, tmp_path / name, language)
    return openpyxl.load_workbook(path)


def data_cell(sheet, row_index: int, key: str, columns=COLUMNS, header_row: int = 1):
    column_index = [column.key for column in columns].index(key) + 1
    return sheet.cell(row=header_row + 1 + row_index, column=column_index)


def sheet_xml(path: Path, sheet_number: int = 1) -> str:
    with zipfile.ZipFile(path) as archive:
        return archive.read(f"xl/worksheets/sheet{sheet_number}.xml").decode("utf-8")


# --- values, types and formats ----------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected_value", "expected_format"),
    [
        ("user_id", "U001", "@"),
        ("name", "Nguyễn Văn An", "@"),
        ("count", 3, "0"),
        ("hours", 7.5, "0.00"),
        ("date", dt.datetime(2026, 11, 2), "dd/mm/yyyy"),
        ("first_in", dt.datetime(2026, 11, 2, 8, 7), "hh:mm"),
        ("clock", dt.time(17, 30), "hh:mm"),
        ("checkin_time", dt.datetime(2026, 11, 2, 8, 7, 41), "dd/mm/yyyy hh:mm:ss"),
    ],
)
def test_cell_value_and_format(tmp_path, key, expected_value, expected_format):
    sheet = write_and_open(tmp_path, [make_table()]).active
    cell = data_cell(sheet, 0, key)

    assert cell.value == expected_value
    assert type(cell.value) is type(expected_value)
    assert cell.number_format == expected_format


@pytest.mark.parametrize("key", ["date", "first_in", "clock", "checkin_time"])
def test_dates_and_times_are_date_cells(tmp_path, key):
    path = write_workbook([make_table()], tmp_path / "out.xlsx", "vi")
    cell = data_cell(openpyxl.load_workbook(path).active, 0, key)

    assert cell.is_date
    assert cell.data_type == "d"


def test_dates_stored_as_serial_numbers(tmp_path):
    path = write_workbook([make_table()], tmp_path / "out.xlsx", "vi")
    xml = sheet_xml(path)

    # 2 November 2026 is Excel serial 46328; 08:07 is 0.3382 of a day.
    assert '<c r="E2" s="' in xml
    assert "<v>46328</v>" in xml
    assert "<v>46328.338194" in xml


def test_numbers_are_numeric_cells(tmp_path):
    sheet = write_and_open(tmp_path, [make_table()]).active

    assert data_cell(sheet, 0, "count").data_type == "n"
    assert data_cell(sheet, 0, "hours").data_type == "n"


def test_decimal_value_written_as_number(tmp_path):
    sheet = write_and_open(tmp_path, [make_table(rows=[{"user_id": "U011", "hours": Decimal("7.25")}])]).active
    cell = data_cell(sheet, 0, "hours")

    assert cell.value == 7.25
    assert cell.data_type == "n"


def test_missing_and_none_values_are_blank(tmp_path):
    row = {"user_id": "U002", "hours": None}
    sheet = write_and_open(tmp_path, [make_table(rows=[row])]).active

    assert data_cell(sheet, 0, "hours").value is None
    assert data_cell(sheet, 0, "date").value is None
    assert data_cell(sheet, 0, "name").value is None


def test_empty_text_is_blank(tmp_path):
    sheet = write_and_open(tmp_path, [make_table(rows=[{"user_id": "U003", "name": ""}])]).active

    assert data_cell(sheet, 0, "name").value is None


@pytest.mark.parametrize(
    ("key", "value", "error"),
    [
        ("count", "3", TypeError),
        ("count", True, TypeError),
        ("count", 2.5, ValueError),
        ("hours", float("nan"), ValueError),
        ("hours", float("inf"), ValueError),
        ("hours", "7,5", TypeError),
        ("date", dt.datetime(2026, 11, 2, 8, 0), TypeError),
        ("date", "02/11/2026", TypeError),
        ("first_in", dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.timezone.utc), ValueError),
        ("checkin_time", 1_793_000_000_000, TypeError),
    ],
)
def test_wrong_value_type_names_cell(tmp_path, key, value, error):
    table = make_table(rows=[{**ROW, key: value}])

    with pytest.raises(error, match=f"row 1, column '{key}'"):
        write_workbook([table], tmp_path / "out.xlsx", "vi")


# --- text from webhooks -------------------------------------------------------------


INJECTIONS = [
    '=HYPERLINK("http://example.invalid/","Bấm vào đây")',
    "=1+1",
    "+84901234567",
    "-1",
    "@SUM(A1:A2)",
    "#N/A",
    "=",
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_formula_like_text_stays_text(tmp_path, text):
    path = write_workbook([make_table(rows=[{"user_id": "U004", "name": text}])], tmp_path / "out.xlsx", "vi")
    cell = data_cell(openpyxl.load_workbook(path).active, 0, "name")

    assert cell.value == text
    assert cell.data_type == "s"


def test_formula_like_text_has_no_formula_xml(tmp_path):
    rows = [{"user_id": f"U{index}", "name": text} for index, text in enumerate(INJECTIONS)]
    path = write_workbook([make_table(rows=rows)], tmp_path / "out.xlsx", "vi")
    xml = sheet_xml(path)

    assert "<f>" not in xml
    assert "<f " not in xml
    assert xml.count('t="inlineStr"') >= 2 * len(INJECTIONS)


def test_formula_like_titles_and_footers_stay_text(tmp_path):
    table = make_table(title_lines=["=1+1"], footer_lines=["@SUM(A1)"])
    sheet = write_and_open(tmp_path, [table]).active

    assert sheet["A1"].data_type == "s"
    assert sheet["A1"].value == "=1+1"
    footer = sheet.cell(row=sheet.max_row, column=1)
    assert footer.data_type == "s"
    assert footer.value == "@SUM(A1)"


def test_number_in_text_column_stays_text(tmp_path):
    sheet = write_and_open(tmp_path, [make_table(rows=[{"user_id": 12345}])]).active
    cell = data_cell(sheet, 0, "user_id")

    assert cell.value == "12345"
    assert cell.data_type == "s"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nguyễn\x0bVăn An", "NguyễnVăn An"),
        ("a\x00b\x1fc\x7fd\x85e", "abcde"),
        ("dòng 1\r\ndòng 2", "dòng 1\ndòng 2"),
        ("cột\tsau tab", "cột\tsau tab"),
        ("\ud800lẻ", "lẻ"),
        ("Nguye\u0302\u0303n", "Nguyễn"),
    ],
)
def test_clean_text(text, expected):
    assert clean_text(text) == expected


def test_long_text_cut_to_excel_limit(tmp_path):
    sheet = write_and_open(tmp_path, [make_table(rows=[{"user_id": "U010", "name": "Ă" * 40_000}])]).active

    assert data_cell(sheet, 0, "name").value == "Ă" * 32_767


def test_vertical_tab_dropped_in_cell(tmp_path):
    sheet = write_and_open(tmp_path, [make_table(rows=[{"user_id": "U005", "name": "Trần\x0bThị Bình"}])]).active

    assert data_cell(sheet, 0, "name").value == "TrầnThị Bình"


def test_nfc_text_kept_and_nfd_composed(tmp_path):
    nfc = unicodedata.normalize("NFC", "Phạm Thị Hồng Nhung")
    nfd = unicodedata.normalize("NFD", nfc)
    rows = [{"user_id": "U006", "name": nfc}, {"user_id": "U007", "name": nfd}]
    sheet = write_and_open(tmp_path, [make_table(rows=rows)]).active

    assert data_cell(sheet, 0, "name").value == nfc
    assert data_cell(sheet, 1, "name").value == nfc


# --- layout ---------------------------------------------------------------------------


def test_header_labels_by_language(tmp_path):
    vi = write_and_open(tmp_path, [make_table()], "vi", "vi.xlsx").active
    en = write_and_open(tmp_path, [make_table()], "en", "en.xlsx").active

    assert [cell.value for cell in vi[1]] == [column.label_vi for column in COLUMNS]
    assert [cell.value for cell in en[1]] == [column.label_en for column in COLUMNS]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("vi", ["Bảng chấm công", "Chi tiết", "Nhật ký chấm công", "Tham gia sự kiện"]),
        ("en", ["Timesheet", "Daily detail", "Check-in log", "Event attendance"]),
    ],
)
def test_sheet_names_by_language(tmp_path, language, expected):
    tables = [
        Table(key=key, name_vi=name.vi, name_en=name.en, columns=COLUMNS, rows=[ROW])
        for key, name in SHEET_NAMES.items()
    ]
    workbook = write_and_open(tmp_path, tables, language)

    assert workbook.sheetnames == expected


def test_header_frozen_below_title(tmp_path):
    table = make_table(title_lines=["BẢNG CHẤM CÔNG", "Tháng 11 năm 2026"], frozen_columns=2)
    sheet = write_and_open(tmp_path, [table]).active

    assert sheet.freeze_panes == "C5"
    assert sheet["A1"].value == "BẢNG CHẤM CÔNG"
    assert sheet["A1"].font.bold
    assert sheet["A2"].value == "Tháng 11 năm 2026"
    assert sheet["A3"].value is None
    assert sheet["A4"].value == "Mã NV"
    assert data_cell(sheet, 0, "user_id", header_row=4).value == "U001"


def test_header_frozen_without_title(tmp_path):
    sheet = write_and_open(tmp_path, [make_table()]).active

    assert sheet.freeze_panes == "A2"


def test_header_style(tmp_path):
    sheet = write_and_open(tmp_path, [make_table()]).active
    header = sheet["B1"]

    assert header.font.bold
    assert header.alignment.wrap_text
    assert header.fill.fill_type == "solid"


def test_column_widths(tmp_path):
    sheet = write_and_open(tmp_path, [make_table()]).active

    for index, column in enumerate(COLUMNS, start=1):
        assert sheet.column_dimensions[openpyxl.utils.get_column_letter(index)].width == column.width


def test_fills_shade_rest_and_holiday(tmp_path):
    rows = [ROW, {**ROW, "user_id": "U002"}]
    fills = {(0, "name"): Fill.REST, (1, "count"): Fill.HOLIDAY}
    sheet = write_and_open(tmp_path, [make_table(rows=rows, fills=fills)]).active

    rest = data_cell(sheet, 0, "name").fill
    holiday = data_cell(sheet, 1, "count").fill
    plain = data_cell(sheet, 0, "count").fill
    assert rest.fill_type == "solid"
    assert rest.fgColor.rgb.endswith(FILL_COLOURS[Fill.REST])
    assert holiday.fill_type == "solid"
    assert holiday.fgColor.rgb.endswith(FILL_COLOURS[Fill.HOLIDAY])
    assert FILL_COLOURS[Fill.REST] != FILL_COLOURS[Fill.HOLIDAY]
    assert plain.fill_type is None


def test_fill_shades_blank_cell(tmp_path):
    table = make_table(rows=[{"user_id": "U008"}], fills={(0, "date"): Fill.HOLIDAY})
    cell = data_cell(write_and_open(tmp_path, [table]).active, 0, "date")

    assert cell.value is None
    assert cell.fill.fgColor.rgb.endswith(FILL_COLOURS[Fill.HOLIDAY])


@pytest.mark.parametrize("position", [(0, "no_such_column"), (1, "name"), (-1, "name")])
def test_fill_outside_table_rejected(tmp_path, position):
    table = make_table(fills={position: Fill.REST})

    with pytest.raises(ValueError, match="outside the table"):
        write_workbook([table], tmp_path / "out.xlsx", "vi")


def test_header_row_tall_enough_for_wrapped_labels(tmp_path):
    sheet = write_and_open(tmp_path, [make_grid()]).active

    assert sheet.row_dimensions[4].height >= 30


def test_shaded_cell_keeps_number_format(tmp_path):
    table = make_table(fills={(0, "hours"): Fill.REST})
    cell = data_cell(write_and_open(tmp_path, [table]).active, 0, "hours")

    assert cell.number_format == "0.00"


def test_legend_below_rows(tmp_path):
    legend = legend_lines(DEFAULT_SYMBOLS, "vi")
    table = make_table(rows=[ROW, ROW], footer_lines=legend)
    sheet = write_and_open(tmp_path, [table]).active

    assert sheet.cell(row=4, column=1).value is None
    assert [sheet.cell(row=5 + index, column=1).value for index in range(len(legend))] == legend


# --- the monthly grid, end to end ------------------------------------------------------


def make_grid(symbols=DEFAULT_SYMBOLS) -> Table:
    columns = month_grid_columns(2026, 11)
    row = {"stt": 1, "user_id": "U001", "name": "Nguyễn Văn An", "office": "Hà Nội", day_key(2): "X", day_key(3): "X/2", "workdays": 1.5}
    return Table(
        key=GRID_TABLE_KEY,
        name_vi="Bảng chấm công",
        name_en="Timesheet",
        columns=columns,
        rows=[row],
        fills={(0, day_key(1)): Fill.REST},
        title_lines=["BẢNG CHẤM CÔNG", "Tháng 11 năm 2026"],
        footer_lines=legend_lines(symbols, "vi"),
        frozen_columns=GRID_FROZEN_COLUMNS,
    )


def test_grid_sheet_layout(tmp_path):
    sheet = write_and_open(tmp_path, [make_grid()]).active

    assert sheet.freeze_panes == "E5"
    assert sheet["E4"].value == "1\nCN"
    assert sheet["F4"].value == "2\nT2"
    assert sheet["F5"].value == "X"
    assert sheet["F5"].alignment.horizontal == "center"
    assert sheet["G5"].value == "X/2"
    assert sheet["E5"].fill.fgColor.rgb.endswith(FILL_COLOURS[Fill.REST])
    workdays = sheet.cell(row=5, column=4 + 30 + 1)
    assert workdays.value == 1.5
    assert workdays.number_format == "0.00"
    assert sheet["A7"].value == "Ký hiệu chấm công:"
    assert sheet["A8"].value == "X: Đủ công"


def test_grid_prints_landscape_one_page_wide(tmp_path):
    sheet = write_and_open(tmp_path, [make_grid()]).active

    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.fitToWidth == 1
    assert sheet.sheet_properties.pageSetUpPr.fitToPage


# --- writing the file ---------------------------------------------------------------------


def test_returns_path_and_leaves_no_temporary_file(tmp_path):
    path = write_workbook([make_table()], tmp_path / "out.xlsx", "vi")

    assert path == tmp_path / "out.xlsx"
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["out.xlsx"]


def test_existing_file_replaced_whole(tmp_path):
    path = tmp_path / "out.xlsx"
    many = [{**ROW, "user_id": f"U{index:04d}"} for index in range(500)]
    write_workbook([make_table(rows=many)], path, "vi")

    write_workbook([make_table(rows=[{**ROW, "user_id": "NEW"}])], path, "vi")
    sheet = openpyxl.load_workbook(path).active

    assert sheet.max_row == 2
    assert data_cell(sheet, 0, "user_id").value == "NEW"
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["out.xlsx"]


def test_failure_keeps_old_file(tmp_path):
    path = tmp_path / "out.xlsx"
    write_workbook([make_table()], path, "vi")
    before = path.read_bytes()
    broken = make_table(rows=[ROW, {**ROW, "count": "many"}])

    with pytest.raises(TypeError, match="row 2, column 'count'"):
        write_workbook([broken], path, "vi")

    assert path.read_bytes() == before
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["out.xlsx"]


def test_failure_removes_streamed_sheet_files(tmp_path, monkeypatch):
    streaming_folder = tmp_path / "streaming"
    streaming_folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(streaming_folder))
    broken = make_table(key="broken", name_vi="Hỏng", rows=[ROW, {**ROW, "date": "yesterday"}])

    with pytest.raises(TypeError):
        write_workbook([make_table(), broken], tmp_path / "out.xlsx", "vi")

    assert list(streaming_folder.iterdir()) == []


def test_missing_folder_rejected(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_workbook([make_table()], tmp_path / "no-such-folder" / "out.xlsx", "vi")

    assert list(tmp_path.iterdir()) == []


def test_folder_as_target_rejected(tmp_path):
    with pytest.raises(IsADirectoryError):
        write_workbook([make_table()], tmp_path, "vi")


@pytest.mark.parametrize(
    "names",
    [
        [("Chi tiết", "Detail"), ("Chi tiết", "Other")],
        [("CHI TIẾT", "Detail"), ("chi tiết", "Other")],
        [("Tháng 11/2026", "Month")],
        [("x" * 32, "Long")],
        [("", "Empty")],
    ],
)
def test_invalid_sheet_names_rejected(tmp_path, names):
    tables = [make_table(key=f"t{index}", name_vi=vi, name_en=en) for index, (vi, en) in enumerate(names)]

    with pytest.raises(ValueError, match="Sheet name"):
        write_workbook(tables, tmp_path / "out.xlsx", "vi")


def test_no_tables_rejected(tmp_path):
    with pytest.raises(ValueError, match="at least one"):
        write_workbook([], tmp_path / "out.xlsx", "vi")


def cell_snapshot(workbook) -> list:
    snapshot = []
    for sheet in workbook.worksheets:
        snapshot.append((sheet.title, sheet.freeze_panes, {key: dimension.width for key, dimension in sheet.column_dimensions.items()}))
        for row in sheet.iter_rows():
            for cell in row:
                snapshot.append(
                    (
                        cell.coordinate,
                        cell.value,
                        cell.data_type,
                        cell.number_format,
                        repr(cell.font),
                        repr(cell.fill),
                        repr(cell.border),
                        repr(cell.alignment),
                        repr(cell.protection),
                    )
                )
    return snapshot


def test_same_tables_same_workbook(tmp_path):
    tables = [make_grid(), make_table(rows=[ROW, {**ROW, "name": "=1+1"}], fills={(1, "date"): Fill.HOLIDAY})]
    first = write_workbook(tables, tmp_path / "first.xlsx", "vi")
    second = write_workbook(tables, tmp_path / "second.xlsx", "vi")

    assert cell_snapshot(openpyxl.load_workbook(first)) == cell_snapshot(openpyxl.load_workbook(second))
    assert first.read_bytes() == second.read_bytes()


def test_document_times_come_from_data(tmp_path):
    workbook = write_and_open(tmp_path, [make_table()])

    assert workbook.properties.created == dt.datetime(2026, 11, 2, 8, 7, 41)
    assert workbook.properties.modified == dt.datetime(2026, 11, 2, 8, 7, 41)


def test_document_times_without_dates(tmp_path):
    workbook = write_and_open(tmp_path, [make_table(rows=[{"user_id": "U009"}])])

    assert workbook.properties.created == dt.datetime(1980, 1, 1)


# --- the column definitions ------------------------------------------------------------------


@pytest.mark.parametrize("columns", [month_grid_columns(2026, 11), DAILY_COLUMNS, CHECKIN_LOG_COLUMNS, EVENT_COLUMNS])
def test_column_keys_unique(columns):
    keys = [column.key for column in columns]

    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("columns", [month_grid_columns(2026, 2), DAILY_COLUMNS, CHECKIN_LOG_COLUMNS, EVENT_COLUMNS])
def test_column_labels_nfc_and_present(columns):
    for column in columns:
        assert column.label_vi
        assert column.label_en
        assert unicodedata.is_normalized("NFC", column.label_vi)


def test_sheet_names_fit_excel():
    for name in SHEET_NAMES.values():
        assert 1 <= len(name.vi) <= 31
        assert 1 <= len(name.en) <= 31


def test_daily_keys_match_day_figures():
    figure_fields = {field.name for field in dataclasses.fields(DayFigures)}
    shared = {
        "late_minutes",
        "early_leave_minutes",
        "worked_minutes",
        "overtime_workday_minutes",
        "overtime_dayoff_minutes",
        "overtime_holiday_minutes",
        "overtime_minutes",
        "overtime_night_minutes",
        "night_minutes",
        "workday",
        "needs_explanation",
        "conflict",
        "checkin_count",
        "office_location",
        "date",
        "kind",
        "status",
        "shift_source",
    }
    daily_keys = {column.key for column in DAILY_COLUMNS}

    assert shared <= figure_fields
    assert shared <= daily_keys
    assert {"first_in", "last_out", "shift_begin", "shift_end"} <= daily_keys


def test_daily_notes_editable_only():
    editable = [column.key for column in DAILY_COLUMNS if column.editable]

    assert editable == ["notes"]
    assert DAILY_COLUMNS[-1].label_vi == "Ghi chú"


@pytest.mark.parametrize(("year", "month", "days"), [(2026, 2, 28), (2028, 2, 29), (2026, 4, 30), (2026, 11, 30), (2026, 12, 31)])
def test_grid_has_one_column_per_day(year, month, days):
    columns = month_grid_columns(year, month)
    day_keys = [column.key for column in columns[len(GRID_LEADING_COLUMNS) : -len(GRID_TOTAL_COLUMNS)]]

    assert day_keys == [day_key(day) for day in range(1, days + 1)]
    assert len(columns) == len(GRID_LEADING_COLUMNS) + days + len(GRID_TOTAL_COLUMNS)


def test_grid_day_labels_show_weekday():
    columns = grid_columns(30, [7, 1, 2, 3, 4, 5, 6] * 4 + [7, 1])
    days = columns[len(GRID_LEADING_COLUMNS) :]

    assert (days[0].label_vi, days[0].label_en) == ("1\nCN", "1\nSun")
    assert (days[1].label_vi, days[1].label_en) == ("2\nT2", "2\nMon")
    assert (days[6].label_vi, days[6].label_en) == ("7\nT7", "7\nSat")
    assert days[0].centered


@pytest.mark.parametrize(
    ("days_in_month", "weekdays", "message"),
    [
        (27, [1] * 27, "28 to 31"),
        (30, [1] * 29, "expected 30 weekdays"),
        (28, [0] + [1] * 27, "ISO weekdays"),
    ],
)
def test_grid_columns_reject_bad_month(days_in_month, weekdays, message):
    with pytest.raises(ValueError, match=message):
        grid_columns(days_in_month, weekdays)


def test_grid_fixed_and_total_keys():
    assert [column.key for column in GRID_LEADING_COLUMNS] == ["stt", "user_id", "name", "office"]
    assert GRID_FROZEN_COLUMNS == 4
    assert {column.key for column in GRID_TOTAL_COLUMNS} == {
        "workdays",
        "paid_holidays",
        "payable_days",
        "standard_workdays",
        "absent_days",
        "missing_checkout_days",
        "late_count",
        "late_minutes",
        "early_leave_count",
        "early_leave_minutes",
        "overtime_workday_hours",
        "overtime_dayoff_hours",
        "overtime_holiday_hours",
        "overtime_night_hours",
        "night_hours",
        "overtime_year_hours",
        "overtime_cap_flags",
    }


@pytest.mark.parametrize(
    ("language", "first", "symbol_line"),
    [("vi", "Ký hiệu chấm công:", "NB: Nghỉ bù"), ("en", "Symbol legend:", "NB: Compensatory day off")],
)
def test_legend_lines_by_language(language, first, symbol_line):
    lines = legend_lines(DEFAULT_SYMBOLS, language)

    assert lines[0] == first
    assert symbol_line in lines
    assert len(lines) == 1 + len(SYMBOL_MEANINGS) + 5


def test_legend_uses_firm_symbols():
    lines = legend_lines({**DEFAULT_SYMBOLS, "workday": "+"}, "vi")

    assert lines[1] == "+: Đủ công"


@pytest.mark.parametrize(
    "symbols",
    [
        {key: value for key, value in DEFAULT_SYMBOLS.items() if key != "absent"},
        {**DEFAULT_SYMBOLS, "sick": "Ô"},
    ],
)
def test_legend_rejects_wrong_keys(symbols):
    with pytest.raises(ValueError, match="legend symbols"):
        legend_lines(symbols, "vi")


def test_compact_rows_read_like_mappings() -> None:
    from exporters.tables import CHECKIN_LOG_COLUMNS, RowShape

    shape = RowShape(CHECKIN_LOG_COLUMNS)
    row = shape.row({"user_id": "NV001", "name": "=HYPERLINK(\"x\")"})

    assert row["user_id"] == "NV001"
    assert row.get("machine_id") is None
    assert row.get("no_such_column", "blank") == "blank"
    assert list(row) == [column.key for column in CHECKIN_LOG_COLUMNS]
    with pytest.raises(ValueError, match="not columns"):
        shape.row({"nickname": "An"})


def test_compact_rows_write_like_dicts(tmp_path: Path) -> None:
    from exporters.tables import CHECKIN_LOG_COLUMNS, RowShape

    values = {"user_id": "NV001", "name": "=cmd", "checkin_time": dt.datetime(2026, 11, 2, 7, 55)}
    as_dict = Table("checkin_log", "Nhật ký", "Log", CHECKIN_LOG_COLUMNS, [values])
    compact = Table("checkin_log", "Nhật ký", "Log", CHECKIN_LOG_COLUMNS, [RowShape(CHECKIN_LOG_COLUMNS).row(values)])

    write_workbook([as_dict], tmp_path / "dict.xlsx", "vi")
    write_workbook([compact], tmp_path / "compact.xlsx", "vi")

    assert (tmp_path / "dict.xlsx").read_bytes() == (tmp_path / "compact.xlsx").read_bytes()
