"""Online backup, restore and data retention (jobs.maintenance) on real SQLite files."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import FIXED_NOW_MS, local_ms, make_delivery
from serve_process import SERVE_KEY, ServeProcess, free_port, write_config

from jobs.maintenance import (
    DAY_MS,
    PERSONAL_FIELDS,
    MaintenanceError,
    apply_retention,
    backup,
    restore,
)
from ingest.app import WEBHOOK_PATH
from jobs.rollup import run_rollup
from jobs.settings import load_settings

PROJECT = Path(__file__).resolve().parent.parent

OLD_PHONE = "0987000111"
OLD_EMAIL = "cu.old@example.vn"
OLD_AVATAR = "https://example.vn/old-avatar.png"
NEW_PHONE = "0912000222"
NEW_EMAIL = "moi.new@example.vn"


def rows(db_path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def integrity(db_path: Path) -> list[str]:
    return [row[0] for row in rows(db_path, "PRAGMA integrity_check")]


def post_stream(server, stop: threading.Event, acknowledged: list[int], failures: list[int] | None = None) -> None:
    """Post distinct check-ins until `stop`, recording the timestamps that got 200 and other statuses."""
    base = local_ms(2026, 11, 2, 8, 0)
    number = 0
    while not stop.is_set():
        timestamp = base + number * 1000
        answer = server.post_delivery(make_delivery(user_id=f"u-{number % 7}", checkin_timestamp=timestamp))
        if answer.status_code == 200:
            acknowledged.append(timestamp)
        elif failures is not None:
            failures.append(answer.status_code)
        number += 1


def test_backup_while_deliveries_flow(start_server, tmp_path):
    server = start_server()
    stop = threading.Event()
    acknowledged: list[int] = []
    poster = threading.Thread(target=post_stream, args=(server, stop, acknowledged))
    poster.start()
    try:
        while len(acknowledged) < 50:
            time.sleep(0.01)
        acknowledged_before = set(acknowledged)
        result = backup(server.store_path, tmp_path / "backups" / "copy.sqlite3")
        while len(acknowledged) < len(acknowledged_before) + 20:
            time.sleep(0.01)
    finally:
        stop.set()
        poster.join()

    assert integrity(result.path) == ["ok"]
    assert result.size_bytes == result.path.stat().st_size
    in_backup = {row[0] for row in rows(result.path, "SELECT checkin_timestamp FROM checkins")}
    in_live = {row[0] for row in rows(server.store_path, "SELECT checkin_timestamp FROM checkins")}
    assert acknowledged_before <= in_backup
    assert in_backup <= in_live
    assert set(acknowledged) <= in_live
    assert rows(result.path, "SELECT count(*) FROM deliveries")[0][0] == len(in_backup)


def test_backup_is_a_standalone_file(live_server, tmp_path):
    live_server.post_delivery(make_delivery())
    target = tmp_path / "copy.sqlite3"

    backup(live_server.store_path, target)

    assert rows(target, "PRAGMA journal_mode") == [("delete",)]
    assert not Path(f"{target}-wal").exists()
    assert not (tmp_path / ".copy.sqlite3.partial").exists()


def test_backup_refuses_the_database_itself(live_server):
    with pytest.raises(MaintenanceError, match="database itself"):
        backup(live_server.store_path, live_server.store_path)


def test_backup_of_missing_database_names_it(tmp_path):
    missing = tmp_path / "nowhere.sqlite3"

    with pytest.raises(MaintenanceError, match="nowhere.sqlite3"):
        backup(missing, tmp_path / "copy.sqlite3")


def test_restore_brings_back_backed_up_data(start_server, tmp_path):
    first = start_server()
    for minute in range(5):
        assert first.post_delivery(make_delivery(checkin_timestamp=local_ms(2026, 11, 3, 8, minute))).status_code == 200
    saved = backup(first.store_path, tmp_path / "saved.sqlite3")
    assert first.post_delivery(make_delivery(checkin_timestamp=local_ms(2026, 11, 3, 9, 0))).status_code == 200

    # The operator's steps: stop serve, restore the file over the database, start again.
    # A fresh path stands for the stopped server's database, with a stale WAL beside it.
    database = tmp_path / "restored" / "acheckin-sync.sqlite3"
    database.parent.mkdir()
    shutil.copy(first.store_path, database)
    Path(f"{database}-wal").write_bytes(b"stale write-ahead log of the old database")
    restore(saved.path, database)
    second = start_server(database=database)

    restored = [row[0] for row in rows(database, "SELECT checkin_timestamp FROM checkins ORDER BY checkin_timestamp")]
    assert restored == [local_ms(2026, 11, 3, 8, minute) for minute in range(5)]
    assert second.post_delivery(make_delivery(checkin_timestamp=local_ms(2026, 11, 3, 10, 0))).status_code == 200
    assert rows(database, "SELECT count(*) FROM checkins")[0][0] == 6
    assert integrity(database) == ["ok"]


def test_restore_refuses_a_damaged_backup(tmp_path):
    database = tmp_path / "live.sqlite3"
    sqlite3.connect(database).execute("CREATE TABLE kept (x)").connection.close()
    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(b"not a database at all" * 100)

    with pytest.raises(MaintenanceError, match="damaged.sqlite3"):
        restore(damaged, database)

    assert rows(database, "SELECT name FROM sqlite_master") == [("kept",)]


@pytest.fixture
def settings(tmp_path):
    config = tmp_path / "config.toml"
    shutil.copy(PROJECT / "config.toml", config)
    return load_settings(config, environ={})


def clock_at(instant_ms: int):
    return lambda: instant_ms


def test_retention_keeps_attendance_removes_personal_fields(start_server, settings):
    received_old = local_ms(2026, 11, 3, 18, 0)
    old_server = start_server(clock=clock_at(received_old), database=settings.database)
    for day in (2, 3):
        for hour, minute in ((7, 58), (17, 5)):
            body = make_delivery(
                checkin_timestamp=local_ms(2026, 11, day, hour, minute),
                phone_number=OLD_PHONE,
                email=OLD_EMAIL,
                avatar=OLD_AVATAR,
            )
            assert old_server.post_delivery(body).status_code == 200
    assert old_server.post_delivery(b"{not json " + OLD_PHONE.encode()).status_code == 400
    recent = make_delivery(checkin_timestamp=local_ms(2026, 11, 30, 7, 59), phone_number=NEW_PHONE, email=NEW_EMAIL)
    new_server = start_server(clock=clock_at(FIXED_NOW_MS), database=settings.database)
    assert new_server.post_delivery(recent).status_code == 200
    run_rollup(new_server.store, settings, FIXED_NOW_MS)
    attendance_before = rows(settings.database, "SELECT * FROM daily_attendance ORDER BY workspace_id, user_id, date")

    result = apply_retention(settings.database, retention_days=7, now_ms=FIXED_NOW_MS)

    assert result.cutoff_ms == FIXED_NOW_MS - 7 * DAY_MS
    assert (result.deliveries, result.checkins, result.quarantine, result.employees) == (4, 4, 1, 0)
    attendance_after = rows(settings.database, "SELECT * FROM daily_attendance ORDER BY workspace_id, user_id, date")
    assert attendance_after == attendance_before
    assert len(attendance_after) >= 30
    worked = rows(settings.database, "SELECT date, worked_minutes FROM daily_attendance WHERE date IN ('2026-11-02', '2026-11-03')")
    assert all(minutes > 0 for _, minutes in worked)

    fields = ", ".join(PERSONAL_FIELDS)
    old_checkins = rows(settings.database, f"SELECT name, {fields} FROM checkins WHERE checkin_timestamp < ?", (result.cutoff_ms,))
    assert old_checkins == [("Nguyễn Thị Lan", None, None, None)] * 4
    recent_checkins = rows(settings.database, f"SELECT {fields} FROM checkins WHERE checkin_timestamp >= ?", (result.cutoff_ms,))
    assert recent_checkins == [(NEW_PHONE, NEW_EMAIL, "https://example.vn/a.png")]
    assert rows(settings.database, "SELECT body FROM deliveries WHERE received_at_ms < ?", (result.cutoff_ms,)) == [("",)] * 4
    assert rows(settings.database, "SELECT length(body), reason != '' FROM quarantine") == [(0, 1)]
    assert rows(settings.database, "SELECT phone_number, email FROM employees") == [(NEW_PHONE, NEW_EMAIL)]


def test_retention_leaves_no_old_phone_in_file(start_server, settings):
    server = start_server(clock=clock_at(local_ms(2026, 11, 3, 18, 0)), database=settings.database)
    for minute in range(20):
        body = make_delivery(
            checkin_timestamp=local_ms(2026, 11, 3, 8, minute),
            phone_number=OLD_PHONE,
            email=OLD_EMAIL,
            avatar=OLD_AVATAR,
        )
        assert server.post_delivery(body).status_code == 200
    server.store.close()

    apply_retention(settings.database, retention_days=7, now_ms=FIXED_NOW_MS)

    contents = settings.database.read_bytes()
    wal = Path(f"{settings.database}-wal")
    if wal.exists():
        contents += wal.read_bytes()
    for value in (OLD_PHONE, OLD_EMAIL, OLD_AVATAR):
        assert value.encode() not in contents
    assert rows(settings.database, "SELECT count(*) FROM checkins")[0][0] == 20


def test_retention_employee_loses_only_expired_contacts(start_server, settings):
    server = start_server(clock=clock_at(FIXED_NOW_MS), database=settings.database)
    old = make_delivery(checkin_timestamp=local_ms(2026, 11, 2, 8, 0), phone_number=OLD_PHONE, email=OLD_EMAIL)
    recent = make_delivery(checkin_timestamp=local_ms(2026, 11, 29, 8, 0), phone_number=None, email=NEW_EMAIL)
    other_old = make_delivery(user_id="u-002", checkin_timestamp=local_ms(2026, 11, 2, 8, 0), phone_number=OLD_PHONE)
    for body in (old, recent, other_old):
        assert server.post_delivery(body).status_code == 200
    assert rows(settings.database, "SELECT user_id, phone_number FROM employees ORDER BY user_id") == [
        ("u-001", OLD_PHONE),
        ("u-002", OLD_PHONE),
    ]

    result = apply_retention(settings.database, retention_days=7, now_ms=FIXED_NOW_MS)

    assert result.employees == 2
    assert rows(settings.database, "SELECT user_id, name, phone_number, email FROM employees ORDER BY user_id") == [
        ("u-001", "Nguyễn Thị Lan", None, NEW_EMAIL),
        ("u-002", "Nguyễn Thị Lan", None, None),
    ]


def test_retention_twice_changes_nothing_more(start_server, settings):
    server = start_server(clock=clock_at(local_ms(2026, 11, 3, 18, 0)), database=settings.database)
    assert server.post_delivery(make_delivery(checkin_timestamp=local_ms(2026, 11, 3, 8, 0))).status_code == 200

    first = apply_retention(settings.database, retention_days=7, now_ms=FIXED_NOW_MS)
    second = apply_retention(settings.database, retention_days=7, now_ms=FIXED_NOW_MS)

    assert (first.deliveries, first.checkins) == (1, 1)
    assert (second.deliveries, second.checkins, second.quarantine, second.employees) == (0, 0, 0, 0)


@pytest.mark.parametrize("days", [0, -1])
def test_retention_rejects_non_positive_days(tmp_path, days):
    database = tmp_path / "db.sqlite3"
    sqlite3.connect(database).close()

    with pytest.raises(MaintenanceError, match="positive number of days"):
        apply_retention(database, retention_days=days, now_ms=FIXED_NOW_MS)


def test_retention_in_batches_while_receiving(start_server, settings, monkeypatch):
    import jobs.maintenance

    monkeypatch.setattr(jobs.maintenance, "RETENTION_BATCH_ROWS", 7)
    old_server = start_server(clock=clock_at(local_ms(2026, 11, 3, 18, 0)), database=settings.database)
    for minute in range(40):
        body = make_delivery(checkin_timestamp=local_ms(2026, 11, 3, 8, minute), phone_number=OLD_PHONE)
        assert old_server.post_delivery(body).status_code == 200
    server = start_server(busy_timeout_ms=200, database=settings.database)
    stop = threading.Event()
    acknowledged: list[int] = []
    failures: list[int] = []
    poster = threading.Thread(target=post_stream, args=(server, stop, acknowledged, failures))
    poster.start()
    try:
        result = apply_retention(settings.database, retention_days=7, now_ms=FIXED_NOW_MS, busy_timeout_ms=1000)
        time.sleep(0.2)
    finally:
        stop.set()
        poster.join()

    assert result.deliveries == 40
    assert result.checkins >= 40
    assert rows(settings.database, "SELECT count(*) FROM checkins WHERE phone_number = ?", (OLD_PHONE,)) == [(0,)]
    stored = {row[0] for row in rows(settings.database, "SELECT checkin_timestamp FROM checkins")}
    assert set(acknowledged) <= stored
    assert len(acknowledged) > 0
    assert failures == []


def run_cli(server: ServeProcess, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(server.command(*arguments), cwd=PROJECT, env=server.environment(), capture_output=True, text=True, timeout=60)


def post_serve_stream(base_url: str, stop: threading.Event, acknowledged: list[int], failures: list) -> None:
    """Post distinct check-ins to a `serve` process until `stop`."""
    base = local_ms(2026, 11, 16, 8, 0)
    with httpx.Client(base_url=base_url, timeout=5, trust_env=False) as client:
        number = 0
        while not stop.is_set():
            timestamp = base + number * 1000
            answer = client.post(
                WEBHOOK_PATH,
                json=make_delivery(user_id=f"u-{number % 4}", checkin_timestamp=timestamp),
                headers={"X-API-KEY": SERVE_KEY, "X-WEBHOOK-TYPE": "CHECKIN"},
            )
            if answer.status_code == 200:
                acknowledged.append(timestamp)
            else:
                failures.append(answer.status_code)
            number += 1


def test_backup_command_during_serve_then_restore(tmp_path):
    port = free_port()
    server = ServeProcess(write_config(tmp_path, port), port, tmp_path / "serve.log")
    database = tmp_path / "data" / "acheckin-sync.sqlite3"
    copy = tmp_path / "backups" / "during-serve.sqlite3"
    stop = threading.Event()
    acknowledged: list[int] = []
    failures: list = []
    poster = threading.Thread(target=post_serve_stream, args=(server.base_url, stop, acknowledged, failures))

    server.start()
    poster.start()
    try:
        while len(acknowledged) < 30:
            time.sleep(0.01)
        before_backup = set(acknowledged)
        backed_up = run_cli(server, "backup", str(copy))
        while len(acknowledged) < len(before_backup) + 30:
            time.sleep(0.01)
        refused = run_cli(server, "restore", str(copy), "--yes")
    finally:
        stop.set()
        poster.join()
        server.stop()

    assert backed_up.returncode == 0, backed_up.stdout + backed_up.stderr
    assert refused.returncode != 0
    assert failures == []
    in_copy = {row[0] for row in rows(copy, "SELECT checkin_timestamp FROM checkins")}
    assert before_backup <= in_copy
    assert in_copy < set(acknowledged)
    assert integrity(copy) == ["ok"]

    restored = run_cli(server, "restore", str(copy), "--yes")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=5, trust_env=False) as client:
            answer = client.post(
                WEBHOOK_PATH,
                json=make_delivery(checkin_timestamp=local_ms(2026, 11, 17, 8, 0)),
                headers={"X-API-KEY": SERVE_KEY, "X-WEBHOOK-TYPE": "CHECKIN"},
            )
    finally:
        server.stop()
    assert answer.status_code == 200
    after_restore = {row[0] for row in rows(database, "SELECT checkin_timestamp FROM checkins")}
    assert after_restore == in_copy | {local_ms(2026, 11, 17, 8, 0)}
    assert integrity(database) == ["ok"]
