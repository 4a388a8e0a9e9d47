"""Changes proposed for the rollup, applied here by patching, to measure them.

`bench.task rollup` with `"proposed": true` calls `apply()` before the rollup, and
the rollup benchmark compares the rows it writes with the unpatched run's, so a
proposal that changed a figure would show. Each patch is the smallest edit to the
owner's file that the profile pointed at; the owner decides. (The first round of
proposals, one transaction per employee with a prepared upsert, a lean read of the
check-ins, zoneinfo for local times and synchronous=NORMAL for the derived rows, is
in jobs/rollup.py since commit 8f03c29.)
"""

from __future__ import annotations

import datetime as dt


PROPOSALS = [
    "jobs/rollup.py `_all_months_dirty`: find each employee's months from the first and last CHECKIN "
    "(one indexed GROUP BY; every month from 36 h before the first to 36 h after the last, a superset for "
    "any zone and the one-day attribution windows) instead of loading and attributing every check-in of "
    "every employee once more before `_recompute_employee` does it again. `_recompute_employee` already "
    "skips months where the employee does not appear, so the rows come out the same.",
]
"""One line per patch: the file, the function and the change."""


def apply() -> list[str]:
    """Patch the modules in place; return a one-line description of each patch."""
    import jobs.rollup

    jobs.rollup._all_months_dirty = _all_months_dirty_from_bounds
    return PROPOSALS


def _all_months_dirty_from_bounds(db, store, policy, calendar):
    """`jobs.rollup._all_months_dirty` without attributing the check-ins."""
    from jobs.rollup import _month_days

    margin_ms = 36 * 3600 * 1000
    dirty: dict[tuple[str, str], set[dt.date]] = {}
    bounds = store._reader().execute(
        "SELECT workspace_id, user_id, min(checkin_timestamp), max(checkin_timestamp) FROM checkins"
        " WHERE webhook_type = 'CHECKIN' GROUP BY workspace_id, user_id"
    ).fetchall()
    for workspace_id, user_id, first_ms, last_ms in bounds:
        first = dt.datetime.fromtimestamp((first_ms - margin_ms) / 1000, dt.UTC).date().replace(day=1)
        last = dt.datetime.fromtimestamp((last_ms + margin_ms) / 1000, dt.UTC).date()
        days: set[dt.date] = set()
        month = first
        while month <= last:
            days.update(_month_days(month.year, month.month))
            month = (month + dt.timedelta(days=32)).replace(day=1)
        dirty[(workspace_id, user_id)] = days
    for workspace_id, user_id, month in db.execute(
        "SELECT DISTINCT workspace_id, user_id, month FROM daily_attendance"
    ).fetchall():
        year, number = (int(part) for part in month.split("-"))
        dirty.setdefault((workspace_id, user_id), set()).update(_month_days(year, number))
    return dirty
