"""Crash safety: `serve` killed with SIGKILL under a steady stream of deliveries, then restarted.

Posting threads send distinct check-ins the whole time, like ACheckin. A delivery
that gets no 200 (refused, reset, timed out, 503) is sent again until it does, as a
retrying sender would, so a delivery committed just before a kill comes back as a
repeat. At the end every check-in that ever got a 200 is in `checkins` exactly
once, every resent one too, and the database passes `PRAGMA integrity_check` after
every crash.

The short form also checks that nothing `serve` printed contains the API key, a
phone number, an e-mail address or a name. It runs in CI; the long form
(`-m slow`) kills the server many more times under more threads.
`ACHECKIN_CRASH_SEED` replays one run's kill moments.
"""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import local_ms, make_delivery
from serve_process import SERVE_KEY, ServeProcess, free_port, write_config

from ingest.app import WEBHOOK_PATH


@dataclasses.dataclass(frozen=True)
class CrashPlan:
    """How hard one run pushes: kills, posting threads, and the live time before each kill."""

    kills: int
    threads: int
    min_live_s: float
    max_live_s: float


SHORT = CrashPlan(kills=3, threads=4, min_live_s=0.3, max_live_s=1.2)
LONG = CrashPlan(kills=25, threads=8, min_live_s=0.1, max_live_s=2.5)


@dataclasses.dataclass(frozen=True)
class Sent:
    """One check-in a posting thread sent: its natural key fields."""

    user_id: str
    checkin_timestamp: int


class Ledger:
    """What the posting threads sent and what the server acknowledged, shared under a lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acknowledged: dict[Sent, int] = {}
        self.unacknowledged: set[Sent] = set()
        self.statuses: dict[int | str, int] = {}

    def record(self, sent: Sent, outcome: int | str, delivery_id: int | None) -> None:
        with self.lock:
            self.statuses[outcome] = self.statuses.get(outcome, 0) + 1
            if outcome == 200 and delivery_id is not None:
                self.acknowledged.setdefault(sent, delivery_id)
                self.unacknowledged.discard(sent)
            elif sent not in self.acknowledged:
                self.unacknowledged.add(sent)


def post(client: httpx.Client, sent: Sent) -> tuple[int | str, int | None]:
    """Send one check-in; return (status or error name, delivery id of a 200)."""
    body = make_delivery(user_id=sent.user_id, checkin_timestamp=sent.checkin_timestamp)
    headers = {"X-API-KEY": SERVE_KEY, "X-WEBHOOK-TYPE": "CHECKIN"}
    try:
        answer = client.post(WEBHOOK_PATH, json=body, headers=headers)
    except httpx.TransportError as exc:
        return type(exc).__name__, None
    if answer.status_code == 200:
        return 200, answer.json()["delivery_id"]
    return answer.status_code, None


def keep_posting(base_url: str, thread: int, ledger: Ledger, stop: threading.Event) -> None:
    base = local_ms(2026, 11, 2, 8, 0) + thread * 10_000_000
    with httpx.Client(base_url=base_url, timeout=3, trust_env=False) as client:
        number = 0
        while not stop.is_set():
            sent = Sent(user_id=f"u-{thread:02d}-{number % 5}", checkin_timestamp=base + number * 1000)
            outcome, delivery_id = post(client, sent)
            ledger.record(sent, outcome, delivery_id)
            if outcome == 200:
                number += 1
            else:
                # Like a retrying sender: the same check-in again, after a pause.
                time.sleep(0.05)


def resend_until_acknowledged(base_url: str, ledger: Ledger, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(base_url=base_url, timeout=5, trust_env=False) as client:
        while ledger.unacknowledged:
            assert time.monotonic() < deadline, f"{len(ledger.unacknowledged)} deliveries never got a 200"
            for sent in sorted(ledger.unacknowledged, key=lambda item: item.checkin_timestamp):
                outcome, delivery_id = post(client, sent)
                ledger.record(sent, outcome, delivery_id)


def integrity(db_path: Path) -> list[str]:
    conn = sqlite3.connect(db_path)
    try:
        return [row[0] for row in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()


def run_crashes(tmp_path: Path, plan: CrashPlan, seed: int) -> tuple[Ledger, Path, str]:
    """Run `plan`; return the ledger, the database path and everything `serve` printed."""
    rng = random.Random(seed)
    port = free_port()
    config = write_config(tmp_path, port)
    server = ServeProcess(config=config, port=port, log_path=tmp_path / "serve.log")
    database = tmp_path / "data" / "acheckin-sync.sqlite3"
    ledger = Ledger()
    stop = threading.Event()
    threads = [
        threading.Thread(target=keep_posting, args=(server.base_url, number, ledger, stop), daemon=True)
        for number in range(plan.threads)
    ]

    server.start()
    for thread in threads:
        thread.start()
    try:
        for kill in range(plan.kills):
            time.sleep(rng.uniform(plan.min_live_s, plan.max_live_s))
            server.kill()
            assert integrity(database) == ["ok"], f"after kill {kill + 1} (seed {seed})"
            server.start()
        time.sleep(plan.min_live_s)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)

    try:
        resend_until_acknowledged(server.base_url, ledger)
    finally:
        # uvicorn exits by re-raising the SIGTERM it handled, after a clean shutdown.
        assert server.stop() in (0, -signal.SIGTERM), server.log_tail()
    return ledger, database, server.log_text()


def check_exactly_once(ledger: Ledger, database: Path, seed: int) -> None:
    conn = sqlite3.connect(database)
    try:
        checkins = {
            (user_id, timestamp): (checkin_id, first_delivery_id)
            for checkin_id, user_id, timestamp, first_delivery_id in conn.execute(
                "SELECT id, user_id, checkin_timestamp, first_delivery_id FROM checkins WHERE workspace_id = 'ws-demo'"
            )
        }
        deliveries = {row[0]: row[1:] for row in conn.execute("SELECT id, checkin_id, outcome FROM deliveries")}
        stored_per_checkin = dict(
            conn.execute("SELECT checkin_id, count(*) FROM deliveries WHERE outcome = 'stored' GROUP BY checkin_id").fetchall()
        )
        total_checkins = conn.execute("SELECT count(*) FROM checkins").fetchone()[0]
    finally:
        conn.close()

    context = f"seed {seed}, statuses {ledger.statuses}"
    assert integrity(database) == ["ok"], context
    assert ledger.unacknowledged == set(), context
    assert total_checkins == len(ledger.acknowledged), context
    for sent, delivery_id in ledger.acknowledged.items():
        key = (sent.user_id, sent.checkin_timestamp)
        assert key in checkins, f"{sent} got a 200 but is not in checkins ({context})"
        checkin_id, first_delivery_id = checkins[key]
        assert deliveries[delivery_id][0] == checkin_id, context
        assert stored_per_checkin.get(checkin_id) == 1, f"{sent} stored {stored_per_checkin.get(checkin_id)} times ({context})"
        assert deliveries[first_delivery_id] == (checkin_id, "stored"), context


def crash_seed() -> int:
    return int(os.environ.get("ACHECKIN_CRASH_SEED") or random.SystemRandom().randrange(2**32))


def test_sigkill_loses_no_acknowledged_delivery(tmp_path):
    seed = crash_seed()

    ledger, database, output = run_crashes(tmp_path, SHORT, seed)

    assert ledger.statuses.get(200, 0) >= 50, f"too few deliveries got through: {ledger.statuses} (seed {seed})"
    assert set(ledger.statuses) - {200, "ConnectError", "ReadError", "RemoteProtocolError", "ReadTimeout", 503} == set()
    check_exactly_once(ledger, database, seed)
    delivered = make_delivery()
    for secret in (SERVE_KEY, delivered["phone_number"], delivered["email"], delivered["name"]):
        assert secret not in output, f"serve printed {secret!r}"


@pytest.mark.slow
def test_sigkill_many_times_long(tmp_path):
    seed = crash_seed()

    ledger, database, _ = run_crashes(tmp_path, LONG, seed)

    assert ledger.statuses.get(200, 0) >= 500, f"too few deliveries got through: {ledger.statuses} (seed {seed})"
    check_exactly_once(ledger, database, seed)
