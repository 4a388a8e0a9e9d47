"""A locked database or a full disk gets 503 and a log line, never a 200 for an unstored check-in.

ACheckin may send a delivery again after an error, so a 503 with `Retry-After` is
the right response while the database cannot store it, and the receiver must serve
again as soon as the fault is gone, without a restart.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import local_ms, make_delivery



def logged_store_failure(caplog, cause: str) -> bool:
    """Whether an ERROR line says a 503 was sent, the delivery was not stored, and why."""
    return any(
        record.levelno >= logging.ERROR
        and "503" in record.getMessage()
        and "not stored" in record.getMessage().lower()
        and cause in record.getMessage()
        for record in caplog.records
    )


def stored_timestamps(db_path: Path) -> set[int]:
    conn = sqlite3.connect(db_path)
    try:
        return {row[0] for row in conn.execute("SELECT checkin_timestamp FROM checkins")}
    finally:
        conn.close()


def integrity(db_path: Path) -> str:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def hold_write_lock(db_path: Path, seconds: float, locked: threading.Event) -> None:
    """Hold the database's write lock from another connection for `seconds`."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(seconds)
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def test_locked_database_gets_503(start_server, caplog):
    caplog.set_level(logging.INFO)
    server = start_server(busy_timeout_ms=200)
    locked = threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(server.store_path, 1.5, locked))
    delivery = make_delivery(checkin_timestamp=local_ms(2026, 11, 9, 8, 0))

    holder.start()
    try:
        assert locked.wait(5)
        started = time.monotonic()
        answer = server.post_delivery(delivery)
        elapsed = time.monotonic() - started
        stored_while_locked = stored_timestamps(server.store_path)
    finally:
        holder.join()

    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert answer.json()["error"]
    assert answer.json()["error_en"]
    assert elapsed < 1.5
    assert delivery["checkin_timestamp"] not in stored_while_locked
    assert logged_store_failure(caplog, "locked")

    retried = server.post_delivery(delivery)
    assert retried.status_code == 200
    assert retried.json()["outcome"] == "stored"
    assert delivery["checkin_timestamp"] in stored_timestamps(server.store_path)


def test_unreadable_delivery_on_locked_database_gets_503(start_server):
    server = start_server(busy_timeout_ms=200)
    locked = threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(server.store_path, 1.0, locked))

    holder.start()
    try:
        assert locked.wait(5)
        answer = server.post_delivery(b"not json")
    finally:
        holder.join()

    assert answer.status_code == 503
    assert server.store.quarantine_size() == 0


def test_page_limit_full_gets_503(start_server, caplog):
    caplog.set_level(logging.INFO)
    server = start_server()
    first = make_delivery(checkin_timestamp=local_ms(2026, 11, 10, 8, 0))
    assert server.post_delivery(first).status_code == 200
    # A database that may not grow past its current size: SQLite reports SQLITE_FULL.
    pages = server.store._writer.execute("PRAGMA page_count").fetchone()[0]
    server.store._writer.execute(f"PRAGMA max_page_count = {pages}")

    answers = {}
    for minute in range(1, 40):
        delivery = make_delivery(checkin_timestamp=local_ms(2026, 11, 10, 8, minute), padding="p" * 20_000)
        answers[delivery["checkin_timestamp"]] = server.post_delivery(delivery).status_code
    server.store._writer.execute("PRAGMA max_page_count = 1073741823")

    stored = stored_timestamps(server.store_path)
    assert 503 in answers.values()
    assert set(answers.values()) <= {200, 503}
    assert {timestamp for timestamp, status in answers.items() if status == 200} <= stored
    assert {timestamp for timestamp, status in answers.items() if status == 503}.isdisjoint(stored)
    assert logged_store_failure(caplog, "full")
    retry = make_delivery(checkin_timestamp=local_ms(2026, 11, 10, 9, 0), padding="p" * 20_000)
    assert server.post_delivery(retry).status_code == 200
    assert integrity(server.store_path) == "ok"


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MiB tmpfs mounted under tmp_path; skipped where mounting is not allowed."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(folder: Path) -> Path:
    """Write a file until the filesystem has no space left; return the file."""
    filler = folder / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        block = b"\0" * 65536
        while True:
            try:
                os.write(descriptor, block)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                if len(block) == 1:
                    return filler
                block = block[: len(block) // 2]
    finally:
        os.close(descriptor)


def test_full_disk_gets_503_then_recovers(start_server, small_disk, caplog):
    caplog.set_level(logging.INFO)
    server = start_server(database=small_disk / "receiver.db")
    assert server.post_delivery(make_delivery(checkin_timestamp=local_ms(2026, 11, 11, 8, 0))).status_code == 200
    filler = fill(small_disk)

    answers = {}
    for minute in range(1, 60):
        delivery = make_delivery(checkin_timestamp=local_ms(2026, 11, 11, 8, minute), padding="p" * 8_000)
        status = server.post_delivery(delivery).status_code
        answers[delivery["checkin_timestamp"]] = status
        if status == 503:
            break
    failed = [timestamp for timestamp, status in answers.items() if status == 503]
    filler.unlink()

    stored = stored_timestamps(server.store_path)
    assert failed, f"no 503 on a full disk: {answers}"
    assert set(answers.values()) <= {200, 503}
    assert {timestamp for timestamp, status in answers.items() if status == 200} <= stored
    assert set(failed).isdisjoint(stored)
    assert logged_store_failure(caplog, "full")
    for timestamp in failed:
        resent = make_delivery(checkin_timestamp=timestamp, padding="p" * 8_000)
        assert server.post_delivery(resent).status_code == 200
    assert set(failed) <= stored_timestamps(server.store_path)
    assert integrity(server.store_path) == "ok"
    assert json.loads(server.client.get("/healthz").text) == {"status": "ok"}
