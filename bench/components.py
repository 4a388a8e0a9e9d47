"""The cost of one delivery in each step of the receiver, measured in this process without HTTP.

These figures explain the throughput ratio: a single Python process serves every
request, so the server's CPU time per request bounds its rate.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import msgspec

from bench.openloop import delivery_body
from bench.receiver import BASE_MS
from bench.serve import open_store
from ingest.payload import parse_delivery
from ingest.store import AcceptDelivery

DELIVERIES = 4000


@dataclasses.dataclass(frozen=True)
class StepCost:
    """Microseconds per delivery of one step: wall clock and this process's CPU time."""

    step: str
    wall_us: float
    cpu_us: float


def measure_components(workdir: Path) -> list[StepCost]:
    """Time decoding, parsing and storing `DELIVERIES` distinct deliveries, step by step."""
    now_ms = int(time.time() * 1000)
    bodies = [delivery_body(number, BASE_MS) for number in range(DELIVERIES)]
    costs = [
        _time("msgspec.json.decode (all the bare handler does)", lambda: [msgspec.json.decode(body) for body in bodies]),
        _time("json.loads, for comparison", lambda: [json.loads(body) for body in bodies]),
        _time("ingest.payload.parse_delivery", lambda: [parse_delivery(body, "CHECKIN", now_ms) for body in bodies]),
    ]
    items = [
        AcceptDelivery(parse_delivery(body, "CHECKIN", now_ms), body, {"content-type": "application/json"}, now_ms)
        for body in bodies
    ]
    for synchronous in ("FULL", "NORMAL"):
        for batch in (1, 8, 64):
            database = workdir / f"components-{synchronous.lower()}-{batch}.db"
            for path in workdir.glob(database.name + "*"):
                path.unlink()
            store = open_store(database, synchronous)
            try:
                costs.append(_time(
                    f"Store.write_batch, batches of {batch}, synchronous={synchronous}",
                    lambda: [store.write_batch(items[first:first + batch]) for first in range(0, len(items), batch)],
                ))
            finally:
                store.close()
    return costs


def _time(step: str, work) -> StepCost:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return StepCost(step, round(wall * 1e6 / DELIVERIES, 1), round(cpu * 1e6 / DELIVERIES, 1))
