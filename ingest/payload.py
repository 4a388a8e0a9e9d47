"""Decoding and normalising one ACheckin delivery: strict about meaning, tolerant about form.

A delivery is kept as a check-in when it has a known webhook type (the
`X-WEBHOOK-TYPE` header, read case-insensitively), a `user_id`, a `workspace_id` and a
plausible `checkin_timestamp` in Unix milliseconds. Every other field may be missing,
`null`, of the wrong type or `Không xác định` (ACheckin's "unspecified", sent for a
field the firm did not grant): it becomes None with a warning. All text is NFC.
Fields this module does not know are kept in `Checkin.extra`.

`working_group.begin`/`end` are `HHmm` numbers without a leading zero (`830` is 08:30).
They are split arithmetically into minutes after local midnight. A value that is not
a clock time, or a group whose begin equals its end, drops the whole group with a
warning.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import reprlib
import unicodedata
from typing import Any

import msgspec

from ingest.errors import NotJson, Problem, UnreadableDelivery

UNSPECIFIED = "Không xác định"
"""ACheckin's literal for a field the firm did not grant: unknown, never a real value."""

EARLIEST_PLAUSIBLE_MS = 1_420_070_400_000
"""2015-01-01T00:00:00Z; an earlier check-in time is a mistake, not history."""

MAX_FUTURE_MS = 24 * 3600 * 1000
"""How far after the receiver's clock a check-in may lie (clock skew allowance)."""

REQUIRED_FIELDS = ("user_id", "workspace_id", "checkin_timestamp")

TEXT_FIELDS = (
    "name",
    "sex",
    "phone_number",
    "email",
    "company_id",
    "office_location",
    "machine_id",
    "avatar",
)

FIELDS_THE_SENDER_MARKS_REQUIRED = frozenset({"name", "sex", "avatar"})
"""Fields ACheckin's page lists as required but that may still arrive unknown; a
missing one gets a warning, while a missing optional field does not."""

KNOWN_FIELDS = frozenset((*REQUIRED_FIELDS, *TEXT_FIELDS, "working_group"))

_UNSPECIFIED_KEY = unicodedata.normalize("NFC", UNSPECIFIED).casefold()
_DIGITS = re.compile(r"\s*(\d+)\s*")
_BOM = b"\xef\xbb\xbf"
_JSON = msgspec.json.Decoder()


class WebhookType(enum.StrEnum):
    """The `X-WEBHOOK-TYPE` of a delivery; `jobs.figures` re-exports it."""

    CHECKIN = "CHECKIN"
    JOIN_EVENT = "JOIN_EVENT"


class WorkingGroup(msgspec.Struct, frozen=True, order=True):
    """A shift sent by ACheckin: begin and end as minutes after local midnight.

    An end before its begin runs past midnight; begin never equals end.
    """

    begin: int
    end: int

    @property
    def begin_text(self) -> str:
        """The begin as `HH:MM`."""
        return minutes_to_text(self.begin)

    @property
    def end_text(self) -> str:
        """The end as `HH:MM`."""
        return minutes_to_text(self.end)


class FieldWarning(msgspec.Struct, frozen=True):
    """A field that was stored as None (or dropped) instead of its sent value."""

    field: str
    message: str
    message_en: str


class Checkin(msgspec.Struct, frozen=True, kw_only=True):
    """One normalised check-in; instants are Unix milliseconds (UTC)."""

    webhook_type: WebhookType
    workspace_id: str
    user_id: str
    checkin_timestamp: int
    name: str | None = None
    sex: str | None = None
    phone_number: str | None = None
    email: str | None = None
    company_id: str | None = None
    office_location: str | None = None
    machine_id: str | None = None
    avatar: str | None = None
    working_group: WorkingGroup | None = None
    extra: dict[str, Any] = {}


class Delivery(msgspec.Struct, frozen=True):
    """A readable delivery: its check-in and the warnings about fields set to None."""

    checkin: Checkin
    warnings: tuple[FieldWarning, ...] = ()


def parse_delivery(body: bytes, webhook_type_header: str | None, now_ms: int) -> Delivery:
    """Decode and normalise one delivery's body and `X-WEBHOOK-TYPE` header.

    `now_ms` is the receiver's clock (Unix ms); a check-in more than a day after it is
    rejected. Raises NotJson when the body is not a JSON object, and
    UnreadableDelivery when the type or a needed field is unusable. Both errors list
    every problem found.
    """
    problems: list[Problem] = []

    webhook_type = _parse_webhook_type(webhook_type_header, problems)
    document = _decode_object(body, problems)
    if document is None:
        raise NotJson(problems)

    user_id = _parse_id(document, "user_id", problems)
    workspace_id = _parse_id(document, "workspace_id", problems)
    checkin_timestamp = _parse_timestamp(document.get("checkin_timestamp"), now_ms, problems)
    if webhook_type is None or user_id is None or workspace_id is None or checkin_timestamp is None:
        raise UnreadableDelivery(problems)

    warnings: list[FieldWarning] = []
    texts = {field: _parse_optional_text(document, field, warnings) for field in TEXT_FIELDS}
    working_group = _parse_working_group(document.get("working_group"), warnings)
    extra = _nfc_extra({key: value for key, value in document.items() if key not in KNOWN_FIELDS})

    checkin = Checkin(
        webhook_type=webhook_type,
        workspace_id=workspace_id,
        user_id=user_id,
        checkin_timestamp=checkin_timestamp,
        working_group=working_group,
        extra=extra,
        **texts,
    )
    return Delivery(checkin=checkin, warnings=tuple(warnings))


def hhmm_to_minutes(value: int) -> int | None:
    """Return minutes after midnight of an `HHmm` number, or None when it is not a time.

    `105` is 01:05 (65), `30` is 00:30, `0` is 00:00; `1275` (75 minutes) and `2400`
    are not times.
    """
    if value < 0:
        return None
    hours, minutes = divmod(value, 100)
    if hours >= 24 or minutes >= 60:
        return None
    return hours * 60 + minutes


def minutes_to_text(minutes: int) -> str:
    """Format minutes after midnight as `HH:MM`."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def text_to_minutes(text: str) -> int:
    """Parse `HH:MM` (as stored in SQLite) back to minutes after midnight."""
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def is_unspecified(value: object) -> bool:
    """Return whether a value is ACheckin's `Không xác định`, in any case, form or padding."""
    if not isinstance(value, str):
        return False
    return unicodedata.normalize("NFC", value).strip().casefold() == _UNSPECIFIED_KEY


def _parse_webhook_type(header: str | None, problems: list[Problem]) -> WebhookType | None:
    if header is None or not header.strip():
        problems.append(
            Problem(
                "X-WEBHOOK-TYPE",
                "Thiếu header X-WEBHOOK-TYPE; cần CHECKIN hoặc JOIN_EVENT",
                "The X-WEBHOOK-TYPE header is missing; expected CHECKIN or JOIN_EVENT",
            )
        )
        return None
    try:
        return WebhookType(header.strip().upper())
    except ValueError:
        shown = _shorten(header)
        problems.append(
            Problem(
                "X-WEBHOOK-TYPE",
                f"Loại webhook không hợp lệ trong header X-WEBHOOK-TYPE: {shown!r}; cần CHECKIN hoặc JOIN_EVENT",
                f"Invalid webhook type in the X-WEBHOOK-TYPE header: {shown!r}; expected CHECKIN or JOIN_EVENT",
            )
        )
        return None


def _decode_object(body: bytes, problems: list[Problem]) -> dict[str, Any] | None:
    if body.startswith(_BOM):
        body = body[len(_BOM) :]
    try:
        document = _JSON.decode(body)
    except (msgspec.MsgspecError, RecursionError) as exc:
        problems.append(
            Problem(
                "body",
                f"Nội dung không phải JSON hợp lệ (UTF-8): {exc}",
                f"The body is not valid JSON (UTF-8): {exc}",
            )
        )
        return None
    if not isinstance(document, dict):
        problems.append(
            Problem(
                "body",
                f"Nội dung phải là một đối tượng JSON, nhận được {type(document).__name__}",
                f"The body must be a JSON object, got {type(document).__name__}",
            )
        )
        return None
    return document


def _parse_id(document: dict[str, Any], field: str, problems: list[Problem]) -> str | None:
    """Return a needed id as text; an integer (or integral float) id becomes its decimal text."""
    if field not in document or document[field] is None:
        problems.append(Problem(field, f"Thiếu trường bắt buộc {field}", f"The needed field {field} is missing"))
        return None

    value = document[field]
    if is_unspecified(value):
        problems.append(
            Problem(
                field,
                f"Trường bắt buộc {field} là '{UNSPECIFIED}'; hãy cấp quyền trường này cho webhook trong CMS ACheckin",
                f"The needed field {field} is '{UNSPECIFIED}' (unspecified); grant this field to the webhook in the ACheckin CMS",
            )
        )
        return None
    if isinstance(value, int | float) and (whole := _as_integer(value)) is not None:
        return str(whole)

    text = _clean_text(value)
    if text is None or not text.strip():
        shown = _shorten(reprlib.repr(value))
        problems.append(
            Problem(
                field,
                f"Trường {field} phải là chuỗi không rỗng, nhận được {shown}",
                f"The field {field} must be a non-empty string, got {shown}",
            )
        )
        return None
    return text.strip()


def _parse_timestamp(value: object, now_ms: int, problems: list[Problem]) -> int | None:
    """Return the check-in instant in Unix ms, rejecting seconds and implausible dates."""
    field = "checkin_timestamp"
    number = _as_integer(value)
    if number is None:
        shown = _shorten(reprlib.repr(value))
        if value is None:
            problems.append(Problem(field, "Thiếu trường bắt buộc checkin_timestamp", "The needed field checkin_timestamp is missing"))
        else:
            problems.append(
                Problem(
                    field,
                    f"checkin_timestamp phải là số nguyên mili giây Unix, nhận được {shown}",
                    f"checkin_timestamp must be a whole number of Unix milliseconds, got {shown}",
                )
            )
        return None

    latest_ms = now_ms + MAX_FUTURE_MS
    if EARLIEST_PLAUSIBLE_MS <= number * 1000 <= latest_ms and number < EARLIEST_PLAUSIBLE_MS:
        problems.append(
            Problem(
                field,
                f"checkin_timestamp {number} có vẻ tính bằng giây ({_utc_text(number * 1000)}); ACheckin gửi mili giây",
                f"checkin_timestamp {number} looks like seconds ({_utc_text(number * 1000)}); milliseconds are expected",
            )
        )
        return None
    if number < EARLIEST_PLAUSIBLE_MS:
        problems.append(
            Problem(
                field,
                f"checkin_timestamp {number} rơi vào trước năm 2015; cần mili giây Unix của lần chấm công",
                f"checkin_timestamp {number} is before 2015; expected the check-in's Unix milliseconds",
            )
        )
        return None
    if number > latest_ms:
        problems.append(
            Problem(
                field,
                f"checkin_timestamp {number} muộn hơn giờ của máy nhận ({_utc_text(now_ms)}) quá một ngày; hãy kiểm tra đồng hồ",
                f"checkin_timestamp {number} is more than a day after the receiver's clock ({_utc_text(now_ms)}); check the clocks",
            )
        )
        return None
    return number


def _parse_optional_text(document: dict[str, Any], field: str, warnings: list[FieldWarning]) -> str | None:
    if field not in document:
        if field in FIELDS_THE_SENDER_MARKS_REQUIRED:
            warnings.append(FieldWarning(field, f"Thiếu trường {field}; lưu là trống", f"The field {field} is missing; stored as NULL"))
        return None

    value = document[field]
    if value is None or is_unspecified(value):
        shown = "null" if value is None else f"'{UNSPECIFIED}'"
        warnings.append(
            FieldWarning(field, f"Trường {field} là {shown}; lưu là trống", f"The field {field} is {shown}; stored as NULL")
        )
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)

    text = _clean_text(value)
    if text is None or not text:
        shown = _shorten(reprlib.repr(value))
        warnings.append(
            FieldWarning(
                field,
                f"Trường {field} không phải chuỗi hợp lệ ({shown}); lưu là trống",
                f"The field {field} is not a valid string ({shown}); stored as NULL",
            )
        )
        return None
    return text


def _parse_working_group(value: object, warnings: list[FieldWarning]) -> WorkingGroup | None:
    """Return the shift in minutes, or None with a warning when it is not one.

    A missing or null `working_group` is normal (ACheckin sends it only with a first
    check-in) and gives no warning.
    """
    if value is None:
        return None

    def drop(reason: str, reason_en: str) -> None:
        warnings.append(
            FieldWarning(
                "working_group",
                f"Bỏ qua working_group: {reason}; vẫn giữ lần chấm công",
                f"working_group dropped: {reason_en}; the check-in is kept",
            )
        )

    if is_unspecified(value):
        drop(f"giá trị là '{UNSPECIFIED}'", f"the value is '{UNSPECIFIED}' (unspecified)")
        return None
    if not isinstance(value, dict):
        shown = _shorten(reprlib.repr(value))
        drop(f"cần đối tượng {{begin, end}}, nhận được {shown}", f"expected an object {{begin, end}}, got {shown}")
        return None

    minutes: dict[str, int] = {}
    for key in ("begin", "end"):
        raw = value.get(key)
        number = _as_integer(raw)
        parsed = hhmm_to_minutes(number) if number is not None else None
        if parsed is None:
            shown = _shorten(reprlib.repr(raw))
            drop(f"{key} = {shown} không phải giờ HHmm", f"{key} = {shown} is not an HHmm time")
            return None
        minutes[key] = parsed

    if minutes["begin"] == minutes["end"]:
        shown = minutes_to_text(minutes["begin"])
        drop(f"giờ bắt đầu bằng giờ kết thúc ({shown})", f"begin equals end ({shown})")
        return None
    return WorkingGroup(begin=minutes["begin"], end=minutes["end"])


def _as_integer(value: object) -> int | None:
    """Return a whole number sent as an integer, an integral float or a digit string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and (match := _DIGITS.fullmatch(value)):
        return int(match.group(1))
    return None


def _clean_text(value: object) -> str | None:
    """Return a string as NFC, or None when it is not a string SQLite can store as UTF-8."""
    if not isinstance(value, str):
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return unicodedata.normalize("NFC", value)


def _nfc_extra(extra: dict[str, Any]) -> dict[str, Any]:
    """Return unknown fields with every key and string NFC, at any nesting depth.

    The fields go through JSON text instead of a recursive walk, so nesting as deep
    as the decoder allows cannot exhaust Python's stack. Normalising the whole text
    equals normalising each string, because JSON's structural characters are ASCII
    and never combine with a neighbour. Keys equal after NFC merge, the last winning.
    """
    if not extra:
        return {}
    text = msgspec.json.encode(extra).decode("utf-8")
    return _JSON.decode(unicodedata.normalize("NFC", text).encode("utf-8"))


def _utc_text(instant_ms: int) -> str:
    try:
        moment = dt.datetime.fromtimestamp(instant_ms / 1000, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return "?"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
