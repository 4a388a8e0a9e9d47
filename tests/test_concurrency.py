"""Deliveries keep flowing while rollups and exports run and a second `serve` starts.

Two real `serve` processes share one database, with a command-line rollup and an
Excel export running beside them. Posting threads measure every response: none may
be a 5xx or take 1 s or more, and every acknowledged check-in must be stored. The
schedulers of the two processes must run each due job once between them.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import httpx
from conftest import local_ms, make_delivery
from serve_process import PROJECT, SERVE_KEY, ServeProcess, free_port, write_config

from ingest.app import WEBHOOK_PATH
from ingest.payload import parse_delivery
from ingest.store import AcceptDelivery, Store

NOW_TEXT = "2026-11-30T23:45:00+07:00"
"""The clock of the command-line rollup and export. `serve` itself runs on the wall
clock, and its first tick runs the rollup and the nightly export, since neither has
run on this database before."""

SEED_EMPLOYEES = 30
RESPONSE_LIMIT_S = 1.0


@dataclasses.dataclass
class Response:
    """One delivery's outcome as a posting thread saw it."""

    status: int | str
    seconds: float
    user_id: str
    checkin_timestamp: int


def seed_month(database: Path) -> int:
    """Store a month of check-ins for SEED_EMPLOYEES employees, so rollups take a while."""
    now_ms = local_ms(2026, 11, 30, 23, 45)
    items = []
    for employee in range(SEED_EMPLOYEES):
        for day in range(1, 31):
            for hour, minute in ((7, 55 - employee % 10), (17, 5 + employee % 20)):
                body = json.dumps(
                    make_delivery(user_id=f"seed-{employee:03d}", checkin_timestamp=local_ms(2026, 11, day, hour, minute))
                ).encode()
                delivery = parse_delivery(body, "CHECKIN", now_ms)
                items.append(AcceptDelivery(delivery=delivery, body=body, headers={}, received_at_ms=now_ms))
    store = Store.open(database)
    try:
        for start in range(0, len(items), 500):
            store.write_batch(items[start : start + 500])
    finally:
        store.close()
    return len(items)


def keep_posting(base_url: str, prefix: str, responses: list[Response], lock: threading.Lock, stop: threading.Event) -> None:
    base = local_ms(2026, 11, 30, 8, 0)
    with httpx.Client(base_url=base_url, timeout=10, trust_env=False) as client:
        number = 0
        while not stop.is_set():
            user_id = f"{prefix}-{number % 3}"
            timestamp = base + number * 1000
            started = time.monotonic()
            try:
                answer = client.post(
                    WEBHOOK_PATH,
                    json=make_delivery(user_id=user_id, checkin_timestamp=timestamp),
                    headers={"X-API-KEY": SERVE_KEY, "X-WEBHOOK-TYPE": "CHECKIN"},
                )
                status: int | str = answer.status_code
            except httpx.TransportError as exc:
                status = type(exc).__name__
            with lock:
                responses.append(Response(status, time.monotonic() - started, user_id, timestamp))
            number += 1


def run_command(server: ServeProcess, *arguments: str) -> subprocess.Popen:
    return subprocess.Popen(
        server.command(*arguments),
        cwd=PROJECT,
        env=server.environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


SCHEDULED_JOBS = ("export_excel", "retention", "rollup")


def wait_for_scheduled_runs(database: Path, timeout_s: float = 90.0) -> None:
    """Wait until a scheduler has finished its rollup, its Excel export and its retention run."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        conn = sqlite3.connect(database)
        try:
            finished = conn.execute(
                "SELECT count(DISTINCT job) FROM job_runs WHERE holder NOT LIKE 'cli:%' "
                f"AND job IN {SCHEDULED_JOBS} AND finished_at_ms IS NOT NULL"
            ).fetchone()[0]
        except sqlite3.OperationalError:
            finished = 0
        finally:
            conn.close()
        if finished == len(SCHEDULED_JOBS):
            return
        time.sleep(0.2)
    raise AssertionError(f"the scheduled {', '.join(SCHEDULED_JOBS)} did not finish within {timeout_s} s")


def test_deliveries_fast_during_jobs_and_second_serve(tmp_path):
    first_port, second_port = free_port(), free_port()
    # Retention of 1 day removes the seeded month's bodies and phones during the first tick.
    first_config = write_config(tmp_path, first_port, {"retention_days": "1"})
    second_folder = tmp_path / "second"
    second_folder.mkdir()
    database = tmp_path / "data" / "acheckin-sync.sqlite3"
    second_config = write_config(second_folder, second_port, {"database": json.dumps(str(database)), "retention_days": "1"})
    seeded = seed_month(database)

    first = ServeProcess(first_config, first_port, tmp_path / "first.log", now_text=NOW_TEXT)
    second = ServeProcess(second_config, second_port, tmp_path / "second.log", now_text=NOW_TEXT)
    responses: list[Response] = []
    lock = threading.Lock()
    stop = threading.Event()
    posters: list[threading.Thread] = []

    def post_to(server: ServeProcess, prefix: str) -> None:
        thread = threading.Thread(target=keep_posting, args=(server.base_url, prefix, responses, lock, stop), daemon=True)
        thread.start()
        posters.append(thread)

    # Both start at once, so their schedulers race for the first tick's lease.
    first.launch()
    second.launch()
    try:
        first.wait_ready()
        for number in range(3):
            post_to(first, f"a{number}")
        rollup = run_command(first, "rollup", "--from", "2026-11-01", "--to", "2026-11-30")
        export = run_command(first, "export", "excel", "--month", "2026-11", "--out", "concurrent.xlsx")
        second.wait_ready()
        for number in range(2):
            post_to(second, f"b{number}")

        rollup_output, _ = rollup.communicate(timeout=120)
        export_output, _ = export.communicate(timeout=120)
        wait_for_scheduled_runs(database)
        time.sleep(0.5)
    finally:
        stop.set()
        for thread in posters:
            thread.join(timeout=15)
        second.stop()
        first.stop()

    assert rollup.returncode == 0, rollup_output.decode(errors="replace")
    assert export.returncode == 0, export_output.decode(errors="replace")
    assert (tmp_path / "exports" / "concurrent.xlsx").is_file()

    statuses = {response.status for response in responses}
    slowest = max(responses, key=lambda response: response.seconds)
    assert len(responses) >= 100, f"only {len(responses)} deliveries were sent"
    assert statuses == {200}, f"statuses {statuses}"
    assert slowest.seconds < RESPONSE_LIMIT_S, f"slowest response {slowest}"

    conn = sqlite3.connect(database)
    try:
        stored = set(conn.execute("SELECT user_id, checkin_timestamp FROM checkins"))
        runs = conn.execute(
            "SELECT job, target, count(*) FROM job_runs WHERE holder NOT LIKE 'cli:%' GROUP BY job, target ORDER BY job"
        ).fetchall()
        holders = conn.execute("SELECT count(DISTINCT holder) FROM job_runs WHERE holder NOT LIKE 'cli:%'").fetchone()[0]
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
    assert {(response.user_id, response.checkin_timestamp) for response in responses} <= stored
    assert len(stored) == seeded + len(responses)
    # `serve` runs on the wall clock, so the nightly export's month is the current one.
    assert [(job, count) for job, _, count in runs] == [(job, 1) for job in SCHEDULED_JOBS]
    assert holders == 1
    assert integrity == "ok"


def test_same_checkin_sent_at_once_stored_once(start_server):
    server = start_server()
    delivery = make_delivery(checkin_timestamp=local_ms(2026, 11, 12, 8, 0))
    barrier = threading.Barrier(20)
    statuses: list[int] = []
    outcomes: list[str] = []

    def send() -> None:
        with httpx.Client(base_url=server.base_url, timeout=10, trust_env=False) as client:
            barrier.wait()
            answer = client.post(
                WEBHOOK_PATH,
                json=delivery,
                headers={"X-API-KEY": server.api_keys[0], "X-WEBHOOK-TYPE": "CHECKIN"},
            )
        statuses.append(answer.status_code)
        outcomes.append(answer.json().get("outcome", ""))

    senders = [threading.Thread(target=send) for _ in range(20)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()

    assert statuses == [200] * 20
    assert sorted(outcomes) == ["duplicate"] * 19 + ["stored"]
    conn = sqlite3.connect(server.store_path)
    try:
        assert conn.execute("SELECT count(*) FROM checkins").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 20
    finally:
        conn.close()
