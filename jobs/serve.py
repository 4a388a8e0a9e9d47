"""`acheckin-sync serve`: the receiver under uvicorn, with the scheduler beside it.

The scheduler runs in its own thread with its own SQLite connection, so a long rollup
or export never runs on the receiver's event loop. It still shares SQLite's single
write lock with the receiver, which is why the rollup writes in short transactions. Both share one `Store`, whose
readers are per thread and whose writes take the store's lock.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import uvicorn

from ingest.app import create_app
from ingest.store import Store
from jobs.schedule import Scheduler, wall_clock_ms
from jobs.settings import Settings
from jobs.tasks import scheduled_jobs

log = logging.getLogger(__name__)

SCHEDULER_STOP_SECONDS = 30.0
"""How long shutdown waits for a running job; the thread is a daemon, so exit goes on."""


def run_service(
    settings: Settings,
    clock: Callable[[], int] = wall_clock_ms,
    sockets: list[socket.socket] | None = None,
    on_started: Callable[[uvicorn.Server], None] | None = None,
) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM), then stop the scheduler and the store.

    `sockets` replaces binding `server.host:server.port` (tests pass a socket on a
    free port); `on_started` is called from the serving thread once uvicorn listens.
    """
    store = Store.open(settings.database, settings.receiver.busy_timeout_ms)
    scheduler = Scheduler(settings, scheduled_jobs(store, settings), clock=clock)
    app = create_app(settings.receiver, store, clock)
    config = uvicorn.Config(
        app,
        host=settings.server.host,
        port=settings.server.port,
        log_level=settings.server.log_level,
        log_config=None,
        # The receiver logs one line per delivery itself; uvicorn's access line would repeat it.
        access_log=False,
        lifespan="on",
    )
    server = _Server(config, on_started)

    scheduler.start()
    try:
        with _return_after_signal():
            server.run(sockets=sockets)
    finally:
        scheduler.stop(timeout=SCHEDULER_STOP_SECONDS)
        store.close()
        log.info("service stopped")


@contextmanager
def _return_after_signal() -> Iterator[None]:
    """Make Ctrl-C and SIGTERM end `server.run` normally, so the cleanup runs.

    uvicorn handles both signals while it serves, then restores the previous
    handlers and raises the signal again. With Python's defaults, that kills the
    process before the scheduler stops. The handlers installed here only log it.
    Signal handlers can only be set from the main thread, so elsewhere this does
    nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    for number in previous:
        signal.signal(number, _log_signal)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _log_signal(number: int, frame: object) -> None:
    log.info("received %s; stopping", signal.Signals(number).name)


class _Server(uvicorn.Server):
    """A uvicorn server that reports when it has started listening."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[uvicorn.Server], None] | None) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self._on_started is not None and self.started:
            self._on_started(self)
