"""Changes proposed to other modules' owners, applied here by patching, to measure them.

`bench.task rollup` with `"proposed": true` calls `apply()` before the rollup, and
the rollup benchmark compares the rows it writes with the unpatched run's, so a
proposal that changed a figure would show. Each patch below is the smallest edit
to the owner's file that the profile pointed at; the owner decides.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from typing import Any


PROPOSALS = [
    "jobs/rollup.py `_write_rows`: `with db.atomic():` in place of `with db.conn:`. `with db.conn:` begins no "
    "transaction, so sqlite-utils' `upsert_all` commits every chunk of about 100 rows on its own (one fsync "
    "each) and an employee's rows are not written atomically as the docstring says. And one prepared "
    "`INSERT … ON CONFLICT (workspace_id, user_id, date) DO UPDATE SET …` through `executemany` in place of "
    "`upsert_all`, which reads the table's columns and builds its SQL anew for every employee.",
    "jobs/rollup.py `local_iso`: `datetime.fromtimestamp(ms / 1000, ZoneInfo(timezone)).isoformat(timespec="
    "'seconds')` in place of pendulum: the same text, 1.6 µs instead of 40 µs per call on the benchmark machine.",
    "jobs/rollup.py `_load_checkins` (with a read method in ingest/store.py for it): select only "
    "checkin_timestamp, working_group_begin/_end and office_location of the CHECKINs and build the rules' "
    "`Checkin` directly, instead of a full `StoredCheckin` per row (every column, `json.loads` of `extra`, "
    "an enum) that is then converted.",
    "jobs/rollup.py `open_attendance_db`: `PRAGMA synchronous = NORMAL` on the rollup's own connection. "
    "`daily_attendance` is derived data that the next run recomputes, and WAL with NORMAL never corrupts "
    "the file; it only skips the fsync at each of the one-per-employee commits (the receiver's connection "
    "keeps FULL).",
]
"""One line per patch: the file, the function and the change."""


def apply() -> list[str]:
    """Patch the modules in place; return a one-line description of each patch."""
    import jobs.rollup

    jobs.rollup._write_rows = _write_rows_in_one_transaction
    jobs.rollup.local_iso = _local_iso_with_zoneinfo
    jobs.rollup._load_checkins = _load_checkins_lean
    original_open = jobs.rollup.open_attendance_db
    jobs.rollup.open_attendance_db = functools.partial(_open_with_normal_sync, original_open)
    return PROPOSALS


def _write_rows_in_one_transaction(db, key, rows, months_to_delete):
    """`jobs.rollup._write_rows` in one transaction, with one prepared upsert statement."""
    from jobs.rollup import _existing_rows, _figures_differ

    changed: set[str] = set()
    existing = _existing_rows(db, key, [row["date"] for row in rows])
    with db.atomic():
        for month in months_to_delete:
            cursor = db.execute(
                "DELETE FROM daily_attendance WHERE workspace_id = ? AND user_id = ? AND month = ?",
                [key[0], key[1], month],
            )
            if cursor.rowcount:
                changed.add(month)
        for row in rows:
            before = existing.get(row["date"])
            if before is None or _figures_differ(before, row):
                changed.add(row["month"])
        if rows:
            db.conn.executemany(_upsert_sql(), [[row[column] for column in _columns()] for row in rows])
    return changed


@functools.lru_cache(maxsize=1)
def _columns() -> tuple[str, ...]:
    from jobs.rollup import DAILY_ATTENDANCE_COLUMNS

    return tuple(DAILY_ATTENDANCE_COLUMNS)


@functools.lru_cache(maxsize=1)
def _upsert_sql() -> str:
    keys = ("workspace_id", "user_id", "date")
    columns = _columns()
    updates = ", ".join(f"{column} = excluded.{column}" for column in columns if column not in keys)
    return (
        f"INSERT INTO daily_attendance ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)}) "
        f"ON CONFLICT (workspace_id, user_id, date) DO UPDATE SET {updates}"
    )


def _open_with_normal_sync(original, store):
    db = original(store)
    db.execute("PRAGMA synchronous = NORMAL")
    return db


@functools.lru_cache(maxsize=16)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def _local_iso_with_zoneinfo(instant_ms: int | None, timezone: str) -> str | None:
    if instant_ms is None:
        return None
    return dt.datetime.fromtimestamp(instant_ms / 1000, _zone(timezone)).isoformat(timespec="seconds")


def _load_checkins_lean(store, key, first_day, last_day, timezone: str = "UTC"):
    """`jobs.rollup._load_checkins` reading only the four columns the rules use."""
    import pendulum

    from ingest.payload import text_to_minutes
    from jobs.figures import Checkin, WebhookType, WorkingGroup
    from jobs.rollup import LOAD_MARGIN_DAYS

    if first_day is None or last_day is None:
        from_ms, to_ms = 0, 2**62
    else:
        begin = pendulum.datetime(first_day.year, first_day.month, first_day.day, tz=timezone)
        end = pendulum.datetime(last_day.year, last_day.month, last_day.day, tz=timezone)
        from_ms = int(begin.subtract(days=LOAD_MARGIN_DAYS).timestamp() * 1000)
        to_ms = int(end.add(days=LOAD_MARGIN_DAYS + 1).timestamp() * 1000)
    rows = store._reader().execute(
        "SELECT checkin_timestamp, working_group_begin, working_group_end, office_location FROM checkins"
        " WHERE workspace_id = ? AND user_id = ? AND checkin_timestamp >= ? AND checkin_timestamp < ?"
        " AND webhook_type = 'CHECKIN' ORDER BY checkin_timestamp",
        (key[0], key[1], from_ms, to_ms),
    )
    return [
        Checkin(
            timestamp_ms=timestamp,
            webhook_type=WebhookType.CHECKIN,
            working_group=(
                WorkingGroup(text_to_minutes(begin), text_to_minutes(end)) if begin is not None and end is not None else None
            ),
            office_location=office,
        )
        for timestamp, begin, end, office in rows
    ]
