"""config.toml loading: the shipped file, every invalid key named, keys, paths."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from pathlib import Path

import pytest

from jobs.policy import DEFAULT_SHIFT, HoursMethod, StandardWorkdays
from jobs.settings import SettingsError, accepted_keys, load_settings, peek_language

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "config.toml"
NO_ENV: dict[str, str] = {}


def write_config(folder: Path, text: str) -> Path:
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_loads_with_defaults():
    settings = load_settings(SHIPPED, NO_ENV)

    assert settings.server.host == "127.0.0.1"
    assert settings.server.port == 8080
    assert settings.database == REPO / "data" / "acheckin-sync.sqlite3"
    assert settings.export.directory == REPO / "exports"
    assert settings.language == "vi"
    assert settings.receiver.api_keys == ()
    assert settings.policy.timezone == "Asia/Ho_Chi_Minh"
    assert settings.policy.work_days == frozenset({1, 2, 3, 4, 5, 6})
    assert (settings.policy.default_shift.begin, settings.policy.default_shift.end) == (DEFAULT_SHIFT.begin, DEFAULT_SHIFT.end)
    assert settings.sheets.configured is False


def test_empty_config_takes_documented_defaults(tmp_path):
    settings = load_settings(write_config(tmp_path, ""), NO_ENV)

    assert settings.database == tmp_path / "data" / "acheckin-sync.sqlite3"
    assert settings.policy.default_shift == DEFAULT_SHIFT
    assert settings.schedule.export_at == "23:30"
    assert settings.export.symbols.workday == "X"


def test_every_accepted_key_is_documented_in_shipped_config():
    text = SHIPPED.read_text(encoding="utf-8")
    documented = _documented_keys(text)

    missing = sorted(key for key in accepted_keys(SHIPPED, NO_ENV) if key not in documented)

    assert missing == []


def test_every_key_line_in_shipped_config_is_commented():
    lines = SHIPPED.read_text(encoding="utf-8").splitlines()

    uncommented = [line for index, line in enumerate(lines) if KEY_LINE.match(line) and not _comment_above(lines, index)]

    assert uncommented == []


KEY_LINE = re.compile(r"[A-Za-z_]+\s*=")


def _comment_above(lines: list[str], index: int) -> bool:
    """Return whether a comment sits above the run of key and header lines at `index`.

    A group of related keys (begin/end) or a shift table under one explaining comment
    counts as commented.
    """
    while index > 0 and (KEY_LINE.match(lines[index - 1]) or lines[index - 1].startswith("[")):
        index -= 1
    return index > 0 and lines[index - 1].strip().startswith("#")


def _documented_keys(text: str) -> set[str]:
    """Return dotted keys of config.toml, shift tables as `attendance.shifts.*`."""
    keys = set()
    section = ""
    for line in text.splitlines():
        header = re.match(r"\[([A-Za-z_.]+)\]", line)
        if header:
            section = re.sub(r"^attendance\.shifts\.[^.]+$", "attendance.shifts.*", header.group(1))
            continue
        key = re.match(r"([A-Za-z_]+)\s*=", line)
        if key:
            keys.add(f"{section}.{key.group(1)}")
    return keys


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[server]\nport = 70000\n", "server.port"),
        ('[server]\nport = "8080"\n', "server.port"),
        ('[server]\nlog_level = "loud"\n', "server.log_level"),
        ("[ingest]\nbody_limit_bytes = 10\n", "ingest.body_limit_bytes"),
        ("[ingest]\napi_keys_file = 5\n", "ingest.api_keys_file"),
        ("[storage]\nbusy_timeout_ms = 6000\n", "storage.busy_timeout_ms"),
        ('[storage]\ndatabase = ""\n', "storage.database"),
        ('[attendance]\ntimezone = "Asia/Hanoi_Nowhere"\n', "attendance.timezone"),
        ('[attendance]\nwork_days = ["monday"]\n', "attendance.work_days"),
        ("[attendance]\nwork_days = []\n", "attendance.work_days"),
        ('[attendance]\nwork_days = ["mon", "mon"]\n', "attendance.work_days"),
        ("[attendance]\nlate_grace_minutes = -3\n", "attendance.late_grace_minutes"),
        ("[attendance]\nlate_grace_minutes = 5.5\n", "attendance.late_grace_minutes"),
        ("[attendance]\nearly_grace_minutes = true\n", "attendance.early_grace_minutes"),
        ("[attendance]\nwindow_before_minutes = 721\n", "attendance.window_before_minutes"),
        ("[attendance]\nwindow_after_minutes = -1\n", "attendance.window_after_minutes"),
        ("[attendance]\ndouble_scan_minutes = 61\n", "attendance.double_scan_minutes"),
        ("[attendance]\novertime_floor_minutes = -1\n", "attendance.overtime_floor_minutes"),
        ("[attendance]\novertime_step_minutes = 0\n", "attendance.overtime_step_minutes"),
        ('[attendance]\ncount_early_overtime = "yes"\n', "attendance.count_early_overtime"),
        ('[attendance]\nhours_method = "span"\n', "attendance.hours_method"),
        ("[attendance]\nfull_day_ratio = 1.5\n", "attendance.full_day_ratio"),
        ("[attendance]\nfull_day_ratio = 0.5\nhalf_day_ratio = 0.6\n", "attendance.half_day_ratio"),
        ("[attendance]\nmissing_checkout_fraction = 2\n", "attendance.missing_checkout_fraction"),
        ('[attendance]\nnight_begin = "24:00"\n', "attendance.night_begin"),
        ('[attendance]\nnight_end = "6h"\n', "attendance.night_end"),
        ("[attendance]\nstandard_workdays = 24\n", "attendance.standard_workdays"),
        ("[attendance]\novertime_month_cap_hours = 41\n", "attendance.overtime_month_cap_hours"),
        ("[attendance]\novertime_year_cap_hours = 250\n", "attendance.overtime_year_cap_hours"),
        ('[attendance]\ndefault_shift = "evening"\n', "attendance.default_shift"),
        ('[attendance.shifts.day]\nbegin = "8:00 AM"\nend = "17:00"\n', "attendance.shifts.day.begin"),
        ('[attendance.shifts.day]\nbegin = "08:00"\n', "attendance.shifts.day.end"),
        ('[attendance.shifts.day]\nbegin = "08:00"\nend = "08:00"\n', "attendance.shifts.day.end"),
        ('[attendance.shifts.day]\nbegin = "08:00"\nend = "17:00"\nbreak_begin = "12:00"\n', "attendance.shifts.day.break_end"),
        ('[attendance.shifts.day]\nbegin = "08:00"\nend = "17:00"\nbreak_begin = "16:30"\nbreak_end = "17:30"\n', "attendance.shifts.day.break_end"),
        ('[attendance.shifts.day]\nbegin = "08:00"\nend = "17:00"\nworkday = 0\n', "attendance.shifts.day.workday"),
        ('[attendance.shifts.day]\nbegin = "08:00"\nend = "17:00"\nweekdays = ["xyz"]\n', "attendance.shifts.day.weekdays"),
        ('[attendance.shifts.day]\nbegin = "08:00"\nend = "17:00"\nlunch = "12:00"\n', "attendance.shifts.day.lunch"),
        ("[attendance.shifts]\nday = 5\n", "attendance.shifts.day"),
        (
            '[attendance]\ndefault_shift = "day"\n[attendance.shifts.day]\nbegin = "08:00"\nend = "17:00"\nweekdays = ["mon"]\n',
            "attendance.default_shift",
        ),
        ('[attendance.assignments]\nusers = { "u1" = "evening" }\n', "attendance.assignments.users.u1"),
        ('[attendance.assignments]\noffices = "Hà Nội"\n', "attendance.assignments.offices"),
        ('[attendance.assignments]\ngroups = {}\n', "attendance.assignments.groups"),
        ('[attendance.holidays]\nextra_paid = ["2026-13-01"]\n', "attendance.holidays.extra_paid"),
        ("[attendance.holidays]\nextra_unpaid = 2026-12-31\n", "attendance.holidays.extra_unpaid"),
        ("[attendance.holidays]\nremoved = [2026-09-01T08:00:00]\n", "attendance.holidays.removed"),
        ('[attendance.holidays]\nmakeup_work_days = { 2026-05-09 = "someday" }\n', "attendance.holidays.makeup_work_days.2026-05-09"),
        ('[attendance.holidays]\nmakeup_work_days = { tomorrow = "mon" }\n', "attendance.holidays.makeup_work_days.tomorrow"),
        ("[attendance.holidays]\nextra_paid = [2026-12-31]\nextra_unpaid = [2026-12-31]\n", "attendance.holidays.extra_unpaid"),
        ("[attendance]\nlate_grace = 5\n", "attendance.late_grace"),
        ('[export]\nlanguage = "fr"\n', "export.language"),
        ('[export]\ndirectory = 3\n', "export.directory"),
        ('[export.symbols]\nworkday = ""\n', "export.symbols.workday"),
        ('[export.symbols]\nabsent = "ABSENT_DAY"\n', "export.symbols.absent"),
        ('[export.symbols]\nabsent = "X"\n', "export.symbols.absent"),
        ('[export.symbols]\nsick = "Ô"\n', "export.symbols.sick"),
        ("[schedule]\nrollup_every_minutes = 0\n", "schedule.rollup_every_minutes"),
        ('[schedule]\nexport_at = "23:60"\n', "schedule.export_at"),
        ('[schedule]\nsheets_after_rollup = "on"\n', "schedule.sheets_after_rollup"),
        ('[schedule]\nnightly_export = 1\n', "schedule.nightly_export"),
        ('[sheets]\nspreadsheet = "my sheet"\n', "sheets.spreadsheet"),
        ("[sheets]\ncredentials_file = false\n", "sheets.credentials_file"),
        ("[servr]\nport = 8080\n", "servr"),
        ("[server]\nhost = \"127.0.0.1\"\nprot = 8080\n", "server.prot"),
        ("port = 8080\n", "port"),
        ('server = "127.0.0.1"\n', "server"),
    ],
)
def test_invalid_value_error_names_key(tmp_path, text, key):
    path = write_config(tmp_path, text)

    with pytest.raises(SettingsError) as raised:
        load_settings(path, NO_ENV)

    assert raised.value.key == key
    assert key in str(raised.value)
    assert raised.value.accepts
    assert str(path) in str(raised.value)


@pytest.mark.parametrize(
    ("text", "accepts_fragment"),
    [
        ("[attendance]\nlate_grace_minutes = -3\n", "from 0 to 240"),
        ('[attendance]\nhours_method = "span"\n', '"first_last", "pairs"'),
        ("[attendance]\novertime_year_cap_hours = 250\n", "200, or 300"),
        ('[attendance]\ndefault_shift = "evening"\n', '"day"'),
        ("[servr]\nport = 8080\n", "server, ingest, storage"),
    ],
)
def test_invalid_value_error_says_what_is_accepted(tmp_path, text, accepts_fragment):
    base = '[attendance.shifts.day]\nbegin = "08:00"\nend = "17:00"\n'
    path = write_config(tmp_path, text + base if text.startswith("[attendance]") else text)

    with pytest.raises(SettingsError) as raised:
        load_settings(path, NO_ENV)

    assert accepts_fragment in raised.value.accepts


def test_missing_config_file_names_the_fix(tmp_path):
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "nowhere.toml", NO_ENV)


def test_invalid_toml_is_reported(tmp_path):
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(write_config(tmp_path, "[server\nport = 1\n"), NO_ENV)


def test_relative_paths_resolve_against_config_folder(tmp_path, monkeypatch):
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "keys.txt").write_text("file-key\n", encoding="utf-8")
    path = write_config(
        folder,
        '[storage]\ndatabase = "db/att.sqlite3"\n'
        '[export]\ndirectory = "../out"\n'
        '[ingest]\napi_keys_file = "keys.txt"\n'
        '[sheets]\ncredentials_file = "sa.json"\n',
    )
    monkeypatch.chdir(tmp_path)

    settings = load_settings(path, NO_ENV)

    assert settings.database == folder / "db" / "att.sqlite3"
    assert settings.export.directory == folder / ".." / "out"
    assert settings.sheets.credentials_file == folder / "sa.json"
    assert settings.receiver.api_keys == ("file-key",)


def test_relative_config_path_is_made_absolute(tmp_path, monkeypatch):
    write_config(tmp_path, "")
    monkeypatch.chdir(tmp_path)

    settings = load_settings(Path("config.toml"), NO_ENV)

    assert settings.config_path == tmp_path / "config.toml"
    assert settings.database.is_absolute()


def test_api_keys_merge_environment_and_file(tmp_path):
    (tmp_path / "keys.txt").write_text("# rotated in November\nkey-new\n", encoding="utf-8")
    path = write_config(tmp_path, '[ingest]\napi_keys_file = "keys.txt"\n')

    settings = load_settings(path, {"ACHECKIN_SYNC_API_KEYS": "key-old, key-env"})

    assert set(settings.receiver.api_keys) == {"key-old", "key-env", "key-new"}


def test_api_keys_file_missing_names_the_key(tmp_path):
    path = write_config(tmp_path, '[ingest]\napi_keys_file = "absent.txt"\n')

    with pytest.raises(SettingsError) as raised:
        load_settings(path, NO_ENV)

    assert raised.value.key == "ingest.api_keys_file"


def test_credentials_fall_back_to_environment(tmp_path):
    path = write_config(tmp_path, '[sheets]\nspreadsheet = "https://docs.google.com/spreadsheets/d/1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789/edit#gid=0"\n')

    settings = load_settings(path, {"GOOGLE_APPLICATION_CREDENTIALS": "/srv/keys/sa.json"})

    assert settings.sheets.credentials_file == Path("/srv/keys/sa.json")
    assert settings.sheets.spreadsheet_key == "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
    assert settings.sheets.configured


def test_config_credentials_win_over_environment(tmp_path):
    path = write_config(tmp_path, '[sheets]\ncredentials_file = "/etc/acheckin/sa.json"\n')

    settings = load_settings(path, {"GOOGLE_APPLICATION_CREDENTIALS": "/srv/keys/sa.json"})

    assert settings.sheets.credentials_file == Path("/etc/acheckin/sa.json")


def test_shifts_and_assignments_are_parsed_and_normalised(tmp_path):
    office_nfd = unicodedata.normalize("NFD", "Kho Bình Dương")
    path = write_config(
        tmp_path,
        '[attendance]\ndefault_shift = "day"\nwork_days = ["Mon", "tue", "wed", "thu", "fri"]\n'
        '[attendance.shifts.day]\nbegin = "08:30"\nend = "17:30"\nbreak_begin = "12:00"\nbreak_end = "13:00"\n'
        '[attendance.shifts.night]\nbegin = "22:00"\nend = "06:00"\nbreak_begin = "02:00"\nbreak_end = "02:45"\n'
        'workday = 1.5\nweekdays = ["sat", "sun"]\n'
        f'[attendance.assignments]\nusers = {{ "u-7" = "night" }}\noffices = {{ "{office_nfd}" = "night" }}\n',
    )

    policy = load_settings(path, NO_ENV).policy

    assert policy.work_days == frozenset({1, 2, 3, 4, 5})
    assert (policy.default_shift.begin, policy.default_shift.end) == (510, 1050)
    night = policy.user_shifts["u-7"]
    assert (night.begin, night.end, night.break_begin, night.break_end) == (1320, 360, 120, 165)
    assert night.workday == 1.5
    assert night.weekdays == frozenset({6, 7})
    assert night.name == "night"
    assert policy.office_shifts == {"Kho Bình Dương": night}


def test_attendance_thresholds_are_parsed(tmp_path):
    path = write_config(
        tmp_path,
        '[attendance]\nhours_method = "pairs"\nstandard_workdays = 26\novertime_year_cap_hours = 300\n'
        'late_grace_minutes = 0\nmissing_checkout_fraction = 0.5\nnight_begin = "21:00"\n',
    )

    policy = load_settings(path, NO_ENV).policy

    assert policy.hours_method is HoursMethod.PAIRS
    assert policy.standard_workdays is StandardWorkdays.FIXED_26
    assert policy.overtime_year_cap_hours == 300
    assert policy.late_grace_minutes == 0
    assert policy.missing_checkout_fraction == 0.5
    assert policy.night_begin == 21 * 60


@pytest.mark.parametrize("value", ['"calendar"', "22", '"22"'])
def test_standard_workdays_accepts_documented_forms(tmp_path, value):
    path = write_config(tmp_path, f"[attendance]\nstandard_workdays = {value}\n")

    assert load_settings(path, NO_ENV).policy.standard_workdays.value == value.strip('"')


def test_holiday_edits_are_parsed(tmp_path):
    path = write_config(
        tmp_path,
        '[attendance.holidays]\nextra_paid = [2026-12-31, "2027-02-10"]\nextra_unpaid = [2026-12-24]\n'
        'removed = [2026-09-01]\nmakeup_work_days = { 2026-05-09 = "mon", "2026-12-26" = "fri" }\n',
    )

    holidays = load_settings(path, NO_ENV).policy.holidays

    assert holidays.extra_paid == frozenset({dt.date(2026, 12, 31), dt.date(2027, 2, 10)})
    assert holidays.extra_unpaid == frozenset({dt.date(2026, 12, 24)})
    assert holidays.removed == frozenset({dt.date(2026, 9, 1)})
    assert holidays.makeup_work_days == {dt.date(2026, 5, 9): 1, dt.date(2026, 12, 26): 5}


def test_export_schedule_and_symbols_are_parsed(tmp_path):
    path = write_config(
        tmp_path,
        '[export]\nlanguage = "en"\n[export.symbols]\nworkday = "+"\n'
        '[schedule]\nrollup_every_minutes = 10\nexport_at = "1:05"\nsheets_after_rollup = false\n',
    )

    settings = load_settings(path, NO_ENV)

    assert settings.language == "en"
    assert settings.export.symbols.workday == "+"
    assert settings.schedule.rollup_every_minutes == 10
    assert settings.schedule.export_at == "01:05"
    assert settings.schedule.export_at_minutes == 65
    assert settings.schedule.sheets_after_rollup is False


def test_environment_key_with_space_rejected(tmp_path):
    path = write_config(tmp_path, "")

    with pytest.raises(SettingsError) as raised:
        load_settings(path, {"ACHECKIN_SYNC_API_KEYS": "secret part"})

    assert raised.value.key == "ACHECKIN_SYNC_API_KEYS"
    assert "secret" not in str(raised.value)


def test_symbols_match_legend_meanings():
    from exporters.tables import SYMBOL_MEANINGS
    from jobs.settings import Symbols

    assert [field.name for field in dataclasses.fields(Symbols)] == list(SYMBOL_MEANINGS)


@pytest.mark.parametrize(("value", "days"), [("0", 0), ("365", 365)])
def test_retention_days_parsed(tmp_path, value, days):
    path = write_config(tmp_path, f"[storage]\nretention_days = {value}\n")

    assert load_settings(path, NO_ENV).retention_days == days


def test_negative_retention_names_key(tmp_path):
    path = write_config(tmp_path, "[storage]\nretention_days = -1\n")

    with pytest.raises(SettingsError) as raised:
        load_settings(path, NO_ENV)

    assert raised.value.key == "storage.retention_days"


@pytest.mark.parametrize(
    ("text", "vietnamese"),
    [
        ('[server]\nloglevel = "info"\n', "khóa không tồn tại; các khóa hợp lệ ở đây: host, log_level, port"),
        ("[server]\nport = 70000\n", "cần một số nguyên (cổng) từ 1 đến 65535"),
        ('[attendance]\nnight_end = "6h"\n', 'cần giờ dạng "HH:MM"'),
        ('[export]\nlanguage = "fr"\n', 'cần một trong các giá trị "vi", "en"'),
        ("[servr]\nport = 8080\n", "mục không tồn tại"),
        ('[attendance.shifts.day]\nbegin = "08:00"\nend = "08:00"\n', "giờ kết thúc phải khác giờ bắt đầu"),
        ('[ingest]\napi_keys_file = "absent.txt"\n', "absent.txt"),
    ],
)
def test_error_described_in_vietnamese(tmp_path, text, vietnamese):
    path = write_config(tmp_path, text)

    with pytest.raises(SettingsError) as raised:
        load_settings(path, NO_ENV)

    described = raised.value.describe("vi")
    assert vietnamese in described
    assert "không hợp lệ" in described
    assert "invalid" not in described
    assert unicodedata.is_normalized("NFC", described)
    assert "is invalid" in raised.value.describe("en")


def test_missing_file_described_in_vietnamese(tmp_path):
    with pytest.raises(SettingsError) as raised:
        load_settings(tmp_path / "nowhere.toml", NO_ENV)

    assert "tệp không tồn tại" in raised.value.describe("vi")


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ('[export]\nlanguage = "en"\n', "en"),
        ('[export]\nlanguage = "vi"\n', "vi"),
        ("[server]\nport = 70000\n", "vi"),
        ('[export]\nlanguage = "fr"\n', None),
        ("[export\n", None),
    ],
)
def test_peek_language_reads_only_language(tmp_path, text, language):
    assert peek_language(write_config(tmp_path, text)) == language


def test_peek_language_of_missing_file_is_none(tmp_path):
    assert peek_language(tmp_path / "nowhere.toml") is None


def test_deleted_day_shift_falls_back_to_builtin(tmp_path):
    shipped = SHIPPED.read_text(encoding="utf-8")
    day_table = re.search(r"\[attendance\.shifts\.day\]\n(?:[a-z_]+ = .*\n)+", shipped)
    assert day_table is not None
    path = write_config(tmp_path, shipped.replace(day_table.group(0), ""))

    policy = load_settings(path, NO_ENV).policy

    assert policy.default_shift == DEFAULT_SHIFT
    assert (DEFAULT_SHIFT.begin, DEFAULT_SHIFT.end, DEFAULT_SHIFT.break_begin, DEFAULT_SHIFT.break_end) == (480, 1020, 720, 780)


def test_assignment_may_name_builtin_day_shift(tmp_path):
    path = write_config(tmp_path, '[attendance.assignments]\nusers = { "u-1" = "day" }\n')

    assert load_settings(path, NO_ENV).policy.user_shifts["u-1"] == DEFAULT_SHIFT


def test_company_name_and_signatures_parsed(tmp_path):
    office = unicodedata.normalize("NFD", "Công ty TNHH Bình Minh")
    path = write_config(tmp_path, f'[export]\ncompany_name = " {office} "\nsignatures = false\n')

    export = load_settings(path, NO_ENV).export

    assert export.company_name == "Công ty TNHH Bình Minh"
    assert export.signatures is False


def test_company_name_and_signatures_defaults(tmp_path):
    export = load_settings(write_config(tmp_path, ""), NO_ENV).export

    assert export.company_name == ""
    assert export.signatures is True


@pytest.mark.parametrize(("text", "key"), [("[export]\ncompany_name = 5\n", "export.company_name"), ('[export]\nsignatures = "yes"\n', "export.signatures")])
def test_invalid_form_keys_named(tmp_path, text, key):
    with pytest.raises(SettingsError) as raised:
        load_settings(write_config(tmp_path, text), NO_ENV)

    assert raised.value.key == key


def test_optional_keys_file_kept_as_error(tmp_path):
    path = write_config(tmp_path, '[ingest]\napi_keys_file = "absent.txt"\n')

    settings = load_settings(path, {"ACHECKIN_SYNC_API_KEYS": "env-key"}, keys_file_optional=True)

    assert settings.keys_file_error is not None
    assert settings.keys_file_error.key == "ingest.api_keys_file"
    assert settings.receiver.api_keys == ("env-key",)
