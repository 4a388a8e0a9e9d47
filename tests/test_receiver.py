"""The receiver over real HTTP (uvicorn on 127.0.0.1) with a real SQLite file."""

from __future__ import annotations

import concurrent.futures
import json
import logging
import socket
import sqlite3
import time
import unicodedata

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from conftest import FIXED_NOW_MS, TEST_KEY, local_ms, make_delivery

from ingest.app import WEBHOOK_PATH
from ingest.config import ReceiverSettings, load_api_keys
from ingest.errors import ReceiverConfigError
from ingest.replay import replay_quarantine
from ingest.store import Outcome


def query(server, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(server.store_path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def count(server, table: str) -> int:
    return query(server, f"SELECT count(*) FROM {table}")[0][0]


def test_delivery_committed_before_answer(live_server):
    body = make_delivery(working_group={"begin": 800, "end": 1700})

    response = live_server.post_delivery(body)

    assert response.status_code == 200
    assert response.json()["outcome"] == "stored"
    [(raw, headers, outcome)] = query(live_server, "SELECT body, headers, outcome FROM deliveries")
    assert json.loads(raw) == body
    assert outcome == "stored"
    assert json.loads(headers)["x-webhook-type"] == "CHECKIN"
    assert count(live_server, "checkins") == 1


def test_key_never_stored(live_server):
    live_server.post_delivery(make_delivery(), headers={"Authorization": "Bearer secret-token"})

    [(headers,)] = query(live_server, "SELECT headers FROM deliveries")
    assert TEST_KEY not in headers
    assert "x-api-key" not in json.loads(headers)
    assert "secret-token" not in headers


@pytest.mark.parametrize("header", ["checkin", "Checkin", "CHECKIN", "join_event"])
def test_type_header_case_insensitive(live_server, header):
    response = live_server.post_delivery(make_delivery(), webhook_type=header)

    assert response.status_code == 200
    [(webhook_type,)] = query(live_server, "SELECT webhook_type FROM checkins")
    assert webhook_type == header.upper()


@pytest.mark.parametrize("header", ["CHECKOUT", None])
def test_unknown_type_quarantined(live_server, header):
    response = live_server.post_delivery(make_delivery(), webhook_type=header)

    assert response.status_code == 422
    assert "X-WEBHOOK-TYPE" in response.json()["error"]
    assert "CHECKIN" in response.json()["error_en"]
    assert count(live_server, "checkins") == 0
    assert count(live_server, "quarantine") == 1


def test_timestamp_in_seconds_quarantined(live_server):
    seconds = local_ms(2026, 11, 2, 7, 55) // 1000

    response = live_server.post_delivery(make_delivery(checkin_timestamp=seconds))

    assert response.status_code == 422
    assert "giây" in response.json()["error"]
    assert "seconds" in response.json()["error_en"]
    [(reason, reason_en)] = query(live_server, "SELECT reason, reason_en FROM quarantine")
    assert "giây" in reason
    assert "seconds" in reason_en


def test_numeric_string_timestamp_accepted(live_server):
    response = live_server.post_delivery(make_delivery(checkin_timestamp=str(local_ms(2026, 11, 2, 8))))

    assert response.status_code == 200
    assert query(live_server, "SELECT checkin_timestamp FROM checkins") == [(local_ms(2026, 11, 2, 8),)]


WORKING_GROUPS = {
    "105 is 01:05": ({"begin": 105, "end": 1700}, ("01:05", "17:00"), 0),
    "30 is 00:30": ({"begin": 30, "end": 830}, ("00:30", "08:30"), 0),
    "0 is 00:00": ({"begin": 0, "end": 800}, ("00:00", "08:00"), 0),
    "1275 is not a time": ({"begin": 1275, "end": 1700}, (None, None), 1),
    "begin equals end": ({"begin": 0, "end": 0}, (None, None), 1),
    "unspecified inside": ({"begin": "Không xác định", "end": 1700}, (None, None), 1),
    "unspecified whole": ("Không xác định", (None, None), 1),
}


@pytest.mark.parametrize(("group", "stored", "warnings"), WORKING_GROUPS.values(), ids=WORKING_GROUPS.keys())
def test_working_group_values(live_server, group, stored, warnings):
    response = live_server.post_delivery(make_delivery(working_group=group))

    assert response.status_code == 200
    assert len(response.json()["warnings"]) == warnings
    assert query(live_server, "SELECT working_group_begin, working_group_end FROM checkins") == [stored]


def test_user_id_unspecified_quarantined(live_server):
    response = live_server.post_delivery(make_delivery(user_id="Không xác định"))

    assert response.status_code == 422
    assert response.json()["problems"][0]["field"] == "user_id"
    assert count(live_server, "checkins") == 0
    assert count(live_server, "quarantine") == 1


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b"", b"\xff\xfe\x00"],
    ids=["broken", "array", "empty", "invalid utf-8"],
)
def test_not_json_quarantined_with_raw_body(live_server, body):
    response = live_server.post_delivery(body)

    assert response.status_code == 400
    assert response.json()["error"].startswith("Nội dung")
    assert query(live_server, "SELECT body FROM quarantine") == [(body,)]


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        (unicodedata.normalize("NFD", "Phạm Thị Hương"), "Phạm Thị Hương"),
        ("=HYPERLINK(\"http://evil\")", "=HYPERLINK(\"http://evil\")"),
        ("Lan\x0bAnh", "Lan\x0bAnh"),
    ],
    ids=["decomposed", "formula", "vertical tab"],
)
def test_name_stored(live_server, sent, stored):
    live_server.post_delivery(make_delivery(name=sent))

    assert query(live_server, "SELECT name FROM checkins") == [(stored,)]
    assert query(live_server, "SELECT name FROM employees") == [(stored,)]


@pytest.mark.parametrize("first_has_group", [True, False])
def test_duplicate_copies_either_order(live_server, first_has_group):
    plain = make_delivery()
    with_group = make_delivery(working_group={"begin": 830, "end": 1730})
    copies = [with_group, plain] if first_has_group else [plain, with_group]

    responses = [live_server.post_delivery(body) for body in copies]

    assert [r.status_code for r in responses] == [200, 200]
    assert count(live_server, "checkins") == 1
    assert count(live_server, "deliveries") == 2
    assert query(live_server, "SELECT working_group_begin FROM checkins") == [("08:30",)]


def test_employee_latest_by_timestamp_not_arrival(live_server):
    live_server.post_delivery(make_delivery(checkin_timestamp=local_ms(2026, 11, 20, 8), name="Tên Mới"))
    live_server.post_delivery(make_delivery(checkin_timestamp=local_ms(2026, 11, 3, 8), name="Tên Cũ"))

    assert query(live_server, "SELECT name FROM employees") == [("Tên Mới",)]


@pytest.mark.parametrize("api_key", [None, "", "wrong-key", TEST_KEY + "x"])
def test_wrong_key_rejected_nothing_stored(live_server, api_key):
    response = live_server.post_delivery(make_delivery(), api_key=api_key)

    assert response.status_code == 401
    assert response.json()["error_en"].startswith("The API key")
    assert count(live_server, "deliveries") == 0
    assert count(live_server, "quarantine") == 0


def test_key_checked_before_parsing(live_server):
    response = live_server.post_delivery(b"{not json", webhook_type="NONSENSE", api_key="wrong-key")

    assert response.status_code == 401
    assert count(live_server, "quarantine") == 0


def test_several_keys_valid_at_once(start_server):
    server = start_server(api_keys=("old-key-1", "new-key-2"))

    old = server.post_delivery(make_delivery(checkin_timestamp=local_ms(2026, 11, 2, 8)), api_key="old-key-1")
    new = server.post_delivery(make_delivery(checkin_timestamp=local_ms(2026, 11, 2, 17)), api_key="new-key-2")
    other = server.post_delivery(make_delivery(), api_key="third-key")

    assert (old.status_code, new.status_code, other.status_code) == (200, 200, 401)
    assert count(server, "checkins") == 2


def test_no_key_configured_accepts_and_warns(start_server, caplog):
    caplog.set_level(logging.INFO)

    server = start_server(api_keys=())
    response = server.post_delivery(make_delivery(), api_key=None)

    assert response.status_code == 200
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "ingest.app"]
    assert any("NO API KEY" in r.getMessage() for r in warnings)


def test_repeated_wrong_keys_slowed_down(live_server):
    durations = []
    for _ in range(8):
        started = time.monotonic()
        response = live_server.post_delivery(make_delivery(), api_key="guess")
        durations.append(time.monotonic() - started)
        assert response.status_code == 401

    assert max(durations[:5]) < 0.1 + min(durations[:5]) + 0.5
    assert durations[7] >= 0.35


def test_announced_body_over_limit_413(start_server):
    server = start_server(body_limit_bytes=1000)
    body = make_delivery(name="x" * 2000)

    response = server.post_delivery(body)

    assert response.status_code == 413
    assert "1000" in response.json()["error_en"]
    assert count(server, "deliveries") == 0
    assert count(server, "quarantine") == 0


def test_streamed_body_over_limit_413(start_server):
    server = start_server(body_limit_bytes=1000)

    def chunks():
        for _ in range(50):
            yield b" " * 100

    response = server.client.post(
        WEBHOOK_PATH,
        content=chunks(),
        headers={"X-API-KEY": TEST_KEY, "X-WEBHOOK-TYPE": "CHECKIN", "Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert count(server, "quarantine") == 0


def test_limit_enforced_without_reading_body(start_server):
    server = start_server(body_limit_bytes=1000)
    port = int(server.base_url.rsplit(":", 1)[1])
    request = (
        f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-KEY: {TEST_KEY}\r\n"
        "X-WEBHOOK-TYPE: CHECKIN\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n{"
    )

    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(request.encode())
        status_line = conn.recv(200).split(b"\r\n", 1)[0]

    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"
    assert count(server, "quarantine") == 0


def test_body_at_limit_accepted(start_server):
    body = json.dumps(make_delivery()).encode()
    server = start_server(body_limit_bytes=len(body))

    assert server.post_delivery(body).status_code == 200


def test_locked_database_503_then_retry_stored(start_server, caplog):
    caplog.set_level(logging.INFO)
    server = start_server(busy_timeout_ms=200)
    blocker = sqlite3.connect(server.store_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")

    rejected = server.post_delivery(make_delivery())
    blocker.execute("ROLLBACK")
    blocker.close()
    retried = server.post_delivery(make_delivery())

    assert rejected.status_code == 503
    assert rejected.headers["Retry-After"] == "1"
    assert "locked" in rejected.json()["error_en"]
    assert any("NOT stored" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
    assert retried.status_code == 200
    assert retried.json()["outcome"] == "stored"
    assert count(server, "deliveries") == 1


def test_full_disk_503(live_server):
    # SQLite reports a full disk (SQLITE_FULL) when the file may not grow past
    # max_page_count, which is how a full file system looks to the writer.
    writer = live_server.store._writer
    pages = writer.execute("PRAGMA page_count").fetchone()[0]
    writer.execute(f"PRAGMA max_page_count = {pages}")

    response = live_server.post_delivery(make_delivery(note="x" * 200_000))

    assert response.status_code == 503
    assert "full" in response.json()["error_en"]
    assert count(live_server, "deliveries") == 0


def test_replay_stores_fixed_deliveries(start_server):
    clock_ms = [FIXED_NOW_MS]
    server = start_server(clock=lambda: clock_ms[0])
    two_days_ahead = FIXED_NOW_MS + 2 * 24 * 3600 * 1000
    server.post_delivery(make_delivery(checkin_timestamp=two_days_ahead))
    server.post_delivery(b"{broken")
    assert server.store.quarantine_size() == 2

    clock_ms[0] = two_days_ahead
    result = replay_quarantine(server.store, ReceiverSettings(), lambda: clock_ms[0])
    again = replay_quarantine(server.store, ReceiverSettings(), lambda: clock_ms[0])

    assert (result.accepted, result.still_failing) == (1, 1)
    assert result.outcomes == {Outcome.STORED: 1}
    assert "JSON" in result.failures[0].reason_en
    assert (again.accepted, again.still_failing) == (0, 1)
    [replayed] = [r for r in server.store.quarantined(include_replayed=True) if r.replayed_at_ms is not None]
    assert replayed.replayed_at_ms == two_days_ahead
    assert replayed.replay_outcome.startswith("stored")
    assert query(server, "SELECT checkin_timestamp FROM checkins") == [(two_days_ahead,)]
    assert query(server, "SELECT received_at_ms, quarantine_id FROM deliveries") == [(FIXED_NOW_MS, replayed.id)]


def test_logs_never_show_secrets(start_server, caplog):
    caplog.set_level(logging.DEBUG)
    server = start_server()
    body = make_delivery(phone_number="0900111222", email="bi.mat@example.vn", name="Đỗ Bí Mật")

    server.post_delivery(body)
    server.post_delivery(dict(body, checkin_timestamp="soon"))
    server.post_delivery(dict(body, user_id=["0900111222"]))
    server.post_delivery(body, api_key="wrong-key-abc")
    server.post_delivery(body, api_key=None)

    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "user_id=u-001" in text
    for secret in (TEST_KEY, "wrong-key-abc", "0900111222", "bi.mat@example.vn", "Đỗ Bí Mật", "https://example.vn/a.png"):
        assert secret not in text


def test_healthz_ok(live_server):
    response = live_server.client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_openapi_documents_webhook(live_server):
    schema = live_server.client.get("/schema/openapi.json").json()

    operation = schema["paths"][WEBHOOK_PATH]["post"]
    body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body_schema["required"] == ["user_id", "workspace_id", "checkin_timestamp"]
    assert {"401", "413", "422", "503"} <= set(operation["responses"])
    assert schema["components"]["securitySchemes"]["acheckinApiKey"]["name"] == "X-API-KEY"


def test_concurrent_posts_stored_once(live_server):
    """A sanity check of group commit under load, not a benchmark: no timing asserted."""
    instants = [local_ms(2026, 11, 2, 8) + 1000 * n for n in range(400)]
    bodies = [make_delivery(user_id=f"u-{n % 40:03d}", checkin_timestamp=instant) for n, instant in enumerate(instants)]
    sends = bodies + bodies[:100]

    headers = {"X-API-KEY": TEST_KEY, "X-WEBHOOK-TYPE": "CHECKIN"}
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    with httpx.Client(base_url=live_server.base_url, timeout=10, trust_env=False, limits=limits) as client:

        def post(body):
            return client.post(WEBHOOK_PATH, json=body, headers=headers).status_code

        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
            statuses = list(pool.map(post, sends))
        elapsed = time.monotonic() - started

    assert statuses == [200] * len(sends)
    assert count(live_server, "checkins") == 400
    assert count(live_server, "deliveries") == 500
    assert query(live_server, "SELECT count(*) FROM deliveries WHERE outcome = 'duplicate'") == [(100,)]
    print(f"{len(sends)} deliveries in {elapsed:.2f} s ({len(sends) / elapsed:.0f}/s)")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
FIELD_VALUES = JSON_VALUES | st.just("Không xác định") | st.integers(min_value=1_420_070_400_000, max_value=FIXED_NOW_MS)
BODIES = st.dictionaries(
    st.sampled_from(["user_id", "workspace_id", "checkin_timestamp", "name", "email", "working_group", "extra"]) | st.text(max_size=4),
    FIELD_VALUES,
    max_size=8,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODIES, webhook_type=st.sampled_from(["CHECKIN", "join_event", "PING"]))
def test_any_body_kept_or_quarantined(live_server, body, webhook_type):
    before = (count(live_server, "deliveries"), count(live_server, "quarantine"))

    response = live_server.post_delivery(body, webhook_type=webhook_type)

    after = (count(live_server, "deliveries"), count(live_server, "quarantine"))
    assert response.status_code in (200, 400, 422)
    expected = (before[0] + 1, before[1]) if response.status_code == 200 else (before[0], before[1] + 1)
    assert after == expected


def test_api_keys_from_env_and_file(tmp_path):
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("# rotated 2026-11\nfile-key-1\n\n  file-key-2  \nenv-key-a\n", encoding="utf-8")

    keys = load_api_keys({"ACHECKIN_SYNC_API_KEYS": " env-key-a, ,env-key-b"}, keys_file)

    assert keys == ("env-key-a", "env-key-b", "file-key-1", "file-key-2")


def test_api_keys_none_configured():
    assert load_api_keys({}, None) == ()


def test_api_key_file_missing_names_path(tmp_path):
    missing = tmp_path / "absent.txt"

    with pytest.raises(ReceiverConfigError) as caught:
        load_api_keys({}, missing)

    assert str(missing) in caught.value.message_en
    assert str(missing) in caught.value.message


def test_api_key_with_space_rejected(tmp_path):
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("half key\n", encoding="utf-8")

    with pytest.raises(ReceiverConfigError) as caught:
        load_api_keys({}, keys_file)

    assert "keys.txt:1" in caught.value.message_en


@pytest.mark.parametrize(
    ("changes", "phrase"),
    [({"body_limit_bytes": 0}, "body_limit_bytes"), ({"busy_timeout_ms": 5000}, "busy_timeout_ms"), ({"busy_timeout_ms": 0}, "busy_timeout_ms")],
)
def test_receiver_settings_validated(changes, phrase):
    with pytest.raises(ReceiverConfigError) as caught:
        ReceiverSettings(**changes)

    assert phrase in caught.value.message_en


def test_receiver_settings_repr_hides_keys():
    assert "secret-key" not in repr(ReceiverSettings(api_keys=("secret-key",)))


def test_disconnect_mid_body_stores_nothing(live_server, caplog):
    caplog.set_level(logging.INFO)
    port = int(live_server.base_url.rsplit(":", 1)[1])
    request = (
        f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-KEY: {TEST_KEY}\r\n"
        "X-WEBHOOK-TYPE: CHECKIN\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"user_id\":"
    )

    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(request.encode())
    deadline = time.monotonic() + 5
    while not any("connection closed" in r.getMessage() for r in caplog.records) and time.monotonic() < deadline:
        time.sleep(0.05)

    assert any("connection closed after 11 bytes" in r.getMessage() for r in caplog.records)
    assert count(live_server, "deliveries") == 0
    assert count(live_server, "quarantine") == 0
    assert live_server.client.get("/healthz").status_code == 200
