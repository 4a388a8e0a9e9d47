"""Plain tables that every exporter renders, and the one definition of their columns.

A `Table` is typed rows plus `Column`s that carry a key, a Vietnamese and an English
label, a value type and a number format. Excel and Google Sheets both render these,
so a layout is defined once. Exporters never query the database: `jobs` builds the
tables and hands them over.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import enum
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

Language = Literal["vi", "en"]


class ValueType(enum.StrEnum):
    """The type of a column's values, which decides how they are written and formatted."""

    TEXT = "text"
    """Always text, even when it looks like a number or a formula."""
    INTEGER = "integer"
    DECIMAL = "decimal"
    """A number shown with two decimals (hours, workdays)."""
    DATE = "date"
    """A `datetime.date`, shown dd/mm/yyyy."""
    TIME = "time"
    """A naive local `datetime.datetime`, shown HH:MM."""
    DATETIME = "datetime"
    """A naive local `datetime.datetime`, shown dd/mm/yyyy HH:MM:SS."""


NUMBER_FORMATS: dict[ValueType, str] = {
    ValueType.TEXT: "@",
    ValueType.INTEGER: "0",
    ValueType.DECIMAL: "0.00",
    ValueType.DATE: "dd/mm/yyyy",
    ValueType.TIME: "hh:mm",
    ValueType.DATETIME: "dd/mm/yyyy hh:mm:ss",
}


class Fill(enum.StrEnum):
    """A cell's shading, by what the date is."""

    REST = "rest"
    HOLIDAY = "holiday"


@dataclasses.dataclass(frozen=True)
class Column:
    """One column: its key, its labels in both languages, its type and width."""

    key: str
    label_vi: str
    label_en: str
    type: ValueType = ValueType.TEXT
    width: float = 12
    editable: bool = False
    """Managers may type in this column of the shared sheet; exports keep it."""
    centered: bool = False
    """Whether cells are centred (grid symbols, row numbers, weekdays)."""

    def label(self, language: Language) -> str:
        """Return the header in `language`."""
        return self.label_vi if language == "vi" else self.label_en

    @property
    def number_format(self) -> str:
        """Return the spreadsheet number format of this column's type."""
        return NUMBER_FORMATS[self.type]


@dataclasses.dataclass(frozen=True)
class Table:
    """A titled grid of typed values, one exporter sheet or tab.

    Each row maps column keys to Python values of the column's type; a missing key
    or None is a blank cell. `fills` shades cells by (row index, column key), the
    row index 0-based within `rows`.
    `title_lines` are printed above the header (the 01a-LĐTL title block) and
    `footer_lines` below the rows (the legend); both are plain text.
    """

    key: str
    name_vi: str
    name_en: str
    columns: Sequence[Column]
    rows: Sequence[Mapping[str, Any]]
    fills: dict[tuple[int, str], Fill] = dataclasses.field(default_factory=dict)
    title_lines: Sequence[str] = ()
    footer_lines: Sequence[str] = ()
    frozen_columns: int = 0
    """How many leading columns stay in view when scrolling sideways (the header
    rows always stay in view)."""

    def name(self, language: Language) -> str:
        """Return the sheet name in `language`."""
        return self.name_vi if language == "vi" else self.name_en


class RowShape:
    """The column keys of a large table's rows, shared by every `Row` built with it."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self.keys = tuple(column.key for column in columns)
        self.index = {key: position for position, key in enumerate(self.keys)}

    def row(self, values: Mapping[str, Any]) -> Row:
        """Return a compact row of `values`; keys outside the columns are an error."""
        unknown = set(values) - self.index.keys()
        if unknown:
            raise ValueError(f"row has keys that are not columns: {sorted(unknown)}")
        return Row(self, tuple(values.get(key) for key in self.keys))


class Row(Mapping[str, Any]):
    """A table row stored as a tuple in column order.

    A month's check-in log for 1,000 employees has about 90,000 rows; as dicts they
    took several times the memory of these.
    """

    __slots__ = ("_shape", "_values")

    def __init__(self, shape: RowShape, values: tuple[Any, ...]) -> None:
        self._shape = shape
        self._values = values

    def __getitem__(self, key: str) -> Any:
        return self._values[self._shape.index[key]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._shape.keys)

    def __len__(self) -> int:
        return len(self._values)


# --- Labels shared by the column definitions -------------------------------------


@dataclasses.dataclass(frozen=True)
class Label:
    """A piece of user-facing text in both languages (Vietnamese NFC, English)."""

    vi: str
    en: str

    def text(self, language: Language) -> str:
        """Return the text in `language`."""
        return self.vi if language == "vi" else self.en


def _column(key: str, label: Label, type: ValueType = ValueType.TEXT, width: float = 12, editable: bool = False, centered: bool = False) -> Column:
    return Column(key=key, label_vi=label.vi, label_en=label.en, type=type, width=width, editable=editable, centered=centered)


# --- Sheet names and table keys ---------------------------------------------------

GRID_TABLE_KEY = "grid"
DAILY_TABLE_KEY = "daily"
CHECKIN_LOG_TABLE_KEY = "checkin_log"
EVENT_TABLE_KEY = "events"

GRID_SHEET_NAME = Label("Bảng chấm công", "Timesheet")
DAILY_SHEET_NAME = Label("Chi tiết", "Daily detail")
CHECKIN_LOG_SHEET_NAME = Label("Nhật ký chấm công", "Check-in log")
EVENT_SHEET_NAME = Label("Tham gia sự kiện", "Event attendance")

SHEET_NAMES: dict[str, Label] = {
    GRID_TABLE_KEY: GRID_SHEET_NAME,
    DAILY_TABLE_KEY: DAILY_SHEET_NAME,
    CHECKIN_LOG_TABLE_KEY: CHECKIN_LOG_SHEET_NAME,
    EVENT_TABLE_KEY: EVENT_SHEET_NAME,
}
"""Each table key's sheet name; Excel limits a sheet name to 31 characters."""


# --- Values shown in cells ------------------------------------------------------

WEEKDAY_LABELS: dict[int, Label] = {
    1: Label("T2", "Mon"),
    2: Label("T3", "Tue"),
    3: Label("T4", "Wed"),
    4: Label("T5", "Thu"),
    5: Label("T6", "Fri"),
    6: Label("T7", "Sat"),
    7: Label("CN", "Sun"),
}
"""Short weekday names by ISO weekday (1 is Monday)."""

DATE_KIND_LABELS: dict[str, Label] = {
    "work": Label("Ngày làm việc", "Work day"),
    "rest": Label("Ngày nghỉ", "Rest day"),
    "holiday": Label("Nghỉ lễ, Tết", "Public holiday"),
}
"""The daily detail's `kind` cell, keyed by `jobs.figures.DateKind` values."""

STATUS_LABELS: dict[str, Label] = {
    "present": Label("Có mặt", "Present"),
    "missing_checkout": Label("Thiếu chấm công", "Missing check-out"),
    "absent": Label("Vắng", "Absent"),
    "day_off": Label("Nghỉ", "Day off"),
    "holiday": Label("Nghỉ lễ, Tết", "Public holiday"),
    "open": Label("Chưa chốt", "Not closed yet"),
}
"""The daily detail's `status` cell, keyed by `jobs.figures.Status` values."""

SHIFT_SOURCE_LABELS: dict[str, Label] = {
    "working_group": Label("ACheckin", "ACheckin"),
    "user": Label("Theo nhân viên", "Per employee"),
    "office": Label("Theo văn phòng", "Per office"),
    "default": Label("Ca mặc định", "Default shift"),
    "none": Label("Không có ca", "No shift"),
}
"""The daily detail's `shift_source` cell, keyed by `jobs.figures.ShiftSource` values."""

YES_LABEL = Label("Có", "Yes")
"""The cell text of a true flag (needs explanation); a false flag is a blank cell."""


# --- Shading ----------------------------------------------------------------------

FILL_COLOURS: dict[Fill, str] = {
    Fill.REST: "E7E6E6",
    Fill.HOLIDAY: "FCE4D6",
}
"""Background of shaded cells as RRGGBB: light grey for rest days, light orange for holidays."""


# --- Monthly grid (bảng chấm công, laid out like form 01a-LĐTL) ---------------------

GRID_LEADING_COLUMNS: tuple[Column, ...] = (
    _column("stt", Label("STT", "No."), ValueType.INTEGER, width=5, centered=True),
    _column("user_id", Label("Mã NV", "Employee ID"), width=12),
    _column("name", Label("Họ và tên", "Full name"), width=26),
    _column("office", Label("Văn phòng / Chi nhánh", "Office"), width=18),
)
"""The grid's columns before the days: row number, employee id, name, office."""

GRID_FROZEN_COLUMNS = len(GRID_LEADING_COLUMNS)
"""How many leading grid columns stay in view when scrolling across the days."""

GRID_TOTAL_COLUMNS: tuple[Column, ...] = (
    _column("workdays", Label("Công thực tế", "Workdays"), ValueType.DECIMAL, width=9),
    _column("paid_holidays", Label("Nghỉ lễ, Tết hưởng lương", "Paid holidays"), ValueType.DECIMAL, width=9),
    _column("payable_days", Label("Tổng công hưởng lương", "Payable days"), ValueType.DECIMAL, width=9),
    _column("standard_workdays", Label("Công chuẩn", "Standard workdays"), ValueType.DECIMAL, width=9),
    _column("absent_days", Label("Số ngày vắng", "Days absent"), ValueType.INTEGER, width=8),
    _column("missing_checkout_days", Label("Số ngày thiếu chấm công", "Days missing check-out"), ValueType.INTEGER, width=10),
    _column("late_count", Label("Số lần đi muộn", "Times late"), ValueType.INTEGER, width=8),
    _column("late_minutes", Label("Đi muộn (phút)", "Minutes late"), ValueType.INTEGER, width=8),
    _column("early_leave_count", Label("Số lần về sớm", "Times left early"), ValueType.INTEGER, width=8),
    _column("early_leave_minutes", Label("Về sớm (phút)", "Minutes left early"), ValueType.INTEGER, width=8),
    _column("overtime_workday_hours", Label("Làm thêm ngày thường (giờ)", "Overtime on work days (h)"), ValueType.DECIMAL, width=10),
    _column("overtime_dayoff_hours", Label("Làm thêm ngày nghỉ (giờ)", "Overtime on days off (h)"), ValueType.DECIMAL, width=10),
    _column("overtime_holiday_hours", Label("Làm thêm ngày lễ (giờ)", "Overtime on holidays (h)"), ValueType.DECIMAL, width=10),
    _column("overtime_night_hours", Label("Làm thêm ban đêm (giờ)", "Night overtime (h)"), ValueType.DECIMAL, width=10),
    _column("night_hours", Label("Làm đêm (giờ)", "Night work (h)"), ValueType.DECIMAL, width=9),
    _column("overtime_year_hours", Label("Làm thêm lũy kế năm (giờ)", "Overtime this year (h)"), ValueType.DECIMAL, width=10),
    _column("overtime_cap_flags", Label("Vượt giới hạn làm thêm", "Overtime over legal caps"), width=30),
)
"""The totals at the end of each grid row (hours with two decimals, the 01b-LĐTL
overtime kinds). `overtime_year_hours` runs from 1 January to the month's end and
`overtime_cap_flags` names each legal cap the employee went past."""


def day_key(day: int) -> str:
    """Return the grid column key of day-of-month `day`: `d01` .. `d31`."""
    return f"d{day:02d}"


def grid_columns(days_in_month: int, weekdays: Sequence[int]) -> tuple[Column, ...]:
    """Return the monthly grid's columns: the leading ones, one per day, then the totals.

    `weekdays` contains the ISO weekday (1 Monday .. 7 Sunday) of each day of the month,
    in order, so the grid never computes dates itself. A day column's key is
    `day_key(day)`, its cells hold the day's symbol as text, and its label is the day
    number over the weekday ("1\\nT2", "1\\nMon").
    """
    if not 28 <= days_in_month <= 31:
        raise ValueError(f"days_in_month must be 28 to 31, got {days_in_month}")
    if len(weekdays) != days_in_month:
        raise ValueError(f"expected {days_in_month} weekdays, one per day, got {len(weekdays)}")
    unknown = [weekday for weekday in weekdays if weekday not in WEEKDAY_LABELS]
    if unknown:
        raise ValueError(f"weekdays must be ISO weekdays 1 to 7, got {unknown}")

    day_columns = tuple(
        _column(
            day_key(day),
            Label(f"{day}\n{WEEKDAY_LABELS[weekday].vi}", f"{day}\n{WEEKDAY_LABELS[weekday].en}"),
            width=4.5,
            centered=True,
        )
        for day, weekday in enumerate(weekdays, start=1)
    )
    return GRID_LEADING_COLUMNS + day_columns + GRID_TOTAL_COLUMNS


def month_grid_columns(year: int, month: int) -> tuple[Column, ...]:
    """Return `grid_columns` for a calendar month (proleptic Gregorian)."""
    days_in_month = calendar.monthrange(year, month)[1]
    weekdays = [dt.date(year, month, day).isoweekday() for day in range(1, days_in_month + 1)]
    return grid_columns(days_in_month, weekdays)


# --- Legend (ký hiệu chấm công) ------------------------------------------------------

SYMBOL_MEANINGS: dict[str, Label] = {
    "workday": Label("Đủ công", "Full workday"),
    "half_workday": Label("Nửa công", "Half workday"),
    "short_hours": Label("Thiếu giờ (có đi làm nhưng không đủ giờ tính công)", "Short hours (present, too few hours for a workday)"),
    "missing_checkout": Label("Thiếu chấm công (quên chấm công ra), cần giải trình", "Missing check-out, needs an explanation"),
    "absent": Label("Vắng", "Absent"),
    "holiday": Label("Nghỉ lễ, Tết", "Public holiday"),
    "compensatory": Label("Nghỉ bù", "Compensatory day off"),
    "holiday_worked": Label("Làm ngày lễ", "Worked on a public holiday"),
    "rest_worked": Label("Làm ngày nghỉ", "Worked on a rest day"),
}
"""The meaning of each grid symbol, keyed like `jobs.settings.Symbols` fields."""

LEGEND_TITLE = Label("Ký hiệu chấm công", "Symbol legend")
LEGEND_BLANK = Label(
    "Ô trống: ngày nghỉ hằng tuần không đi làm, ngày chưa chốt, hoặc trước lần chấm công đầu tiên",
    "Blank: a weekly rest day not worked, a date not closed yet, or a date before the first check-in",
)
LEGEND_LATE_EARLY = Label(
    "Ngày đi muộn hoặc về sớm vẫn giữ ký hiệu; số lần và số phút nằm ở cột tổng",
    "A late or early day keeps its symbol; the times and minutes are in the totals",
)
LEGEND_SHADING = Label(
    "Ô nền xám: ngày nghỉ hằng tuần; ô nền cam: ngày lễ, Tết hoặc nghỉ bù",
    "Grey cells: weekly rest days; orange cells: public holidays and compensatory days off",
)

LEGEND_NIGHT = Label(
    "Giờ làm đêm (22:00–06:00) gồm cả giờ làm thêm ban đêm; cột làm thêm ban đêm chỉ để tính phần phụ cấp thêm",
    "Night hours (22:00–06:00) include night overtime; the night-overtime column is only for its extra allowance",
)
LEGEND_FIRST_DATE = Label(
    "Nhân viên có mặt trong tháng khi có ít nhất một lần chấm công thuộc về một ngày của tháng",
    "An employee is listed in a month when at least one check-in belongs to one of its dates",
)


def legend_lines(symbols: Mapping[str, str], language: Language) -> list[str]:
    """Return the legend printed below the grid, one line per symbol, in `language`.

    `symbols` maps each `SYMBOL_MEANINGS` key to the firm's symbol, for example
    `dataclasses.asdict(settings.export.symbols)`.
    """
    missing = [key for key in SYMBOL_MEANINGS if key not in symbols]
    unknown = [key for key in symbols if key not in SYMBOL_MEANINGS]
    if missing or unknown:
        raise ValueError(f"legend symbols must have exactly the keys {list(SYMBOL_MEANINGS)}; missing {missing}, unknown {unknown}")

    lines = [f"{LEGEND_TITLE.text(language)}:"]
    lines.extend(f"{symbols[key]}: {meaning.text(language)}" for key, meaning in SYMBOL_MEANINGS.items())
    lines.append(LEGEND_BLANK.text(language))
    lines.append(LEGEND_LATE_EARLY.text(language))
    lines.append(LEGEND_SHADING.text(language))
    lines.append(LEGEND_NIGHT.text(language))
    lines.append(LEGEND_FIRST_DATE.text(language))
    return lines


SIGNATURE_ROLES: tuple[Label, ...] = (
    Label("Người chấm công", "Timekeeper"),
    Label("Phụ trách bộ phận", "Head of department"),
    Label("Người duyệt", "Approved by"),
)
"""The signers of the 01a-LĐTL form, left to right."""
SIGNATURE_HINT = Label("(Ký, họ tên)", "(Signature, full name)")
SIGNATURE_GAP = " " * 16
"""Spaces between the signers: the footer is plain text lines, so the block is one line of roles."""


def signature_lines(language: Language) -> list[str]:
    """Return the signature block below the legend: a blank line, the roles, then the hints."""
    roles = [role.text(language) for role in SIGNATURE_ROLES]
    hint = SIGNATURE_HINT.text(language)
    width = max(len(text) for text in [*roles, hint])
    return [
        "",
        SIGNATURE_GAP.join(role.center(width) for role in roles).rstrip(),
        SIGNATURE_GAP.join(hint.center(width) for _ in roles).rstrip(),
    ]


# --- Daily detail (bảng chấm công chi tiết) -----------------------------------------

DAILY_COLUMNS: tuple[Column, ...] = (
    _column("user_id", Label("Mã NV", "Employee ID"), width=12),
    _column("name", Label("Họ và tên", "Full name"), width=26),
    _column("office_location", Label("Văn phòng / Chi nhánh", "Office"), width=18),
    _column("date", Label("Ngày", "Date"), ValueType.DATE, width=11),
    _column("weekday", Label("Thứ", "Weekday"), width=5, centered=True),
    _column("kind", Label("Loại ngày", "Date kind"), width=13),
    _column("status", Label("Trạng thái", "Status"), width=15),
    _column("shift_begin", Label("Giờ bắt đầu ca", "Shift begins"), ValueType.TIME, width=8),
    _column("shift_end", Label("Giờ kết thúc ca", "Shift ends"), ValueType.TIME, width=8),
    _column("shift_source", Label("Nguồn ca làm việc", "Shift source"), width=14),
    _column("first_in", Label("Giờ vào", "First in"), ValueType.TIME, width=8),
    _column("last_out", Label("Giờ ra", "Last out"), ValueType.TIME, width=8),
    _column("checkin_count", Label("Số lần chấm công", "Check-ins"), ValueType.INTEGER, width=8),
    _column("late_minutes", Label("Đi muộn (phút)", "Minutes late"), ValueType.INTEGER, width=8),
    _column("early_leave_minutes", Label("Về sớm (phút)", "Minutes left early"), ValueType.INTEGER, width=8),
    _column("worked_minutes", Label("Số phút làm", "Minutes worked"), ValueType.INTEGER, width=8),
    _column("overtime_workday_minutes", Label("Làm thêm ngày thường (phút)", "Overtime on work day (min)"), ValueType.INTEGER, width=10),
    _column("overtime_dayoff_minutes", Label("Làm thêm ngày nghỉ (phút)", "Overtime on day off (min)"), ValueType.INTEGER, width=10),
    _column("overtime_holiday_minutes", Label("Làm thêm ngày lễ (phút)", "Overtime on holiday (min)"), ValueType.INTEGER, width=10),
    _column("overtime_minutes", Label("Tổng làm thêm (phút)", "Overtime in all (min)"), ValueType.INTEGER, width=10),
    _column("overtime_night_minutes", Label("Làm thêm ban đêm (phút)", "Night overtime (min)"), ValueType.INTEGER, width=10),
    _column("night_minutes", Label("Làm đêm (phút)", "Night work (min)"), ValueType.INTEGER, width=9),
    _column("workday", Label("Công", "Workday"), ValueType.DECIMAL, width=7),
    _column("needs_explanation", Label("Giải trình", "Needs explanation"), width=10),
    _column("conflict", Label("Xung đột ca", "Shift conflict"), width=24),
    _column("notes", Label("Ghi chú", "Notes"), width=30, editable=True),
)
"""One row per employee and date. Keys follow `daily_attendance`/`DayFigures` names.
Times are naive local datetimes, minutes are whole numbers and `workday` is the
credit (công). `needs_explanation` is `YES_LABEL` text or blank. `notes` is the
column managers type into in the shared sheet."""

DAILY_FROZEN_COLUMNS = 2
"""Employee id and name stay in view when scrolling the daily detail sideways."""


# --- Check-in log and event attendance ----------------------------------------------

CHECKIN_LOG_COLUMNS: tuple[Column, ...] = (
    _column("checkin_time", Label("Thời gian chấm công", "Check-in time"), ValueType.DATETIME, width=19),
    _column("work_date", Label("Thuộc ngày công", "Work date"), ValueType.DATE, width=11),
    _column("user_id", Label("Mã NV", "Employee ID"), width=12),
    _column("name", Label("Họ và tên", "Full name"), width=26),
    _column("office_location", Label("Văn phòng / Chi nhánh", "Office"), width=18),
    _column("machine_id", Label("Máy chấm công", "Check-in machine"), width=16),
    _column("working_group_begin", Label("Giờ bắt đầu ca (ACheckin)", "Shift begins (ACheckin)"), ValueType.TIME, width=10),
    _column("working_group_end", Label("Giờ kết thúc ca (ACheckin)", "Shift ends (ACheckin)"), ValueType.TIME, width=10),
    _column("working_group_conflict", Label("Xung đột ca", "Shift conflict"), width=24),
    _column("webhook_type", Label("Loại", "Type"), width=12),
)
"""One row per stored CHECKIN, in local wall time. `work_date` is the work date the
check-in belongs to. The working-group cells are datetimes whose clock time is what
ACheckin sent, and their date part is not shown."""

EVENT_COLUMNS: tuple[Column, ...] = (
    _column("checkin_time", Label("Thời gian chấm công", "Check-in time"), ValueType.DATETIME, width=19),
    _column("date", Label("Ngày", "Date"), ValueType.DATE, width=11),
    _column("user_id", Label("Mã NV", "Employee ID"), width=12),
    _column("name", Label("Họ và tên", "Full name"), width=26),
    _column("office_location", Label("Văn phòng / Chi nhánh", "Office"), width=18),
    _column("machine_id", Label("Máy chấm công", "Check-in machine"), width=16),
)
"""One row per JOIN_EVENT (a check-in to an event) in local wall time; `date` is the
local calendar date of `checkin_time`. Event check-ins count toward no attendance figure."""
