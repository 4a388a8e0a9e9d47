"""config.toml and the environment, parsed once into typed, validated settings.

`load_settings(path)` reads the TOML file with `tomllib` and checks every key at
start-up. A wrong type, a value out of range, an unknown key or an unknown section
raises `SettingsError`, which names the key (`attendance.late_grace_minutes`), the
value and what the key accepts. A key left out takes the default that the shipped
config.toml also shows.

Relative paths resolve against the folder of the config file, not the working
directory, so `serve` started from anywhere uses the same database. API keys never
come from config.toml: `ingest.api_keys_file` names a file, and the environment
variable `ACHECKIN_SYNC_API_KEYS` adds keys (see `ingest.config.load_api_keys`).
The Google service-account file comes from `sheets.credentials_file` or else from
`GOOGLE_APPLICATION_CREDENTIALS`. Text (office names, user ids, shift names,
symbols) is normalised to NFC so it compares equal to what the receiver stores.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import tomllib
import unicodedata
import zoneinfo
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pendulum

from exporters.tables import Language
from ingest.config import API_KEYS_ENV, ReceiverSettings, load_api_keys
from ingest.errors import ReceiverConfigError
from jobs.policy import (
    DEFAULT_SHIFT,
    DEFAULT_WORK_DAYS,
    AttendancePolicy,
    HolidayEdits,
    HoursMethod,
    Shift,
    StandardWorkdays,
)

T = TypeVar("T")

CREDENTIALS_ENV = "GOOGLE_APPLICATION_CREDENTIALS"

WEEKDAY_NAMES: dict[str, int] = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}
"""Weekday names accepted in config, mapped to ISO numbers."""

LANGUAGES: tuple[Language, ...] = ("vi", "en")
DEFAULT_SHIFT_NAME = "day"
"""The shift config.toml names as default; deleting its table leaves 08:00–17:00, break 12:00–13:00."""
LOG_LEVELS = ("debug", "info", "warning", "error")

UNITS_VI: dict[str, str] = {
    "port": "cổng",
    "bytes": "byte",
    "milliseconds": "mili giây",
    "minutes": "phút",
    "days (0 keeps everything)": "ngày, 0 là giữ tất cả",
    "hours (the legal maximum is 40)": "giờ, tối đa theo luật là 40",
}
"""Vietnamese forms of the units that `_integer` names in its messages."""

_CLOCK_PATTERN = re.compile(r"(\d{1,2}):(\d{2})")
_SPREADSHEET_URL = re.compile(r"https://docs\.google\.com/spreadsheets/d/([A-Za-z0-9_-]+)")
_SPREADSHEET_KEY = re.compile(r"[A-Za-z0-9_-]{20,}")


class SettingsError(ValueError):
    """A config value is invalid: `key` is its dotted path, `accepts` what is valid.

    `accepts` is English and `accepts_vi` its Vietnamese form; `str(error)` is the
    English message (for logs), `describe(language)` the message users see.
    """

    def __init__(self, key: str, value: Any, accepts: str, path: Path | None = None, accepts_vi: str | None = None) -> None:
        self.key = key
        self.value = value
        self.accepts = accepts
        self.accepts_vi = unicodedata.normalize("NFC", accepts_vi or accepts)
        self.path = path
        super().__init__(self.describe("en"))

    def describe(self, language: Language) -> str:
        """Return the message in `language`: the file, the key, the value and what it accepts."""
        where = f"{self.path}: " if self.path else ""
        if language == "vi":
            return f"{where}{self.key} = {self.value!r} không hợp lệ: {self.accepts_vi}"
        return f"{where}{self.key} = {self.value!r} is invalid: {self.accepts}"


class _Invalid(Exception):
    """Raised by a value parser; the reader adds the key and re-raises `SettingsError`."""

    def __init__(self, accepts: str, accepts_vi: str) -> None:
        super().__init__(accepts)
        self.accepts = accepts
        self.accepts_vi = accepts_vi


_MISSING = object()


# --- The typed settings -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ServerSettings:
    """Listening address and log level of `serve`."""

    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "info"


@dataclasses.dataclass(frozen=True)
class Symbols:
    """The cell symbols of the monthly grid (ký hiệu chấm công), one per day case."""

    workday: str = "X"
    half_workday: str = "X/2"
    short_hours: str = "TG"
    missing_checkout: str = "Q"
    absent: str = "V"
    holiday: str = "L"
    compensatory: str = "NB"
    holiday_worked: str = "NL"
    rest_worked: str = "NN"


@dataclasses.dataclass(frozen=True)
class ExportSettings:
    """Export folder, language and grid symbols."""

    directory: Path
    language: Language = "vi"
    symbols: Symbols = Symbols()
    company_name: str = ""
    """Shown above the timesheet's title when not empty."""
    signatures: bool = True
    """Whether the timesheet ends with the form's signature block."""


@dataclasses.dataclass(frozen=True)
class ScheduleSettings:
    """The ticks of `serve`: rollup every few minutes, one export a night (local time)."""

    rollup_every_minutes: int = 5
    nightly_export: bool = True
    export_at: str = "23:30"
    """Local wall time 'HH:MM' in the attendance time zone."""
    sheets_after_rollup: bool = True

    @property
    def export_at_minutes(self) -> int:
        """Return `export_at` as minutes after local midnight."""
        hours, minutes = self.export_at.split(":")
        return int(hours) * 60 + int(minutes)


@dataclasses.dataclass(frozen=True)
class SheetsSettings:
    """The managers' Google spreadsheet; `spreadsheet` None means Sheets is off."""

    spreadsheet: str | None = None
    """The key or the URL, as written in config."""
    credentials_file: Path | None = None

    @property
    def configured(self) -> bool:
        """Return whether a spreadsheet is named."""
        return self.spreadsheet is not None

    @property
    def spreadsheet_key(self) -> str | None:
        """Return the spreadsheet key, taken from the URL when a URL was given."""
        if self.spreadsheet is None:
            return None
        match = _SPREADSHEET_URL.match(self.spreadsheet)
        return match.group(1) if match else self.spreadsheet


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every setting of every package, validated."""

    config_path: Path
    server: ServerSettings
    receiver: ReceiverSettings
    database: Path
    policy: AttendancePolicy
    export: ExportSettings
    schedule: ScheduleSettings
    sheets: SheetsSettings
    retention_days: int = 0
    """Days raw bodies and personal fields are kept; 0 keeps them for ever."""
    keys_file_error: SettingsError | None = None
    """The error of an unreadable `ingest.api_keys_file`, when loaded with `keys_file_optional`."""

    @property
    def language(self) -> Language:
        """Return the language of CLI messages, which is the export language."""
        return self.export.language


# --- Reading tables key by key --------------------------------------------------------


class _Reader:
    """One TOML table being read: it tracks which keys were read and rejects the rest.

    `schema` is the dotted path with a `*` for a name the user chooses (a shift
    name), and every key asked for is recorded in `seen` under it, whether present or
    not, so `accepted_keys` can list the whole schema.
    """

    def __init__(self, data: Mapping[str, Any], path: str, schema: str, seen: set[str]) -> None:
        self.data = data
        self.path = path
        self.schema = schema
        self.seen = seen
        self.read: set[str] = set()

    def key_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, parse: Callable[[Any], T], default: T) -> T:
        """Parse `key` with `parse`, or return `default` when the key is absent."""
        self.seen.add(f"{self.schema}.{key}" if self.schema else key)
        self.read.add(key)
        if key not in self.data:
            return default
        value = self.data[key]
        try:
            return parse(value)
        except _Invalid as exc:
            raise SettingsError(self.key_path(key), value, exc.accepts, accepts_vi=exc.accepts_vi) from None

    def raw(self, key: str) -> Any:
        """Return the key's value unparsed (or `_MISSING`), recording it as known."""
        self.seen.add(f"{self.schema}.{key}" if self.schema else key)
        self.read.add(key)
        return self.data.get(key, _MISSING)

    def table(self, key: str, schema_key: str | None = None) -> _Reader:
        """Return a reader for the sub-table `key` (empty when absent)."""
        self.read.add(key)
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            raise SettingsError(self.key_path(key), value, "expected a table ([section] or { ... })", accepts_vi="cần một bảng ([mục] hoặc { ... })")
        schema = f"{self.schema}.{schema_key or key}" if self.schema else (schema_key or key)
        return _Reader(value, self.key_path(key), schema, self.seen)

    def fail(self, key: str, accepts: str, accepts_vi: str) -> SettingsError:
        """Return the error for `key` with its current value."""
        return SettingsError(self.key_path(key), self.data.get(key), accepts, accepts_vi=accepts_vi)

    def finish(self) -> None:
        """Raise for the first key of this table that nothing read (a typo)."""
        for key in self.data:
            if key not in self.read:
                known = ", ".join(sorted(self.read))
                raise SettingsError(
                    self.key_path(key),
                    self.data[key],
                    f"unknown key; known keys here: {known or 'none'}",
                    accepts_vi=f"khóa không tồn tại; các khóa hợp lệ ở đây: {known or 'không có'}",
                )


# --- Value parsers: each raises _Invalid with what it accepts --------------------------


def _integer(low: int, high: int, unit: str) -> Callable[[Any], int]:
    accepts = f"expected a whole number of {unit} from {low} to {high}"
    accepts_vi = f"cần một số nguyên ({UNITS_VI.get(unit, unit)}) từ {low} đến {high}"

    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _Invalid(accepts, accepts_vi)
        return value

    return parse


def _number(low: float, high: float, what: str, what_vi: str) -> Callable[[Any], float]:
    accepts = f"expected {what}, a number from {low} to {high}"
    accepts_vi = f"cần {what_vi}, một số từ {low} đến {high}"

    def parse(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise _Invalid(accepts, accepts_vi)
        return float(value)

    return parse


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid("expected true or false (without quotes)", "cần true hoặc false (không có dấu ngoặc kép)")
    return value


def _choice(*choices: str) -> Callable[[Any], str]:
    listed = ", ".join(f'"{choice}"' for choice in choices)

    def parse(value: Any) -> str:
        if not isinstance(value, str) or value not in choices:
            raise _Invalid(f"expected one of {listed}", f"cần một trong các giá trị {listed}")
        return value

    return parse


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Invalid("expected a non-empty string", "cần một chuỗi không rỗng")
    return unicodedata.normalize("NFC", value.strip())


def _clock(value: Any) -> int:
    """Parse 'HH:MM' (00:00..23:59) into minutes after midnight."""
    invalid = _Invalid('expected a clock time "HH:MM" from "00:00" to "23:59"', 'cần giờ dạng "HH:MM" từ "00:00" đến "23:59"')
    if not isinstance(value, str):
        raise invalid
    match = _CLOCK_PATTERN.fullmatch(value.strip())
    if match is None:
        raise invalid
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours > 23 or minutes > 59:
        raise invalid
    return hours * 60 + minutes


def _weekday(value: Any) -> int:
    names = ", ".join(f'"{name}"' for name in WEEKDAY_NAMES)
    if not isinstance(value, str) or value.strip().lower() not in WEEKDAY_NAMES:
        raise _Invalid(f"expected a weekday name: {names}", f"cần tên thứ trong tuần: {names}")
    return WEEKDAY_NAMES[value.strip().lower()]


def _weekdays(value: Any) -> frozenset[int]:
    invalid = _Invalid(
        'expected a non-empty list of distinct weekday names, e.g. ["mon", "tue", "wed"]',
        'cần một danh sách không rỗng các thứ khác nhau, ví dụ ["mon", "tue", "wed"]',
    )
    if not isinstance(value, list) or not value:
        raise invalid
    days = [_weekday(item) for item in value]
    if len(set(days)) != len(days):
        raise invalid
    return frozenset(days)


def _date(value: Any) -> dt.date:
    invalid = _Invalid("expected a date written YYYY-MM-DD", "cần một ngày viết dạng YYYY-MM-DD")
    if isinstance(value, dt.datetime):
        raise invalid
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise invalid from None
    raise invalid


def _dates(value: Any) -> frozenset[dt.date]:
    if not isinstance(value, list):
        raise _Invalid("expected a list of dates written YYYY-MM-DD, e.g. [2026-12-31]", "cần một danh sách ngày dạng YYYY-MM-DD, ví dụ [2026-12-31]")
    return frozenset(_date(item) for item in value)


def _timezone(value: Any) -> str:
    invalid = _Invalid('expected an IANA time zone name such as "Asia/Ho_Chi_Minh"', 'cần tên múi giờ IANA, ví dụ "Asia/Ho_Chi_Minh"')
    if not isinstance(value, str) or not value.strip():
        raise invalid
    name = value.strip()
    try:
        zoneinfo.ZoneInfo(name)
        pendulum.timezone(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, pendulum.tz.exceptions.InvalidTimezone):
        raise invalid from None
    return name


def _path_or_none(base: Path) -> Callable[[Any], Path | None]:
    """Parse a path relative to `base`; an empty string means none."""

    def parse(value: Any) -> Path | None:
        if not isinstance(value, str):
            raise _Invalid('expected a file path as a string, or "" for none', 'cần đường dẫn tệp dạng chuỗi, hoặc "" nếu không có')
        if not value.strip():
            return None
        return _resolve(base, value.strip())

    return parse


def _path(base: Path) -> Callable[[Any], Path]:
    def parse(value: Any) -> Path:
        if not isinstance(value, str) or not value.strip():
            raise _Invalid("expected a non-empty path as a string", "cần một đường dẫn dạng chuỗi không rỗng")
        return _resolve(base, value.strip())

    return parse


def _resolve(base: Path, text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else (base / path)


def _standard_workdays(value: Any) -> StandardWorkdays:
    invalid = _Invalid('expected "calendar", 26 or 22', 'cần "calendar", 26 hoặc 22')
    if isinstance(value, bool):
        raise invalid
    try:
        return StandardWorkdays(str(value))
    except ValueError:
        raise invalid from None


def _spreadsheet(value: Any) -> str | None:
    invalid = _Invalid(
        'expected a spreadsheet key, a URL "https://docs.google.com/spreadsheets/d/KEY/...", or "" for none',
        'cần khóa bảng tính, URL "https://docs.google.com/spreadsheets/d/KEY/...", hoặc "" để tắt',
    )
    if not isinstance(value, str):
        raise invalid
    text = value.strip()
    if not text:
        return None
    if _SPREADSHEET_URL.match(text) or _SPREADSHEET_KEY.fullmatch(text):
        return text
    raise invalid


# --- Sections -------------------------------------------------------------------------


def _server(reader: _Reader) -> ServerSettings:
    defaults = ServerSettings()
    settings = ServerSettings(
        host=reader.get("host", _text, defaults.host),
        port=reader.get("port", _integer(1, 65535, "port"), defaults.port),
        log_level=reader.get("log_level", _choice(*LOG_LEVELS), defaults.log_level),
    )
    reader.finish()
    return settings


def _receiver(
    ingest: _Reader,
    storage: _Reader,
    base: Path,
    environ: Mapping[str, str],
    keys_file_optional: bool,
    problems: list[SettingsError],
) -> ReceiverSettings:
    keys_file = ingest.get("api_keys_file", _path_or_none(base), None)
    body_limit = ingest.get("body_limit_bytes", _integer(1024, 64 * 1024 * 1024, "bytes"), 1_048_576)
    busy_timeout = storage.get("busy_timeout_ms", _integer(10, 3000, "milliseconds"), 1000)
    ingest.finish()

    try:
        environment_keys = load_api_keys(environ, None)
    except ReceiverConfigError as exc:
        raise SettingsError(API_KEYS_ENV, "(hidden)", exc.message_en, accepts_vi=exc.message) from exc
    try:
        api_keys = load_api_keys(environ, keys_file)
    except ReceiverConfigError as exc:
        error = SettingsError(ingest.key_path("api_keys_file"), str(keys_file), exc.message_en, accepts_vi=exc.message)
        if not keys_file_optional:
            raise error from exc
        problems.append(error)
        api_keys = environment_keys
    return ReceiverSettings(api_keys=api_keys, body_limit_bytes=body_limit, busy_timeout_ms=busy_timeout)


def _shift(reader: _Reader, name: str) -> Shift:
    begin = reader.get("begin", _clock, None)
    end = reader.get("end", _clock, None)
    break_begin = reader.get("break_begin", _clock, None)
    break_end = reader.get("break_end", _clock, None)
    workday = reader.get("workday", _number(0.1, 3.0, "the workday credit of a full day (ngày công)", "số ngày công của một ngày làm đủ ca"), 1.0)
    weekdays = reader.get("weekdays", _weekdays, None)
    reader.finish()

    if begin is None:
        raise reader.fail("begin", 'a shift needs a begin time "HH:MM"', 'ca cần giờ bắt đầu "HH:MM"')
    if end is None:
        raise reader.fail("end", 'a shift needs an end time "HH:MM"', 'ca cần giờ kết thúc "HH:MM"')
    if begin == end:
        raise reader.fail("end", "the end must differ from the begin (a shift of 0 or 24 hours is not supported)", "giờ kết thúc phải khác giờ bắt đầu (không hỗ trợ ca 0 hoặc 24 giờ)")
    if (break_begin is None) != (break_end is None):
        missing = "break_end" if break_end is None else "break_begin"
        raise reader.fail(missing, "give both break_begin and break_end, or neither", "cần cả break_begin và break_end, hoặc không có cái nào")

    shift = Shift(begin=begin, end=end, break_begin=break_begin, break_end=break_end, workday=workday, weekdays=weekdays, name=name)
    if break_begin is not None and not _break_inside(shift):
        raise reader.fail("break_end", "the break must be longer than 0 and lie wholly inside the shift", "giờ nghỉ phải dài hơn 0 và nằm trọn trong ca")
    return shift


def _break_inside(shift: Shift) -> bool:
    """Return whether the break, placed at or after the begin, ends inside the shift."""
    assert shift.break_begin is not None and shift.break_end is not None
    start = (shift.break_begin - shift.begin) % 1440
    return 0 < shift.break_minutes and start + shift.break_minutes <= shift.length_minutes


def _shift_reference(shifts: Mapping[str, Shift]) -> Callable[[Any], Shift]:
    names = ", ".join(f'"{name}"' for name in shifts)
    invalid = _Invalid(
        f"expected the name of a shift in [attendance.shifts]: {names or 'none defined'}",
        f"cần tên một ca trong [attendance.shifts]: {names or 'chưa khai báo ca nào'}",
    )

    def parse(value: Any) -> Shift:
        if not isinstance(value, str):
            raise invalid
        name = unicodedata.normalize("NFC", value.strip())
        if name not in shifts:
            raise invalid
        return shifts[name]

    return parse


def _assignments(reader: _Reader, key: str, shifts: Mapping[str, Shift]) -> dict[str, Shift]:
    """Read a table of `id or office = "shift name"`, keys NFC, duplicates rejected."""
    table = reader.raw(key)
    if table is _MISSING:
        return {}
    if not isinstance(table, dict):
        raise reader.fail(key, '''expected a table, e.g. { "Chi nhánh Hà Nội" = "day" }''', '''cần một bảng, ví dụ { "Chi nhánh Hà Nội" = "day" }''')
    parse = _shift_reference(shifts)
    assigned: dict[str, Shift] = {}
    for raw_name, shift_name in table.items():
        name = unicodedata.normalize("NFC", raw_name.strip())
        entry = f"{reader.key_path(key)}.{raw_name}"
        try:
            shift = parse(shift_name)
        except _Invalid as exc:
            raise SettingsError(entry, shift_name, exc.accepts, accepts_vi=exc.accepts_vi) from None
        if not name or name in assigned:
            raise SettingsError(
                entry,
                shift_name,
                "each name may appear once (names are compared after Unicode NFC normalisation)",
                accepts_vi="mỗi tên chỉ được xuất hiện một lần (so sánh sau khi chuẩn hóa Unicode NFC)",
            )
        assigned[name] = shift
    return assigned


def _holidays(reader: _Reader) -> HolidayEdits:
    extra_paid = reader.get("extra_paid", _dates, frozenset())
    extra_unpaid = reader.get("extra_unpaid", _dates, frozenset())
    removed = reader.get("removed", _dates, frozenset())
    makeup = _makeup_days(reader)
    reader.finish()

    groups = {"extra_paid": extra_paid, "extra_unpaid": extra_unpaid, "removed": removed, "makeup_work_days": frozenset(makeup)}
    seen: dict[dt.date, str] = {}
    for key, dates in groups.items():
        for date in sorted(dates):
            if date in seen:
                raise reader.fail(
                    key,
                    f"{date.isoformat()} is also listed in {reader.key_path(seen[date])}; a date may be in one list only",
                    f"{date.isoformat()} cũng có trong {reader.key_path(seen[date])}; mỗi ngày chỉ được ở một danh sách",
                )
            seen[date] = key
    return HolidayEdits(extra_paid=extra_paid, extra_unpaid=extra_unpaid, removed=removed, makeup_work_days=makeup)


def _makeup_days(reader: _Reader) -> dict[dt.date, int]:
    table = reader.raw("makeup_work_days")
    if table is _MISSING:
        return {}
    if not isinstance(table, dict):
        raise reader.fail("makeup_work_days", 'expected a table of date = weekday, e.g. { 2026-05-09 = "mon" }', 'cần một bảng ngày = thứ, ví dụ { 2026-05-09 = "mon" }')
    days: dict[dt.date, int] = {}
    for raw_date, weekday in table.items():
        entry = f"{reader.key_path('makeup_work_days')}.{raw_date}"
        try:
            days[_date(raw_date)] = _weekday(weekday)
        except _Invalid as exc:
            raise SettingsError(
                entry,
                weekday,
                f"{exc.accepts} (the key is the date YYYY-MM-DD, the value the weekday whose shifts apply)",
                accepts_vi=f"{exc.accepts_vi} (khóa là ngày YYYY-MM-DD, giá trị là thứ có ca làm áp dụng cho ngày đó)",
            ) from None
    return days


def _policy(reader: _Reader) -> AttendancePolicy:
    defaults = AttendancePolicy()
    shifts = _shifts(reader.table("shifts"))
    assignments = reader.table("assignments")
    user_shifts = _assignments(assignments, "users", shifts)
    office_shifts = _assignments(assignments, "offices", shifts)
    assignments.finish()

    minutes = "minutes"
    policy = AttendancePolicy(
        timezone=reader.get("timezone", _timezone, defaults.timezone),
        work_days=reader.get("work_days", _weekdays, DEFAULT_WORK_DAYS),
        default_shift=_default_shift(reader, shifts),
        user_shifts=user_shifts,
        office_shifts=office_shifts,
        window_before_minutes=reader.get("window_before_minutes", _integer(0, 720, minutes), defaults.window_before_minutes),
        window_after_minutes=reader.get("window_after_minutes", _integer(0, 720, minutes), defaults.window_after_minutes),
        late_grace_minutes=reader.get("late_grace_minutes", _integer(0, 240, minutes), defaults.late_grace_minutes),
        early_grace_minutes=reader.get("early_grace_minutes", _integer(0, 240, minutes), defaults.early_grace_minutes),
        double_scan_minutes=reader.get("double_scan_minutes", _integer(0, 60, minutes), defaults.double_scan_minutes),
        overtime_floor_minutes=reader.get("overtime_floor_minutes", _integer(0, 240, minutes), defaults.overtime_floor_minutes),
        overtime_step_minutes=reader.get("overtime_step_minutes", _integer(1, 60, minutes), defaults.overtime_step_minutes),
        count_early_overtime=reader.get("count_early_overtime", _boolean, defaults.count_early_overtime),
        hours_method=HoursMethod(reader.get("hours_method", _choice(*HoursMethod), defaults.hours_method)),
        full_day_ratio=reader.get("full_day_ratio", _number(0.01, 1.0, "a fraction of the shift's normal hours", "tỉ lệ so với số giờ chuẩn của ca"), defaults.full_day_ratio),
        half_day_ratio=reader.get("half_day_ratio", _number(0.01, 1.0, "a fraction of the shift's normal hours", "tỉ lệ so với số giờ chuẩn của ca"), defaults.half_day_ratio),
        missing_checkout_fraction=reader.get("missing_checkout_fraction", _number(0.0, 1.0, "a fraction of the workday credit", "tỉ lệ của ngày công"), defaults.missing_checkout_fraction),
        night_begin=reader.get("night_begin", _clock, defaults.night_begin),
        night_end=reader.get("night_end", _clock, defaults.night_end),
        standard_workdays=reader.get("standard_workdays", _standard_workdays, defaults.standard_workdays),
        overtime_month_cap_hours=reader.get("overtime_month_cap_hours", _integer(1, 40, "hours (the legal maximum is 40)"), defaults.overtime_month_cap_hours),
        overtime_year_cap_hours=reader.get("overtime_year_cap_hours", _year_cap, defaults.overtime_year_cap_hours),
        holidays=_holidays(reader.table("holidays")),
    )
    reader.finish()

    if policy.half_day_ratio > policy.full_day_ratio:
        raise reader.fail("half_day_ratio", f"must not exceed attendance.full_day_ratio ({policy.full_day_ratio})", f"không được lớn hơn attendance.full_day_ratio ({policy.full_day_ratio})")
    return policy


def _shifts(reader: _Reader) -> dict[str, Shift]:
    """Read [attendance.shifts]; a shift named "day" that is not defined is the built-in 08:00–17:00."""
    shifts: dict[str, Shift] = {}
    for raw_name in list(reader.data):
        name = unicodedata.normalize("NFC", raw_name.strip())
        if name in shifts:
            raise reader.fail(raw_name, "each shift name may appear once (compared after Unicode NFC normalisation)", "mỗi tên ca chỉ được xuất hiện một lần (so sánh sau khi chuẩn hóa Unicode NFC)")
        shifts[name] = _shift(reader.table(raw_name, schema_key="*"), name)
    shifts.setdefault(DEFAULT_SHIFT_NAME, DEFAULT_SHIFT)
    return shifts


def _default_shift(reader: _Reader, shifts: Mapping[str, Shift]) -> Shift:
    shift = reader.get("default_shift", _shift_reference(shifts), shifts[DEFAULT_SHIFT_NAME])
    if shift.weekdays is not None:
        raise reader.fail(
            "default_shift",
            "the default shift works on attendance.work_days; remove `weekdays` from that shift or assign it instead",
            "ca mặc định làm theo attendance.work_days; hãy bỏ `weekdays` khỏi ca đó hoặc gán ca đó theo nhân viên, văn phòng",
        )
    return shift


def _year_cap(value: Any) -> int:
    if isinstance(value, bool) or value not in (200, 300):
        raise _Invalid("expected 200, or 300 where the firm's trade allows it", "cần 200, hoặc 300 với ngành nghề được phép")
    return int(value)


def _export(reader: _Reader, base: Path) -> ExportSettings:
    directory = reader.get("directory", _path(base), base / "exports")
    language = reader.get("language", _choice(*LANGUAGES), "vi")
    company_name = reader.get("company_name", _optional_text, "")
    signatures = reader.get("signatures", _boolean, True)
    symbols = _symbols(reader.table("symbols"))
    reader.finish()
    return ExportSettings(
        directory=directory,
        language=language,  # type: ignore[arg-type]
        symbols=symbols,
        company_name=company_name,
        signatures=signatures,
    )


def _optional_text(value: Any) -> str:
    if not isinstance(value, str) or len(value.strip()) > 200:
        raise _Invalid("expected a string of at most 200 characters, or \"\" for none", "cần một chuỗi tối đa 200 ký tự, hoặc \"\" nếu không có")
    return unicodedata.normalize("NFC", value.strip())


def _symbols(reader: _Reader) -> Symbols:
    defaults = Symbols()
    values = {field.name: reader.get(field.name, _symbol, getattr(defaults, field.name)) for field in dataclasses.fields(Symbols)}
    reader.finish()

    owners: dict[str, str] = {}
    for name, symbol in values.items():
        if symbol in owners:
            raise reader.fail(
                name,
                f"must differ from export.symbols.{owners[symbol]} ({symbol!r}) so the legend stays readable",
                f"phải khác export.symbols.{owners[symbol]} ({symbol!r}) để phần chú thích ký hiệu rõ ràng",
            )
        owners[symbol] = name
    return Symbols(**values)


def _symbol(value: Any) -> str:
    text = _text(value)
    if len(text) > 8:
        raise _Invalid("expected a short symbol of 1 to 8 characters", "cần ký hiệu ngắn từ 1 đến 8 ký tự")
    return text


def _schedule(reader: _Reader) -> ScheduleSettings:
    defaults = ScheduleSettings()
    export_at = reader.get("export_at", _clock, defaults.export_at_minutes)
    settings = ScheduleSettings(
        rollup_every_minutes=reader.get("rollup_every_minutes", _integer(1, 1440, "minutes"), defaults.rollup_every_minutes),
        nightly_export=reader.get("nightly_export", _boolean, defaults.nightly_export),
        export_at=f"{export_at // 60:02d}:{export_at % 60:02d}",
        sheets_after_rollup=reader.get("sheets_after_rollup", _boolean, defaults.sheets_after_rollup),
    )
    reader.finish()
    return settings


def _sheets(reader: _Reader, base: Path, environ: Mapping[str, str]) -> SheetsSettings:
    spreadsheet = reader.get("spreadsheet", _spreadsheet, None)
    credentials = reader.get("credentials_file", _path_or_none(base), None)
    reader.finish()

    if credentials is None and environ.get(CREDENTIALS_ENV, "").strip():
        credentials = Path(environ[CREDENTIALS_ENV].strip()).expanduser()
    return SheetsSettings(spreadsheet=spreadsheet, credentials_file=credentials)


# --- Entry points ---------------------------------------------------------------------


SECTIONS = ("server", "ingest", "storage", "attendance", "export", "schedule", "sheets")


def load_settings(path: Path, environ: Mapping[str, str] = os.environ, *, keys_file_optional: bool = False) -> Settings:
    """Read and validate the config file at `path`, plus API keys and credentials.

    Raises `SettingsError` for a missing or unreadable file, invalid TOML, or any
    invalid, unknown or misplaced key. The message names the key and what it accepts.
    With `keys_file_optional` (for `doctor`), an unreadable `ingest.api_keys_file`
    is kept in `Settings.keys_file_error` instead, and only the environment's keys count.
    """
    path = Path(path).expanduser().absolute()
    document = _read_document(path)
    try:
        return _parse(document, path, environ, set(), keys_file_optional)
    except SettingsError as exc:
        raise SettingsError(exc.key, exc.value, exc.accepts, path, exc.accepts_vi) from exc.__cause__


def accepted_keys(path: Path, environ: Mapping[str, str] = os.environ) -> frozenset[str]:
    """Return the dotted keys the loader reads, with `*` for a shift's name.

    Reading the file at `path` (normally the shipped config.toml) lists every fixed
    key; shift keys appear once the file defines at least one shift.
    """
    path = Path(path).expanduser().absolute()
    seen: set[str] = set()
    _parse(_read_document(path), path, environ, seen)
    return frozenset(seen)


def peek_language(path: Path) -> Language | None:
    """Return `export.language` of the config at `path`, or None when it cannot be read.

    Help and error messages use it before, or without, validating the whole file.
    """
    try:
        document = _read_document(Path(path).expanduser().absolute())
    except SettingsError:
        return None
    export = document.get("export")
    language = export.get("language", "vi") if isinstance(export, dict) else "vi"
    return language if language in LANGUAGES else None


def _read_document(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError(
            "--config",
            str(path),
            "the file does not exist; copy config.toml from the project or pass --config FILE",
            accepts_vi="tệp không tồn tại; hãy chép config.toml của dự án hoặc dùng --config TỆP",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError("--config", str(path), f"the file cannot be read as UTF-8 text ({exc})", accepts_vi=f"không đọc được tệp dưới dạng văn bản UTF-8 ({exc})") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError("--config", str(path), f"the file is not valid TOML ({exc})", accepts_vi=f"tệp không đúng cú pháp TOML ({exc})") from exc


def _parse(document: dict[str, Any], path: Path, environ: Mapping[str, str], seen: set[str], keys_file_optional: bool = False) -> Settings:
    base = path.parent
    root = _Reader(document, "", "", seen)
    sections = {name: root.table(name) for name in SECTIONS}
    for name in document:
        if name not in SECTIONS:
            known = ", ".join(SECTIONS)
            raise SettingsError(name, document[name], f"unknown section; known sections: {known}", accepts_vi=f"mục không tồn tại; các mục hợp lệ: {known}")

    server = _server(sections["server"])
    problems: list[SettingsError] = []
    receiver = _receiver(sections["ingest"], sections["storage"], base, environ, keys_file_optional, problems)
    database = sections["storage"].get("database", _path(base), base / "data" / "acheckin-sync.sqlite3")
    retention_days = sections["storage"].get("retention_days", _integer(0, 36500, "days (0 keeps everything)"), 0)
    sections["storage"].finish()
    policy = _policy(sections["attendance"])
    export = _export(sections["export"], base)
    schedule = _schedule(sections["schedule"])
    sheets = _sheets(sections["sheets"], base, environ)
    return Settings(
        config_path=path,
        server=server,
        receiver=receiver,
        database=database,
        policy=policy,
        export=export,
        schedule=schedule,
        sheets=sheets,
        retention_days=retention_days,
        keys_file_error=problems[0] if problems else None,
    )
