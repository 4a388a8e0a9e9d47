"""An open-loop load generator: POST deliveries at a constant rate and time each one.

Request i is due at start + i / rate whatever happened to the ones before it, and
its latency runs from that due time to the end of the response. So a stalled server
shows up as latency instead of silently lowering the rate (the mistake a closed
loop such as wrk makes). Connections are HTTP/1.1 keep-alive over asyncio streams,
opened on demand up to `max_connections`; the client is a few lines of code so that
it costs little CPU beside the server on the same machine.

A share of requests (`repeat_share`) re-sends an earlier delivery unchanged, as
ACheckin does when it retries, so the database check afterwards can prove that a
repeat never adds a check-in.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import time
import urllib.parse

from bench.serve import BENCH_KEY

WEBHOOK_PATH = "/webhooks/acheckin"


@dataclasses.dataclass(frozen=True)
class OpenLoopResult:
    """One constant-rate run; latencies in milliseconds from each request's due time."""

    rate_per_s: float
    duration_s: float
    sent: int
    distinct: int
    repeats: int
    completed_per_s: float
    status_counts: dict[int, int]
    failures: int
    failure_kinds: dict[str, int]
    """Requests with no response, by exception: a timeout is `TimeoutError` after `timeout_s`."""
    repeats_not_answered_duplicate: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    max_connections_used: int

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.status_counts.items() if status >= 500)

    @property
    def clean(self) -> bool:
        """No failure and no status other than 200.

        A repeat sent while its original is still in flight on another connection
        may reach the server first; then the repeat is `stored` and the original
        `duplicate`. So `repeats_not_answered_duplicate` is not an error; the
        database check after the runs counts duplicates instead.
        """
        return self.failures == 0 and set(self.status_counts) <= {200}


def delivery_body(number: int, base_ms: int) -> bytes:
    """Return distinct delivery `number`: one of 1,000 employees, one second after the last."""
    user = number % 1000
    document = {
        "user_id": f"NV{user:04d}",
        "sex": "MALE" if user % 2 else "FEMALE",
        "phone_number": f"09{user:08d}",
        "email": f"nv{user:04d}@example.vn",
        "company_id": "cmp-1",
        "office_location": ("Hà Nội", "Thành phố Hồ Chí Minh", "Đà Nẵng")[user % 3],
        "workspace_id": "ws-bench",
        "machine_id": f"m-{user % 7:02d}",
        "name": "Nguyễn Thị Lan",
        "avatar": f"https://example.vn/avatars/{user:04d}.png",
        "checkin_timestamp": base_ms + number * 1000,
        "working_group": {"begin": 800, "end": 1700},
    }
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def run_open_loop(
    url: str,
    rate_per_s: float,
    duration_s: float,
    base_ms: int,
    first_number: int = 0,
    repeat_share: float = 0.05,
    max_connections: int = 256,
    timeout_s: float = 10.0,
    seed: int = 5,
) -> OpenLoopResult:
    """POST `rate_per_s * duration_s` deliveries to `url`, numbered from `first_number`."""
    return asyncio.run(
        _run(url, rate_per_s, duration_s, base_ms, first_number, repeat_share, max_connections, timeout_s, seed)
    )


IDLE_LIMIT_S = 3.0
"""Connections idle longer are closed, not reused: uvicorn closes keep-alive
connections idle for 5 s (its `timeout_keep_alive` default), and a request sent on a
connection the server is closing fails without reaching it."""


class _Pool:
    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[float, tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = []
        self.slots = asyncio.Semaphore(limit)
        self.opened = 0

    async def acquire(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        await self.slots.acquire()
        now = time.monotonic()
        while self.idle:
            released_at, connection = self.idle.pop()
            if now - released_at < IDLE_LIMIT_S:
                return connection
            connection[1].close()
        self.opened += 1
        try:
            return await asyncio.open_connection(self.host, self.port)
        except BaseException:
            self.slots.release()
            raise

    def release(self, connection, reusable: bool) -> None:
        if reusable:
            self.idle.append((time.monotonic(), connection))
        else:
            connection[1].close()
        self.slots.release()

    def close(self) -> None:
        for _, (_, writer) in self.idle:
            writer.close()


async def _run(url, rate_per_s, duration_s, base_ms, first_number, repeat_share, max_connections, timeout_s, seed):
    address = urllib.parse.urlsplit(url)
    pool = _Pool(address.hostname, address.port, max_connections)
    plan = _plan(int(rate_per_s * duration_s), first_number, repeat_share, random.Random(seed))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    failure_kinds: dict[str, int] = {}
    wrong_repeats = 0

    async def one(due: float, body: bytes, repeat: bool) -> None:
        nonlocal wrong_repeats
        reusable = False
        connection = None
        try:
            connection = await pool.acquire()
            status, answer = await asyncio.wait_for(_post(connection, address.netloc, body), timeout_s)
            reusable = True
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            kind = type(exc).__name__
            failure_kinds[kind] = failure_kinds.get(kind, 0) + 1
            return
        finally:
            if connection is not None:
                pool.release(connection, reusable)
        latencies.append((time.perf_counter() - due) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
        if repeat and status == 200 and b'"duplicate"' not in answer:
            wrong_repeats += 1

    started = time.perf_counter()
    tasks = []
    for index, (number, repeat) in enumerate(plan):
        due = started + index / rate_per_s
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due, delivery_body(number, base_ms), repeat)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    pool.close()

    latencies.sort()
    count = len(latencies)
    return OpenLoopResult(
        rate_per_s=rate_per_s,
        duration_s=duration_s,
        sent=len(plan),
        distinct=sum(1 for _, repeat in plan if not repeat),
        repeats=sum(1 for _, repeat in plan if repeat),
        completed_per_s=round(count / elapsed, 1),
        status_counts=dict(sorted(statuses.items())),
        failures=sum(failure_kinds.values()),
        failure_kinds=failure_kinds,
        repeats_not_answered_duplicate=wrong_repeats,
        p50_ms=round(latencies[count // 2], 2) if count else float("nan"),
        p99_ms=round(latencies[min(count - 1, int(0.99 * count))], 2) if count else float("nan"),
        max_ms=round(latencies[-1], 2) if count else float("nan"),
        max_connections_used=pool.opened,
    )


def _plan(total: int, first_number: int, repeat_share: float, rng: random.Random) -> list[tuple[int, bool]]:
    """Return (delivery number, is a repeat) for each request in sending order."""
    plan: list[tuple[int, bool]] = []
    next_number = first_number
    for _ in range(total):
        if next_number > first_number and rng.random() < repeat_share:
            plan.append((rng.randrange(first_number, next_number), True))
        else:
            plan.append((next_number, False))
            next_number += 1
    return plan


async def _post(connection, host: str, body: bytes) -> tuple[int, bytes]:
    reader, writer = connection
    head = (
        f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"X-WEBHOOK-TYPE: CHECKIN\r\nX-API-KEY: {BENCH_KEY}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode("ascii") + body)
    await writer.drain()

    status_line = await reader.readuntil(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    length = 0
    while True:
        line = await reader.readuntil(b"\r\n")
        if line == b"\r\n":
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    answer = await reader.readexactly(length)
    return status, answer
