"""The ticks of `serve`: decisions at fixed times, the lease, lost and repeated ticks."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from pathlib import Path

import pendulum
import pytest

from jobs.schedule import (
    TICK_LEASE,
    Job,
    LastRuns,
    Outcome,
    ScheduledJobs,
    Scheduler,
    acquire_lease,
    connect,
    latest_slot_ms,
    plan_tick,
    read_last_runs,
    release_lease,
    rollup_due,
    run_tick,
    sheets_months_after_rollup,
)
from jobs.settings import ScheduleSettings, Settings, load_settings

ZONE = "Asia/Ho_Chi_Minh"
MINUTE = 60_000
TTL = 15 * MINUTE


def local_ms(text: str) -> int:
    """Return Unix ms of a local wall time 'YYYY-MM-DD HH:MM' in Vietnam."""
    return int(pendulum.parse(text, tz=ZONE).timestamp() * 1000)


def make_settings(tmp_path: Path, schedule: str = "") -> Settings:
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndatabase = "data/test.sqlite3"\n[schedule]\n{schedule}', encoding="utf-8")
    return load_settings(config, {})


class Recorder:
    """Jobs that record each call, as the real rollup and exports would be called."""

    def __init__(self, months_changed: tuple[str, ...] = (), fail_sheets: bool = False, hold_seconds: float = 0.0) -> None:
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.months_changed = months_changed
        self.fail_sheets = fail_sheets
        self.hold_seconds = hold_seconds

    def rollup(self, now_ms: int) -> tuple[str, ...]:
        time.sleep(self.hold_seconds)
        with self.lock:
            self.calls.append(("rollup", ""))
        return self.months_changed

    def export_excel(self, month: str, now_ms: int) -> Path:
        with self.lock:
            self.calls.append(("excel", month))
        return Path(f"/exports/{month}.xlsx")

    def export_sheets(self, month: str, now_ms: int) -> None:
        with self.lock:
            self.calls.append(("sheets", month))
        if self.fail_sheets:
            raise ConnectionError("Sheets answered 429 too many times")

    def jobs(self, sheets: bool = False) -> ScheduledJobs:
        return ScheduledJobs(self.rollup, self.export_excel, self.export_sheets if sheets else None)


class FixedClock:
    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


# --- Pure decisions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_started", "now", "due"),
    [
        (None, "2026-11-10 09:00", True),
        ("2026-11-10 08:56", "2026-11-10 09:00", False),
        ("2026-11-10 08:55", "2026-11-10 09:00", True),
        ("2026-11-09 09:00", "2026-11-10 09:00", True),
    ],
)
def test_rollup_due_after_interval(last_started, now, due):
    last_ms = local_ms(last_started) if last_started else None

    assert rollup_due(local_ms(now), last_ms, every_minutes=5) is due


@pytest.mark.parametrize(
    ("now", "slot"),
    [
        ("2026-11-10 23:30", "2026-11-10 23:30"),
        ("2026-11-10 23:29", "2026-11-09 23:30"),
        ("2026-11-11 02:00", "2026-11-10 23:30"),
        ("2026-12-01 00:10", "2026-11-30 23:30"),
    ],
)
def test_latest_slot_is_local_wall_time(now, slot):
    assert latest_slot_ms(local_ms(now), 23 * 60 + 30, ZONE) == local_ms(slot)


def test_latest_slot_in_zone_with_dst():
    # 2026-03-29 is the night Europe/Berlin moves from 02:00 to 03:00.
    now = int(pendulum.datetime(2026, 3, 29, 12, 0, tz="Europe/Berlin").timestamp() * 1000)

    slot = latest_slot_ms(now, 2 * 60 + 30, "Europe/Berlin")

    local = pendulum.from_timestamp(slot / 1000, tz="Europe/Berlin")
    assert local.date() == pendulum.date(2026, 3, 29)
    assert local.hour == 3


@pytest.mark.parametrize(
    ("last_slot", "now", "month"),
    [
        (None, "2026-11-10 09:00", "2026-11"),
        ("2026-11-09 23:30", "2026-11-10 09:00", None),
        ("2026-11-09 23:30", "2026-11-10 23:30", "2026-11"),
        ("2026-11-29 23:30", "2026-12-01 00:10", "2026-11"),
        ("2026-11-30 23:30", "2026-12-01 23:45", "2026-12"),
    ],
)
def test_nightly_export_month_at_fixed_times(last_slot, now, month):
    last = LastRuns(rollup_started_ms=local_ms(now), nightly_export_slot_ms=local_ms(last_slot) if last_slot else None)

    plan = plan_tick(local_ms(now), last, ScheduleSettings(export_at="23:30"), ZONE, sheets_enabled=False)

    assert plan.nightly_month == month


def test_nightly_export_off_plans_none():
    plan = plan_tick(local_ms("2026-11-10 23:45"), LastRuns(), ScheduleSettings(nightly_export=False), ZONE, sheets_enabled=False)

    assert plan.nightly_month is None
    assert plan.rollup is True


@pytest.mark.parametrize(
    ("sheets_enabled", "rollup_recent", "retry"),
    [
        (True, False, {"2026-10"}),
        (True, True, set()),
        (False, False, set()),
    ],
)
def test_pending_sheets_retried_at_rollup_pace(sheets_enabled, rollup_recent, retry):
    now = local_ms("2026-11-10 09:00")
    last = LastRuns(
        rollup_started_ms=now - MINUTE if rollup_recent else now - 10 * MINUTE,
        nightly_export_slot_ms=local_ms("2026-11-09 23:30"),
        sheets_pending=frozenset({"2026-10"}),
    )

    plan = plan_tick(now, last, ScheduleSettings(), ZONE, sheets_enabled)

    assert plan.sheets_retry_months == retry


@pytest.mark.parametrize(
    ("after_rollup", "enabled", "expected"),
    [
        (True, True, ["2026-10", "2026-11"]),
        (False, True, ["2026-10"]),
        (True, False, []),
    ],
)
def test_sheets_months_after_rollup(after_rollup, enabled, expected):
    plan = plan_tick(
        local_ms("2026-11-10 09:00"),
        LastRuns(nightly_export_slot_ms=local_ms("2026-11-09 23:30"), sheets_pending=frozenset({"2026-10"})),
        ScheduleSettings(),
        ZONE,
        sheets_enabled=enabled,
    )

    months = sheets_months_after_rollup(plan, ["2026-11"], ScheduleSettings(sheets_after_rollup=after_rollup), enabled)

    assert months == expected


# --- The lease --------------------------------------------------------------------------


def test_lease_excludes_second_holder(tmp_path):
    conn = connect(tmp_path / "db.sqlite3")
    now = local_ms("2026-11-10 09:00")

    assert acquire_lease(conn, TICK_LEASE, "a", now, TTL) is True
    assert acquire_lease(conn, TICK_LEASE, "b", now + MINUTE, TTL) is False
    assert acquire_lease(conn, TICK_LEASE, "a", now + MINUTE, TTL) is True


def test_lapsed_lease_is_taken_over(tmp_path):
    conn = connect(tmp_path / "db.sqlite3")
    now = local_ms("2026-11-10 09:00")
    acquire_lease(conn, TICK_LEASE, "crashed", now, TTL)

    assert acquire_lease(conn, TICK_LEASE, "b", now + TTL - 1, TTL) is False
    assert acquire_lease(conn, TICK_LEASE, "b", now + TTL, TTL) is True
    assert acquire_lease(conn, TICK_LEASE, "crashed", now + TTL + 1, TTL) is False


def test_released_lease_is_free(tmp_path):
    conn = connect(tmp_path / "db.sqlite3")
    now = local_ms("2026-11-10 09:00")
    acquire_lease(conn, TICK_LEASE, "a", now, TTL)

    release_lease(conn, TICK_LEASE, "b")
    assert acquire_lease(conn, TICK_LEASE, "b", now, TTL) is False
    release_lease(conn, TICK_LEASE, "a")
    assert acquire_lease(conn, TICK_LEASE, "b", now, TTL) is True


# --- Ticks ----------------------------------------------------------------------------


def test_two_threads_one_tick_runs_each_job_once(tmp_path):
    settings = make_settings(tmp_path)
    recorder = Recorder(hold_seconds=0.3)
    clock = FixedClock(local_ms("2026-11-10 09:00"))
    start = threading.Barrier(2, timeout=30)
    reports = {}

    def tick(holder: str) -> None:
        conn = connect(settings.database)
        start.wait()
        reports[holder] = run_tick(conn, settings, recorder.jobs(), clock, holder)
        conn.close()

    threads = [threading.Thread(target=tick, args=(holder,)) for holder in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(reports) == ["a", "b"]
    assert sorted(recorder.calls) == [("excel", "2026-11"), ("rollup", "")]
    assert sorted(report is None for report in reports.values()) == [False, True]


def test_second_process_same_tick_runs_nothing(tmp_path):
    settings = make_settings(tmp_path)
    recorder = Recorder()
    clock = FixedClock(local_ms("2026-11-10 09:00"))

    first = run_tick(connect(settings.database), settings, recorder.jobs(), clock, "a")
    clock.now_ms += 30_000
    second = run_tick(connect(settings.database), settings, recorder.jobs(), clock, "b")

    assert first is not None
    assert len(first.ran) == 2
    assert second is not None
    assert second.ran == ()
    assert len(recorder.calls) == 2


def _process_tick(database_config: str, holder: str, now_ms: int, start_at: float) -> None:
    settings = load_settings(Path(database_config), {})
    conn = connect(settings.database)
    time.sleep(max(0.0, start_at - time.time()))
    jobs = ScheduledJobs(rollup=_slow_rollup, export_excel=_fake_path_export)
    run_tick(conn, settings, jobs, lambda: now_ms, holder)


def _slow_rollup(now_ms: int) -> list[str]:
    time.sleep(0.3)
    return []


def _fake_path_export(month: str, now_ms: int) -> Path:
    return Path(month + ".xlsx")


def test_two_processes_one_tick_runs_each_job_once(tmp_path):
    settings = make_settings(tmp_path, "nightly_export = false\n")
    connect(settings.database).close()
    context = multiprocessing.get_context("spawn")
    start_at = time.time() + 2.0
    now = local_ms("2026-11-10 09:00")
    processes = [context.Process(target=_process_tick, args=(str(settings.config_path), holder, now, start_at)) for holder in ("p1", "p2")]

    for process in processes:
        process.start()
    for process in processes:
        process.join(30)

    assert [process.exitcode for process in processes] == [0, 0]
    rows = sqlite3.connect(settings.database).execute("SELECT job, outcome FROM job_runs").fetchall()
    assert rows == [(Job.ROLLUP.value, Outcome.OK.value)]


def test_crashed_holder_tick_runs_after_lease_lapses(tmp_path):
    settings = make_settings(tmp_path)
    conn = connect(settings.database)
    crashed_at = local_ms("2026-11-10 09:00")
    acquire_lease(conn, TICK_LEASE, "crashed", crashed_at, TTL)
    conn.execute(
        "INSERT INTO job_runs (job, started_at_ms, outcome, holder) VALUES (?, ?, ?, ?)",
        (Job.ROLLUP, crashed_at, Outcome.RUNNING, "crashed"),
    )
    recorder = Recorder()
    clock = FixedClock(crashed_at + MINUTE)

    blocked = run_tick(conn, settings, recorder.jobs(), clock, "b")
    clock.now_ms = crashed_at + TTL
    report = run_tick(conn, settings, recorder.jobs(), clock, "b")

    assert blocked is None
    assert report is not None
    assert ("rollup", "") in recorder.calls
    outcomes = conn.execute("SELECT holder, outcome FROM job_runs WHERE job = 'rollup' ORDER BY id").fetchall()
    assert outcomes == [("crashed", "interrupted"), ("b", "ok")]


def test_export_missed_while_down_runs_once_at_next_tick(tmp_path):
    settings = make_settings(tmp_path)
    conn = connect(settings.database)
    conn.execute(
        "INSERT INTO job_runs (job, target, due_at_ms, started_at_ms, finished_at_ms, outcome) VALUES (?, ?, ?, ?, ?, ?)",
        (Job.EXPORT_EXCEL, "2026-11", local_ms("2026-11-09 23:30"), local_ms("2026-11-09 23:30"), local_ms("2026-11-09 23:31"), Outcome.OK),
    )
    recorder = Recorder()
    clock = FixedClock(local_ms("2026-11-11 02:00"))

    run_tick(conn, settings, recorder.jobs(), clock, "restarted")
    clock.now_ms += MINUTE
    run_tick(conn, settings, recorder.jobs(), clock, "restarted")

    assert recorder.calls.count(("excel", "2026-11")) == 1
    assert read_last_runs(conn).nightly_export_slot_ms == local_ms("2026-11-10 23:30")


def test_failed_sheets_export_stays_pending_until_ok(tmp_path):
    settings = make_settings(tmp_path, "nightly_export = false\n")
    conn = connect(settings.database)
    failing = Recorder(months_changed=("2026-11",), fail_sheets=True)
    clock = FixedClock(local_ms("2026-11-10 09:00"))

    run_tick(conn, settings, failing.jobs(sheets=True), clock, "a")
    pending_after_failure = read_last_runs(conn).sheets_pending
    clock.now_ms += 5 * MINUTE
    working = Recorder()
    run_tick(conn, settings, working.jobs(sheets=True), clock, "a")

    assert pending_after_failure == frozenset({"2026-11"})
    assert working.calls == [("rollup", ""), ("sheets", "2026-11")]
    assert read_last_runs(conn).sheets_pending == frozenset()


def test_failed_job_does_not_stop_tick(tmp_path):
    settings = make_settings(tmp_path)
    conn = connect(settings.database)
    recorder = Recorder(months_changed=("2026-11",), fail_sheets=True)
    clock = FixedClock(local_ms("2026-11-10 09:00"))

    report = run_tick(conn, settings, recorder.jobs(sheets=True), clock, "a")

    assert report is not None
    assert report.ran == (("rollup", "", "ok"), ("export_excel", "2026-11", "ok"), ("export_sheets", "2026-11", "failed"))
    detail = conn.execute("SELECT detail FROM job_runs WHERE outcome = 'failed'").fetchone()[0]
    assert "429" in detail


def test_scheduler_thread_ticks_and_stops(tmp_path):
    settings = make_settings(tmp_path, "nightly_export = false\nrollup_every_minutes = 1\n")
    recorder = Recorder()
    clock = FixedClock(local_ms("2026-11-10 09:00"))
    scheduler = Scheduler(settings, recorder.jobs(), clock=clock, poll_seconds=0.02)

    scheduler.start()
    deadline = time.monotonic() + 5
    while not recorder.calls and time.monotonic() < deadline:
        time.sleep(0.01)
    clock.now_ms += MINUTE
    while len(recorder.calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    scheduler.stop(timeout=5)

    assert recorder.calls == [("rollup", ""), ("rollup", "")]
    assert scheduler._thread is not None
    assert not scheduler._thread.is_alive()
    lease = sqlite3.connect(settings.database).execute("SELECT COUNT(*) FROM leases").fetchone()[0]
    assert lease == 0


def test_old_runs_pruned_but_latest_kept(tmp_path):
    settings = make_settings(tmp_path)
    conn = connect(settings.database)
    old = local_ms("2026-06-01 09:00")
    for minutes in range(0, 30, 5):
        conn.execute("INSERT INTO job_runs (job, started_at_ms, outcome) VALUES ('rollup', ?, 'ok')", (old + minutes * MINUTE,))
    conn.execute(
        "INSERT INTO job_runs (job, target, due_at_ms, started_at_ms, outcome) VALUES ('export_excel', '2026-06', ?, ?, 'ok')",
        (local_ms("2026-06-01 23:30"), local_ms("2026-06-01 23:30")),
    )
    before = read_last_runs(conn)

    run_tick(conn, settings, Recorder().jobs(), FixedClock(local_ms("2026-11-10 09:00")), "a")

    rows = conn.execute("SELECT job, started_at_ms FROM job_runs WHERE started_at_ms < ? ORDER BY id", (local_ms("2026-07-01 00:00"),)).fetchall()
    assert rows == [("rollup", old + 25 * MINUTE), ("export_excel", local_ms("2026-06-01 23:30"))]
    assert before.rollup_started_ms == old + 25 * MINUTE


def test_scheduler_thread_survives_failing_database(tmp_path):
    settings = make_settings(tmp_path, "nightly_export = false\n")
    settings.database.parent.mkdir(parents=True)
    settings.database.mkdir()  # a folder where the database file should be
    scheduler = Scheduler(settings, Recorder().jobs(), clock=FixedClock(local_ms("2026-11-10 09:00")), poll_seconds=0.02)

    scheduler.start()
    time.sleep(0.2)
    alive = scheduler._thread is not None and scheduler._thread.is_alive()
    scheduler.stop(timeout=5)

    assert alive


def test_young_command_line_run_not_interrupted(tmp_path):
    settings = make_settings(tmp_path, "nightly_export = false\n")
    conn = connect(settings.database)
    now = local_ms("2026-11-10 09:00")
    conn.execute(
        "INSERT INTO job_runs (job, target, started_at_ms, outcome, holder) VALUES ('export_excel', '2026-10', ?, 'running', 'cli:4242')",
        (now - MINUTE,),
    )

    run_tick(conn, settings, Recorder().jobs(), FixedClock(now), "serve")

    outcome = conn.execute("SELECT outcome FROM job_runs WHERE holder = 'cli:4242'").fetchone()[0]
    assert outcome == "running"


@pytest.mark.parametrize(
    ("enabled", "last_slot", "now", "due"),
    [
        (True, None, "2026-11-10 09:00", "2026-11-09 23:30"),
        (True, "2026-11-09 23:30", "2026-11-10 09:00", None),
        (True, "2026-11-09 23:30", "2026-11-11 02:00", "2026-11-10 23:30"),
        (False, None, "2026-11-10 09:00", None),
    ],
)
def test_retention_runs_once_per_night(enabled, last_slot, now, due):
    last = LastRuns(retention_slot_ms=local_ms(last_slot) if last_slot else None)

    plan = plan_tick(local_ms(now), last, ScheduleSettings(nightly_export=False), ZONE, sheets_enabled=False, retention_enabled=enabled)

    assert plan.retention_slot_ms == (local_ms(due) if due else None)


def test_retention_tick_recorded_with_slot(tmp_path):
    settings = make_settings(tmp_path, "nightly_export = false\n")
    conn = connect(settings.database)
    calls = []
    jobs = ScheduledJobs(rollup=lambda now_ms: (), export_excel=lambda month, now_ms: Path(), retention=calls.append)
    clock = FixedClock(local_ms("2026-11-11 02:00"))

    run_tick(conn, settings, jobs, clock, "a")
    clock.now_ms += 10 * MINUTE
    run_tick(conn, settings, jobs, clock, "a")

    assert calls == [local_ms("2026-11-11 02:00")]
    assert read_last_runs(conn).retention_slot_ms == local_ms("2026-11-10 23:30")


def test_connections_racing_on_new_file_both_open(tmp_path):
    errors = []

    for attempt in range(100):
        database = tmp_path / f"race-{attempt}.sqlite3"
        start = threading.Barrier(2, timeout=30)

        def open_and_close() -> None:
            start.wait()
            try:
                connect(database).close()
            except sqlite3.Error as exc:
                errors.append(repr(exc))

        threads = [threading.Thread(target=open_and_close) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert errors == []
