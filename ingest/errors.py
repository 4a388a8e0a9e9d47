"""Errors of the receiver, each with a Vietnamese and an English message.

The hierarchy, with the HTTP status the receiver sends for each::

    IngestError                      base class; never raised itself
    ├── ReceiverConfigError          a bad API key file or receiver setting (start-up)
    ├── UnauthorizedDelivery   401   the X-API-KEY header is missing or matches no key
    ├── BodyTooLarge           413   the body is over the configured limit; nothing stored
    ├── ClientDisconnected     400   the sender left before its body was complete
    ├── UnreadableDelivery     422   authorised, but the delivery cannot be kept as a
    │   │                            check-in; it goes to quarantine with its reason
    │   └── NotJson            400   the body is not a UTF-8 JSON object
    └── StoreUnavailable       503   the database is locked, full or failing, so the
                                     delivery was not stored and the sender should retry

`message` is Vietnamese (NFC) and comes first in every response; `message_en` is its
English form. `str(error)` is the English message, for logs and tracebacks.
"""

from __future__ import annotations

import dataclasses


class IngestError(Exception):
    """Base class of the receiver's errors; carries both languages and an HTTP status."""

    status_code = 500

    def __init__(self, message: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message = message
        self.message_en = message_en


class ReceiverConfigError(IngestError):
    """Raised at start-up for an unreadable API key file or an invalid receiver setting."""


class UnauthorizedDelivery(IngestError):
    """Raised when a key is configured and the delivery's X-API-KEY matches none."""

    status_code = 401


class BodyTooLarge(IngestError):
    """Raised when the announced or streamed body exceeds `body_limit_bytes`."""

    status_code = 413


class ClientDisconnected(IngestError):
    """Raised when the connection closes before the whole body arrived; nothing is stored."""

    status_code = 400


@dataclasses.dataclass(frozen=True)
class Problem:
    """One reason a delivery is unreadable, naming the field and the bad value."""

    field: str
    message: str
    message_en: str


class UnreadableDelivery(IngestError):
    """Raised for an authorised delivery that cannot be kept as a check-in.

    `problems` lists every reason found, so the quarantine row and the response name
    them all at once.
    """

    status_code = 422

    def __init__(self, problems: list[Problem]) -> None:
        if not problems:
            raise ValueError("UnreadableDelivery needs at least one problem")
        super().__init__(
            "; ".join(problem.message for problem in problems),
            "; ".join(problem.message_en for problem in problems),
        )
        self.problems = tuple(problems)


class NotJson(UnreadableDelivery):
    """Raised when the body is not valid UTF-8 JSON or not a JSON object."""

    status_code = 400


class StoreUnavailable(IngestError):
    """Raised when SQLite could not commit (locked, disk full, I/O error) or the writer stopped."""

    status_code = 503
