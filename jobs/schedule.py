"""The ticks of `serve`: a rollup every few minutes and one export of the month a night.

A background thread wakes every `poll_seconds` and tries to run a tick. A tick first
takes the lease row `tick` in the `leases` table. A process that cannot take it skips
the tick, so at most one process runs a tick at a time, even when two `serve`
processes share the database. The lease expires after `lease_ttl_ms`, so the lease
of a crashed holder lapses and another process (or the restarted one) takes over.

What a tick runs is decided from the `job_runs` table, read under the lease, by the
pure function `plan_tick(now, last runs, ...)`:

- the rollup, when the last one started at least `rollup_every_minutes` ago;
- the nightly export (Excel, then Sheets when configured) of the month of the latest
  `export_at` slot, when no export for that slot finished `ok`, so a night lost to a
  crash or a stopped service runs at the next tick;
- a Sheets export of each month the rollup changed, and a retry of each month whose
  last Sheets export did not finish `ok` (pending), at the rollup's pace;
- the retention run (raw bodies and personal fields past `storage.retention_days`),
  once per `export_at` slot like the nightly export, when retention is on.

Because a second process reads the runs the first one wrote, each job runs once per
due time however many processes tick. Every run is recorded in `job_runs` (job,
target month, due slot, start, finish, outcome, detail). A job's error is logged and
recorded, never raised, so the thread keeps ticking. Nothing here runs on the
receiver's event loop.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pendulum

from ingest.schema import enable_wal
from jobs.settings import ScheduleSettings, Settings

log = logging.getLogger(__name__)

TICK_LEASE = "tick"
DEFAULT_LEASE_TTL_MS = 15 * 60 * 1000
"""A holder renews the lease before each job, so one job may take up to this long."""
DEFAULT_POLL_SECONDS = 30.0
RUNS_KEPT_MS = 90 * 24 * 3600 * 1000
"""`job_runs` rows older than 90 days are deleted, except the latest of each job."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    acquired_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS job_runs (
    id INTEGER PRIMARY KEY,
    job TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    due_at_ms INTEGER,
    started_at_ms INTEGER NOT NULL,
    finished_at_ms INTEGER,
    outcome TEXT NOT NULL,
    detail TEXT,
    holder TEXT
);
CREATE INDEX IF NOT EXISTS job_runs_by_job ON job_runs (job, target, id);
"""


class Job(enum.StrEnum):
    """A kind of scheduled (or command-line) run recorded in `job_runs.job`."""

    ROLLUP = "rollup"
    EXPORT_EXCEL = "export_excel"
    EXPORT_SHEETS = "export_sheets"
    RETENTION = "retention"


class Outcome(enum.StrEnum):
    """`job_runs.outcome`: `running` until the run finishes or its holder dies."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


# --- Pure decisions ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LastRuns:
    """The facts of `job_runs` that the next tick's plan depends on (Unix ms)."""

    rollup_started_ms: int | None = None
    nightly_export_slot_ms: int | None = None
    """The due slot of the latest nightly export that finished `ok`."""
    sheets_pending: frozenset[str] = frozenset()
    """Months whose latest Sheets export did not finish `ok`."""
    retention_slot_ms: int | None = None
    """The due slot of the latest retention run that finished `ok`."""


@dataclasses.dataclass(frozen=True)
class TickPlan:
    """The jobs one tick runs, decided before the first of them starts."""

    rollup: bool
    nightly_slot_ms: int | None
    nightly_month: str | None
    sheets_retry_months: frozenset[str]
    retention_slot_ms: int | None = None


def latest_slot_ms(now_ms: int, at_minutes: int, timezone: str) -> int:
    """Return the latest instant at or before `now_ms` whose local wall time is `at_minutes`.

    The wall time is taken in `timezone`. On a day where DST skips it, pendulum moves
    it forward by the gap, which still gives one slot per local day.
    """
    zone = pendulum.timezone(timezone)
    local_now = pendulum.from_timestamp(now_ms / 1000, tz=zone)
    hour, minute = divmod(at_minutes, 60)
    slot = _wall_time(local_now.date(), hour, minute, zone)
    if slot > local_now:
        slot = _wall_time(local_now.date() - dt.timedelta(days=1), hour, minute, zone)
    return int(slot.timestamp() * 1000)


def _wall_time(date: dt.date, hour: int, minute: int, zone: pendulum.Timezone) -> pendulum.DateTime:
    return pendulum.datetime(date.year, date.month, date.day, hour, minute, tz=zone)


def month_of(instant_ms: int, timezone: str) -> str:
    """Return the local month 'YYYY-MM' of an instant in `timezone`."""
    local = pendulum.from_timestamp(instant_ms / 1000, tz=pendulum.timezone(timezone))
    return f"{local.year:04d}-{local.month:02d}"


def rollup_due(now_ms: int, last_started_ms: int | None, every_minutes: int) -> bool:
    """Return whether the rollup is due: never run, or started `every_minutes` ago or more."""
    return last_started_ms is None or now_ms - last_started_ms >= every_minutes * 60_000


def plan_tick(
    now_ms: int,
    last: LastRuns,
    schedule: ScheduleSettings,
    timezone: str,
    sheets_enabled: bool,
    retention_enabled: bool = False,
) -> TickPlan:
    """Decide what the tick at `now_ms` runs, from the recorded runs only.

    The nightly export and the retention run share the `export_at` slot. With no
    run of either ever recorded, the latest slot counts as due, so a fresh service
    writes the current month's workbook at its first tick.
    """
    rollup = rollup_due(now_ms, last.rollup_started_ms, schedule.rollup_every_minutes)
    slot = latest_slot_ms(now_ms, schedule.export_at_minutes, timezone)

    nightly_slot = None
    if schedule.nightly_export and (last.nightly_export_slot_ms is None or last.nightly_export_slot_ms < slot):
        nightly_slot = slot
    retention_slot = None
    if retention_enabled and (last.retention_slot_ms is None or last.retention_slot_ms < slot):
        retention_slot = slot

    retry = last.sheets_pending if (sheets_enabled and rollup) else frozenset()
    return TickPlan(
        rollup=rollup,
        nightly_slot_ms=nightly_slot,
        nightly_month=month_of(nightly_slot, timezone) if nightly_slot is not None else None,
        sheets_retry_months=retry,
        retention_slot_ms=retention_slot,
    )


def sheets_months_after_rollup(plan: TickPlan, months_changed: Iterable[str], schedule: ScheduleSettings, sheets_enabled: bool) -> list[str]:
    """Return the months to export to Sheets after the rollup, oldest first.

    The nightly month is left out because the nightly export writes it to Sheets.
    """
    if not sheets_enabled:
        return []
    months = set(plan.sheets_retry_months)
    if schedule.sheets_after_rollup:
        months |= set(months_changed)
    months.discard(plan.nightly_month or "")
    return sorted(months)


# --- SQLite: leases and job runs ------------------------------------------------------


def connect(database: Path, busy_timeout_ms: int = 5000) -> sqlite3.Connection:
    """Open the database for the scheduler's tables, creating them if needed.

    The connection is in autocommit mode, so every statement commits at once. The
    scheduler's thread may wait longer for a lock than the receiver does.
    """
    database.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(database, isolation_level=None, timeout=busy_timeout_ms / 1000, check_same_thread=False)
    enable_wal(conn, busy_timeout_ms / 1000)
    ensure_schema(conn)
    return conn


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the `leases` and `job_runs` tables if they do not exist."""
    conn.executescript(SCHEMA)


def acquire_lease(conn: sqlite3.Connection, name: str, holder: str, now_ms: int, ttl_ms: int) -> bool:
    """Take or renew the lease `name` for `holder` until `now_ms + ttl_ms`.

    Succeeds when the lease is free, lapsed (its expiry at or before `now_ms`) or held
    by `holder` already. The upsert is one statement, so two processes racing for a
    free lease cannot both win.
    """
    conn.execute(
        """
        INSERT INTO leases (name, holder, acquired_at_ms, expires_at_ms) VALUES (?, ?, ?, ?)
        ON CONFLICT (name) DO UPDATE SET
            holder = excluded.holder,
            acquired_at_ms = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at_ms ELSE excluded.acquired_at_ms END,
            expires_at_ms = excluded.expires_at_ms
        WHERE leases.holder = excluded.holder OR leases.expires_at_ms <= excluded.acquired_at_ms
        """,
        (name, holder, now_ms, now_ms + ttl_ms),
    )
    row = conn.execute("SELECT holder FROM leases WHERE name = ?", (name,)).fetchone()
    return row is not None and row[0] == holder


def release_lease(conn: sqlite3.Connection, name: str, holder: str) -> None:
    """Give up the lease `name` if `holder` still holds it."""
    conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))


def read_last_runs(conn: sqlite3.Connection) -> LastRuns:
    """Read the facts `plan_tick` needs from `job_runs`."""
    rollup = conn.execute("SELECT MAX(started_at_ms) FROM job_runs WHERE job = ?", (Job.ROLLUP,)).fetchone()[0]
    nightly = conn.execute(
        "SELECT MAX(due_at_ms) FROM job_runs WHERE job = ? AND due_at_ms IS NOT NULL AND outcome = ?",
        (Job.EXPORT_EXCEL, Outcome.OK),
    ).fetchone()[0]
    latest_sheets = conn.execute(
        """
        SELECT target, outcome FROM job_runs
        WHERE id IN (SELECT MAX(id) FROM job_runs WHERE job = ? GROUP BY target)
        """,
        (Job.EXPORT_SHEETS,),
    ).fetchall()
    pending = frozenset(target for target, outcome in latest_sheets if outcome != Outcome.OK)
    retention = conn.execute(
        "SELECT MAX(due_at_ms) FROM job_runs WHERE job = ? AND due_at_ms IS NOT NULL AND outcome = ?",
        (Job.RETENTION, Outcome.OK),
    ).fetchone()[0]
    return LastRuns(rollup_started_ms=rollup, nightly_export_slot_ms=nightly, sheets_pending=pending, retention_slot_ms=retention)


def mark_interrupted(conn: sqlite3.Connection, holder: str, started_before_ms: int) -> int:
    """Mark `running` rows of other holders started before `started_before_ms` as interrupted.

    Called under the lease with `now - lease TTL`: such a run belongs to a holder that
    died or whose lease lapsed. A younger run may be a command-line run still in
    progress beside `serve`, so it is left alone. Returns how many rows changed.
    """
    cursor = conn.execute(
        "UPDATE job_runs SET outcome = ? WHERE outcome = ? AND (holder IS NULL OR holder != ?) AND started_at_ms <= ?",
        (Outcome.INTERRUPTED, Outcome.RUNNING, holder, started_before_ms),
    )
    return cursor.rowcount


def prune_runs(conn: sqlite3.Connection, before_ms: int) -> int:
    """Delete runs started before `before_ms`, keeping the latest of each job and month.

    The kept rows are the ones `read_last_runs` needs, so pruning never changes a
    plan. Returns how many rows were deleted.
    """
    cursor = conn.execute(
        """
        DELETE FROM job_runs
        WHERE started_at_ms < ?
          AND id NOT IN (SELECT MAX(id) FROM job_runs GROUP BY job, target)
          AND id NOT IN (SELECT MAX(id) FROM job_runs WHERE due_at_ms IS NOT NULL AND outcome = ? GROUP BY job)
        """,
        (before_ms, Outcome.OK),
    )
    return cursor.rowcount


@dataclasses.dataclass(frozen=True)
class JobRun:
    """One row of `job_runs`."""

    id: int
    job: str
    target: str
    due_at_ms: int | None
    started_at_ms: int
    finished_at_ms: int | None
    outcome: str
    detail: str | None


def latest_run(conn: sqlite3.Connection, job: Job) -> JobRun | None:
    """Return the latest recorded run of `job`, whatever its outcome."""
    row = conn.execute(
        "SELECT id, job, target, due_at_ms, started_at_ms, finished_at_ms, outcome, detail FROM job_runs WHERE job = ? ORDER BY id DESC LIMIT 1",
        (job,),
    ).fetchone()
    return JobRun(*row) if row else None


def record_run(
    conn: sqlite3.Connection,
    job: Job,
    work: Callable[[], Any],
    clock: Callable[[], int],
    *,
    target: str = "",
    due_at_ms: int | None = None,
    holder: str | None = None,
    describe: Callable[[Any], str] = str,
) -> Any:
    """Run `work`, recording it in `job_runs` as running, then ok or failed.

    Returns what `work` returns, and re-raises its exception after recording it as
    `failed`; the command line uses this too, so `status` shows manual runs.
    """
    started = clock()
    run_id = conn.execute(
        "INSERT INTO job_runs (job, target, due_at_ms, started_at_ms, outcome, holder) VALUES (?, ?, ?, ?, ?, ?)",
        (job, target, due_at_ms, started, Outcome.RUNNING, holder),
    ).lastrowid
    try:
        result = work()
    except BaseException as exc:
        _finish(conn, run_id, clock(), Outcome.FAILED, f"{type(exc).__name__}: {exc}")
        raise
    _finish(conn, run_id, clock(), Outcome.OK, describe(result))
    return result


def _finish(conn: sqlite3.Connection, run_id: int, finished_ms: int, outcome: Outcome, detail: str) -> None:
    conn.execute(
        "UPDATE job_runs SET finished_at_ms = ?, outcome = ?, detail = ? WHERE id = ?",
        (finished_ms, outcome, detail[:2000], run_id),
    )


# --- One tick -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ScheduledJobs:
    """The work a tick can do; `serve` builds these from the real rollup and exporters.

    `rollup(now_ms)` returns the months whose figures changed; `export_excel(month,
    now_ms)` returns the workbook's path; `export_sheets(month, now_ms)` is None when
    Sheets is not configured; `retention(now_ms)` is None when retention is off.
    """

    rollup: Callable[[int], Iterable[str]]
    export_excel: Callable[[str, int], Path]
    export_sheets: Callable[[str, int], Any] | None = None
    retention: Callable[[int], Any] | None = None


@dataclasses.dataclass(frozen=True)
class TickReport:
    """The runs of one tick as (job, target month, outcome), in order."""

    ran: tuple[tuple[str, str, str], ...]


def run_tick(
    conn: sqlite3.Connection,
    settings: Settings,
    jobs: ScheduledJobs,
    clock: Callable[[], int],
    holder: str,
    lease_ttl_ms: int = DEFAULT_LEASE_TTL_MS,
) -> TickReport | None:
    """Run one tick if this holder can take the lease; return None when it cannot.

    The lease is renewed before each job and released at the end. A job that fails
    is logged and recorded, and the tick goes on with the next job.
    """
    if not acquire_lease(conn, TICK_LEASE, holder, clock(), lease_ttl_ms):
        log.debug("tick skipped because another process holds the lease")
        return None
    try:
        interrupted = mark_interrupted(conn, holder, clock() - lease_ttl_ms)
        if interrupted:
            log.warning("%d job runs of a previous holder were interrupted; their work runs again when due", interrupted)
        prune_runs(conn, clock() - RUNS_KEPT_MS)
        return _run_plan(conn, settings, jobs, clock, holder, lease_ttl_ms)
    finally:
        release_lease(conn, TICK_LEASE, holder)


def _run_plan(
    conn: sqlite3.Connection,
    settings: Settings,
    jobs: ScheduledJobs,
    clock: Callable[[], int],
    holder: str,
    lease_ttl_ms: int,
) -> TickReport:
    sheets_enabled = jobs.export_sheets is not None
    plan = plan_tick(clock(), read_last_runs(conn), settings.schedule, settings.policy.timezone, sheets_enabled, jobs.retention is not None)
    ran: list[tuple[str, str, str]] = []

    def attempt(job: Job, target: str, work: Callable[[], Any], due_at_ms: int | None = None) -> Any:
        if not acquire_lease(conn, TICK_LEASE, holder, clock(), lease_ttl_ms):
            raise _LeaseLost
        try:
            result = record_run(conn, job, work, clock, target=target, due_at_ms=due_at_ms, holder=holder, describe=_describe)
        except Exception:
            log.exception("scheduled %s %s failed; it runs again at a later tick", job, target or "")
            ran.append((job, target, Outcome.FAILED))
            return None
        ran.append((job, target, Outcome.OK))
        return result

    try:
        months_changed: Iterable[str] = ()
        if plan.rollup:
            months_changed = attempt(Job.ROLLUP, "", lambda: sorted(jobs.rollup(clock()))) or ()

        if plan.nightly_month is not None:
            month = plan.nightly_month
            attempt(Job.EXPORT_EXCEL, month, lambda: jobs.export_excel(month, clock()), due_at_ms=plan.nightly_slot_ms)
            if jobs.export_sheets is not None:
                attempt(Job.EXPORT_SHEETS, month, lambda: jobs.export_sheets(month, clock()), due_at_ms=plan.nightly_slot_ms)

        for month in sheets_months_after_rollup(plan, months_changed, settings.schedule, sheets_enabled):
            assert jobs.export_sheets is not None
            attempt(Job.EXPORT_SHEETS, month, lambda month=month: jobs.export_sheets(month, clock()))

        if plan.retention_slot_ms is not None and jobs.retention is not None:
            retention = jobs.retention
            attempt(Job.RETENTION, "", lambda: retention(clock()), due_at_ms=plan.retention_slot_ms)
    except _LeaseLost:
        log.warning("the tick lease lapsed while running; the rest of this tick is left to the new holder")
    return TickReport(tuple(ran))


class _LeaseLost(Exception):
    """Raised inside a tick when renewing the lease failed."""


def _describe(result: Any) -> str:
    if result is None:
        return ""
    if isinstance(result, list | tuple | set | frozenset):
        return ", ".join(str(item) for item in result)
    return str(result)


# --- The background thread -------------------------------------------------------------


def wall_clock_ms() -> int:
    """Return the current time as Unix milliseconds."""
    return time.time_ns() // 1_000_000


def new_holder_id() -> str:
    """Return an id for this process's scheduler: host, process id and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Scheduler:
    """A daemon thread that runs a tick at start and then every `poll_seconds`.

    The thread has its own SQLite connection and never touches the receiver's event
    loop. `stop()` lets a running job finish, then joins the thread.
    """

    def __init__(
        self,
        settings: Settings,
        jobs: ScheduledJobs,
        clock: Callable[[], int] = wall_clock_ms,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        lease_ttl_ms: int = DEFAULT_LEASE_TTL_MS,
        holder: str | None = None,
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.lease_ttl_ms = lease_ttl_ms
        self.holder = holder or new_holder_id()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread; the first tick runs at once."""
        self._thread = threading.Thread(target=self._loop, name="acheckin-sync-scheduler", daemon=True)
        self._thread.start()
        log.info("scheduler started: rollup every %d min, nightly export at %s", self.settings.schedule.rollup_every_minutes, self.settings.schedule.export_at)

    def stop(self, timeout: float | None = None) -> None:
        """Ask the thread to stop after the current job and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        log.info("scheduler stopped")

    def _loop(self) -> None:
        conn: sqlite3.Connection | None = None
        while not self._stop.is_set():
            try:
                conn = conn or connect(self.settings.database)
                run_tick(conn, self.settings, self.jobs, self.clock, self.holder, self.lease_ttl_ms)
            except Exception:
                # The thread must outlive any one failure, or ticks would stop silently.
                log.exception("scheduler tick failed; retrying in %.0f s", self.poll_seconds)
            self._stop.wait(self.poll_seconds)
        if conn is not None:
            release_lease(conn, TICK_LEASE, self.holder)
            conn.close()


def local_date(instant_ms: int, timezone: str) -> dt.date:
    """Return the local date of an instant in `timezone`."""
    return pendulum.from_timestamp(instant_ms / 1000, tz=pendulum.timezone(timezone)).date()
