"""The HTTP receiver: `POST /webhooks/acheckin` and `GET /healthz`.

A delivery goes through these steps, each before the next reads more of it:

1. the API key (when one is configured), compared in constant time against every
   valid key: 401 and nothing read or stored when it matches none;
2. the body limit: 413 when `Content-Length` is over it, or as soon as the streamed
   bytes pass it, so an oversized body is never read whole and nothing is stored;
3. decoding and normalising (`ingest.payload`): an unreadable delivery goes to
   quarantine and gets 400 or 422 naming every problem, Vietnamese first;
4. the group-commit writer: the response is sent only after the commit, 200 for a
   stored check-in or a repeat, 503 when the database is locked, full or failing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hmac
import logging
from collections.abc import Callable

import msgspec
from litestar import Litestar, Request, Response, get, post
from litestar.exceptions import InternalServerException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.spec import (
    Components,
    OpenAPIMediaType,
    Operation,
    Parameter,
    RequestBody,
    Schema,
    SecurityScheme,
)
from litestar.openapi.spec.enums import OpenAPIType

from ingest.config import ReceiverSettings
from ingest.errors import (
    BodyTooLarge,
    ClientDisconnected,
    IngestError,
    StoreUnavailable,
    UnauthorizedDelivery,
    UnreadableDelivery,
)
from ingest.payload import (
    EARLIEST_PLAUSIBLE_MS,
    MAX_FUTURE_MS,
    TEXT_FIELDS,
    UNSPECIFIED,
    FieldWarning,
    WebhookType,
    parse_delivery,
)
from ingest.store import AcceptDelivery, QuarantineDelivery, Store, WriteResult
from ingest.throttle import FailedKeyThrottle
from ingest.writer import GroupCommitWriter

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/acheckin"
API_KEY_HEADER = "x-api-key"
WEBHOOK_TYPE_HEADER = "x-webhook-type"

SECRET_HEADERS = frozenset({API_KEY_HEADER, "authorization", "proxy-authorization", "cookie"})
"""Headers never written to the database."""


class FieldMessage(msgspec.Struct, frozen=True):
    """A message about one field, Vietnamese and English."""

    field: str
    message: str
    message_en: str


class DeliveryAccepted(msgspec.Struct, frozen=True):
    """The response body for a stored delivery: `stored` (new check-in), `updated` or `duplicate`."""

    outcome: str
    delivery_id: int
    checkin_id: int
    warnings: list[FieldMessage]


class ErrorBody(msgspec.Struct, frozen=True):
    """The response body for a rejected delivery: Vietnamese `error`, English `error_en`."""

    error: str
    error_en: str
    problems: list[FieldMessage] = []


class HealthStatus(msgspec.Struct, frozen=True):
    """The receiver's health: `ok`, or `unavailable` when the writer has stopped."""

    status: str


@dataclasses.dataclass(frozen=True)
class _Receiver:
    settings: ReceiverSettings
    store: Store
    clock: Callable[[], int]
    writer: GroupCommitWriter
    throttle: FailedKeyThrottle
    keys: tuple[bytes, ...]


def create_app(settings: ReceiverSettings, store: Store, clock: Callable[[], int]) -> Litestar:
    """Build the receiver app; `clock` returns the current instant in Unix ms.

    The app starts its group-commit writer on start-up and stops it on shutdown; the
    caller opens and closes `store`.
    """
    receiver = _Receiver(
        settings=settings,
        store=store,
        clock=clock,
        writer=GroupCommitWriter(store),
        throttle=FailedKeyThrottle(),
        keys=tuple(key.encode("utf-8") for key in settings.api_keys),
    )

    def start() -> None:
        receiver.writer.start()
        if not settings.api_keys:
            logger.warning(
                "NO API KEY CONFIGURED: %s accepts deliveries from anyone who can reach it. "
                "Set ACHECKIN_SYNC_API_KEYS or ingest.api_keys_file and the same key in the ACheckin CMS.",
                WEBHOOK_PATH,
            )
        logger.info("Receiver started on %s; valid API keys: %d", WEBHOOK_PATH, len(settings.api_keys))

    def stop() -> None:
        receiver.writer.stop()
        logger.info("Receiver stopped")

    return Litestar(
        route_handlers=[_webhook_handler(receiver), _health_handler(receiver)],
        on_startup=[start],
        on_shutdown=[stop],
        # The process running the app (serve, tests) configures logging, not the app.
        logging_config=None,
        exception_handlers={500: _internal_error},
        openapi_config=OpenAPIConfig(
            title="acheckin-sync receiver",
            version="0.1.0",
            description="Receives ACheckin attendance webhooks and stores them in SQLite.",
            components=Components(
                security_schemes={
                    "acheckinApiKey": SecurityScheme(
                        type="apiKey",
                        name="X-API-KEY",
                        security_scheme_in="header",
                        description="The API Key set for the webhook in the ACheckin CMS.",
                    )
                }
            ),
        ),
    )


def _webhook_handler(receiver: _Receiver) -> HTTPRouteHandler:
    @post(
        WEBHOOK_PATH,
        status_code=200,
        summary="Receive one ACheckin delivery",
        description="Stores a CHECKIN or JOIN_EVENT delivery, then responds.",
        operation_class=_webhook_operation_class(receiver.clock() + MAX_FUTURE_MS),
        security=[{"acheckinApiKey": []}],
        request_max_body_size=None,
        responses={
            400: ResponseSpec(ErrorBody, description="The body is not a JSON object; kept in quarantine."),
            401: ResponseSpec(ErrorBody, description="X-API-KEY is missing or wrong; nothing stored."),
            413: ResponseSpec(ErrorBody, description="The body is over the size limit; nothing stored."),
            422: ResponseSpec(ErrorBody, description="A needed field or the type is unusable; kept in quarantine."),
            503: ResponseSpec(ErrorBody, description="The database could not store the delivery; retry."),
        },
    )
    async def receive_delivery(request: Request) -> Response[DeliveryAccepted]:
        received_at_ms = receiver.clock()
        address = request.client.host if request.client else "unknown"
        try:
            await _check_api_key(receiver, request, address)
            body = await _read_body(request, receiver.settings.body_limit_bytes)
        except UnauthorizedDelivery as exc:
            return _error_response(exc)
        except (BodyTooLarge, ClientDisconnected) as exc:
            logger.warning("Rejected delivery from %s, nothing stored: %s", address, exc.message_en)
            return _error_response(exc)

        headers = _storable_headers(request)
        webhook_type = request.headers.get(WEBHOOK_TYPE_HEADER)
        try:
            delivery = parse_delivery(body, webhook_type, receiver.clock())
        except UnreadableDelivery as exc:
            return await _quarantine(receiver, body, headers, received_at_ms, exc)

        item = AcceptDelivery(delivery=delivery, body=body, headers=headers, received_at_ms=received_at_ms)
        try:
            result = await receiver.writer.submit(item)
        except StoreUnavailable as exc:
            _log_store_failure(exc, delivery.checkin.webhook_type, delivery.checkin.user_id)
            return _error_response(exc)

        checkin = delivery.checkin
        logger.info(
            "Delivery type=%s user_id=%s checkin_time=%s outcome=%s delivery_id=%s warnings=%d",
            checkin.webhook_type.value,
            checkin.user_id,
            _utc_text(checkin.checkin_timestamp),
            result.outcome.value,
            result.delivery_id,
            len(delivery.warnings),
        )
        return Response(_accepted_body(result, delivery.warnings), status_code=200)

    return receive_delivery


def _health_handler(receiver: _Receiver) -> HTTPRouteHandler:
    @get("/healthz", summary="Report whether the receiver can store deliveries")
    async def healthz() -> Response[HealthStatus]:
        if receiver.writer.running:
            return Response(HealthStatus(status="ok"), status_code=200)
        return Response(HealthStatus(status="unavailable"), status_code=503)

    return healthz


async def _check_api_key(receiver: _Receiver, request: Request, address: str) -> None:
    """Raise UnauthorizedDelivery unless the sent key matches a valid key; pass when none is configured."""
    if not receiver.keys:
        return

    # ASGI servers decode header bytes as latin-1, so this recovers the bytes sent.
    sent = request.headers.get(API_KEY_HEADER, "").encode("latin-1", "replace")
    matched = False
    for key in receiver.keys:
        # Compare against every key, so the time taken never hints which key was close.
        matched |= hmac.compare_digest(sent, key)
    if matched:
        receiver.throttle.record_success(address)
        return

    failures, delay_s = receiver.throttle.record_failure(address)
    if _is_power_of_ten(failures):
        logger.warning(
            "Rejected delivery from %s: X-API-KEY %s (failures from this address: %d)",
            address,
            "missing" if not sent else "wrong",
            failures,
        )
    if delay_s:
        await asyncio.sleep(delay_s)
    raise UnauthorizedDelivery(
        "Thiếu khóa API hoặc khóa API không đúng (header X-API-KEY)",
        "The API key is missing or wrong (header X-API-KEY)",
    )


async def _read_body(request: Request, limit: int) -> bytes:
    """Read the body, raising BodyTooLarge before reading past `limit` bytes."""
    announced = request.headers.get("content-length")
    if announced is not None and announced.strip().isdigit() and int(announced) > limit:
        raise _body_too_large(limit)

    chunks = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _body_too_large(limit)
            chunks.append(chunk)
    except InternalServerException as exc:
        # Litestar raises this when the client disconnects in the middle of the body.
        raise ClientDisconnected(
            f"Kết nối bị đóng sau {size} byte, trước khi nhận đủ nội dung; không lưu gì",
            f"The connection closed after {size} bytes, before the body was complete; nothing was stored",
        ) from exc
    return b"".join(chunks)


async def _quarantine(
    receiver: _Receiver, body: bytes, headers: dict[str, str], received_at_ms: int, error: UnreadableDelivery
) -> Response[ErrorBody]:
    item = QuarantineDelivery(body=body, headers=headers, received_at_ms=received_at_ms, error=error)
    try:
        result = await receiver.writer.submit(item)
    except StoreUnavailable as exc:
        _log_store_failure(exc, None, None)
        return _error_response(exc)

    # The problems may quote a bad value, so only their field names are logged.
    logger.info(
        "Delivery quarantined quarantine_id=%s status=%d problem_fields=%s",
        result.quarantine_id,
        error.status_code,
        ",".join(problem.field for problem in error.problems),
    )
    return _error_response(error)


def _error_response(error: IngestError) -> Response[ErrorBody]:
    problems = [
        FieldMessage(problem.field, problem.message, problem.message_en)
        for problem in getattr(error, "problems", ())
    ]
    headers = {"Retry-After": "1"} if isinstance(error, StoreUnavailable) else None
    return Response(
        ErrorBody(error=error.message, error_en=error.message_en, problems=problems),
        status_code=error.status_code,
        headers=headers,
    )


def _internal_error(request: Request, error: Exception) -> Response[ErrorBody]:
    """Log an unexpected error with its traceback and respond 500 in both languages."""
    logger.error("Unexpected error on %s %s", request.method, request.url.path, exc_info=error)
    return Response(
        ErrorBody(error="Lỗi nội bộ của máy nhận; hãy gửi lại sau", error_en="Internal error in the receiver; retry later"),
        status_code=500,
    )


def _accepted_body(result: WriteResult, warnings: tuple[FieldWarning, ...]) -> DeliveryAccepted:
    return DeliveryAccepted(
        outcome=result.outcome.value,
        delivery_id=result.delivery_id or 0,
        checkin_id=result.checkin_id or 0,
        warnings=[FieldMessage(w.field, w.message, w.message_en) for w in warnings],
    )


def _body_too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(
        f"Nội dung vượt quá giới hạn {limit} byte; không lưu gì",
        f"The body is over the limit of {limit} bytes; nothing was stored",
    )


def _storable_headers(request: Request) -> dict[str, str]:
    return {name: value for name, value in request.headers.items() if name.lower() not in SECRET_HEADERS}


def _log_store_failure(error: StoreUnavailable, webhook_type: WebhookType | None, user_id: str | None) -> None:
    logger.error(
        "Responded 503, delivery NOT stored (type=%s user_id=%s): %s",
        webhook_type.value if webhook_type else "-",
        user_id or "-",
        error.message_en,
    )


def _utc_text(instant_ms: int) -> str:
    moment = dt.datetime.fromtimestamp(instant_ms / 1000, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _is_power_of_ten(number: int) -> bool:
    while number % 10 == 0 and number > 1:
        number //= 10
    return number == 1


def _webhook_operation_class(latest_timestamp_ms: int) -> type[Operation]:
    """Return the webhook's OpenAPI operation class, with its body and type header.

    The handler reads the raw body itself (to check the key and the size first), so
    Litestar cannot infer the body schema from a signature. The schema matches what
    the receiver accepts: optional fields take any value (a non-text value is stored
    as NULL with a warning), and `latest_timestamp_ms` is the clock at start-up plus
    a day, the latest check-in time accepted then.
    """

    @dataclasses.dataclass
    class WebhookOperation(Operation):
        def __post_init__(self) -> None:
            self.request_body = RequestBody(
                content={"application/json": OpenAPIMediaType(schema=_delivery_schema(latest_timestamp_ms))},
                description="One ACheckin delivery; unknown fields are kept.",
                required=True,
            )
            self.parameters = [
                Parameter(
                    name="X-WEBHOOK-TYPE",
                    param_in="header",
                    required=True,
                    schema=Schema(type=OpenAPIType.STRING, enum=[member.value for member in WebhookType]),
                    description="CHECKIN or JOIN_EVENT, read case-insensitively.",
                )
            ]

    return WebhookOperation


def _delivery_schema(latest_timestamp_ms: int) -> Schema:
    identifier = Schema(
        one_of=[Schema(type=OpenAPIType.STRING, pattern=r"\S"), Schema(type=OpenAPIType.INTEGER)],
        description=f"An id in ACheckin; an integer is read as its decimal text. '{UNSPECIFIED}' is rejected.",
    )
    optional_text = Schema(
        description=f"Text. A missing field, null, '{UNSPECIFIED}' or a non-text value is stored as NULL with a warning.",
    )
    return Schema(
        type=OpenAPIType.OBJECT,
        required=["user_id", "workspace_id", "checkin_timestamp"],
        properties={
            "user_id": identifier,
            "workspace_id": identifier,
            "checkin_timestamp": Schema(
                type=OpenAPIType.INTEGER,
                minimum=EARLIEST_PLAUSIBLE_MS,
                maximum=latest_timestamp_ms,
                description=(
                    "The check-in instant in Unix milliseconds, from 2015 to a day after the receiver's clock. "
                    "A string of digits is read as the same number."
                ),
            ),
            **{field: optional_text for field in TEXT_FIELDS},
            "working_group": Schema(
                properties={
                    "begin": Schema(description="Shift begin as HHmm without leading zero: 830 is 08:30."),
                    "end": Schema(description="Shift end as HHmm; an end before the begin runs past midnight."),
                },
                description=(
                    "The employee's shift {begin, end}, sent with a first check-in. A value that is not a shift "
                    "(not an object, not HHmm times, begin equal to end) is dropped with a warning."
                ),
            ),
        },
        additional_properties=True,
    )
