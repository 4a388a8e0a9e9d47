"""Re-processing quarantined deliveries once the cause of their rejection is fixed.

Each quarantined delivery still waiting is parsed again with today's code and clock.
One that now reads is stored as a delivery (with its original arrival time) and its
quarantine row is marked replayed, in one transaction. One that still fails stays in
quarantine with the reason found this time.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from ingest.config import ReceiverSettings
from ingest.errors import UnreadableDelivery
from ingest.payload import parse_delivery
from ingest.store import AcceptDelivery, Outcome, Store

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ReplayFailure:
    """A quarantined delivery that still cannot be read, with the new reason."""

    quarantine_id: int
    reason: str
    reason_en: str


@dataclasses.dataclass(frozen=True)
class ReplayResult:
    """The counts of one replay; `outcomes` counts accepted deliveries by outcome."""

    accepted: int
    still_failing: int
    outcomes: dict[Outcome, int]
    failures: tuple[ReplayFailure, ...]


def replay_quarantine(store: Store, settings: ReceiverSettings, clock: Callable[[], int]) -> ReplayResult:
    """Replay every quarantined delivery not yet replayed; `clock` returns Unix ms.

    `settings` is the receiver's configuration; replay needs none of it today because
    quarantined bodies were already authorised and within the body limit.
    Raises StoreUnavailable when the database cannot be written.
    """
    del settings
    outcomes: dict[Outcome, int] = {}
    failures: list[ReplayFailure] = []

    for record in store.quarantined(include_replayed=False):
        now_ms = clock()
        try:
            delivery = parse_delivery(record.body, _header(record.headers, "x-webhook-type"), now_ms)
        except UnreadableDelivery as exc:
            store.record_replay_failure(record.id, exc)
            failures.append(ReplayFailure(record.id, exc.message, exc.message_en))
            continue

        result = store.write(
            AcceptDelivery(
                delivery=delivery,
                body=record.body,
                headers=record.headers,
                received_at_ms=record.received_at_ms,
                quarantine_id=record.id,
                replayed_at_ms=now_ms,
            )
        )
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1

    accepted = sum(outcomes.values())
    logger.info("Replayed quarantine: %d accepted, %d still failing", accepted, len(failures))
    return ReplayResult(accepted=accepted, still_failing=len(failures), outcomes=outcomes, failures=tuple(failures))


def _header(headers: dict[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None
