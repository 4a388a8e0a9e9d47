"""Run one server for the load tests: the real receiver or a bare Litestar handler.

    python -m bench.serve receiver --port 8123 --database /tmp/x.db --synchronous FULL
    python -m bench.serve bare --port 8124

Both run under uvicorn with the options `acheckin-sync serve` uses (jobs/serve.py:
one worker, uvicorn's access log on, `log_config=None`, INFO records; Litestar's
default logging config sends them to stderr, which `bench.servers` redirects into a
file) and the event loop and
HTTP parser uvicorn picks from what the project installs. So the ratio between
them is the cost of our code and not of the server.
"""

from __future__ import annotations

import argparse
import inspect
import logging
import sqlite3
import sys
import time
from pathlib import Path

import msgspec
import uvicorn
from litestar import Litestar, Request, get, post

from ingest.app import WEBHOOK_PATH, create_app
from ingest.config import ReceiverSettings
from ingest.store import Store

BENCH_KEY = "bench-key-5d1c"
"""The API key the load generators send; the receiver checks it like any key."""

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
"""The format `acheckin-sync` logs with (jobs/cli.py)."""


class _Answer(msgspec.Struct, frozen=True):
    status: str
    fields: int


def bare_app() -> Litestar:
    """Return a Litestar app whose webhook route only reads and decodes the JSON body."""

    @post(WEBHOOK_PATH, status_code=200)
    async def decode_only(request: Request) -> _Answer:
        document = msgspec.json.decode(await request.body())
        return _Answer(status="decoded", fields=len(document))

    @get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar(route_handlers=[decode_only, healthz], openapi_config=None)


def open_store(path: Path, synchronous: str) -> Store:
    """Open the receiver's store with `PRAGMA synchronous` set to `synchronous`.

    Uses `Store.open(..., synchronous=...)` when the store takes that keyword, else a
    subclass that sets the pragma on each new connection after the store's own.
    """
    if "synchronous" in inspect.signature(Store.open).parameters:
        return Store.open(path, synchronous=synchronous)

    class _Store(Store):
        def connect(self) -> sqlite3.Connection:
            conn = super().connect()
            conn.execute(f"PRAGMA synchronous = {synchronous}")
            return conn

    return _Store.open(path)


def receiver_app(database: Path, synchronous: str) -> Litestar:
    """Return the real receiver on a store at `database`, checking `BENCH_KEY`."""
    store = open_store(database, synchronous)
    settings = ReceiverSettings(api_keys=(BENCH_KEY,))
    return create_app(settings, store, lambda: time.time_ns() // 1_000_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app", choices=["receiver", "bare"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database", type=Path)
    parser.add_argument("--synchronous", choices=["FULL", "NORMAL"], default="FULL")
    parser.add_argument(
        "--switch-interval-ms", type=float,
        help="set sys.setswitchinterval (Python's default is 5 ms), to measure its effect on the GIL hand-off",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["info", "warning"],
        help="info as `serve` runs by default (a line per delivery and per request); warning to measure their cost",
    )
    parser.add_argument("--proposed", action="store_true", help="patch in the changes of bench.receiver_proposals")
    args = parser.parse_args()

    if args.proposed:
        from bench.receiver_proposals import apply

        apply()
    if args.switch_interval_ms is not None:
        sys.setswitchinterval(args.switch_interval_ms / 1000)
    logging.basicConfig(level=args.log_level.upper(), format=LOG_FORMAT)
    if args.app == "bare":
        app = bare_app()
    else:
        app = receiver_app(args.database, args.synchronous)
    uvicorn.run(app, host="127.0.0.1", port=args.port, workers=1, log_level=args.log_level, log_config=None, lifespan="on")


if __name__ == "__main__":
    main()
