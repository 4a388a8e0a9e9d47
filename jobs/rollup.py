"""Recompute `daily_attendance` from check-ins: only the dates that can have changed.

A day's figures depend on the employee's check-ins from three days before to three
days after it, on the policy, on the holiday calendar and on the moment of computing
(a date is `open` until its window closes). So the rollup recomputes:

- date(t) − 3 … date(t) + 3 for every check-in delivered since the last run (the
  `deliveries` id is the watermark, so a repeat that changed a check-in counts too);
- every date still `open` at the last run;
- everything, when the policy or the calendar changed since the last run;
- every date of a month in which an employee newly appears, because the month's
  rows cover all its dates;
- a range given by the operator (`rollup --from --to`).

Rows are upserted on (workspace_id, user_id, date), so recomputing is idempotent and
arrival order never changes a result. Each employee's rows are written in a
transaction of their own, so the receiver waits at most one employee's write for
the lock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import hashlib
import json
import logging
import time
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pendulum
import sqlite_utils

from ingest.store import Store
from jobs.calendar import Calendar
from jobs.figures import Checkin, DayFigures, Status, WebhookType, WorkingGroup
from jobs.rules import attribute, compute_days
from jobs.settings import Settings

log = logging.getLogger(__name__)

NEIGHBOUR_DAYS = 3
"""A check-in can change the figures of dates up to this many days either side."""

LOAD_MARGIN_DAYS = NEIGHBOUR_DAYS + 1
"""Check-ins loaded around the recomputed dates: the neighbours plus a day for zones."""

EmployeeKey = tuple[str, str]

DAILY_ATTENDANCE_COLUMNS: dict[str, type] = {
    "workspace_id": str,
    "user_id": str,
    "date": str,
    "month": str,
    "kind": str,
    "holiday_kind": str,
    "on_weekday": int,
    "status": str,
    "shift_source": str,
    "shift_begin": str,
    "shift_end": str,
    "shift_begin_ms": int,
    "shift_end_ms": int,
    "shift_workday": float,
    "shift_normal_minutes": int,
    "office_location": str,
    "conflict": str,
    "first_in": str,
    "last_out": str,
    "first_in_ms": int,
    "last_out_ms": int,
    "checkin_count": int,
    "time_at_work_minutes": int,
    "late_minutes": int,
    "early_leave_minutes": int,
    "worked_minutes": int,
    "overtime_workday_minutes": int,
    "overtime_dayoff_minutes": int,
    "overtime_holiday_minutes": int,
    "overtime_minutes": int,
    "overtime_night_minutes": int,
    "night_minutes": int,
    "workday": float,
    "needs_explanation": int,
    "overtime_over_daily_cap": int,
    "computed_at_ms": int,
}


UPSERT_SQL = (
    f"INSERT INTO daily_attendance ({', '.join(DAILY_ATTENDANCE_COLUMNS)})"
    f" VALUES ({', '.join('?' for _ in DAILY_ATTENDANCE_COLUMNS)})"
    " ON CONFLICT (workspace_id, user_id, date) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in DAILY_ATTENDANCE_COLUMNS if name not in ("workspace_id", "user_id", "date"))
)
"""One prepared upsert of a whole row, keyed on (workspace_id, user_id, date)."""


@dataclasses.dataclass(frozen=True)
class RollupResult:
    """The counts of one rollup run."""

    dates_recomputed: int
    employees: int
    months_changed: frozenset[str]
    """Months ('YYYY-MM') in which at least one row's figures changed."""
    full: bool
    """Whether the policy or calendar changed, so every date was recomputed."""


def run_rollup(
    store: Store,
    settings: Settings,
    now_ms: int,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> RollupResult:
    """Recompute every date that may have changed since the last run, plus any range.

    `now_ms` is the moment of computing (Unix ms); it decides which dates are `open`.
    `date_from`/`date_to` (local dates, inclusive) force a recompute of that range for
    every employee with check-ins.
    """
    started = time.monotonic()
    db = open_attendance_db(store)
    try:
        policy = settings.policy
        calendar = Calendar(policy)
        zone = pendulum.timezone(policy.timezone)

        watermark = int(_state(db, "delivery_watermark") or 0)
        newest_delivery = store.max_delivery_id()
        fingerprint = policy_fingerprint(settings, calendar, now_ms)
        full = fingerprint != _state(db, "policy_fingerprint")

        if full:
            dirty = _all_months_dirty(db, store, policy)
        else:
            dirty = _dates_near_new_checkins(store, watermark, newest_delivery, zone, bool(policy.office_shifts))
            today = _local_date(now_ms, zone)
            _add_open_dates(db, dirty, today)
        if date_from is not None or date_to is not None:
            _add_range(store, dirty, date_from, date_to)

        recomputed = 0
        months_changed: set[str] = set()
        for key, dates in sorted(dirty.items()):
            if not dates:
                continue
            count, changed = _recompute_employee(db, store, key, dates, settings, calendar, now_ms)
            recomputed += count
            months_changed |= changed

        _set_state(db, "delivery_watermark", str(max(watermark, newest_delivery)))
        _set_state(db, "policy_fingerprint", fingerprint)
    finally:
        db.close()

    log.info(
        "rollup finished: %d dates of %d employees recomputed%s, months changed: %s, %.2f s",
        recomputed,
        len(dirty),
        " (full: policy or calendar changed)" if full else "",
        ", ".join(sorted(months_changed)) or "none",
        time.monotonic() - started,
    )
    return RollupResult(recomputed, len(dirty), frozenset(months_changed), full)


def open_attendance_db(store: Store) -> sqlite_utils.Database:
    """Open the store's SQLite file for the jobs' tables, creating them if needed."""
    db = sqlite_utils.Database(store.path)
    db.execute("PRAGMA busy_timeout = 1000")
    # daily_attendance is derived data: a commit lost to a power cut only rolls the
    # watermark back with it, and the next run recomputes. The receiver keeps FULL.
    db.execute("PRAGMA synchronous = NORMAL")
    ensure_attendance_schema(db)
    return db


def ensure_attendance_schema(db: sqlite_utils.Database) -> None:
    """Create `daily_attendance` and `rollup_state` with their indexes, idempotently."""
    if "daily_attendance" not in db.table_names():
        db["daily_attendance"].create(
            DAILY_ATTENDANCE_COLUMNS,
            pk=("workspace_id", "user_id", "date"),
            not_null={"workspace_id", "user_id", "date", "month", "kind", "status"},
        )
        db["daily_attendance"].create_index(["month", "workspace_id", "user_id"])
        db["daily_attendance"].create_index(["status"])
    if "rollup_state" not in db.table_names():
        db["rollup_state"].create({"key": str, "value": str}, pk="key")


def policy_fingerprint(settings: Settings, calendar: Calendar, now_ms: int) -> str:
    """Hash the policy and the calendar facts of the years around `now_ms`.

    A change of either marks every date for recomputation. The calendar part covers
    the previous, current and next year only.

    NOTE: an edit to the holidays of an older year is not detected; run
    `rollup --from --to` over that year after such an edit.
    """
    year = pendulum.from_timestamp(now_ms / 1000, tz=settings.policy.timezone).year
    digest = hashlib.sha256()
    digest.update(json.dumps(_canonical(settings.policy), sort_keys=True).encode())
    digest.update(calendar.fingerprint(range(year - 1, year + 2)).encode())
    return digest.hexdigest()


def _canonical(value: Any) -> Any:
    """Turn a policy into JSON-ready values whose order never depends on hashing.

    `repr` would not do: the order of a frozenset of dates or strings changes from one
    process to the next, which would force a full recompute at every start.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return sorted([str(_canonical(k)), _canonical(v)] for k, v in value.items())
    if isinstance(value, (set, frozenset, list, tuple)):
        items = [_canonical(v) for v in value]
        return sorted(items, key=json.dumps) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _dates_near_new_checkins(
    store: Store, watermark: int, newest_delivery: int, zone: Any, office_shifts: bool
) -> dict[EmployeeKey, set[dt.date]]:
    """Mark date(t) − 3 … date(t) + 3 for each CHECKIN delivered after `watermark`.

    With shifts assigned by office, a check-in's office also decides the shift of the
    dates up to the next check-in that carries an office, so those are marked too.
    """
    dirty: dict[EmployeeKey, set[dt.date]] = defaultdict(set)
    after = watermark
    while after < newest_delivery:
        refs = store.deliveries_after(after, limit=10_000)
        if not refs:
            break
        for ref in refs:
            if ref.id > newest_delivery:
                break
            if ref.webhook_type == WebhookType.CHECKIN:
                local_date = _local_date(ref.checkin_timestamp, zone)
                dirty[(ref.workspace_id, ref.user_id)].update(_around(local_date, NEIGHBOUR_DAYS))
                if office_shifts:
                    dirty[(ref.workspace_id, ref.user_id)].update(_office_reach(store, ref, local_date, zone))
        after = refs[-1].id
    return dirty


def _office_reach(store: Store, ref: Any, local_date: dt.date, zone: Any) -> Iterator[dt.date]:
    """Yield the dates after `local_date` whose office can come from this check-in.

    They run to three days past the next CHECKIN that carries an office, or to the end
    of the following month when there is none yet.

    NOTE: without a later office, dates past the following month keep the old office
    until a rollup with --from/--to covers them.
    """
    following = store.nearest_checkin_with_office(
        ref.workspace_id, ref.user_id, ref.checkin_timestamp, False, WebhookType.CHECKIN.value
    )
    if following is not None:
        last = _local_date(following.checkin_timestamp, zone) + dt.timedelta(days=NEIGHBOUR_DAYS)
    else:
        next_month = _month_days(local_date.year + local_date.month // 12, local_date.month % 12 + 1)
        last = next_month[-1]
    return iter(_days(local_date, last))


def _local_date(instant_ms: int, zone: Any) -> dt.date:
    # A plain date: pendulum's Date subclass is slower in the rules' date arithmetic.
    local = pendulum.from_timestamp(instant_ms / 1000, tz=zone)
    return dt.date(local.year, local.month, local.day)


def _add_open_dates(db: sqlite_utils.Database, dirty: dict[EmployeeKey, set[dt.date]], today: dt.date) -> None:
    """Mark every date up to `today` that was `open` at the last run: it may have closed.

    A later date is still open, because a date stays open at least until its own end.
    """
    rows = db.execute(
        "SELECT workspace_id, user_id, date FROM daily_attendance WHERE status = ? AND date <= ?",
        [Status.OPEN.value, today.isoformat()],
    ).fetchall()
    for workspace_id, user_id, date in rows:
        dirty.setdefault((workspace_id, user_id), set()).add(dt.date.fromisoformat(date))


def _add_range(
    store: Store,
    dirty: dict[EmployeeKey, set[dt.date]],
    date_from: dt.date | None,
    date_to: dt.date | None,
) -> None:
    """Mark every date of [date_from, date_to] for every employee with check-ins."""
    if date_from is None or date_to is None:
        raise ValueError("rollup range needs both --from and --to (local dates, YYYY-MM-DD)")
    if date_to < date_from:
        raise ValueError(f"rollup range ends ({date_to}) before it begins ({date_from}); swap --from and --to")
    dates = set(_days(date_from, date_to))
    for key in store.employee_keys():
        dirty.setdefault(key, set()).update(dates)


def _all_months_dirty(db: sqlite_utils.Database, store: Store, policy: Any) -> dict[EmployeeKey, set[dt.date]]:
    """Mark every date of every month in which each employee has a CHECKIN or has rows.

    Months with rows are included so that a month the employee no longer appears in
    (a changed policy can move a check-in across a month's edge) loses its rows.
    """
    dirty: dict[EmployeeKey, set[dt.date]] = {}
    zone = _zone(policy.timezone)
    for key in store.employee_keys():
        facts = store.shift_facts_of(key[0], key[1], 0, 2**62, WebhookType.CHECKIN)
        local_dates = {dt.datetime.fromtimestamp(f.checkin_timestamp / 1000, zone).date() for f in facts}
        # A check-in belongs to its own date or a neighbour; the recompute decides which.
        around = {d + dt.timedelta(days=shift) for d in local_dates for shift in (-1, 0, 1)}
        months = {(d.year, d.month) for d in around}
        dirty[key] = {day for year, month in months for day in _month_days(year, month)}
    for workspace_id, user_id, month in db.execute(
        "SELECT DISTINCT workspace_id, user_id, month FROM daily_attendance"
    ).fetchall():
        year, number = (int(part) for part in month.split("-"))
        dirty.setdefault((workspace_id, user_id), set()).update(_month_days(year, number))
    return dirty


def _recompute_employee(
    db: sqlite_utils.Database,
    store: Store,
    key: EmployeeKey,
    dates: set[dt.date],
    settings: Settings,
    calendar: Calendar,
    now_ms: int,
) -> tuple[int, set[str]]:
    """Recompute one employee's dirty dates, keeping whole months of rows in step.

    Loads the check-ins of every month the dates touch, plus margins, and decides in
    which of those months the employee appears. Rows of months where they no longer
    appear are deleted. In the other months the dirty dates are recomputed, or every
    date when the month had no rows yet. Returns the count of dates computed and the
    months that changed.
    """
    policy = settings.policy
    months = sorted({(d.year, d.month) for d in dates})
    if all(_surely_appears(db, store, key, year, month, policy.timezone) for year, month in months):
        checkins = _load_checkins(store, key, min(dates), max(dates), policy.timezone)
        figures = compute_days(checkins, sorted(dates), policy, calendar, now_ms, user_id=key[1])
        rows = [figures_to_row(key, f, policy.timezone, now_ms) for f in figures]
        return len(rows), _write_rows(db, key, rows, [])

    first_day = dt.date(*months[0], 1)
    last_day = _month_days(*months[-1])[-1]
    checkins = _load_checkins(store, key, first_day, last_day, policy.timezone)
    work_dates = attribute(checkins, policy, calendar, user_id=key[1])
    appears = {(d.year, d.month) for d in work_dates}

    to_compute: set[dt.date] = set()
    to_delete: list[str] = []
    for year, month in months:
        label = f"{year:04d}-{month:02d}"
        if (year, month) not in appears:
            to_delete.append(label)
        elif _has_rows(db, key, label):
            to_compute.update(d for d in dates if (d.year, d.month) == (year, month))
        else:
            to_compute.update(_month_days(year, month))

    figures = compute_days(checkins, sorted(to_compute), policy, calendar, now_ms, user_id=key[1])
    rows = [figures_to_row(key, f, policy.timezone, now_ms) for f in figures]
    changed = _write_rows(db, key, rows, to_delete)
    return len(rows), changed


def _write_rows(
    db: sqlite_utils.Database, key: EmployeeKey, rows: list[dict[str, Any]], months_to_delete: list[str]
) -> set[str]:
    """Upsert `rows` and delete the employee's rows of `months_to_delete`, in one transaction.

    Returns the months whose stored figures changed (computed_at aside).
    """
    changed: set[str] = set()
    existing = _existing_rows(db, key, [row["date"] for row in rows])
    for row in rows:
        before = existing.get(row["date"])
        if before is None or _figures_differ(before, row):
            changed.add(row["month"])

    with db.atomic():
        for month in months_to_delete:
            cursor = db.execute(
                "DELETE FROM daily_attendance WHERE workspace_id = ? AND user_id = ? AND month = ?",
                [key[0], key[1], month],
            )
            if cursor.rowcount:
                changed.add(month)
        db.conn.executemany(UPSERT_SQL, [[row[column] for column in DAILY_ATTENDANCE_COLUMNS] for row in rows])
    return changed


def _existing_rows(db: sqlite_utils.Database, key: EmployeeKey, dates: list[str]) -> dict[str, dict[str, Any]]:
    if not dates:
        return {}
    cursor = db.execute(
        "SELECT * FROM daily_attendance WHERE workspace_id = ? AND user_id = ? AND date BETWEEN ? AND ?",
        [key[0], key[1], min(dates), max(dates)],
    )
    names = [c[0] for c in cursor.description]
    return {row[names.index("date")]: dict(zip(names, row)) for row in cursor.fetchall()}


def _figures_differ(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    return any(before.get(name) != value for name, value in after.items() if name != "computed_at_ms")


def _surely_appears(
    db: sqlite_utils.Database, store: Store, key: EmployeeKey, year: int, month: int, timezone: str
) -> bool:
    """Return whether the month has rows and keeps them whatever the dirty dates hold.

    A check-in belongs to its own date or a neighbour. So a CHECKIN from the month's
    second day to its second-last day belongs to one of the month's dates, the
    employee appears in the month, and only the dirty dates need computing.
    """
    if not _has_rows(db, key, f"{year:04d}-{month:02d}"):
        return False
    days = _month_days(year, month)
    second = pendulum.datetime(year, month, 2, tz=timezone)
    last = pendulum.datetime(year, month, days[-1].day, tz=timezone)
    return store.has_checkin(
        key[0], key[1], int(second.timestamp() * 1000), int(last.timestamp() * 1000), WebhookType.CHECKIN
    )


def _has_rows(db: sqlite_utils.Database, key: EmployeeKey, month: str) -> bool:
    row = db.execute(
        "SELECT 1 FROM daily_attendance WHERE workspace_id = ? AND user_id = ? AND month = ? LIMIT 1",
        [key[0], key[1], month],
    ).fetchone()
    return row is not None


def figures_to_row(key: EmployeeKey, figures: DayFigures, timezone: str, now_ms: int) -> dict[str, Any]:
    """Turn one date's figures into a `daily_attendance` row.

    Instants are kept as Unix ms and as local ISO-8601 text with the zone's offset, so
    the table reads well in other tools.
    """
    return {
        "workspace_id": key[0],
        "user_id": key[1],
        "date": figures.date.isoformat(),
        "month": figures.date.strftime("%Y-%m"),
        "kind": figures.kind.value,
        "holiday_kind": figures.holiday_kind.value if figures.holiday_kind else None,
        "on_weekday": int(figures.on_weekday),
        "status": figures.status.value,
        "shift_source": figures.shift_source.value,
        "shift_begin": local_iso(figures.shift_begin_ms, timezone),
        "shift_end": local_iso(figures.shift_end_ms, timezone),
        "shift_begin_ms": figures.shift_begin_ms,
        "shift_end_ms": figures.shift_end_ms,
        "shift_workday": figures.shift_workday,
        "shift_normal_minutes": figures.shift_normal_minutes,
        "office_location": figures.office_location,
        "conflict": figures.conflict,
        "first_in": local_iso(figures.first_in_ms, timezone),
        "last_out": local_iso(figures.last_out_ms, timezone),
        "first_in_ms": figures.first_in_ms,
        "last_out_ms": figures.last_out_ms,
        "checkin_count": figures.checkin_count,
        "time_at_work_minutes": figures.time_at_work_minutes,
        "late_minutes": figures.late_minutes,
        "early_leave_minutes": figures.early_leave_minutes,
        "worked_minutes": figures.worked_minutes,
        "overtime_workday_minutes": figures.overtime_workday_minutes,
        "overtime_dayoff_minutes": figures.overtime_dayoff_minutes,
        "overtime_holiday_minutes": figures.overtime_holiday_minutes,
        "overtime_minutes": figures.overtime_minutes,
        "overtime_night_minutes": figures.overtime_night_minutes,
        "night_minutes": figures.night_minutes,
        "workday": figures.workday,
        "needs_explanation": int(figures.needs_explanation),
        "overtime_over_daily_cap": int(figures.overtime_over_daily_cap),
        "computed_at_ms": now_ms,
    }


def local_iso(instant_ms: int | None, timezone: str) -> str | None:
    """Format a Unix-ms instant as local ISO-8601 text with offset, to the second.

    zoneinfo gives the same text as pendulum here at a small part of its cost, which
    matters for a year of rows.
    """
    if instant_ms is None:
        return None
    return dt.datetime.fromtimestamp(instant_ms / 1000, _zone(timezone)).isoformat(timespec="seconds")


@functools.lru_cache(maxsize=8)
def _zone(timezone: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(timezone)


def _load_checkins(
    store: Store,
    key: EmployeeKey,
    first_day: dt.date | None,
    last_day: dt.date | None,
    timezone: str = "UTC",
) -> list[Checkin]:
    """Load the employee's CHECKINs from `first_day` − 4 to `last_day` + 4 (all when None).

    The latest earlier CHECKIN with a known office comes too (`with_earlier_office`).
    """
    if first_day is None or last_day is None:
        from_ms, to_ms = 0, 2**62
    else:
        begin = pendulum.datetime(first_day.year, first_day.month, first_day.day, tz=timezone)
        end = pendulum.datetime(last_day.year, last_day.month, last_day.day, tz=timezone)
        from_ms = int(begin.subtract(days=LOAD_MARGIN_DAYS).timestamp() * 1000)
        to_ms = int(end.add(days=LOAD_MARGIN_DAYS + 1).timestamp() * 1000)
    facts = store.shift_facts_of(key[0], key[1], from_ms, to_ms, WebhookType.CHECKIN)
    checkins = [
        Checkin(
            timestamp_ms=fact.checkin_timestamp,
            working_group=WorkingGroup(*fact.working_group) if fact.working_group else None,
            office_location=fact.office_location,
            working_group_conflict=fact.working_group_conflict,
        )
        for fact in facts
    ]
    return with_earlier_office(store, key, from_ms, checkins)


def with_earlier_office(store: Store, key: EmployeeKey, before_ms: int, checkins: list[Checkin]) -> list[Checkin]:
    """Prepend the employee's latest CHECKIN before `before_ms` that carries an office.

    A date's office (and so an office-assigned shift) comes from such a check-in
    however far back it is, so every caller of the rules loads it with its window.
    """
    earlier = store.nearest_checkin_with_office(key[0], key[1], before_ms, True, WebhookType.CHECKIN.value)
    if earlier is not None:
        checkins.insert(0, to_rule_checkin(earlier))
    return checkins


def to_rule_checkin(row: Any) -> Checkin:
    """Turn a stored check-in into the rules' `Checkin`."""
    group = WorkingGroup(*row.working_group) if row.working_group else None
    return Checkin(
        timestamp_ms=row.checkin_timestamp,
        webhook_type=WebhookType(row.webhook_type),
        working_group=group,
        office_location=row.office_location,
        working_group_conflict=row.working_group_conflict,
    )


def _state(db: sqlite_utils.Database, key: str) -> str | None:
    row = db.execute("SELECT value FROM rollup_state WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def _set_state(db: sqlite_utils.Database, key: str, value: str) -> None:
    with db.conn:
        db.execute("INSERT OR REPLACE INTO rollup_state (key, value) VALUES (?, ?)", [key, value])


def _around(day: dt.date, days: int) -> Iterator[dt.date]:
    for offset in range(-days, days + 1):
        yield day + dt.timedelta(days=offset)


def _days(first: dt.date, last: dt.date) -> Iterable[dt.date]:
    return (first + dt.timedelta(days=n) for n in range((last - first).days + 1))


def _month_days(year: int, month: int) -> list[dt.date]:
    first = dt.date(year, month, 1)
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return list(_days(first, following - dt.timedelta(days=1)))
