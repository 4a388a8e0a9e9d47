"""Keeping the database safe and small: online backup, restore and data retention.

`backup` copies the live database with SQLite's online backup API, so it is safe
while `serve` receives deliveries: the copy is one consistent snapshot, checked with
`PRAGMA integrity_check` and then moved into place atomically.

`restore` puts a backup back while `serve` is stopped: it checks the backup, removes
the stale `-wal` and `-shm` files of the old database and replaces the file.

`apply_retention` removes what attendance no longer needs once a delivery is older
than the retention period: raw bodies, and phone numbers, e-mail addresses and
avatars. Vietnam's Decree 13/2023/NĐ-CP on personal data protection requires a firm
to keep personal data only as long as its purpose needs it. Names, ids, check-in instants and
every `daily_attendance` figure stay, so old months can still be recomputed and
exported.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sqlite3
from pathlib import Path

logger = logging.getLogger(__name__)

PERSONAL_FIELDS = ("phone_number", "email", "avatar")
"""Columns of `checkins` and `employees` that attendance never needs."""

REMOVED_BODY = ""
"""The `deliveries.body` of a delivery whose raw body retention removed."""

DAY_MS = 24 * 3600 * 1000

RETENTION_BATCH_ROWS = 500
"""Rows changed per retention transaction, so each holds the write lock only briefly."""

BACKUP_PAGES_PER_STEP = -1
"""Copy every page in one step: a stepwise copy restarts whenever another connection
writes (sqlite3_backup_step), so under a steady stream of deliveries it might never
finish. In WAL mode the single step holds a read snapshot, and readers do not block
the receiver's writes."""


class MaintenanceError(Exception):
    """Raised when a backup, restore or retention run cannot be done safely."""


@dataclasses.dataclass(frozen=True)
class BackupResult:
    """A finished backup: where it is, its size in bytes and its page count."""

    path: Path
    size_bytes: int
    pages: int


@dataclasses.dataclass(frozen=True)
class RetentionResult:
    """Rows whose raw body or personal fields one retention run removed."""

    cutoff_ms: int
    deliveries: int
    checkins: int
    quarantine: int
    employees: int


def backup(db_path: Path, target: Path, busy_timeout_ms: int = 5000) -> BackupResult:
    """Copy the database at `db_path` to `target` while other processes may write it.

    The copy is written to a temporary file beside `target`, checked with
    `PRAGMA integrity_check`, and renamed over `target`, so `target` is either the
    previous file or a complete, consistent backup. Raises MaintenanceError when the
    database is missing, `target` is the database itself, or the copy fails its check.
    """
    db_path = Path(db_path)
    target = Path(target)
    if not db_path.is_file():
        raise MaintenanceError(f"The database {db_path} does not exist; check [storage] database in the config file")
    if target.exists() and target.resolve() == db_path.resolve():
        raise MaintenanceError(f"The backup target {target} is the database itself; choose another file")

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)

    source = _connect(db_path, busy_timeout_ms)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy, pages=BACKUP_PAGES_PER_STEP)
            # The copy is a standalone file: a rollback journal, nothing beside it.
            copy.execute("PRAGMA journal_mode = DELETE")
            _check_integrity(copy, partial)
            pages = int(copy.execute("PRAGMA page_count").fetchone()[0])
        finally:
            copy.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise MaintenanceError(f"The backup of {db_path} to {target} failed: {exc}") from exc
    except MaintenanceError:
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()

    _fsync(partial)
    os.replace(partial, target)
    _fsync_folder(target.parent)
    size = target.stat().st_size
    logger.info("Backup written to %s (%d pages, %d bytes)", target, pages, size)
    return BackupResult(path=target, size_bytes=size, pages=pages)


def restore(backup_file: Path, db_path: Path) -> None:
    """Replace the database at `db_path` with `backup_file`; run it only while `serve` is stopped.

    The backup is checked first, so a damaged file never replaces a working
    database. The old database's `-wal` and `-shm` files are removed, because SQLite
    would otherwise replay the old write-ahead log into the restored file.
    """
    backup_file = Path(backup_file)
    db_path = Path(db_path)
    if not backup_file.is_file():
        raise MaintenanceError(f"The backup file {backup_file} does not exist")

    check = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    try:
        _check_integrity(check, backup_file)
    except sqlite3.Error as exc:
        raise MaintenanceError(f"{backup_file} is not a readable SQLite database: {exc}") from exc
    finally:
        check.close()

    db_path.parent.mkdir(parents=True, exist_ok=True)
    partial = db_path.with_name(f".{db_path.name}.restoring")
    partial.write_bytes(backup_file.read_bytes())
    _fsync(partial)
    for suffix in ("-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    os.replace(partial, db_path)
    _fsync_folder(db_path.parent)
    logger.info("Database %s restored from %s", db_path, backup_file)


def apply_retention(db_path: Path, retention_days: int, now_ms: int, busy_timeout_ms: int = 5000) -> RetentionResult:
    """Remove raw bodies and personal fields older than `retention_days` before `now_ms`.

    Older than the cutoff means a delivery or quarantined body received before it, or
    a check-in whose `checkin_timestamp` lies before it. It removes:

    - `deliveries.body` (set to an empty string) and `deliveries.headers` (set to `{}`,
      because a proxy's headers can carry the client's address);
    - `quarantine.body` (set to an empty blob); the reason stays;
    - `checkins.phone_number`, `email` and `avatar` (set to NULL);
    - the same fields of `employees`, recomputed from the check-ins that keep them,
      so an employee keeps only contact details seen within the period.

    Names, ids, instants, offices and `daily_attendance` stay. Deleted content is
    overwritten (`PRAGMA secure_delete`) and the write-ahead log is checkpointed.
    Rows change in batches of `RETENTION_BATCH_ROWS`, each in its own short
    transaction, so a running receiver never waits long for the write lock.
    """
    if retention_days <= 0:
        raise MaintenanceError(f"retention_days must be a positive number of days, got {retention_days}")
    cutoff_ms = now_ms - retention_days * DAY_MS

    conn = _connect(db_path, busy_timeout_ms)
    try:
        conn.execute("PRAGMA secure_delete = ON")
        deliveries = _update_in_batches(
            conn,
            "deliveries",
            "body = ?, headers = '{}'",
            "received_at_ms < ? AND (body != ? OR headers != '{}')",
            (REMOVED_BODY, cutoff_ms, REMOVED_BODY),
        )
        quarantine = _update_in_batches(
            conn,
            "quarantine",
            "body = X'', headers = '{}'",
            "received_at_ms < ? AND (length(body) > 0 OR headers != '{}')",
            (cutoff_ms,),
        )
        checkins = _update_in_batches(
            conn,
            "checkins",
            _set_null(PERSONAL_FIELDS),
            f"checkin_timestamp < ? AND ({_any_not_null(PERSONAL_FIELDS)})",
            (cutoff_ms,),
        )
        employees = _in_transaction(conn, _REFRESH_EMPLOYEES_SQL, ())
        # NOTE: PASSIVE never blocks the receiver, but until SQLite reuses the -wal
        # file, frames written before this run may still hold removed values.
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error as exc:
        raise MaintenanceError(f"Retention on {db_path} failed: {exc}; the batches committed before it stay done") from exc
    finally:
        conn.close()

    result = RetentionResult(cutoff_ms, deliveries, checkins, quarantine, employees)
    logger.info(
        "Retention of %d days: removed raw bodies of %d deliveries and %d quarantined deliveries, "
        "personal fields of %d check-ins and %d employees",
        retention_days,
        deliveries,
        quarantine,
        checkins,
        employees,
    )
    return result


def _latest_known(field: str) -> str:
    return (
        f"(SELECT c.{field} FROM checkins AS c WHERE c.workspace_id = employees.workspace_id "
        f"AND c.user_id = employees.user_id AND c.{field} IS NOT NULL "
        "ORDER BY c.checkin_timestamp DESC, c.webhook_type LIMIT 1)"
    )


# The same rule as the receiver's: the latest value by checkin_timestamp that is known.
_REFRESH_EMPLOYEES_SQL = (
    "UPDATE employees SET "
    + ", ".join(f"{field} = {_latest_known(field)}" for field in PERSONAL_FIELDS)
    + " WHERE "
    + " OR ".join(f"{field} IS NOT {_latest_known(field)}" for field in PERSONAL_FIELDS)
)


def _set_null(fields: tuple[str, ...]) -> str:
    return ", ".join(f"{field} = NULL" for field in fields)


def _any_not_null(fields: tuple[str, ...]) -> str:
    return " OR ".join(f"{field} IS NOT NULL" for field in fields)


def _update_in_batches(conn: sqlite3.Connection, table: str, assignments: str, condition: str, params: tuple) -> int:
    """Run the update on at most RETENTION_BATCH_ROWS rows per transaction until none match `condition`.

    `params` fill the placeholders of `assignments`, then those of `condition`. The
    condition must stop matching a row once it is updated, or this never ends.
    """
    sql = (
        f"UPDATE {table} SET {assignments} WHERE rowid IN "
        f"(SELECT rowid FROM {table} WHERE {condition} LIMIT {RETENTION_BATCH_ROWS})"
    )
    total = 0
    while True:
        changed = _in_transaction(conn, sql, params)
        total += changed
        if changed < RETENTION_BATCH_ROWS:
            return total


def _in_transaction(conn: sqlite3.Connection, sql: str, params: tuple) -> int:
    conn.execute("BEGIN IMMEDIATE")
    try:
        changed = conn.execute(sql, params).rowcount
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return changed


def _connect(db_path: Path, busy_timeout_ms: int) -> sqlite3.Connection:
    if not Path(db_path).is_file():
        raise MaintenanceError(f"The database {db_path} does not exist; check [storage] database in the config file")
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    return conn


def _check_integrity(conn: sqlite3.Connection, path: Path) -> None:
    rows = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    if rows != ["ok"]:
        raise MaintenanceError(f"{path} failed PRAGMA integrity_check: {'; '.join(rows[:5])}")


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
