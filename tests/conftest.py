"""Shared fixtures: the real receiver under uvicorn on 127.0.0.1, with a real SQLite file.

`live_server` starts one with a test key and a fixed clock; `start_server(...)` starts
one with other settings (no key, several keys, a small body limit, another clock).
Both stop the server and close the store when the test ends.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from ingest.app import WEBHOOK_PATH, create_app
from ingest.config import ReceiverSettings
from ingest.store import Store

VIETNAM = dt.timezone(dt.timedelta(hours=7))

FIXED_NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=VIETNAM)
FIXED_NOW_MS = int(FIXED_NOW.timestamp() * 1000)
"""The receiver's clock in every test: 30/11/2026 12:00 in Vietnam, never today."""

TEST_KEY = "test-key-7f3a9c"


def local_ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    """Return the Unix ms of a wall-clock time in Vietnam (UTC+7)."""
    return int(dt.datetime(year, month, day, hour, minute, second, tzinfo=VIETNAM).timestamp() * 1000)


def make_delivery(
    user_id: str = "u-001",
    workspace_id: str = "ws-demo",
    checkin_timestamp: int | str = local_ms(2026, 11, 2, 7, 55),
    **fields: Any,
) -> dict[str, Any]:
    """Return a realistic delivery body; `fields` add or replace fields (None values are sent as null)."""
    body: dict[str, Any] = {
        "user_id": user_id,
        "sex": "FEMALE",
        "phone_number": "0912345678",
        "email": "lan.nguyen@example.vn",
        "company_id": "cmp-1",
        "office_location": "Hà Nội",
        "workspace_id": workspace_id,
        "machine_id": "m-01",
        "name": "Nguyễn Thị Lan",
        "avatar": "https://example.vn/a.png",
        "checkin_timestamp": checkin_timestamp,
    }
    body.update(fields)
    return body


@dataclasses.dataclass(frozen=True)
class LiveServer:
    """A running receiver: its URL, its store, and the keys it accepts."""

    base_url: str
    store: Store
    store_path: Path
    api_keys: tuple[str, ...]
    client: httpx.Client

    def post_delivery(
        self,
        body: Mapping[str, Any] | bytes,
        webhook_type: str | None = "CHECKIN",
        api_key: str | None = "default",
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """POST one delivery; `api_key="default"` sends the server's first key, None sends none."""
        sent_headers = {"Content-Type": "application/json"}
        if webhook_type is not None:
            sent_headers["X-WEBHOOK-TYPE"] = webhook_type
        if api_key == "default":
            api_key = self.api_keys[0] if self.api_keys else None
        if api_key is not None:
            sent_headers["X-API-KEY"] = api_key
        sent_headers.update(headers or {})
        if isinstance(body, bytes):
            return self.client.post(WEBHOOK_PATH, content=body, headers=sent_headers)
        return self.client.post(WEBHOOK_PATH, json=dict(body), headers=sent_headers)


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start receivers on free loopback ports; each gets its own database file."""
    started: list[tuple[uvicorn.Server, threading.Thread, Store, httpx.Client]] = []

    def start(
        api_keys: tuple[str, ...] = (TEST_KEY,),
        body_limit_bytes: int = 1_048_576,
        busy_timeout_ms: int = 1000,
        clock: Callable[[], int] = lambda: FIXED_NOW_MS,
        database: Path | None = None,
    ) -> LiveServer:
        settings = ReceiverSettings(api_keys=api_keys, body_limit_bytes=body_limit_bytes, busy_timeout_ms=busy_timeout_ms)
        path = database or tmp_path / f"receiver-{len(started)}.db"
        store = Store.open(path, busy_timeout_ms=busy_timeout_ms)
        app = create_app(settings, store, clock)

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Without TCP_NODELAY on a socket handed to uvicorn, each keep-alive request
        # waits about 40 ms for a delayed ACK (Nagle), as measured on Linux here.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        _wait_until_started(server)

        base_url = f"http://127.0.0.1:{port}"
        client = httpx.Client(base_url=base_url, timeout=10, trust_env=False)
        started.append((server, thread, store, client))
        return LiveServer(base_url=base_url, store=store, store_path=path, api_keys=api_keys, client=client)

    yield start

    for server, thread, store, client in started:
        client.close()
        server.should_exit = True
        thread.join(timeout=10)
        store.close()


@pytest.fixture
def live_server(start_server: Callable[..., LiveServer]) -> LiveServer:
    """A receiver with one key (`TEST_KEY`) and the clock fixed at `FIXED_NOW_MS`."""
    return start_server()


def _wait_until_started(server: uvicorn.Server, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 10 s")
        time.sleep(0.01)
