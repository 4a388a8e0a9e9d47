"""The SQLite schema of the raw store: tables users may open in other tools.

- `deliveries`: every accepted delivery, raw body and headers (never the API key),
  with its outcome: `stored` (a new check-in), `updated` (a copy that filled in or
  changed a known check-in) or `duplicate` (a copy that changed nothing).
- `checkins`: one row per distinct (workspace_id, user_id, checkin_timestamp,
  webhook_type). Instants are Unix ms; `checkin_time` is the same instant as ISO
  UTC text for people reading the table. `working_group_begin`/`_end` are local
  `HH:MM`; `working_group_conflict` lists every distinct group the copies carried.
- `quarantine`: authorised deliveries that could not be read, with the reason in
  Vietnamese and English; `replayed_at_ms` is set once a replay stored them.
- `employees`: per (workspace_id, user_id), the latest known name, e-mail, phone,
  office and company by `checkin_timestamp`; an unknown value never hides a known one.
"""

from __future__ import annotations

import sqlite3
import time

import sqlite_utils

DELIVERIES_COLUMNS = {
    "id": int,
    "received_at_ms": int,
    "webhook_type": str,
    "workspace_id": str,
    "user_id": str,
    "checkin_timestamp": int,
    "outcome": str,
    "headers": str,
    "body": str,
    "checkin_id": int,
    "warnings": str,
    "quarantine_id": int,
}

CHECKINS_COLUMNS = {
    "id": int,
    "workspace_id": str,
    "user_id": str,
    "checkin_timestamp": int,
    "checkin_time": str,
    "webhook_type": str,
    "name": str,
    "sex": str,
    "phone_number": str,
    "email": str,
    "company_id": str,
    "office_location": str,
    "machine_id": str,
    "avatar": str,
    "working_group_begin": str,
    "working_group_end": str,
    "working_group_conflict": str,
    "extra": str,
    "first_delivery_id": int,
    "received_at_ms": int,
}

QUARANTINE_COLUMNS = {
    "id": int,
    "received_at_ms": int,
    "headers": str,
    "body": bytes,
    "reason": str,
    "reason_en": str,
    "replayed_at_ms": int,
    "replay_outcome": str,
}

EMPLOYEES_COLUMNS = {
    "workspace_id": str,
    "user_id": str,
    "name": str,
    "sex": str,
    "email": str,
    "phone_number": str,
    "office_location": str,
    "company_id": str,
    "avatar": str,
    "first_checkin_ms": int,
    "last_checkin_ms": int,
}

EMPLOYEE_FIELDS = ("name", "sex", "email", "phone_number", "office_location", "company_id", "avatar")
"""Employee columns taken from the latest check-in that carries a known value."""


def create_schema(conn: sqlite3.Connection) -> None:
    """Create the tables and indexes when missing; safe to run on every start."""
    db = sqlite_utils.Database(conn)

    db["deliveries"].create(
        DELIVERIES_COLUMNS,
        pk="id",
        not_null={"received_at_ms", "outcome", "headers", "body"},
        if_not_exists=True,
    )
    db["checkins"].create(
        CHECKINS_COLUMNS,
        pk="id",
        not_null={"workspace_id", "user_id", "checkin_timestamp", "checkin_time", "webhook_type", "extra", "received_at_ms"},
        if_not_exists=True,
    )
    db["quarantine"].create(
        QUARANTINE_COLUMNS,
        pk="id",
        not_null={"received_at_ms", "headers", "body", "reason", "reason_en"},
        if_not_exists=True,
    )
    db["employees"].create(
        EMPLOYEES_COLUMNS,
        pk=("workspace_id", "user_id"),
        not_null={"workspace_id", "user_id"},
        if_not_exists=True,
    )

    db["checkins"].create_index(
        ["workspace_id", "user_id", "checkin_timestamp", "webhook_type"],
        index_name="checkins_natural_key",
        unique=True,
        if_not_exists=True,
    )
    db["checkins"].create_index(["checkin_timestamp"], index_name="checkins_by_time", if_not_exists=True)
    db["deliveries"].create_index(["received_at_ms"], index_name="deliveries_by_arrival", if_not_exists=True)


def enable_wal(conn: sqlite3.Connection, timeout_s: float) -> None:
    """Put the database file in WAL mode, retrying while another connection converts it.

    Two connections opening a new file at once can both try the conversion. The one
    that loses may get "database is locked", so it retries until `timeout_s` passes.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
