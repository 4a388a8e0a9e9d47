"""The raw store (ingest.store) on real SQLite files: schema, copies, employees, reads."""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3

import pytest
from conftest import FIXED_NOW_MS, local_ms, make_delivery

import ingest.store
from ingest.errors import StoreUnavailable, UnreadableDelivery
from ingest.payload import parse_delivery
from ingest.store import AcceptDelivery, Outcome, QuarantineDelivery, Store, WriteResult
from ingest.writer import GroupCommitWriter

MONDAY_0755 = local_ms(2026, 11, 2, 7, 55)


@pytest.fixture
def store(tmp_path):
    opened = Store.open(tmp_path / "data" / "acheckin.db")
    yield opened
    opened.close()


def accept(store: Store, body: dict, webhook_type: str = "CHECKIN", received_at_ms: int = FIXED_NOW_MS) -> WriteResult:
    raw = json.dumps(body).encode()
    delivery = parse_delivery(raw, webhook_type, FIXED_NOW_MS)
    return store.write(AcceptDelivery(delivery=delivery, body=raw, headers={"x-webhook-type": webhook_type}, received_at_ms=received_at_ms))


def only_checkin(store: Store):
    checkins = list(store.checkins_between(0, 2**62))
    assert len(checkins) == 1
    return checkins[0]


def test_open_creates_schema_idempotently(tmp_path):
    path = tmp_path / "nested" / "acheckin.db"
    Store.open(path).close()
    reopened = Store.open(path)
    reopened.close()

    conn = sqlite3.connect(path)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()

    assert {"deliveries", "checkins", "quarantine", "employees"} <= tables


def test_connections_use_wal_and_full_sync(store):
    conn = store.connect()

    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 1000
    conn.close()


def test_new_checkin_stored_with_delivery(store):
    result = accept(store, make_delivery(working_group={"begin": 800, "end": 1700}, badge="A7"))

    checkin = only_checkin(store)
    assert result.outcome is Outcome.STORED
    assert checkin.id == result.checkin_id
    assert checkin.first_delivery_id == result.delivery_id
    assert checkin.checkin_time == "2026-11-02T00:55:00.000Z"
    assert checkin.working_group == (480, 1020)
    assert checkin.extra == {"badge": "A7"}
    assert store.max_delivery_id() == result.delivery_id


def test_working_group_stored_as_clock_text(store):
    accept(store, make_delivery(working_group={"begin": 105, "end": 30}))

    conn = sqlite3.connect(store.path)
    row = conn.execute("SELECT working_group_begin, working_group_end FROM checkins").fetchone()
    conn.close()

    assert row == ("01:05", "00:30")


def test_identical_repeat_is_duplicate(store):
    first = accept(store, make_delivery())
    second = accept(store, make_delivery())

    assert second.outcome is Outcome.DUPLICATE
    assert second.checkin_id == first.checkin_id
    assert len(list(store.checkins_between(0, 2**62))) == 1
    assert [ref.id for ref in store.deliveries_after(0)] == [first.delivery_id]
    assert store.max_delivery_id() == second.delivery_id


def test_type_is_part_of_identity(store):
    accept(store, make_delivery(), "CHECKIN")
    accept(store, make_delivery(), "JOIN_EVENT")

    types = [checkin.webhook_type for checkin in store.checkins_between(0, 2**62)]
    assert sorted(types) == ["CHECKIN", "JOIN_EVENT"]


COPY_CASES = {
    "only one carries a group": (
        [None, {"begin": 800, "end": 1700}],
        (480, 1020),
        None,
    ),
    "only one carries a valid group": (
        [{"begin": 1275, "end": 1700}, {"begin": 800, "end": 1700}],
        (480, 1020),
        None,
    ),
    "different groups keep the smaller": (
        [{"begin": 830, "end": 1730}, {"begin": 800, "end": 1700}],
        (480, 1020),
        "08:00-17:00, 08:30-17:30",
    ),
    "same begin compares end": (
        [{"begin": 800, "end": 1800}, {"begin": 800, "end": 1700}],
        (480, 1020),
        "08:00-17:00, 08:00-18:00",
    ),
    "three groups": (
        [{"begin": 2200, "end": 600}, {"begin": 830, "end": 1730}, {"begin": 800, "end": 1700}],
        (480, 1020),
        "08:00-17:00, 08:30-17:30, 22:00-06:00",
    ),
}


@pytest.mark.parametrize(("groups", "kept", "conflict"), COPY_CASES.values(), ids=COPY_CASES.keys())
def test_copy_rule_independent_of_order(tmp_path, groups, kept, conflict):
    for number, order in enumerate(itertools.permutations(groups)):
        store = Store.open(tmp_path / f"order-{number}.db")
        for group in order:
            accept(store, make_delivery(working_group=group))

        checkin = only_checkin(store)
        store.close()

        assert checkin.working_group == kept, order
        assert checkin.working_group_conflict == conflict, order


def test_copy_with_group_after_plain_is_update(store):
    accept(store, make_delivery())
    result = accept(store, make_delivery(working_group={"begin": 800, "end": 1700}))

    assert result.outcome is Outcome.UPDATED
    assert [ref.id for ref in store.deliveries_after(0)] == [1, result.delivery_id]


def test_copy_fills_unknown_fields_keeps_known(store):
    accept(store, make_delivery(name="Không xác định", email="first@example.vn", badge="A7"))
    result = accept(store, make_delivery(name="Lê Văn Minh", email="second@example.vn", floor=3))

    checkin = only_checkin(store)
    assert result.outcome is Outcome.UPDATED
    assert checkin.name == "Lê Văn Minh"
    assert checkin.email == "first@example.vn"
    assert checkin.extra == {"badge": "A7", "floor": 3}


def test_copy_with_unknowns_changes_nothing(store):
    accept(store, make_delivery())
    result = accept(store, make_delivery(name=None, email="Không xác định", working_group=None))

    assert result.outcome is Outcome.DUPLICATE
    assert only_checkin(store).name == "Nguyễn Thị Lan"


@pytest.mark.parametrize("name", ["=SUM(A1:A9)", "Lan\x0bAnh", "@Lan", "-1"])
def test_text_stored_exactly(store, name):
    accept(store, make_delivery(name=name))

    conn = sqlite3.connect(store.path)
    stored = conn.execute("SELECT name FROM checkins").fetchone()[0]
    conn.close()

    assert stored == name


EMPLOYEE_CHECKINS = [
    make_delivery(checkin_timestamp=local_ms(2026, 11, 2, 8), name="Tên Cũ", email="old@example.vn", office_location="Hà Nội"),
    make_delivery(checkin_timestamp=local_ms(2026, 11, 5, 8), name="Tên Mới", email="Không xác định", office_location="Đà Nẵng"),
    make_delivery(checkin_timestamp=local_ms(2026, 11, 9, 8), name=None, email=None, office_location="Không xác định", phone_number="0987654321"),
]


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))), ids=str)
def test_employee_latest_known_by_timestamp(tmp_path, order):
    store = Store.open(tmp_path / "employees.db")
    for index in order:
        accept(store, EMPLOYEE_CHECKINS[index])

    record = store.employees()[("ws-demo", "u-001")]
    store.close()

    assert record.name == "Tên Mới"
    assert record.email == "old@example.vn"
    assert record.office_location == "Đà Nẵng"
    assert record.phone_number == "0987654321"
    assert record.first_checkin_ms == local_ms(2026, 11, 2, 8)
    assert record.last_checkin_ms == local_ms(2026, 11, 9, 8)


def test_employee_keys_sorted(store):
    accept(store, make_delivery(user_id="u-2"))
    accept(store, make_delivery(user_id="u-1", workspace_id="ws-b"))
    accept(store, make_delivery(user_id="u-1"))

    assert store.employee_keys() == [("ws-b", "u-1"), ("ws-demo", "u-1"), ("ws-demo", "u-2")]


def test_checkins_of_half_open_sorted_and_filtered(store):
    for hour in (17, 8, 12):
        accept(store, make_delivery(checkin_timestamp=local_ms(2026, 11, 2, hour)))
    accept(store, make_delivery(checkin_timestamp=local_ms(2026, 11, 2, 9)), "JOIN_EVENT")
    accept(store, make_delivery(user_id="u-other", checkin_timestamp=local_ms(2026, 11, 2, 10)))

    day = store.checkins_of("ws-demo", "u-001", local_ms(2026, 11, 2, 8), local_ms(2026, 11, 2, 17))
    checkins_only = store.checkins_of("ws-demo", "u-001", 0, 2**62, webhook_type="CHECKIN")

    assert [c.checkin_timestamp for c in day] == [local_ms(2026, 11, 2, h) for h in (8, 9, 12)]
    assert [c.checkin_timestamp for c in checkins_only] == [local_ms(2026, 11, 2, h) for h in (8, 12, 17)]


def test_checkins_between_pages_in_order(store, monkeypatch):
    monkeypatch.setattr(ingest.store, "_PAGE_ROWS", 2)
    same_instant = local_ms(2026, 11, 3, 8)
    for user in ("u-a", "u-b", "u-c"):
        accept(store, make_delivery(user_id=user, checkin_timestamp=same_instant))
    for day in (2, 4):
        accept(store, make_delivery(checkin_timestamp=local_ms(2026, 11, day, 8)))

    everything = list(store.checkins_between(local_ms(2026, 11, 2), local_ms(2026, 11, 5)))
    tail = list(store.checkins_between(local_ms(2026, 11, 3), local_ms(2026, 11, 4)))

    assert len(everything) == 5
    assert [c.checkin_timestamp for c in everything] == sorted(c.checkin_timestamp for c in everything)
    assert [c.user_id for c in tail] == ["u-a", "u-b", "u-c"]


def test_quarantine_kept_and_counted(store):
    with pytest.raises(UnreadableDelivery) as caught:
        parse_delivery(b'{"user_id": "u"}', "CHECKIN", FIXED_NOW_MS)
    item = QuarantineDelivery(body=b'{"user_id": "u"}', headers={"x-webhook-type": "CHECKIN"}, received_at_ms=5, error=caught.value)

    result = store.write(item)

    [record] = store.quarantined()
    assert result.outcome is Outcome.QUARANTINED
    assert record.body == b'{"user_id": "u"}'
    assert "workspace_id" in record.reason_en
    assert "workspace_id" in record.reason
    assert store.quarantine_size() == 1


def test_delivery_stats_counts_since(store):
    for received in (100, 200, 300):
        accept(store, make_delivery(checkin_timestamp=MONDAY_0755 + received), received_at_ms=received)

    stats = store.delivery_stats(since_ms=200)

    assert stats.count == 2
    assert stats.last_received_at_ms == 300


def test_locked_database_stores_nothing(tmp_path):
    store = Store.open(tmp_path / "locked.db", busy_timeout_ms=50)
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")

    with pytest.raises(StoreUnavailable) as caught:
        accept(store, make_delivery())

    blocker.execute("ROLLBACK")
    blocker.close()
    assert "locked" in caught.value.message_en
    assert list(store.checkins_between(0, 2**62)) == []
    store.close()


def stored_item(body: dict) -> AcceptDelivery:
    raw = json.dumps(body).encode()
    return AcceptDelivery(delivery=parse_delivery(raw, "CHECKIN", FIXED_NOW_MS), body=raw, headers={}, received_at_ms=FIXED_NOW_MS)


def test_writer_commits_submitted_items(store):
    writer = GroupCommitWriter(store)
    writer.start()

    async def submit_all():
        bodies = [make_delivery(checkin_timestamp=MONDAY_0755 + n) for n in range(50)]
        return await asyncio.gather(*(writer.submit(stored_item(body)) for body in bodies))

    results = asyncio.run(submit_all())
    writer.stop()

    assert [result.outcome for result in results] == [Outcome.STORED] * 50
    assert len(list(store.checkins_between(0, 2**62))) == 50


def test_writer_full_queue_rejects(store):
    writer = GroupCommitWriter(store, max_queued=0)
    writer.start()

    with pytest.raises(StoreUnavailable) as caught:
        asyncio.run(writer.submit(stored_item(make_delivery())))

    writer.stop()
    assert "overloaded" in caught.value.message_en


def test_stopped_writer_rejects(store):
    writer = GroupCommitWriter(store)

    with pytest.raises(StoreUnavailable):
        asyncio.run(writer.submit(stored_item(make_delivery())))
