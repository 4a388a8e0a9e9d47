"""Changes proposed for the receiver, patched in by `bench.serve --proposed` to measure them.

The owner of `ingest/` decides; these are the smallest edits that the py-spy profile
pointed at.

NOTE: `_write_batch_refreshing_once` copies `Store.write_batch` as of commit 7a161e9
with one change, so it must follow that method when the method changes.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import sqlite3
import threading

logger = logging.getLogger(__name__)

PROPOSALS = [
    "ingest/writer.py: resolve a committed batch's waiters with one `loop.call_soon_threadsafe` per batch, not "
    "one `asyncio.wrap_future` wake-up per delivery; each wake-up writes to the event loop's self-pipe "
    "(`_write_to_self` in the profile).",
    "ingest/store.py: refresh the `employees` row once per employee per batch, just before COMMIT, instead of "
    "after every stored delivery (`_refresh_employee` runs nine subqueries).",
]
"""One line per patch: the file and the change."""

_pending = threading.local()


def apply() -> list[str]:
    """Patch `ingest.writer` and `ingest.store` in place; return the descriptions."""
    import ingest.store
    import ingest.writer

    ingest.writer.GroupCommitWriter.submit = _submit_with_loop_future
    ingest.writer.GroupCommitWriter._commit = _commit_settling_per_batch
    original_refresh = ingest.store._refresh_employee
    ingest.store._refresh_employee = _defer_refresh
    ingest.store.Store.write_batch = _make_write_batch(original_refresh)
    return PROPOSALS


@dataclasses.dataclass(frozen=True)
class _Waiter:
    """A handler's future and its event loop; settles from any thread."""

    loop: asyncio.AbstractEventLoop
    future: asyncio.Future

    def set_exception(self, exc: BaseException) -> None:
        self.loop.call_soon_threadsafe(_settle, [(self.future, exc)])

    def set_result(self, result) -> None:
        self.loop.call_soon_threadsafe(_settle, [(self.future, result)])


def _settle(pairs) -> None:
    for future, outcome in pairs:
        if future.done():
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


async def _submit_with_loop_future(self, item):
    from ingest.errors import StoreUnavailable

    if not self._accepting:
        raise StoreUnavailable("Bộ ghi cơ sở dữ liệu không chạy; hãy gửi lại sau", "The database writer is not running; retry later")
    if self._queue.qsize() >= self._max_queued:
        raise StoreUnavailable("Máy nhận đang quá tải; hãy gửi lại sau", "The receiver is overloaded; retry later")
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    self._queue.put((item, _Waiter(loop, future)))
    return await future


def _commit_settling_per_batch(self, batch: list) -> None:
    from ingest.errors import StoreUnavailable

    items = [item for item, _ in batch]
    try:
        results = self._store.write_batch(items)
    except StoreUnavailable as exc:
        results = [exc] * len(batch)
    except Exception as exc:
        logger.exception("The writer failed on a batch of %d deliveries", len(batch))
        unavailable = StoreUnavailable(
            f"Lỗi nội bộ khi lưu ({type(exc).__name__}); hãy gửi lại sau",
            f"Internal error while storing ({type(exc).__name__}); retry later",
        )
        results = [unavailable] * len(batch)

    by_loop = collections.defaultdict(list)
    for (_, waiter), result in zip(batch, results, strict=True):
        by_loop[waiter.loop].append((waiter.future, result))
    for loop, pairs in by_loop.items():
        loop.call_soon_threadsafe(_settle, pairs)


def _defer_refresh(conn, workspace_id: str, user_id: str) -> None:
    _pending.keys.add((workspace_id, user_id))


def _make_write_batch(refresh_employee):
    from ingest.errors import StoreUnavailable

    def _write_batch_refreshing_once(self, items):
        with self._write_lock:
            conn = self._writer
            _pending.keys = set()
            try:
                conn.execute("BEGIN IMMEDIATE")
                results = [self._write_isolated(conn, item) for item in items]
                for workspace_id, user_id in sorted(_pending.keys):
                    refresh_employee(conn, workspace_id, user_id)
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise StoreUnavailable(
                    f"Không lưu được vào cơ sở dữ liệu ({exc}); hãy gửi lại sau",
                    f"Could not store the delivery in the database ({exc}); retry later",
                ) from exc
        return results

    return _write_batch_refreshing_once
