"""The figures `acheckin-sync status` shows, read from the database in one place."""

from __future__ import annotations

import dataclasses
import sqlite3

import pendulum

from ingest.store import Store
from jobs.schedule import Job, JobRun, ensure_schema, latest_run, month_of


CONFLICTS_LISTED = 10
"""At most this many conflicting employee dates are listed; the count covers all."""


@dataclasses.dataclass(frozen=True)
class ConflictDay:
    """One employee date whose `working_group`s disagreed, as `daily_attendance` records it."""

    workspace_id: str
    user_id: str
    date: str
    conflict: str


@dataclasses.dataclass(frozen=True)
class StatusReport:
    """Deliveries, quarantine, the last runs and the shift conflicts of this month.

    Instants are Unix ms. `month` is the current local month 'YYYY-MM'.
    """

    deliveries_today: int
    last_delivery_ms: int | None
    quarantine_size: int
    last_rollup: JobRun | None
    last_export: JobRun | None
    month: str
    conflicts: int
    conflict_days: tuple[ConflictDay, ...] = ()
    """The first `CONFLICTS_LISTED` conflicting dates of `month`, by date and user."""


def collect_status(store: Store, conn: sqlite3.Connection, timezone: str, now_ms: int) -> StatusReport:
    """Read the status at `now_ms`; "today" starts at local midnight in `timezone`."""
    zone = pendulum.timezone(timezone)
    midnight = pendulum.from_timestamp(now_ms / 1000, tz=zone).start_of("day")
    stats = store.delivery_stats(int(midnight.timestamp() * 1000))
    ensure_schema(conn)
    exports = [run for run in (latest_run(conn, Job.EXPORT_EXCEL), latest_run(conn, Job.EXPORT_SHEETS)) if run is not None]
    month = month_of(now_ms, timezone)
    count, listed = _conflicts(conn, month)

    return StatusReport(
        deliveries_today=stats.count,
        last_delivery_ms=stats.last_received_at_ms,
        quarantine_size=store.quarantine_size(),
        last_rollup=latest_run(conn, Job.ROLLUP),
        last_export=max(exports, key=lambda run: run.started_at_ms, default=None),
        month=month,
        conflicts=count,
        conflict_days=listed,
    )


def _conflicts(conn: sqlite3.Connection, month: str) -> tuple[int, tuple[ConflictDay, ...]]:
    """Count and list the employee dates of `month` with a shift conflict; none before the first rollup."""
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'daily_attendance'").fetchone()
    if exists is None:
        return 0, ()
    condition = "FROM daily_attendance WHERE month = ? AND conflict IS NOT NULL AND conflict != ''"
    count = conn.execute(f"SELECT COUNT(*) {condition}", (month,)).fetchone()[0]
    rows = conn.execute(
        f"SELECT workspace_id, user_id, date, conflict {condition} ORDER BY date, workspace_id, user_id LIMIT ?",
        (month, CONFLICTS_LISTED),
    ).fetchall()
    return int(count), tuple(ConflictDay(*row) for row in rows)
