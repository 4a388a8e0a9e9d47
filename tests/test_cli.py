"""The `acheckin-sync` command: each command against real SQLite files and servers."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import string
import subprocess
import sys
import threading
import time
import unicodedata
from pathlib import Path

import httpx
import openpyxl
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fake_sheets import FakeSheets, fake_session

from exporters import sheets

from jobs.cli import cli
from jobs.demo import DEMO_KEY, demo_deliveries
from jobs.i18n import MESSAGES, message
from jobs.schedule import connect
from jobs.serve import run_service
from jobs.settings import load_settings
from conftest import TEST_KEY, local_ms, make_delivery

REPO = Path(__file__).resolve().parent.parent
NOW = "2026-11-30T12:00:00+07:00"


def write_config(folder: Path, language: str = "vi", extra: str = "", port: int | None = None) -> Path:
    """Write a config with a key file, the database and exports inside `folder`.

    The port is one that was free a moment ago, so `restore` sees no running serve.
    """
    (folder / "keys.txt").write_text(f"{TEST_KEY}\n", encoding="utf-8")
    config = folder / "config.toml"
    config.write_text(
        f"[server]\nport = {port or _free_port()}\n"
        '[ingest]\napi_keys_file = "keys.txt"\n'
        '[storage]\ndatabase = "data/att.sqlite3"\n'
        f'[export]\ndirectory = "exports"\nlanguage = "{language}"\n{extra}',
        encoding="utf-8",
    )
    return config


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def invoke(config: Path, *args: str, now: str = NOW):
    runner = CliRunner()
    return runner.invoke(cli, ["--config", str(config), "--now", now, *args], env={"ACHECKIN_SYNC_API_KEYS": ""})


@pytest.fixture
def month_posted(tmp_path, start_server):
    """A config whose database contains a few days of one employee, posted over HTTP."""
    config = write_config(tmp_path)
    settings = load_settings(config, {})
    server = start_server(database=settings.database)
    for day in (2, 3, 4):
        assert server.post_delivery(make_delivery(checkin_timestamp=local_ms(2026, 11, day, 7, 55))).status_code == 200
        assert server.post_delivery(make_delivery(checkin_timestamp=local_ms(2026, 11, day, 17, 10))).status_code == 200
    return config


# --- Messages ---------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_message_has_both_languages(key):
    vietnamese, english = MESSAGES[key]

    assert vietnamese.strip()
    assert english.strip()
    assert unicodedata.is_normalized("NFC", vietnamese)
    assert _fields(vietnamese) == _fields(english)


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_message_defaults_to_vietnamese_text():
    assert message("never", "vi") == "chưa có"
    assert message("never", "en") == "never"


# --- Documentation ----------------------------------------------------------------------


def _cli_commands() -> set[str]:
    commands = set()
    for name, command in cli.commands.items():
        subcommands = getattr(command, "commands", None)
        if subcommands:
            commands.update(f"{name} {sub}" for sub in subcommands)
        else:
            commands.add(name)
    return commands


def _readme_commands() -> set[str]:
    """Return the commands README.md shows in code, `export excel` as one command."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    code = re.findall(r"```.*?```", text, flags=re.DOTALL) + re.findall(r"`[^`\n]+`", text)
    found = set()
    for match in re.finditer(r"acheckin-sync(?: --config \S+)? ([a-z]+)(?: ([a-z]+))?", "\n".join(code)):
        name, sub = match.group(1), match.group(2)
        command = cli.commands.get(name)
        found.add(f"{name} {sub}" if getattr(command, "commands", None) and sub else name)
    return found


def test_every_command_documented_in_readme():
    undocumented = sorted(_cli_commands() - _readme_commands())

    assert undocumented == []


def test_every_readme_command_exists():
    unknown = sorted(_readme_commands() - _cli_commands() - {"export"})

    assert unknown == []


# --- Config errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "unexpected"),
    [
        ('[server]\nloglevel = "info"\n', "Lỗi: Cấu hình không hợp lệ: ", "unknown key"),
        ('[server]\nloglevel = "info"\n[export]\nlanguage = "en"\n', "Error: Invalid configuration: ", "khóa không tồn tại"),
        ("[attendance]\nlate_grace_minutes = -3\n", "cần một số nguyên (phút) từ 0 đến 240", "whole number"),
    ],
)
def test_invalid_config_error_in_configured_language(tmp_path, text, expected, unexpected):
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")

    result = invoke(config, "status")

    assert result.exit_code == 1
    assert expected in result.output
    assert unexpected not in result.output
    assert "Traceback" not in result.output


def test_unreadable_config_error_in_both_languages(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[server\nport = 1\n", encoding="utf-8")

    result = invoke(config, "status")

    assert result.exit_code == 1
    assert "Cấu hình không hợp lệ" in result.output
    assert "Invalid configuration" in result.output
    assert result.output.index("Cấu hình không hợp lệ") < result.output.index("Invalid configuration")


def test_config_path_from_environment(tmp_path):
    config = write_config(tmp_path, "en")

    result = CliRunner().invoke(cli, ["--now", NOW, "status"], env={"ACHECKIN_SYNC_CONFIG": str(config), "ACHECKIN_SYNC_API_KEYS": ""})

    assert result.exit_code == 0, result.output
    assert "No database yet" in result.output


def test_missing_config_file_says_how_to_fix(tmp_path):
    result = invoke(tmp_path / "absent.toml", "rollup")

    assert result.exit_code == 1
    assert "tệp không tồn tại" in result.output
    assert "does not exist" in result.output


# --- rollup ---------------------------------------------------------------------------------


def test_rollup_computes_days_and_records_run(month_posted):
    result = invoke(month_posted, "rollup")

    assert result.exit_code == 0, result.output
    assert "Đã tính lại" in result.output
    assert "2026-11" in result.output
    database = load_settings(month_posted, {}).database
    with sqlite3.connect(database) as conn:
        statuses = conn.execute("SELECT date, status FROM daily_attendance WHERE date BETWEEN '2026-11-02' AND '2026-11-04' ORDER BY date").fetchall()
        runs = conn.execute("SELECT job, outcome FROM job_runs").fetchall()
    assert statuses == [("2026-11-02", "present"), ("2026-11-03", "present"), ("2026-11-04", "present")]
    assert runs == [("rollup", "ok")]


def test_rollup_range_recomputes_dates(month_posted):
    invoke(month_posted, "rollup")

    result = invoke(month_posted, "rollup", "--from", "2026-11-01", "--to", "2026-11-10")

    assert result.exit_code == 0, result.output
    assert re.search(r"Đã tính lại (\d+) ngày", result.output).group(1) != "0"


@pytest.mark.parametrize(
    ("args", "language", "expected"),
    [
        (["--from", "2026-11-31", "--to", "2026-12-01"], "vi", "Ngày '2026-11-31' không hợp lệ"),
        (["--from", "01/11/2026", "--to", "2026-11-30"], "en", "Invalid date '01/11/2026'"),
        (["--from", "2026-11-10", "--to", "2026-11-01"], "vi", "hãy đổi chỗ hai ngày"),
        (["--from", "2026-11-10"], "en", "Give both --from and --to"),
    ],
)
def test_rollup_rejects_bad_range(tmp_path, args, language, expected):
    config = write_config(tmp_path, language)

    result = invoke(config, "rollup", *args)

    assert result.exit_code == 1
    assert expected in result.output


# --- export ---------------------------------------------------------------------------------


def test_export_excel_writes_month_workbook(month_posted):
    result = invoke(month_posted, "export", "excel", "--month", "2026-11")

    assert result.exit_code == 0, result.output
    path = month_posted.parent / "exports" / "timesheet-2026-11.xlsx"
    assert str(path) in result.output
    workbook = openpyxl.load_workbook(path)
    assert "Bảng chấm công" in workbook.sheetnames
    with sqlite3.connect(month_posted.parent / "data" / "att.sqlite3") as conn:
        assert conn.execute("SELECT job, target, outcome FROM job_runs").fetchall() == [("export_excel", "2026-11", "ok")]


def test_export_excel_relative_out_goes_under_exports(month_posted):
    result = invoke(month_posted, "export", "excel", "--month", "2026-11", "--out", "payroll/nov.xlsx")

    assert result.exit_code == 0, result.output
    assert (month_posted.parent / "exports" / "payroll" / "nov.xlsx").is_file()


def test_export_excel_refuses_dotdot_escape(month_posted):
    result = invoke(month_posted, "export", "excel", "--month", "2026-11", "--out", "../../elsewhere.xlsx")

    assert result.exit_code == 1
    assert "nằm ngoài thư mục xuất" in result.output
    assert not (month_posted.parent.parent / "elsewhere.xlsx").exists()


def test_export_excel_absolute_out_is_allowed(month_posted, tmp_path):
    target = tmp_path / "outside" / "nov.xlsx"

    result = invoke(month_posted, "export", "excel", "--month", "2026-11", "--out", str(target))

    assert result.exit_code == 0, result.output
    assert target.is_file()


def test_export_excel_unwritable_out_names_cause(month_posted, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")

    result = invoke(month_posted, "export", "excel", "--month", "2026-11", "--out", str(blocker / "nov.xlsx"))

    assert result.exit_code == 1
    assert "Lỗi: export_excel thất bại" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("month", ["2026-13", "11/2026", "2026-1"])
def test_export_rejects_bad_month(tmp_path, month):
    config = write_config(tmp_path)

    result = invoke(config, "export", "excel", "--month", month)

    assert result.exit_code == 1
    assert "YYYY-MM" in result.output


def test_export_sheets_without_spreadsheet_says_what_to_set(tmp_path):
    config = write_config(tmp_path, "en")

    result = invoke(config, "export", "sheets", "--month", "2026-11")

    assert result.exit_code == 1
    assert "sheets.spreadsheet" in result.output


SPREADSHEET_ID = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
SERVICE_ACCOUNT = "acheckin-sync@example-project.iam.gserviceaccount.com"


@pytest.fixture
def fake_google(tmp_path, monkeypatch):
    """A fake Sheets API behind the exporter's session, and a generated service-account key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    account = {
        "type": "service_account",
        "project_id": "example-project",
        "private_key_id": "0123456789abcdef",
        "private_key": pem,
        "client_email": SERVICE_ACCOUNT,
        "client_id": "1234567890",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    (tmp_path / "sa.json").write_text(json.dumps(account), encoding="utf-8")
    fake = FakeSheets()
    monkeypatch.setattr(sheets, "authorized_session", lambda credentials: fake_session(fake))
    return fake


SHEETS_CONFIG = f'[sheets]\nspreadsheet = "{SPREADSHEET_ID}"\ncredentials_file = "sa.json"\n'


def test_export_sheets_writes_month_tabs(tmp_path, start_server, fake_google):
    fake_google.add_spreadsheet(SPREADSHEET_ID)
    config = write_config(tmp_path, extra=SHEETS_CONFIG)
    server = start_server(database=load_settings(config, {}).database)
    assert server.post_delivery(make_delivery(checkin_timestamp=local_ms(2026, 11, 2, 7, 55))).status_code == 200

    result = invoke(config, "export", "sheets", "--month", "2026-11")

    assert result.exit_code == 0, result.output
    assert "Google Sheet" in result.output
    assert "2026-11 Bảng chấm công" in fake_google.spreadsheets[SPREADSHEET_ID].titles()
    with sqlite3.connect(tmp_path / "data" / "att.sqlite3") as conn:
        assert conn.execute("SELECT job, target, outcome FROM job_runs").fetchall() == [("export_sheets", "2026-11", "ok")]


def test_doctor_passes_with_shared_sheet(tmp_path, fake_google):
    fake_google.add_spreadsheet(SPREADSHEET_ID)
    config = write_config(tmp_path, "en", SHEETS_CONFIG)

    result = invoke(config, "doctor")

    assert result.exit_code == 0, result.output
    assert SERVICE_ACCOUNT in result.output
    assert "Every check passed." in result.output


def test_doctor_prints_account_to_share_with(tmp_path, fake_google):
    fake_google.add_spreadsheet(SPREADSHEET_ID, shared=False)
    config = write_config(tmp_path, "en", SHEETS_CONFIG)

    result = invoke(config, "doctor")

    assert result.exit_code == 1
    assert re.search(rf"not shared.*{re.escape(SERVICE_ACCOUNT)}", result.output)


# --- replay, status, doctor -----------------------------------------------------------------


def test_replay_reports_deliveries_still_failing(tmp_path, start_server):
    config = write_config(tmp_path, "en")
    server = start_server(database=load_settings(config, {}).database)
    assert server.post_delivery(make_delivery(user_id="Không xác định")).status_code == 422

    result = invoke(config, "replay")

    assert result.exit_code == 0, result.output
    assert "0 accepted, 1 still failing" in result.output
    assert "user_id" in result.output


def test_status_shows_deliveries_and_runs(month_posted):
    invoke(month_posted, "rollup")

    result = invoke(month_posted, "status")

    assert result.exit_code == 0, result.output
    assert re.search(r"Lượt gửi hôm nay\s*│\s*6", result.output)
    assert re.search(r"Lượt gửi gần nhất\s*│\s*30/11/2026 12:00:00", result.output)
    assert re.search(r"Hàng chờ lỗi \(quarantine\)\s*│\s*0", result.output)
    assert re.search(r"Lần tổng hợp gần nhất\s*│\s*30/11/2026 12:00:00 \(ok\)", result.output)
    assert re.search(r"Lần xuất gần nhất\s*│\s*chưa có", result.output)
    assert re.search(r"Xung đột ca trong tháng 2026-11\s*│\s*0", result.output)


def test_status_lists_shift_conflicts(tmp_path, start_server):
    config = write_config(tmp_path, "en")
    server = start_server(database=load_settings(config, {}).database)
    first = make_delivery(checkin_timestamp=local_ms(2026, 11, 5, 7, 55), working_group={"begin": 800, "end": 1700})
    second = make_delivery(checkin_timestamp=local_ms(2026, 11, 5, 12, 0), working_group={"begin": 900, "end": 1800})
    assert server.post_delivery(first).status_code == 200
    assert server.post_delivery(second).status_code == 200
    invoke(config, "rollup")

    result = invoke(config, "status")

    assert result.exit_code == 0, result.output
    assert re.search(r"Shift conflicts in 2026-11\s*│\s*1", result.output)
    assert re.search(r"u-001\s*│\s*05/11/2026", result.output)


def test_status_counts_deliveries_of_local_today(month_posted):
    result = invoke(month_posted, "status", now="2026-11-30T23:59:00+07:00")
    next_day = invoke(month_posted, "status", now="2026-12-01T00:01:00+07:00")

    assert re.search(r"Lượt gửi hôm nay\s*│\s*6", result.output)
    assert re.search(r"Lượt gửi hôm nay\s*│\s*0", next_day.output)


def test_doctor_passes_with_keys_and_writable_paths(tmp_path):
    config = write_config(tmp_path, "en")

    result = invoke(config, "doctor")

    assert result.exit_code == 0, result.output
    assert "1 API key configured" in result.output
    assert "No database yet: serve will create" in result.output
    assert "Google Sheets is off" in result.output
    assert "Every check passed." in result.output


def test_doctor_flags_missing_key(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[storage]\ndatabase = "att.sqlite3"\n', encoding="utf-8")

    result = invoke(config, "doctor")

    assert result.exit_code == 1
    assert "Chưa có khóa API" in result.output
    assert "1 kiểm tra chưa đạt" in result.output


def test_doctor_reports_unreadable_credentials(tmp_path):
    config = write_config(
        tmp_path,
        "en",
        '[sheets]\nspreadsheet = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"\ncredentials_file = "missing-sa.json"\n',
    )

    result = invoke(config, "doctor")

    assert result.exit_code == 1
    assert "Google credentials unusable" in result.output
    assert "missing-sa.json" in result.output


def test_doctor_reports_unwritable_database(tmp_path):
    (tmp_path / "data").write_text("a file where the data folder should be", encoding="utf-8")
    config = write_config(tmp_path, "en")

    result = invoke(config, "doctor")

    assert result.exit_code == 1
    assert "Cannot write the database" in result.output


# --- demo -----------------------------------------------------------------------------------


def _grid(path: Path) -> dict[str, list[object]]:
    sheet = openpyxl.load_workbook(path)["Bảng chấm công"]
    return {row[1]: list(row) for row in sheet.iter_rows(values_only=True) if isinstance(row[1], str) and row[1].startswith("NV")}


def test_demo_writes_workbook_with_month_cases(tmp_path):
    result = CliRunner().invoke(cli, ["demo", "--dir", str(tmp_path / "demo")])

    assert result.exit_code == 0, result.output
    workbook = tmp_path / "demo" / "exports" / "timesheet-2026-11.xlsx"
    assert str(workbook) in result.output
    grid = _grid(workbook)
    day = 3  # column of 1/11: STT, Mã NV, Họ và tên, Văn phòng, then the days.
    assert sorted(grid) == ["NV001", "NV002", "NV003", "NV004", "NV005"]
    assert grid["NV001"][day + 24] == "L"
    assert grid["NV002"][day + 18] == "Q"
    assert grid["NV002"][day + 27] == "V"
    assert grid["NV003"][day + 24] == "NL"
    assert grid["NV005"][day + 13] == "X/2"
    assert grid["NV005"][day + 22] == "NN"
    assert grid["NV004"][3] is None


def test_demo_runs_twice_to_same_cells(tmp_path):
    folder = tmp_path / "demo"
    CliRunner().invoke(cli, ["demo", "--dir", str(folder)])
    first = _all_cells(folder / "exports" / "timesheet-2026-11.xlsx")

    result = CliRunner().invoke(cli, ["demo", "--dir", str(folder)])

    assert result.exit_code == 0, result.output
    assert _all_cells(folder / "exports" / "timesheet-2026-11.xlsx") == first


def _all_cells(path: Path) -> dict[str, list[tuple[object, ...]]]:
    workbook = openpyxl.load_workbook(path)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in workbook.worksheets}


def test_demo_refuses_folder_with_other_files(tmp_path):
    (tmp_path / "thesis.docx").write_text("not the demo's", encoding="utf-8")

    result = CliRunner().invoke(cli, ["demo", "--dir", str(tmp_path), "--language", "en"])

    assert result.exit_code == 1
    assert "choose another folder" in result.output
    assert (tmp_path / "thesis.docx").exists()


def test_demo_month_is_deterministic_and_has_cases():
    deliveries = demo_deliveries()

    assert deliveries == demo_deliveries()
    assert {delivery.webhook_type for delivery in deliveries} == {"CHECKIN", "JOIN_EVENT"}
    assert any(delivery.body.get("working_group") == {"begin": 2200, "end": 600} for delivery in deliveries)
    assert any(delivery.body["office_location"] == "Không xác định" for delivery in deliveries)
    assert DEMO_KEY not in {delivery.body.get("user_id") for delivery in deliveries}


# --- serve ----------------------------------------------------------------------------------


def test_serve_receives_and_rolls_up(tmp_path):
    config = write_config(tmp_path, extra='[schedule]\nnightly_export = false\n')
    settings = load_settings(config, {})
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    started = threading.Event()
    servers = []

    def on_started(server):
        servers.append(server)
        started.set()

    clock = lambda: local_ms(2026, 11, 30, 12, 0)  # noqa: E731 - a fixed "now" for the whole service
    thread = threading.Thread(target=run_service, args=(settings, clock, [sock], on_started), daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        response = httpx.post(
            f"http://127.0.0.1:{port}/webhooks/acheckin",
            json=make_delivery(),
            headers={"X-API-KEY": TEST_KEY, "X-WEBHOOK-TYPE": "CHECKIN"},
            trust_env=False,
        )
        runs = _wait_for_rollup(settings.database)
    finally:
        servers[0].should_exit = True
        thread.join(10)

    assert response.status_code == 200
    assert runs == [("rollup", "ok")]
    assert not thread.is_alive()


def _wait_for_rollup(database: Path) -> list[tuple[str, str]]:
    conn = connect(database)
    deadline = time.monotonic() + 10
    runs: list[tuple[str, str]] = []
    while time.monotonic() < deadline:
        runs = conn.execute("SELECT job, outcome FROM job_runs WHERE outcome != 'running'").fetchall()
        if runs:
            break
        time.sleep(0.05)
    conn.close()
    return runs


def test_serve_command_warns_loudly_without_key(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "config.toml"
    config.write_text(f'[server]\nport = {port}\n[storage]\ndatabase = "att.sqlite3"\n[schedule]\nnightly_export = false\n', encoding="utf-8")
    env = {**os.environ, "ACHECKIN_SYNC_API_KEYS": "", "COLUMNS": "200"}
    process = subprocess.Popen(
        [sys.executable, "-c", "from jobs.cli import main; main()", "--config", str(config), "serve"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        healthy = _wait_healthy(f"http://127.0.0.1:{port}/healthz")
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=20)

    assert healthy, output
    assert "CHƯA CÓ KHÓA API" in output
    assert f"Bộ nhận webhook: http://127.0.0.1:{port}/webhooks/acheckin" in output
    assert process.returncode == 0, output


def _wait_healthy(url: str) -> bool:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, trust_env=False).status_code == 200:
                return True
        except httpx.TransportError:
            time.sleep(0.1)
    return False


def test_serve_jobs_apply_configured_retention(tmp_path, start_server):
    from jobs.tasks import scheduled_jobs

    config = write_config(tmp_path, extra="")
    config.write_text(config.read_text(encoding="utf-8").replace('database = "data/att.sqlite3"\n', 'database = "data/att.sqlite3"\nretention_days = 30\n'), encoding="utf-8")
    settings = load_settings(config, {})
    server = start_server(database=settings.database)
    assert server.post_delivery(make_delivery()).status_code == 200

    jobs = scheduled_jobs(server.store, settings)
    result = jobs.retention(local_ms(2027, 1, 15, 0, 0))

    assert result.deliveries == 1
    with sqlite3.connect(settings.database) as conn:
        assert conn.execute("SELECT body, email FROM deliveries JOIN checkins ON checkins.id = deliveries.checkin_id").fetchall() == [("", None)]


def test_serve_jobs_without_retention_by_default(tmp_path):
    from ingest.store import Store
    from jobs.tasks import scheduled_jobs

    settings = load_settings(write_config(tmp_path), {})
    store = Store.open(settings.database)
    try:
        jobs = scheduled_jobs(store, settings)
    finally:
        store.close()

    assert jobs.retention is None
    assert jobs.export_sheets is None


def test_backup_then_restore_round_trip(month_posted, tmp_path):
    database = load_settings(month_posted, {}).database
    copy = tmp_path / "backups" / "nov.sqlite3"

    backed_up = invoke(month_posted, "backup", str(copy))
    invoke(month_posted, "rollup")
    restored = invoke(month_posted, "restore", str(copy), "--yes")

    assert backed_up.exit_code == 0, backed_up.output
    assert restored.exit_code == 0, restored.output
    assert "Đã khôi phục" in restored.output
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT COUNT(*) FROM checkins").fetchone()[0] == 6
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'daily_attendance'").fetchone() is None


def test_restore_asks_before_replacing(month_posted, tmp_path):
    copy = tmp_path / "copy.sqlite3"
    invoke(month_posted, "backup", str(copy))

    result = CliRunner().invoke(cli, ["--config", str(month_posted), "restore", str(copy)], input="n\n")

    assert result.exit_code == 1
    assert "Dữ liệu hiện tại sẽ mất" in result.output


def test_restore_refuses_damaged_backup(month_posted, tmp_path):
    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(b"not a database")

    result = invoke(month_posted, "restore", str(damaged), "--yes")

    assert result.exit_code == 1
    assert "restore thất bại" in result.output


def test_restore_refuses_while_serve_listens(tmp_path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        config = write_config(tmp_path, "en", port=port)

        result = invoke(config, "restore", str(tmp_path / "any.sqlite3"), "--yes")

    assert result.exit_code == 1
    assert "stop acheckin-sync serve" in result.output


# --- Help and usage errors in the configured language ---------------------------------------


@pytest.mark.parametrize(
    ("args", "vietnamese", "english"),
    [
        ([], "Nhận dữ liệu chấm công ACheckin", "Receive ACheckin check-ins"),
        (["status"], "Xem lượt gửi hôm nay", "Show deliveries today"),
        (["export", "excel"], "Tháng cần xuất, ví dụ 2026-11.", "The month to export, e.g. 2026-11."),
        (["rollup"], "Ngày đầu tiên cần tính lại", "First local date to recompute"),
    ],
)
def test_help_follows_config_language(tmp_path, args, vietnamese, english):
    vi_config = write_config(tmp_path / _mkdir(tmp_path / "vi"), "vi")
    en_config = write_config(tmp_path / _mkdir(tmp_path / "en"), "en")

    in_vietnamese = CliRunner().invoke(cli, ["--config", str(vi_config), *args, "--help"])
    in_english = CliRunner().invoke(cli, [*args, "--help", "--config", str(en_config)])

    assert in_vietnamese.exit_code == 0, in_vietnamese.output
    assert vietnamese in in_vietnamese.output
    assert "Cách dùng:" in in_vietnamese.output
    assert "Tùy chọn" in in_vietnamese.output
    assert english not in in_vietnamese.output
    assert english in in_english.output
    assert "Usage:" in in_english.output


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def test_help_is_vietnamese_without_readable_config(tmp_path):
    result = CliRunner().invoke(cli, ["--help"], env={"ACHECKIN_SYNC_CONFIG": str(tmp_path / "absent.toml")})

    assert result.exit_code == 0
    assert "Lệnh" in result.output
    assert "Kiểm tra cài đặt" in result.output
    assert "Show this message" not in result.output


def test_help_language_from_environment_config(tmp_path):
    config = write_config(tmp_path, "en")

    result = CliRunner().invoke(cli, ["doctor", "--help"], env={"ACHECKIN_SYNC_CONFIG": str(config)})

    assert "Check the set-up" in result.output


def test_config_option_after_command(tmp_path):
    config = write_config(tmp_path, "en")

    result = CliRunner().invoke(cli, ["status", "--config", str(config)], env={"ACHECKIN_SYNC_API_KEYS": ""})

    assert result.exit_code == 0, result.output
    assert f"No database yet at {tmp_path / 'data' / 'att.sqlite3'}" in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["status", "--bogus"], "Lỗi: Không có tùy chọn --bogus."),
        (["export", "excel"], "Lỗi: Thiếu tùy chọn '--month'."),
        (["statuss"], "Lỗi: Không có lệnh 'statuss'."),
    ],
)
def test_usage_errors_in_vietnamese(tmp_path, args, expected):
    config = write_config(tmp_path, "vi")

    result = CliRunner().invoke(cli, ["--config", str(config), *args])

    assert result.exit_code == 2
    assert expected in result.output
    assert "Cách dùng:" in result.output
    assert "No such" not in result.output


def test_usage_errors_stay_english_for_english_config(tmp_path):
    config = write_config(tmp_path, "en")

    result = CliRunner().invoke(cli, ["status", "--config", str(config), "--bogus"])

    assert result.exit_code == 2
    assert "No such option '--bogus'" in result.output


# --- serve, status, export and demo details --------------------------------------------------


def test_serve_reports_port_in_use(tmp_path):
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        port = occupant.getsockname()[1]
        config = write_config(tmp_path, "vi", port=port)

        result = invoke(config, "serve")

    assert result.exit_code == 1
    assert f"Cổng {port} trên 127.0.0.1 đang được tiến trình khác dùng" in result.output
    assert "[server] port" in result.output
    assert f"lsof -i :{port}" in result.output
    assert "Bộ nhận webhook" not in result.output
    assert not (tmp_path / "data").exists()


def test_status_without_database_creates_nothing(tmp_path):
    config = write_config(tmp_path, "vi")

    result = invoke(config, "status")

    assert result.exit_code == 0, result.output
    assert "Chưa có cơ sở dữ liệu" in result.output
    assert not (tmp_path / "data").exists()


def test_doctor_creates_no_database_or_folders(tmp_path):
    config = write_config(tmp_path, "vi")

    result = invoke(config, "doctor")

    assert result.exit_code == 0, result.output
    assert f"serve sẽ tạo {tmp_path / 'data' / 'att.sqlite3'}" in result.output
    assert f"thư mục {tmp_path} ghi được" in result.output
    assert not (tmp_path / "data").exists()
    assert not (tmp_path / "exports").exists()


def test_doctor_checks_existing_database(month_posted):
    result = invoke(month_posted, "doctor")

    assert result.exit_code == 0, result.output
    assert "Ghi được cơ sở dữ liệu" in result.output


def test_doctor_lists_missing_keys_file(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[ingest]\napi_keys_file = "absent-keys.txt"\n[export]\nlanguage = "en"\n', encoding="utf-8")

    result = invoke(config, "doctor")

    assert result.exit_code == 1
    assert "✗ Cannot read the API key file" in result.output
    assert "absent-keys.txt" in result.output
    assert 'set ingest.api_keys_file = ""' in result.output
    assert "2 checks failed" in result.output
    assert "Google Sheets is off" in result.output


@pytest.mark.parametrize(
    ("shift", "warned"),
    [
        ('[attendance.shifts.day]\nbegin = "08:00"\nend = "07:00"\n', True),
        ('[attendance.shifts.day]\nbegin = "06:00"\nend = "22:00"\n', False),
        ('[attendance.shifts.day]\nbegin = "08:00"\nend = "17:00"\n', False),
    ],
)
def test_doctor_warns_about_long_shift(tmp_path, shift, warned):
    config = write_config(tmp_path, "en", shift)

    result = invoke(config, "doctor")

    assert result.exit_code == 0, result.output
    assert ('The shift "day" lasts 23 hours (08:00–07:00)' in result.output) is warned
    assert ("attendance.shifts.day.begin or .end" in result.output) is warned
    assert ("1 warning above" in result.output) is warned
    assert ("Every check passed." in result.output) is not warned


def test_doctor_counts_one_failure_in_singular(tmp_path):
    config = write_config(tmp_path, "en")
    (tmp_path / "data").write_text("a file where the data folder should be", encoding="utf-8")

    result = invoke(config, "doctor")

    assert result.exit_code == 1
    assert "1 check failed; fix it as described above." in result.output


@pytest.mark.parametrize("month", ["2030-01", "2014-01"])
def test_export_excel_warns_month_without_checkins(month_posted, month):
    result = invoke(month_posted, "export", "excel", "--month", month)

    assert result.exit_code == 0, result.output
    assert f"không nhân viên nào có lượt chấm công trong tháng {month}" in result.output
    assert (month_posted.parent / "exports" / f"timesheet-{month}.xlsx").exists()


def test_export_excel_month_with_checkins_has_no_warning(month_posted):
    result = invoke(month_posted, "export", "excel", "--month", "2026-11")

    assert result.exit_code == 0, result.output
    assert "Cảnh báo" not in result.output


def test_demo_takes_config_language(tmp_path):
    config = write_config(tmp_path, "en")

    result = CliRunner().invoke(cli, ["--config", str(config), "demo", "--dir", str(tmp_path / "demo")])

    assert result.exit_code == 0, result.output
    assert "Done. Open the timesheet" in result.output
    assert openpyxl.load_workbook(tmp_path / "demo" / "exports" / "timesheet-2026-11.xlsx").sheetnames[0] == "Timesheet"


# --- 01a-LĐTL company name and signatures ----------------------------------------------------


def _grid_texts(path: Path, sheet_name: str) -> list[str]:
    """Return the text of column A of the grid sheet, top to bottom, blank rows as ""."""
    sheet = openpyxl.load_workbook(path)[sheet_name]
    return [str(row[0]).strip() if row[0] is not None else "" for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize(
    ("language", "sheet_name", "title", "roles", "hint"),
    [
        ("vi", "Bảng chấm công", "BẢNG CHẤM CÔNG", ("Người chấm công", "Phụ trách bộ phận", "Người duyệt"), "(Ký, họ tên)"),
        ("en", "Timesheet", "TIMESHEET", ("Timekeeper", "Head of department", "Approved by"), "(Signature, full name)"),
    ],
)
def test_grid_shows_company_and_signatures(month_posted, language, sheet_name, title, roles, hint):
    text = month_posted.read_text(encoding="utf-8").replace('language = "vi"', f'language = "{language}"\ncompany_name = "Công ty TNHH Bình Minh"')
    month_posted.write_text(text, encoding="utf-8")

    result = invoke(month_posted, "export", "excel", "--month", "2026-11")

    texts = _grid_texts(month_posted.parent / "exports" / "timesheet-2026-11.xlsx", sheet_name)
    assert result.exit_code == 0, result.output
    assert texts[:2] == ["Công ty TNHH Bình Minh", title]
    role_line = texts[-2]
    assert [role_line.index(role) for role in roles] == sorted(role_line.index(role) for role in roles)
    assert texts[-1].count(hint) == 3
    assert texts.index(role_line) > max(index for index, line in enumerate(texts) if line.startswith(("Ký hiệu chấm công", "Symbol legend")))


def test_grid_without_company_or_signatures(month_posted):
    text = month_posted.read_text(encoding="utf-8").replace('language = "vi"', 'language = "vi"\nsignatures = false')
    month_posted.write_text(text, encoding="utf-8")

    invoke(month_posted, "export", "excel", "--month", "2026-11")

    texts = _grid_texts(month_posted.parent / "exports" / "timesheet-2026-11.xlsx", "Bảng chấm công")
    assert texts[0] == "BẢNG CHẤM CÔNG"
    assert not any("Người duyệt" in line for line in texts)
