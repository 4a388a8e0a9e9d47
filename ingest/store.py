"""The raw store: deliveries, check-ins, quarantine and employees in one SQLite file.

One connection writes, under a lock, in batches: `write_batch` runs a batch of
deliveries in one transaction and commits it (WAL, `synchronous=FULL`) before it
returns, so a caller may respond 2xx only after `write_batch` returned its result.
`ingest.writer.GroupCommitWriter` feeds it from the HTTP handlers. Reads use one
connection per thread, so jobs can read while deliveries are written.

Copies of one check-in (same workspace, user, timestamp and type) are merged by
`ingest.copies`, whatever the order they arrive in.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import msgspec

from ingest.copies import CopyState, merge_copy
from ingest.errors import StoreUnavailable, UnreadableDelivery
from ingest.payload import TEXT_FIELDS as TEXT_COLUMNS
from ingest.payload import Checkin, Delivery, WebhookType, WorkingGroup, text_to_minutes
from ingest.schema import EMPLOYEE_FIELDS, create_schema, enable_wal

logger = logging.getLogger(__name__)

_PAGE_ROWS = 5000


class Outcome(enum.StrEnum):
    """The effect of one delivery on the store."""

    STORED = "stored"
    UPDATED = "updated"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"


@dataclasses.dataclass(frozen=True)
class AcceptDelivery:
    """A readable delivery to store.

    A replay sets `quarantine_id` and `replayed_at_ms`, so the quarantine row is
    marked replayed in the same transaction that stores the check-in.
    """

    delivery: Delivery
    body: bytes
    headers: dict[str, str]
    received_at_ms: int
    quarantine_id: int | None = None
    replayed_at_ms: int | None = None


@dataclasses.dataclass(frozen=True)
class QuarantineDelivery:
    """An authorised but unreadable delivery, kept with its reason."""

    body: bytes
    headers: dict[str, str]
    received_at_ms: int
    error: UnreadableDelivery


WriteItem = AcceptDelivery | QuarantineDelivery


@dataclasses.dataclass(frozen=True)
class WriteResult:
    """The committed effect of one write item."""

    outcome: Outcome
    delivery_id: int | None = None
    checkin_id: int | None = None
    quarantine_id: int | None = None


@dataclasses.dataclass(frozen=True)
class DeliveryRef:
    """A delivery that stored or changed a check-in, for incremental rollups."""

    id: int
    workspace_id: str
    user_id: str
    checkin_timestamp: int
    webhook_type: WebhookType


@dataclasses.dataclass(frozen=True)
class StoredCheckin:
    """One row of `checkins`; `working_group` is (begin, end) in minutes after local midnight."""

    id: int
    workspace_id: str
    user_id: str
    checkin_timestamp: int
    checkin_time: str
    webhook_type: WebhookType
    name: str | None
    sex: str | None
    phone_number: str | None
    email: str | None
    company_id: str | None
    office_location: str | None
    machine_id: str | None
    avatar: str | None
    working_group: tuple[int, int] | None
    working_group_conflict: str | None
    extra: dict[str, Any]
    first_delivery_id: int | None
    received_at_ms: int


class ShiftFacts(NamedTuple):
    """The fields of one check-in that attendance rules read; `working_group` in minutes."""

    checkin_timestamp: int
    working_group: tuple[int, int] | None
    office_location: str | None
    working_group_conflict: str | None


@dataclasses.dataclass(frozen=True)
class EmployeeRecord:
    """One row of `employees`: the latest known value of each field by check-in time."""

    workspace_id: str
    user_id: str
    name: str | None
    sex: str | None
    email: str | None
    phone_number: str | None
    office_location: str | None
    company_id: str | None
    avatar: str | None
    first_checkin_ms: int
    last_checkin_ms: int


@dataclasses.dataclass(frozen=True)
class QuarantineRecord:
    """One row of `quarantine`; `replayed_at_ms` is None while the delivery still fails."""

    id: int
    received_at_ms: int
    headers: dict[str, str]
    body: bytes
    reason: str
    reason_en: str
    replayed_at_ms: int | None
    replay_outcome: str | None


@dataclasses.dataclass(frozen=True)
class DeliveryStats:
    """Deliveries received since a moment, and the last arrival of all time (Unix ms)."""

    count: int
    last_received_at_ms: int | None


class Store:
    """The receiver's SQLite database; open it with `Store.open`."""

    def __init__(self, path: Path, busy_timeout_ms: int) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._write_lock = threading.Lock()
        self._writer = self.connect()
        self._writer.row_factory = sqlite3.Row
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._stale_employees: set[tuple[str, str]] = set()
        """Employees whose row the batch being written must refresh before it commits."""

    @classmethod
    def open(cls, path: Path, busy_timeout_ms: int = 1000) -> Store:
        """Open (creating when missing) the database at `path` and its schema."""
        path.parent.mkdir(parents=True, exist_ok=True)
        store = cls(path, busy_timeout_ms)
        with store._write_lock:
            store._writer.execute("BEGIN IMMEDIATE")
            try:
                create_schema(store._writer)
                store._writer.execute("COMMIT")
            except BaseException:
                store._writer.execute("ROLLBACK")
                raise
        return store

    def connect(self) -> sqlite3.Connection:
        """Return a new connection with the store's pragmas, in autocommit mode.

        For other packages' own tables: each caller manages its own transactions
        (`BEGIN IMMEDIATE` ... `COMMIT`) and closes the connection.
        """
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        enable_wal(conn, self.busy_timeout_ms / 1000)
        conn.execute("PRAGMA synchronous = FULL")
        return conn

    def close(self) -> None:
        """Close every connection of the store."""
        with self._write_lock:
            self._writer.close()
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()

    # -- writing ---------------------------------------------------------------------

    def write(self, item: WriteItem) -> WriteResult:
        """Commit one item; raises StoreUnavailable when it could not be committed."""
        result = self.write_batch([item])[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def write_batch(self, items: Sequence[WriteItem]) -> list[WriteResult | StoreUnavailable]:
        """Commit a batch in one transaction; returns one result per item, in order.

        An item that fails on its own (a bug, not the database) is rolled back alone
        and gets a StoreUnavailable in its place. Raises StoreUnavailable when the
        database is locked, full or failing: then nothing of the batch was stored.
        """
        with self._write_lock:
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
                self._stale_employees = set()
                results = [self._write_isolated(conn, item) for item in items]
                # Once per employee per batch, not per delivery: it runs nine subqueries.
                for workspace_id, user_id in sorted(self._stale_employees):
                    _refresh_employee(conn, workspace_id, user_id)
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback_quietly(conn)
                logger.error("Could not commit %d deliveries to %s: %s", len(items), self.path, exc)
                raise StoreUnavailable(
                    f"Không lưu được vào cơ sở dữ liệu ({exc}); hãy gửi lại sau",
                    f"Could not store the delivery in the database ({exc}); retry later",
                ) from exc
        return results

    def record_replay_failure(self, quarantine_id: int, error: UnreadableDelivery) -> None:
        """Replace a quarantined delivery's reason with the one its replay found."""
        with self._write_lock:
            try:
                self._writer.execute(
                    "UPDATE quarantine SET reason = ?, reason_en = ?, replay_outcome = 'failed' WHERE id = ?",
                    (error.message, error.message_en, quarantine_id),
                )
            except sqlite3.Error as exc:
                raise StoreUnavailable(
                    f"Không cập nhật được hàng cách ly {quarantine_id} ({exc})",
                    f"Could not update quarantine row {quarantine_id} ({exc})",
                ) from exc

    def _write_isolated(self, conn: sqlite3.Connection, item: WriteItem) -> WriteResult | StoreUnavailable:
        conn.execute("SAVEPOINT item")
        try:
            if isinstance(item, AcceptDelivery):
                result = self._accept(conn, item)
            else:
                result = self._quarantine(conn, item)
        except sqlite3.OperationalError:
            raise
        except Exception as exc:
            conn.execute("ROLLBACK TO item")
            conn.execute("RELEASE item")
            logger.exception("Could not store one delivery; the rest of its batch is kept")
            return StoreUnavailable(
                f"Lỗi nội bộ khi lưu lần gửi ({type(exc).__name__}); hãy gửi lại sau",
                f"Internal error while storing the delivery ({type(exc).__name__}); retry later",
            )
        conn.execute("RELEASE item")
        return result

    def _accept(self, conn: sqlite3.Connection, item: AcceptDelivery) -> WriteResult:
        checkin = item.delivery.checkin
        existing = conn.execute(
            "SELECT * FROM checkins WHERE workspace_id = ? AND user_id = ? AND checkin_timestamp = ? AND webhook_type = ?",
            (checkin.workspace_id, checkin.user_id, checkin.checkin_timestamp, checkin.webhook_type.value),
        ).fetchone()

        if existing is None:
            outcome = Outcome.STORED
            changes: dict[str, Any] = {}
        else:
            changes = merge_copy(_copy_state(existing), checkin)
            outcome = Outcome.UPDATED if changes else Outcome.DUPLICATE

        delivery_id = self._insert_delivery(conn, item, outcome)
        if existing is None:
            checkin_id = _insert_checkin(conn, checkin, delivery_id, item.received_at_ms)
        else:
            checkin_id = existing["id"]
            if changes:
                _update_checkin(conn, checkin_id, changes)
        conn.execute("UPDATE deliveries SET checkin_id = ? WHERE id = ?", (checkin_id, delivery_id))

        if outcome is not Outcome.DUPLICATE:
            self._stale_employees.add((checkin.workspace_id, checkin.user_id))
        if item.quarantine_id is not None:
            conn.execute(
                "UPDATE quarantine SET replayed_at_ms = ?, replay_outcome = ? WHERE id = ?",
                (item.replayed_at_ms, f"{outcome.value} as delivery {delivery_id}", item.quarantine_id),
            )
        return WriteResult(outcome=outcome, delivery_id=delivery_id, checkin_id=checkin_id, quarantine_id=item.quarantine_id)

    def _insert_delivery(self, conn: sqlite3.Connection, item: AcceptDelivery, outcome: Outcome) -> int:
        checkin = item.delivery.checkin
        cursor = conn.execute(
            "INSERT INTO deliveries (received_at_ms, webhook_type, workspace_id, user_id, checkin_timestamp, "
            "outcome, headers, body, warnings, quarantine_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                item.received_at_ms,
                checkin.webhook_type.value,
                checkin.workspace_id,
                checkin.user_id,
                checkin.checkin_timestamp,
                outcome.value,
                _json_text(item.headers),
                item.body.decode("utf-8", "replace"),
                _json_text(item.delivery.warnings),
                item.quarantine_id,
            ),
        )
        return int(cursor.lastrowid)

    def _quarantine(self, conn: sqlite3.Connection, item: QuarantineDelivery) -> WriteResult:
        cursor = conn.execute(
            "INSERT INTO quarantine (received_at_ms, headers, body, reason, reason_en) VALUES (?, ?, ?, ?, ?)",
            (item.received_at_ms, _json_text(item.headers), item.body, item.error.message, item.error.message_en),
        )
        return WriteResult(outcome=Outcome.QUARANTINED, quarantine_id=int(cursor.lastrowid))

    # -- reading ---------------------------------------------------------------------

    def deliveries_after(self, delivery_id: int, limit: int = 10000) -> list[DeliveryRef]:
        """Return deliveries with id > `delivery_id` that stored or changed a check-in, by id."""
        rows = self._reader().execute(
            "SELECT id, workspace_id, user_id, checkin_timestamp, webhook_type FROM deliveries "
            "WHERE id > ? AND outcome IN ('stored', 'updated') ORDER BY id LIMIT ?",
            (delivery_id, limit),
        )
        return [DeliveryRef(row[0], row[1], row[2], row[3], WebhookType(row[4])) for row in rows]

    def checkins_of(
        self,
        workspace_id: str,
        user_id: str,
        from_ms: int,
        to_ms: int,
        webhook_type: WebhookType | str | None = None,
    ) -> list[StoredCheckin]:
        """Return one employee's check-ins with from_ms <= checkin_timestamp < to_ms, by timestamp."""
        sql = "SELECT * FROM checkins WHERE workspace_id = ? AND user_id = ? AND checkin_timestamp >= ? AND checkin_timestamp < ?"
        params: list[Any] = [workspace_id, user_id, from_ms, to_ms]
        if webhook_type is not None:
            sql += " AND webhook_type = ?"
            params.append(str(webhook_type))
        sql += " ORDER BY checkin_timestamp, webhook_type"
        return [_stored_checkin(row) for row in self._reader().execute(sql, params)]

    def shift_facts_of(
        self, workspace_id: str, user_id: str, from_ms: int, to_ms: int, webhook_type: WebhookType | str
    ) -> list[ShiftFacts]:
        """Return what attendance needs of one employee's check-ins in [from_ms, to_ms), by time.

        A lean read for the rollup, which reads a year of check-ins per employee:
        no JSON decoding and no personal fields.
        """
        sql = (
            "SELECT checkin_timestamp, working_group_begin, working_group_end, office_location,"
            " working_group_conflict FROM checkins WHERE workspace_id = ? AND user_id = ?"
            " AND checkin_timestamp >= ? AND checkin_timestamp < ? AND webhook_type = ?"
            " ORDER BY checkin_timestamp"
        )
        rows = self._reader().execute(sql, [workspace_id, user_id, from_ms, to_ms, str(webhook_type)])
        return [
            ShiftFacts(
                timestamp,
                (text_to_minutes(begin), text_to_minutes(end)) if begin is not None and end is not None else None,
                office,
                conflict,
            )
            for timestamp, begin, end, office, conflict in rows
        ]

    def has_checkin(
        self, workspace_id: str, user_id: str, from_ms: int, to_ms: int, webhook_type: WebhookType | str
    ) -> bool:
        """Return whether the employee has a check-in of this type in [from_ms, to_ms)."""
        sql = (
            "SELECT 1 FROM checkins WHERE workspace_id = ? AND user_id = ? AND checkin_timestamp >= ?"
            " AND checkin_timestamp < ? AND webhook_type = ? LIMIT 1"
        )
        params = [workspace_id, user_id, from_ms, to_ms, str(webhook_type)]
        return self._reader().execute(sql, params).fetchone() is not None

    def nearest_checkin_with_office(
        self, workspace_id: str, user_id: str, instant_ms: int, before: bool, webhook_type: WebhookType | str
    ) -> StoredCheckin | None:
        """Return the employee's latest check-in before `instant_ms` that carries a known office.

        With `before=False`, return the earliest one after `instant_ms` instead. An
        employee's office on a date comes from such a check-in however far back it is.
        """
        comparison, order = ("<", "DESC") if before else (">", "ASC")
        sql = (
            "SELECT * FROM checkins WHERE workspace_id = ? AND user_id = ? AND webhook_type = ?"
            f" AND checkin_timestamp {comparison} ? AND office_location IS NOT NULL"
            f" ORDER BY checkin_timestamp {order} LIMIT 1"
        )
        row = self._reader().execute(sql, [workspace_id, user_id, str(webhook_type), instant_ms]).fetchone()
        return _stored_checkin(row) if row is not None else None

    def checkins_between(
        self, from_ms: int, to_ms: int, webhook_type: WebhookType | str | None = None
    ) -> Iterator[StoredCheckin]:
        """Yield every check-in with from_ms <= checkin_timestamp < to_ms, by timestamp then id.

        Reads in pages, so the caller may run other queries while iterating.
        """
        type_filter = "" if webhook_type is None else " AND webhook_type = ?"
        type_params = [] if webhook_type is None else [str(webhook_type)]
        after_timestamp, after_id = from_ms - 1, 2**63 - 1
        while True:
            rows = self._reader().execute(
                "SELECT * FROM checkins WHERE checkin_timestamp < ?"
                " AND (checkin_timestamp > ? OR (checkin_timestamp = ? AND id > ?))"
                f"{type_filter} ORDER BY checkin_timestamp, id LIMIT ?",
                [to_ms, after_timestamp, after_timestamp, after_id, *type_params, _PAGE_ROWS],
            ).fetchall()
            for row in rows:
                yield _stored_checkin(row)
            if len(rows) < _PAGE_ROWS:
                return
            after_timestamp, after_id = rows[-1]["checkin_timestamp"], rows[-1]["id"]

    def employee_keys(self) -> list[tuple[str, str]]:
        """Return every (workspace_id, user_id) with a check-in, sorted."""
        rows = self._reader().execute("SELECT workspace_id, user_id FROM employees ORDER BY workspace_id, user_id")
        return [(row[0], row[1]) for row in rows]

    def employees(self) -> dict[tuple[str, str], EmployeeRecord]:
        """Return every employee record keyed by (workspace_id, user_id)."""
        rows = self._reader().execute("SELECT * FROM employees ORDER BY workspace_id, user_id")
        return {(row["workspace_id"], row["user_id"]): EmployeeRecord(**dict(row)) for row in rows}

    def max_delivery_id(self) -> int:
        """Return the highest delivery id, 0 when there is none."""
        return int(self._reader().execute("SELECT coalesce(max(id), 0) FROM deliveries").fetchone()[0])

    def quarantined(self, include_replayed: bool = False) -> list[QuarantineRecord]:
        """Return quarantined deliveries by id; replayed ones only when asked."""
        sql = "SELECT * FROM quarantine"
        if not include_replayed:
            sql += " WHERE replayed_at_ms IS NULL"
        rows = self._reader().execute(sql + " ORDER BY id")
        return [
            QuarantineRecord(**{**dict(row), "headers": json.loads(row["headers"]), "body": bytes(row["body"])})
            for row in rows
        ]

    def quarantine_size(self) -> int:
        """Return how many quarantined deliveries still wait for a successful replay."""
        return int(self._reader().execute("SELECT count(*) FROM quarantine WHERE replayed_at_ms IS NULL").fetchone()[0])

    def delivery_stats(self, since_ms: int) -> DeliveryStats:
        """Count deliveries received at or after `since_ms`; the last arrival is over all time."""
        count = self._reader().execute("SELECT count(*) FROM deliveries WHERE received_at_ms >= ?", (since_ms,)).fetchone()[0]
        last = self._reader().execute("SELECT max(received_at_ms) FROM deliveries").fetchone()[0]
        return DeliveryStats(count=int(count), last_received_at_ms=last)

    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.connect()
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn


def _rollback_quietly(conn: sqlite3.Connection) -> None:
    """Roll back after a failed batch; a failing rollback is logged, the first error wins."""
    if not conn.in_transaction:
        return
    try:
        conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        logger.error("Rollback after a failed batch failed too: %s", exc)


def _insert_checkin(conn: sqlite3.Connection, checkin: Checkin, delivery_id: int, received_at_ms: int) -> int:
    group = checkin.working_group
    row = {
        "workspace_id": checkin.workspace_id,
        "user_id": checkin.user_id,
        "checkin_timestamp": checkin.checkin_timestamp,
        "checkin_time": _utc_iso(checkin.checkin_timestamp),
        "webhook_type": checkin.webhook_type.value,
        "name": checkin.name,
        "sex": checkin.sex,
        "phone_number": checkin.phone_number,
        "email": checkin.email,
        "company_id": checkin.company_id,
        "office_location": checkin.office_location,
        "machine_id": checkin.machine_id,
        "avatar": checkin.avatar,
        "working_group_begin": group.begin_text if group else None,
        "working_group_end": group.end_text if group else None,
        "working_group_conflict": None,
        "extra": _json_text(checkin.extra),
        "first_delivery_id": delivery_id,
        "received_at_ms": received_at_ms,
    }
    columns = ", ".join(row)
    placeholders = ", ".join("?" for _ in row)
    cursor = conn.execute(f"INSERT INTO checkins ({columns}) VALUES ({placeholders})", list(row.values()))
    return int(cursor.lastrowid)


def _update_checkin(conn: sqlite3.Connection, checkin_id: int, changes: dict[str, Any]) -> None:
    values = dict(changes)
    if "extra" in values:
        values["extra"] = _json_text(values["extra"])
    assignments = ", ".join(f"{column} = ?" for column in values)
    conn.execute(f"UPDATE checkins SET {assignments} WHERE id = ?", [*values.values(), checkin_id])


def _refresh_employee(conn: sqlite3.Connection, workspace_id: str, user_id: str) -> None:
    """Recompute one employee's row from their check-ins, so arrival order never matters.

    At one instant a JOIN_EVENT's value wins over a CHECKIN's: any fixed order would
    do, and this one lets the natural-key index serve every lookup without a sort.
    """
    latest = ", ".join(
        f"(SELECT {field} FROM checkins WHERE workspace_id = :ws AND user_id = :uid AND {field} IS NOT NULL "
        f"ORDER BY checkin_timestamp DESC, webhook_type DESC LIMIT 1)"
        for field in EMPLOYEE_FIELDS
    )
    fields = ", ".join(EMPLOYEE_FIELDS)
    updates = ", ".join(f"{field} = excluded.{field}" for field in (*EMPLOYEE_FIELDS, "first_checkin_ms", "last_checkin_ms"))
    conn.execute(
        f"INSERT INTO employees (workspace_id, user_id, {fields}, first_checkin_ms, last_checkin_ms) "
        f"SELECT :ws, :uid, {latest}, "
        "(SELECT min(checkin_timestamp) FROM checkins WHERE workspace_id = :ws AND user_id = :uid), "
        "(SELECT max(checkin_timestamp) FROM checkins WHERE workspace_id = :ws AND user_id = :uid) "
        f"ON CONFLICT (workspace_id, user_id) DO UPDATE SET {updates}",
        {"ws": workspace_id, "uid": user_id},
    )


def _copy_state(row: sqlite3.Row) -> CopyState:
    return CopyState(
        texts={column: row[column] for column in TEXT_COLUMNS},
        working_group=_working_group_of(row["working_group_begin"], row["working_group_end"]),
        conflict=row["working_group_conflict"],
        extra=json.loads(row["extra"]),
    )


def _stored_checkin(row: sqlite3.Row) -> StoredCheckin:
    values = dict(row)
    group = _working_group_of(values.pop("working_group_begin"), values.pop("working_group_end"))
    values["working_group"] = (group.begin, group.end) if group else None
    values["extra"] = json.loads(values["extra"])
    values["webhook_type"] = WebhookType(values["webhook_type"])
    return StoredCheckin(**values)


def _working_group_of(begin: str | None, end: str | None) -> WorkingGroup | None:
    if begin is None or end is None:
        return None
    return WorkingGroup(text_to_minutes(begin), text_to_minutes(end))


def _json_text(value: Any) -> str:
    return msgspec.json.encode(value).decode("utf-8")


def _utc_iso(instant_ms: int) -> str:
    moment = dt.datetime.fromtimestamp(instant_ms / 1000, tz=dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


__all__ = [
    "AcceptDelivery",
    "DeliveryRef",
    "DeliveryStats",
    "EmployeeRecord",
    "Outcome",
    "QuarantineDelivery",
    "QuarantineRecord",
    "Store",
    "StoredCheckin",
    "WriteResult",
]
