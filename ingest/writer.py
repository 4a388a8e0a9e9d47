"""Group commit: one thread writes every delivery, many per transaction.

Handlers submit write items and await their results. The writer thread takes every
item queued while the previous commit ran and commits them together, so one fsync
serves a whole burst instead of one per delivery. Because only this thread writes,
no handler waits on SQLite's busy timeout because of another handler.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import queue
import threading

from ingest.errors import StoreUnavailable
from ingest.store import Store, WriteItem, WriteResult

logger = logging.getLogger(__name__)

MAX_BATCH = 500
"""Items per transaction at most, so one commit stays short under a flood."""

MAX_QUEUED = 5000
"""Items waiting at most; past it a delivery gets 503 at once instead of waiting
beyond ACheckin's 5 s timeout. NOTE: an estimate from about 1,000 commits of
queued items per second on a 2-core test machine, not a measured limit."""

_STOP = object()


class GroupCommitWriter:
    """A background thread that commits submitted items to a Store in batches."""

    def __init__(self, store: Store, max_batch: int = MAX_BATCH, max_queued: int = MAX_QUEUED) -> None:
        self._store = store
        self._max_batch = max_batch
        self._max_queued = max_queued
        self._queue: queue.Queue[object] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._accepting = False

    def start(self) -> None:
        """Start the writer thread; calling it twice is harmless."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="acheckin-writer", daemon=True)
            self._thread.start()
            self._accepting = True

    def stop(self) -> None:
        """Commit what is queued, then stop the thread.

        An item submitted while stopping, after the thread's last batch, gets
        StoreUnavailable, so no handler waits forever.
        """
        if self._thread is not None:
            self._accepting = False
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None
        self._fail_leftovers()

    def _fail_leftovers(self) -> None:
        while True:
            try:
                entry = self._queue.get_nowait()
            except queue.Empty:
                return
            if entry is not _STOP:
                _, waiter = entry
                stopping = StoreUnavailable("Máy nhận đang dừng; hãy gửi lại sau", "The receiver is stopping; retry later")
                _settle([(waiter, stopping)])

    @property
    def running(self) -> bool:
        """Whether the writer accepts items: started, not stopped, and its thread alive."""
        return self._accepting and self._thread is not None and self._thread.is_alive()

    async def submit(self, item: WriteItem) -> WriteResult:
        """Queue one item and return its result once its batch is committed.

        Raises StoreUnavailable when the batch could not be committed, the writer is
        not running, or `max_queued` items are already waiting.
        """
        if not self._accepting:
            raise StoreUnavailable(
                "Bộ ghi cơ sở dữ liệu không chạy; hãy gửi lại sau",
                "The database writer is not running; retry later",
            )
        if self._queue.qsize() >= self._max_queued:
            logger.error("Write queue full (%d items waiting); responding 503", self._max_queued)
            raise StoreUnavailable(
                "Máy nhận đang quá tải; hãy gửi lại sau",
                "The receiver is overloaded; retry later",
            )
        loop = asyncio.get_running_loop()
        waiter = _Waiter(loop, loop.create_future())
        self._queue.put((item, waiter))
        return await waiter.future

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch = []
            entry = self._queue.get()
            while True:
                if entry is _STOP:
                    stopping = True
                else:
                    batch.append(entry)
                if stopping or len(batch) >= self._max_batch:
                    break
                try:
                    entry = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._commit(batch)

    def _commit(self, batch: list) -> None:
        items = [item for item, _ in batch]
        try:
            results = self._store.write_batch(items)
        except StoreUnavailable as exc:
            _settle([(waiter, exc) for _, waiter in batch])
            return
        except Exception as exc:
            logger.exception("The writer failed on a batch of %d deliveries", len(batch))
            unavailable = StoreUnavailable(
                f"Lỗi nội bộ khi lưu ({type(exc).__name__}); hãy gửi lại sau",
                f"Internal error while storing ({type(exc).__name__}); retry later",
            )
            _settle([(waiter, unavailable) for _, waiter in batch])
            return

        _settle([(waiter, result) for (_, waiter), result in zip(batch, results, strict=True)])


@dataclasses.dataclass(frozen=True)
class _Waiter:
    """A handler's future on its event loop, settled from the writer thread."""

    loop: asyncio.AbstractEventLoop
    future: asyncio.Future


def _settle(outcomes: list[tuple[_Waiter, object]]) -> None:
    """Give each waiter its result or exception, waking each event loop once per batch.

    One wake-up per delivery (a write to the loop's self-pipe) was a large share of
    the receiver's CPU time under load.
    """
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, object]]] = collections.defaultdict(list)
    for waiter, outcome in outcomes:
        by_loop[waiter.loop].append((waiter.future, outcome))
    for loop, pairs in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve, pairs)
        except RuntimeError:
            logger.warning("An event loop closed before the results of %d deliveries could be returned", len(pairs))


def _resolve(pairs: list[tuple[asyncio.Future, object]]) -> None:
    for future, outcome in pairs:
        if future.done():
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
