"""Render the month's tables into one Google spreadsheet, one tab per month and view.

Each export rewrites the tabs of one month (for example `2026-11 Bảng chấm công` and
`2026-11 Chi tiết`) in at most five Sheets API calls, however many employees there
are. The only exception is a month whose values or staging formats do not fit
`max_request_bytes`: those are split into more requests. The calls:

1. `spreadsheets.get`: the tabs that exist (metadata only).
2. `values.batchGet`: the managers' notes (the `editable` column) of the tabs being
   replaced, by (employee id, date). Skipped when no such tab exists yet.
3. `spreadsheets.batchUpdate`: add a hidden staging tab per view, sized to the new
   contents, with its number formats, bold header and shading.
4. `values.batchUpdate` with `valueInputOption=RAW`: every staging tab's values.
5. `spreadsheets.batchUpdate`: swap. The live tab is resized, cleared and pasted
   from its staging tab, which is then deleted (on the first export the staging
   tab is renamed and shown instead). Column widths and frozen panes go here too.

Google applies every request of one `spreadsheets.batchUpdate` or none of them, so
a failure at any step leaves the live tabs as the previous export wrote them. The
one exception is a swap applied whose response was lost: then they are as this
export wrote them. Either way the next export deletes the hidden staging tabs left
behind. The live tab keeps its sheet id, so formulas in other tabs that refer to it
keep working.

NOTE: a note typed between step 2 and step 5 (a few seconds) is overwritten by the
swap; the spreadsheet's version history still has it.

Values go RAW, so `0912345678`, `+84…` and `=HYPERLINK(…)` stay text. Dates and
times go as serial numbers (days since 1899-12-30, the time of day as the
fraction) with a `dd/mm/yyyy` or `hh:mm` number format, so the spreadsheet's
locale cannot swap day and month.

Errors (all derive from `SheetsError`):

    SheetsError
    ├── SheetsConfigError       credentials file or spreadsheet reference unusable
    ├── SheetsRequestError      Google rejected a request (a 4xx other than 429)
    └── SheetsUnavailableError  429, 5xx or timeouts went on past the retry budget;
                                the caller records the export as pending

Every call is synchronous and may sleep between retries: run it off the event loop.

NOTE: Google caps a spreadsheet at 10 million cells. The daily detail of 1,000
employees fills about 0.8 million cells a month (31,000 rows of 26 columns), and an
export needs room for a staging copy of its tabs, so such a firm must delete or
archive old months' tabs within the year.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import email.utils
import json
import logging
import math
import os
import random
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import google.auth.exceptions
import requests
from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import service_account
from gspread.exceptions import APIError, NoValidUrlKeyFound
from gspread.http_client import HTTPClient
from gspread.urls import (
    SPREADSHEET_BATCH_UPDATE_URL,
    SPREADSHEET_URL,
    SPREADSHEET_VALUES_BATCH_UPDATE_URL,
)
from gspread.utils import absolute_range_name, extract_id_from_url, rowcol_to_a1

from exporters.tables import FILL_COLOURS, Column, Fill, Language, Table, ValueType

logger = logging.getLogger(__name__)

SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)
"""The only OAuth scope the exporter needs: read and write spreadsheets shared with it."""

CREDENTIALS_ENV = "GOOGLE_APPLICATION_CREDENTIALS"

DEFAULT_MAX_REQUEST_BYTES = 1_500_000
"""Largest request body sent. Google recommends at most 2 MB per request; the margin
leaves room for headers and for estimates of non-ASCII text."""

NOTE_ROW_KEY = ("user_id", "date")
"""The columns that identify a row whose `editable` cell a manager may fill in."""

SERIAL_EPOCH = dt.datetime(1899, 12, 30)
"""Day 0 of spreadsheet date serial numbers (Google Sheets and Excel agree after 1900-03-01)."""

_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_STAGING_SUFFIX_RE = re.compile(r" ~[0-9a-f]{8}$")
_CONTROL_CHARACTERS_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""C0 and C1 controls except tab and line feed (header labels use line feeds)."""

_NUMBER_FORMAT_TYPES: dict[ValueType, str] = {
    ValueType.TEXT: "TEXT",
    ValueType.INTEGER: "NUMBER",
    ValueType.DECIMAL: "NUMBER",
    ValueType.DATE: "DATE",
    ValueType.TIME: "TIME",
    ValueType.DATETIME: "DATE_TIME",
}
_RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_PIXELS_PER_WIDTH_UNIT = 7
"""Column widths are in Excel character units; Sheets wants pixels (about 7 per character)."""

CellValue = str | int | float


# --- Errors ------------------------------------------------------------------------


class SheetsError(Exception):
    """Base of every error this module raises."""


class SheetsConfigError(SheetsError):
    """Raised when the credentials file or the spreadsheet reference cannot be used.

    `str(error)` is English, and `message_vi` gives the same message in Vietnamese.
    """

    def __init__(self, message: str, message_vi: str) -> None:
        super().__init__(message)
        self.message_vi = message_vi


class SheetsRequestError(SheetsError):
    """Raised when Google rejects a request for a reason a retry cannot fix (a 4xx other than 429).

    `status` is the HTTP status: 403 usually means the spreadsheet is not shared with
    the service account as an editor, 404 that the spreadsheet does not exist.
    """

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class SheetsUnavailableError(SheetsError):
    """Raised after the last retry of a 429, a 5xx, a timeout or a dropped connection.

    Nothing half-written is visible: record the export as pending and run it again
    later. `retry_after_s` is Google's last Retry-After hint in seconds, if any.
    """

    def __init__(self, message: str, attempts: int, retry_after_s: float | None) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.retry_after_s = retry_after_s


# --- Credentials and transport -------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """The retry rules of API calls: capped exponential backoff with full jitter.

    The wait before retry n (1-based) is uniform in [0, min(max_delay_s,
    initial_delay_s * 2**(n-1))], but never shorter than the server's Retry-After.
    A Retry-After longer than `max_delay_s` ends the call at once, since waiting
    would hold the scheduler's tick. Each attempt waits at most `timeout_s` for a
    response, and one client (one export) sleeps at most `sleep_budget_s` in all
    before it gives up.
    """

    max_attempts: int = 5
    initial_delay_s: float = 1.0
    max_delay_s: float = 32.0
    timeout_s: float = 60.0
    sleep_budget_s: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.initial_delay_s < 0 or self.max_delay_s < self.initial_delay_s:
            raise ValueError(f"need 0 <= initial_delay_s <= max_delay_s, got {self.initial_delay_s} and {self.max_delay_s}")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {self.timeout_s}")
        if self.sleep_budget_s < 0:
            raise ValueError(f"sleep_budget_s must not be negative, got {self.sleep_budget_s}")


def credentials_path(credentials_file: Path | None, environ: Mapping[str, str] = os.environ) -> Path:
    """Return the service-account key file: `credentials_file`, else $GOOGLE_APPLICATION_CREDENTIALS."""
    if credentials_file is not None:
        return Path(credentials_file)
    from_env = environ.get(CREDENTIALS_ENV, "").strip()
    if not from_env:
        raise SheetsConfigError(
            f"no Google credentials: set sheets.credentials_file in the config or {CREDENTIALS_ENV} "
            "to the path of a service account's JSON key file",
            f"chưa có thông tin xác thực Google: đặt sheets.credentials_file trong cấu hình hoặc {CREDENTIALS_ENV} "
            "là đường dẫn tệp khóa JSON của tài khoản dịch vụ",
        )
    return Path(from_env)


def load_credentials(path: Path) -> service_account.Credentials:
    """Load a service account's JSON key file, scoped to spreadsheets only."""
    try:
        return service_account.Credentials.from_service_account_file(str(path), scopes=list(SCOPES))
    except OSError as exc:
        raise SheetsConfigError(
            f"cannot read the Google credentials file {path}: {exc.strerror or exc}",
            f"không đọc được tệp thông tin xác thực Google {path}: {exc.strerror or exc}",
        ) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise SheetsConfigError(
            f"{path} is not a service account's JSON key file ({exc}); download a new key "
            "in Google Cloud console > IAM > Service accounts > Keys",
            f"{path} không phải tệp khóa JSON của tài khoản dịch vụ ({exc}); hãy tải khóa mới tại "
            "Google Cloud console > IAM > Service accounts > Keys",
        ) from exc


def spreadsheet_id_from(reference: str) -> str:
    """Return the spreadsheet key of `reference`, a bare key or a spreadsheet URL."""
    reference = reference.strip()
    if re.fullmatch(r"[A-Za-z0-9_-]+", reference):
        return reference
    try:
        return extract_id_from_url(reference)
    except NoValidUrlKeyFound as exc:
        raise SheetsConfigError(
            f"sheets.spreadsheet {reference!r} is neither a spreadsheet key nor a URL like "
            "https://docs.google.com/spreadsheets/d/<key>/edit",
            f"sheets.spreadsheet {reference!r} không phải khóa bảng tính cũng không phải URL dạng "
            "https://docs.google.com/spreadsheets/d/<key>/edit",
        ) from exc


class _RetryingHTTPClient(HTTPClient):
    """gspread's HTTP client with a timeout on every call and `RetryPolicy` retries."""

    def __init__(self, session: requests.Session, retry: RetryPolicy, sleep: Callable[[float], None], rng: random.Random) -> None:
        super().__init__(auth=None, session=session)  # type: ignore[arg-type]
        self.set_timeout(retry.timeout_s)
        self._retry = retry
        self._sleep = sleep
        self._rng = rng
        self.calls = 0
        """Attempts sent, retries included."""
        self.slept_s = 0.0

    def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> requests.Response:
        retry_after: float | None = None
        for attempt in range(1, self._retry.max_attempts + 1):
            self.calls += 1
            try:
                return super().request(method, endpoint, *args, **kwargs)
            except APIError as exc:
                status = exc.response.status_code
                if status in (400, 409) and attempt > 1:
                    # An earlier attempt may have been applied before its response was lost
                    # (a batch that added a tab fails on retry because the tab exists), so
                    # this is no proof of a bad request: let the next export start over.
                    raise SheetsUnavailableError(
                        f"Google Sheets rejected the retry of {method.upper()} {_path(endpoint)} ({exc}); an earlier "
                        "attempt may have been applied, so the export stays pending and runs again later",
                        attempts=attempt,
                        retry_after_s=retry_after,
                    ) from exc
                if status not in _RETRYABLE_STATUSES:
                    raise SheetsRequestError(f"Google Sheets rejected {method.upper()} {_path(endpoint)}: {exc}", status) from exc
                retry_after = _retry_after_seconds(exc.response)
                failure: Exception = exc
            except google.auth.exceptions.RefreshError as exc:
                raise SheetsConfigError(
                    f"Google rejected the service account's key ({exc}); create a new key for the service account "
                    "and point sheets.credentials_file at it",
                    f"Google từ chối khóa của tài khoản dịch vụ ({exc}); hãy tạo khóa mới cho tài khoản dịch vụ "
                    "và trỏ sheets.credentials_file tới khóa đó",
                ) from exc
            except (requests.Timeout, requests.ConnectionError, google.auth.exceptions.TransportError) as exc:
                retry_after = None
                failure = exc

            delay = self._delay(attempt, retry_after)
            if attempt == self._retry.max_attempts or delay is None or self.slept_s + delay > self._retry.sleep_budget_s:
                raise SheetsUnavailableError(
                    f"Google Sheets did not accept {method.upper()} {_path(endpoint)} after {attempt} attempts "
                    f"(last: {failure}); the export stays pending and runs again later",
                    attempts=attempt,
                    retry_after_s=retry_after,
                ) from failure
            logger.warning("Sheets call %s %s failed (%s), retry %d in %.2f s", method.upper(), _path(endpoint), failure, attempt, delay)
            self._sleep(delay)
            self.slept_s += delay
        raise AssertionError("unreachable: the loop returns or raises")

    def _delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Return the wait before the next attempt, or None when Retry-After exceeds `max_delay_s`."""
        cap = min(self._retry.max_delay_s, self._retry.initial_delay_s * 2 ** (attempt - 1))
        delay = self._rng.uniform(0, cap)
        if retry_after is None:
            return delay
        if retry_after > self._retry.max_delay_s:
            return None
        return max(delay, retry_after)


def _retry_after_seconds(response: requests.Response) -> float | None:
    """Return the Retry-After header in seconds (delta-seconds or an HTTP date), if present."""
    header = response.headers.get("Retry-After")
    if header is None:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())


def _path(endpoint: str) -> str:
    """Return the URL path of `endpoint` for logs and messages, without the spreadsheet key."""
    return re.sub(r"/spreadsheets/[^/:]+", "/spreadsheets/<key>", requests.utils.urlparse(endpoint).path)


class SheetsClient:
    """Sends Sheets API v4 requests through gspread's `HTTPClient` over `session`.

    Production passes `authorized_session(credentials)`; tests pass a session whose
    transport is a fake of the API. `sleep` and `rng` drive the retry waits.
    """

    def __init__(
        self,
        session: requests.Session,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._http = _RetryingHTTPClient(session, retry, sleep, rng or random.Random())
        self.max_request_bytes_sent = 0

    @property
    def calls(self) -> int:
        """Requests sent so far, retries included."""
        return self._http.calls

    def get_metadata(self, spreadsheet_id: str, fields: str) -> dict[str, Any]:
        """Return `spreadsheets.get` without grid data, limited to `fields`."""
        return self._http.fetch_sheet_metadata(spreadsheet_id, params={"includeGridData": "false", "fields": fields})

    def get_values(self, spreadsheet_id: str, ranges: list[str], major_dimension: str) -> list[list[list[Any]]]:
        """Return the unformatted values of `ranges` (dates as serial numbers), in order."""
        params = {"majorDimension": major_dimension, "valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER"}
        answer = self._http.values_batch_get(spreadsheet_id, ranges, params=params)
        return [value_range.get("values", []) for value_range in answer.get("valueRanges", [])]

    def batch_update(self, spreadsheet_id: str, requests_: list[dict[str, Any]]) -> dict[str, Any]:
        """Send one `spreadsheets.batchUpdate`; Google applies all of `requests_` or none."""
        return self._post(SPREADSHEET_BATCH_UPDATE_URL % spreadsheet_id, {"requests": requests_})

    def update_values(self, spreadsheet_id: str, data: list[dict[str, Any]]) -> dict[str, Any]:
        """Send one `values.batchUpdate` with `valueInputOption=RAW`."""
        return self._post(SPREADSHEET_VALUES_BATCH_UPDATE_URL % spreadsheet_id, {"valueInputOption": "RAW", "data": data})

    def _post(self, url: str, body: Mapping[str, Any]) -> dict[str, Any]:
        payload = encode_json(body)
        self.max_request_bytes_sent = max(self.max_request_bytes_sent, len(payload))
        response = self._http.request("post", url, data=payload, headers={"Content-Type": "application/json; charset=utf-8"})
        return response.json()


def authorized_session(credentials: service_account.Credentials) -> requests.Session:
    """Return a requests session that signs each call with `credentials`' access token."""
    return AuthorizedSession(credentials)


def encode_json(body: Any) -> bytes:
    """Encode a request body as compact UTF-8 JSON (what is sent and what is measured)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


# --- Cell values ----------------------------------------------------------------------


def clean_text(text: str) -> str:
    """Return `text` in NFC without control characters (tab and line feed stay)."""
    return _CONTROL_CHARACTERS_RE.sub("", unicodedata.normalize("NFC", text))


def serial_number(value: dt.date | dt.datetime | dt.time) -> int | float:
    """Return the spreadsheet serial number of a date, a naive local datetime or a time.

    A date counts whole days since 1899-12-30. A datetime adds the time of day as a
    fraction of a day, and a `time` is that fraction alone.
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            raise ValueError(f"expected a naive local datetime, got {value.isoformat()} with a time zone")
        delta = value - SERIAL_EPOCH
        return delta.days + (delta.seconds + delta.microseconds / 1_000_000) / 86_400
    if isinstance(value, dt.date):
        return (value - SERIAL_EPOCH.date()).days
    return (value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1_000_000) / 86_400


def cell_value(value: Any, column: Column) -> CellValue:
    """Return what the API receives for `value` in `column`: text, a number or "" for blank.

    A string is always sent as text, whatever the column's type, so a symbol in a
    number column still shows. Numbers must be finite.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return clean_text(value)
    if column.type is ValueType.TEXT:
        return clean_text(str(value))
    if column.type in (ValueType.INTEGER, ValueType.DECIMAL) and isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool):
        return _finite(value, column)
    if column.type is ValueType.DATE and isinstance(value, dt.date):
        day = value.date() if isinstance(value, dt.datetime) else value
        return serial_number(day)
    if column.type in (ValueType.TIME, ValueType.DATETIME) and isinstance(value, (dt.datetime, dt.time)):
        return serial_number(value)
    raise ValueError(f"column {column.key!r} ({column.type}) cannot hold {type(value).__name__} value {value!r}")


def _finite(value: int | float | decimal.Decimal, column: Column) -> int | float:
    if isinstance(value, int):
        return value
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"column {column.key!r} holds {value!r}; the Sheets API accepts only finite numbers")
    return number


def _note_key(cells: Sequence[Any]) -> tuple[Any, ...]:
    """Return a comparable key of cells read back or about to be written (2 and 2.0 match)."""
    return tuple(round(float(cell), 9) if isinstance(cell, (int, float)) and not isinstance(cell, bool) else str(cell) for cell in cells)


# --- Tab layout -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TabLayout:
    """The cells of a table's tab and the 0-based rows of its header and data."""

    title: str
    table: Table
    grid: tuple[tuple[CellValue, ...], ...]
    header_row: int
    data_rows: int
    """Rows below the header holding the table's rows and any kept orphan notes."""

    @property
    def row_count(self) -> int:
        return len(self.grid)

    @property
    def column_count(self) -> int:
        return max(len(self.table.columns), 1)

    @property
    def first_data_row(self) -> int:
        return self.header_row + 1


@dataclasses.dataclass(frozen=True)
class _Notes:
    """The managers' notes read from a live tab: note text by row key, and each key's cells."""

    by_key: dict[tuple[Any, ...], CellValue]
    key_cells: dict[tuple[Any, ...], tuple[CellValue, ...]]


def tab_title(month: str, table: Table, language: Language) -> str:
    """Return the tab's title, for example `2026-11 Chi tiết`."""
    return f"{month} {clean_text(table.name(language))}"


def lay_out(title: str, table: Table, language: Language, notes: _Notes | None = None) -> TabLayout:
    """Return the tab's cells: title lines and a blank line, the header, the rows, a blank
    line and the footer (the Excel workbook's layout).

    Notes a manager typed in the live tab replace the table's value of the `editable`
    column on the same row key. Notes whose row is gone are kept as extra rows after
    the table's rows, so a re-export never drops them.
    """
    width = max(len(table.columns), 1)
    grid: list[tuple[CellValue, ...]] = [_padded([clean_text(line)], width) for line in table.title_lines]
    if table.title_lines:
        grid.append(_padded([], width))
    header_row = len(grid)
    grid.append(_padded([clean_text(column.label(language)) for column in table.columns], width))

    data = [tuple(cell_value(row.get(column.key), column) for column in table.columns) for row in table.rows]
    if notes is not None:
        data = _with_notes(table, data, notes)
    grid.extend(data)

    if table.footer_lines:
        grid.append(_padded([], width))
        grid.extend(_padded([clean_text(line)], width) for line in table.footer_lines)
    if len(grid) == header_row + 1:
        # Sheets refuses to freeze every row of a tab, so an empty table keeps one blank row.
        grid.append(_padded([], width))
    return TabLayout(title=title, table=table, grid=tuple(grid), header_row=header_row, data_rows=len(data))


def _padded(cells: list[CellValue], width: int) -> tuple[CellValue, ...]:
    return tuple(cells + [""] * (width - len(cells)))


def _with_notes(table: Table, data: list[tuple[CellValue, ...]], notes: _Notes) -> list[tuple[CellValue, ...]]:
    """Return `data` with each row's note put back, then a row per note whose row is gone."""
    key_indexes = _key_indexes(table)
    note_index = _editable_index(table)
    merged = []
    present = set()
    for cells in data:
        key = _note_key([cells[index] for index in key_indexes])
        present.add(key)
        note = notes.by_key.get(key, "")
        merged.append(cells if note == "" else cells[:note_index] + (note,) + cells[note_index + 1 :])

    for key in sorted(notes.by_key, key=repr):
        if key in present:
            continue
        orphan: list[CellValue] = [""] * len(table.columns)
        for index, cell in zip(key_indexes, notes.key_cells[key], strict=True):
            orphan[index] = cell
        orphan[note_index] = notes.by_key[key]
        merged.append(tuple(orphan))
    return merged


def _editable_index(table: Table) -> int:
    return next(index for index, column in enumerate(table.columns) if column.editable)


def _has_notes(table: Table) -> bool:
    return any(column.editable for column in table.columns)


def _key_indexes(table: Table) -> list[int]:
    keys = [column.key for column in table.columns]
    missing = [key for key in NOTE_ROW_KEY if key not in keys]
    if missing:
        raise ValueError(f"table {table.key!r} has an editable column, so it needs the row key columns {list(NOTE_ROW_KEY)}; missing {missing}")
    return [keys.index(key) for key in NOTE_ROW_KEY]


# --- Reading the live tabs -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Tab:
    """A tab as `spreadsheets.get` lists it."""

    sheet_id: int
    title: str
    hidden: bool


def _read_tabs(client: SheetsClient, spreadsheet_id: str) -> dict[str, _Tab]:
    metadata = client.get_metadata(spreadsheet_id, fields="sheets.properties(sheetId,title,hidden)")
    tabs = {}
    for sheet in metadata.get("sheets", []):
        properties = sheet["properties"]
        tabs[properties["title"]] = _Tab(properties["sheetId"], properties["title"], bool(properties.get("hidden", False)))
    return tabs


def _read_notes(client: SheetsClient, spreadsheet_id: str, live: Mapping[str, Table]) -> dict[str, _Notes]:
    """Return the managers' notes of each live tab in `live` (title to its new table).

    One `values.batchGet` reads the row-key and note columns where this layout puts
    them. A tab whose header does not match there (the layout changed, or a manager
    moved columns) is read whole in one more call, and its columns are found by
    their labels in either language.
    """
    if not live:
        return {}
    titles = list(live)
    ranges = [_column_range(title, index) for title in titles for index in _note_column_indexes(live[title])]
    columns = client.get_values(spreadsheet_id, ranges, major_dimension="COLUMNS")

    notes: dict[str, _Notes] = {}
    misplaced = []
    width = len(NOTE_ROW_KEY) + 1
    for position, title in enumerate(titles):
        tab_columns = [column[0] if column else [] for column in columns[position * width : (position + 1) * width]]
        found = _notes_from_rows(_transpose(tab_columns), _note_labels(live[title]))
        if found is None:
            misplaced.append(title)
        else:
            notes[title] = found

    if misplaced:
        logger.info("Sheets tabs %s have another column layout; reading them whole for the managers' notes", misplaced)
        whole = client.get_values(spreadsheet_id, [absolute_range_name(title) for title in misplaced], major_dimension="ROWS")
        for title, rows in zip(misplaced, whole, strict=True):
            found = _notes_from_rows(rows, _note_labels(live[title]))
            if found is None:
                # NOTE: a live tab whose header lost the row-key or note labels is replaced
                # without its notes. Only the spreadsheet's version history keeps them.
                logger.warning("Sheets tab %r has no header with the row key and notes columns; its notes are not carried over", title)
            else:
                notes[title] = found
    return notes


def _note_column_indexes(table: Table) -> list[int]:
    return _key_indexes(table) + [_editable_index(table)]


def _note_labels(table: Table) -> list[frozenset[str]]:
    """Return, per row-key column then the note column, the header labels it may have."""
    return [frozenset({clean_text(table.columns[index].label_vi), clean_text(table.columns[index].label_en)}) for index in _note_column_indexes(table)]


def _column_range(title: str, column_index: int) -> str:
    letter = rowcol_to_a1(1, column_index + 1).rstrip("0123456789")
    return absolute_range_name(title, f"{letter}:{letter}")


def _transpose(columns: list[list[Any]]) -> list[list[Any]]:
    height = max((len(column) for column in columns), default=0)
    return [[column[row] if row < len(column) else "" for column in columns] for row in range(height)]


def _notes_from_rows(rows: list[list[Any]], labels: list[frozenset[str]]) -> _Notes | None:
    """Find the header row that contains every label set, then collect each row's note by key.

    Returns None when no row contains all labels. Rows with a blank key cell (title
    lines, footer lines) are skipped.
    """
    for header_index, header in enumerate(rows):
        positions = [next((index for index, cell in enumerate(header) if cell in wanted), None) for wanted in labels]
        if None in positions:
            continue

        by_key: dict[tuple[Any, ...], CellValue] = {}
        key_cells: dict[tuple[Any, ...], tuple[CellValue, ...]] = {}
        for row in rows[header_index + 1 :]:
            cells = [_read_cell(row, position) for position in positions]
            keys, note = cells[:-1], cells[-1]
            if "" in keys or note == "":
                continue
            key = _note_key(keys)
            by_key.setdefault(key, note)
            key_cells.setdefault(key, tuple(keys))
        return _Notes(by_key, key_cells)
    return None


def _read_cell(row: list[Any], position: int | None) -> CellValue:
    if position is None or position >= len(row) or row[position] is None:
        return ""
    cell = row[position]
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    return cell if isinstance(cell, (int, float)) else clean_text(str(cell))


# --- Requests: staging tabs, formats, values, swap ---------------------------------


def _grid_range(sheet_id: int, rows: tuple[int, int], columns: tuple[int, int]) -> dict[str, int]:
    return {"sheetId": sheet_id, "startRowIndex": rows[0], "endRowIndex": rows[1], "startColumnIndex": columns[0], "endColumnIndex": columns[1]}


def _grid_properties(layout: TabLayout) -> dict[str, int]:
    return {
        "rowCount": layout.row_count,
        "columnCount": layout.column_count,
        "frozenRowCount": layout.header_row + 1,
        "frozenColumnCount": min(layout.table.frozen_columns, layout.column_count),
    }


def _add_staging_request(sheet_id: int, title: str, layout: TabLayout) -> dict[str, Any]:
    properties = {"sheetId": sheet_id, "title": title, "hidden": True, "gridProperties": _grid_properties(layout)}
    return {"addSheet": {"properties": properties}}


def _format_requests(sheet_id: int, layout: TabLayout) -> list[dict[str, Any]]:
    """Return the cell formats of a tab: bold title and header, a number format per column, shading."""
    header = _grid_range(sheet_id, (layout.header_row, layout.header_row + 1), (0, layout.column_count))
    requests_ = [
        {
            "repeatCell": {
                "range": header,
                "cell": {"userEnteredFormat": {"textFormat": {"bold": True}, "wrapStrategy": "WRAP", "verticalAlignment": "MIDDLE"}},
                "fields": "userEnteredFormat.textFormat.bold,userEnteredFormat.wrapStrategy,userEnteredFormat.verticalAlignment",
            }
        }
    ]
    if layout.table.title_lines:
        requests_.append(
            {
                "repeatCell": {
                    "range": _grid_range(sheet_id, (0, 1), (0, 1)),
                    "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}},
                    "fields": "userEnteredFormat.textFormat.bold",
                }
            }
        )
    data_rows = (layout.first_data_row, layout.first_data_row + layout.data_rows)
    if layout.data_rows:
        for (first, end), column in _runs(layout.table.columns, key=lambda column: column.type):
            number_format = {"type": _NUMBER_FORMAT_TYPES[column.type], "pattern": column.number_format}
            requests_.append(
                {
                    "repeatCell": {
                        "range": _grid_range(sheet_id, data_rows, (first, end)),
                        "cell": {"userEnteredFormat": {"numberFormat": number_format}},
                        "fields": "userEnteredFormat.numberFormat",
                    }
                }
            )
    requests_.extend(_fill_requests(sheet_id, layout))
    return requests_


def _fill_requests(sheet_id: int, layout: TabLayout) -> list[dict[str, Any]]:
    """Return one `repeatCell` per rectangle of equal shading, so a shaded day column
    of the monthly grid costs one request however many employees it spans."""
    table = layout.table
    column_index = {column.key: index for index, column in enumerate(table.columns)}
    cells: dict[tuple[int, int], Fill] = {}
    for (row, key), fill in table.fills.items():
        if key not in column_index or not 0 <= row < len(table.rows):
            raise ValueError(f"table {table.key!r} shades cell (row {row}, column {key!r}), which it does not have")
        cells[(row, column_index[key])] = Fill(fill)

    spans: dict[int, list[tuple[int, int, Fill]]] = {}
    for row, column in sorted(cells):
        fill = cells[(row, column)]
        row_spans = spans.setdefault(row, [])
        if row_spans and row_spans[-1][1] == column and row_spans[-1][2] is fill:
            row_spans[-1] = (row_spans[-1][0], column + 1, fill)
        else:
            row_spans.append((column, column + 1, fill))

    rectangles: list[list[Any]] = []
    open_rectangles: dict[tuple[int, int, Fill], list[Any]] = {}
    for row in sorted(spans):
        still_open = {}
        for span in spans[row]:
            rectangle = open_rectangles.get(span)
            if rectangle is not None and rectangle[1] == row:
                rectangle[1] = row + 1
            else:
                rectangle = [row, row + 1, span]
                rectangles.append(rectangle)
            still_open[span] = rectangle
        open_rectangles = still_open

    return [
        {
            "repeatCell": {
                "range": _grid_range(sheet_id, (layout.first_data_row + first, layout.first_data_row + end), (span[0], span[1])),
                "cell": {"userEnteredFormat": {"backgroundColor": _colour(FILL_COLOURS[span[2]])}},
                "fields": "userEnteredFormat.backgroundColor",
            }
        }
        for first, end, span in rectangles
    ]


def _colour(rrggbb: str) -> dict[str, float]:
    return {name: round(int(rrggbb[index : index + 2], 16) / 255, 4) for name, index in (("red", 0), ("green", 2), ("blue", 4))}


def _runs(columns: Sequence[Column], key: Callable[[Column], Any]) -> list[tuple[tuple[int, int], Column]]:
    """Group neighbouring columns with the same `key`, as ((first, end), first column)."""
    runs: list[tuple[tuple[int, int], Column]] = []
    for index, column in enumerate(columns):
        if runs and key(runs[-1][1]) == key(column) and runs[-1][0][1] == index:
            runs[-1] = ((runs[-1][0][0], index + 1), runs[-1][1])
        else:
            runs.append(((index, index + 1), column))
    return runs


def _width_requests(sheet_id: int, layout: TabLayout) -> list[dict[str, Any]]:
    pixels = lambda column: round(column.width * _PIXELS_PER_WIDTH_UNIT + 5)  # noqa: E731
    return [
        {
            "updateDimensionProperties": {
                "range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": first, "endIndex": end},
                "properties": {"pixelSize": pixels(column)},
                "fields": "pixelSize",
            }
        }
        for (first, end), column in _runs(layout.table.columns, key=pixels)
    ]


def _swap_requests(staging_id: int, layout: TabLayout, live: _Tab | None) -> list[dict[str, Any]]:
    """Return the requests that make the staged tab the visible one, in one atomic batch.

    With a live tab: resize it to the new contents (dropping rows left over from a
    longer export), clear it, paste the staging tab over it and delete the staging
    tab. Without one: rename and show the staging tab.
    """
    if live is None:
        rename = {"sheetId": staging_id, "title": layout.title, "hidden": False}
        return [{"updateSheetProperties": {"properties": rename, "fields": "title,hidden"}}, *_width_requests(staging_id, layout)]

    whole = _grid_range(live.sheet_id, (0, layout.row_count), (0, layout.column_count))
    grid_fields = ",".join(f"gridProperties.{name}" for name in _grid_properties(layout))
    return [
        {"updateSheetProperties": {"properties": {"sheetId": live.sheet_id, "hidden": False, "gridProperties": _grid_properties(layout)}, "fields": f"hidden,{grid_fields}"}},
        {"repeatCell": {"range": {"sheetId": live.sheet_id}, "cell": {}, "fields": "userEnteredValue,userEnteredFormat"}},
        {
            "copyPaste": {
                "source": _grid_range(staging_id, (0, layout.row_count), (0, layout.column_count)),
                "destination": whole,
                "pasteType": "PASTE_NORMAL",
                "pasteOrientation": "NORMAL",
            }
        },
        *_width_requests(live.sheet_id, layout),
        {"deleteSheet": {"sheetId": staging_id}},
    ]


def _value_data(staging_title: str, layout: TabLayout, limit: int) -> list[dict[str, Any]]:
    """Return the tab's `values.batchUpdate` data as blocks of rows, each small enough
    that one block plus the request's envelope stays under `limit` bytes."""
    last_column = rowcol_to_a1(1, layout.column_count).rstrip("0123456789")
    room = limit - len(encode_json({"valueInputOption": "RAW", "data": [_value_block(staging_title, 0, [], last_column)]})) - 64

    blocks: list[dict[str, Any]] = []
    start, rows, size = 0, [], 0
    for index, row in enumerate(layout.grid):
        trimmed = list(row)
        while trimmed and trimmed[-1] == "":
            trimmed.pop()
        row_bytes = len(encode_json(trimmed)) + 1
        if row_bytes > room:
            raise ValueError(f"row {index + 1} of tab {layout.title!r} needs {row_bytes} bytes, more than one request may carry ({room})")
        if rows and size + row_bytes > room:
            blocks.append(_value_block(staging_title, start, rows, last_column))
            start, rows, size = index, [], 0
        rows.append(trimmed)
        size += row_bytes
    blocks.append(_value_block(staging_title, start, rows, last_column))
    return blocks


def _value_block(title: str, start: int, rows: list[list[CellValue]], last_column: str) -> dict[str, Any]:
    cell_range = f"A{start + 1}:{last_column}{start + max(len(rows), 1)}"
    return {"range": absolute_range_name(title, cell_range), "majorDimension": "ROWS", "values": rows}


def _pack(items: Iterable[Any], envelope: Callable[[list[Any]], Any], limit: int) -> list[list[Any]]:
    """Split `items` into consecutive groups whose `envelope(group)` encodes to at most `limit` bytes."""
    empty = len(encode_json(envelope([])))
    groups: list[list[Any]] = [[]]
    size = empty
    for item in items:
        item_bytes = len(encode_json(item)) + 1
        if empty + item_bytes > limit:
            raise ValueError(f"one request part needs {item_bytes} bytes, more than a request of {limit} bytes may carry")
        if groups[-1] and size + item_bytes > limit:
            groups.append([])
            size = empty
        groups[-1].append(item)
        size += item_bytes
    return [group for group in groups if group]


# --- Export ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SheetsExportResult:
    """The summary of one export."""

    spreadsheet_id: str
    tabs: tuple[str, ...]
    rows: int
    """Table rows written, over all tabs (title, header and footer lines not counted)."""
    notes_kept: int
    """Managers' notes carried over from the tabs replaced."""
    api_calls: int
    """HTTP requests sent, retries included."""

    @property
    def url(self) -> str:
        return f"https://docs.google.com/spreadsheets/d/{self.spreadsheet_id}/edit"


def export_month(
    client: SheetsClient,
    spreadsheet: str,
    month: str,
    tables: Sequence[Table],
    language: Language,
    *,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    rng: random.Random | None = None,
) -> SheetsExportResult:
    """Rewrite the tabs of `month` (`YYYY-MM`), one per table, in the spreadsheet
    `spreadsheet` (key or URL), keeping the managers' notes. See the module docstring
    for the calls sent and why a failure never leaves a half-written tab.

    Raises `SheetsRequestError`, `SheetsUnavailableError` or `SheetsConfigError`.
    """
    spreadsheet_id = spreadsheet_id_from(spreadsheet)
    titles = _check_export(month, tables, language)
    rng = rng or random.Random()
    calls_before = client.calls

    tabs = _read_tabs(client, spreadsheet_id)
    live_with_notes = {title: table for title, table in zip(titles, tables, strict=True) if title in tabs and _has_notes(table)}
    notes = _read_notes(client, spreadsheet_id, live_with_notes)
    layouts = [lay_out(title, table, language, notes.get(title)) for title, table in zip(titles, tables, strict=True)]

    staging = _staging_tabs(layouts, tabs, rng)
    _add_staging_tabs(client, spreadsheet_id, layouts, staging, tabs, max_request_bytes)
    _write_values(client, spreadsheet_id, layouts, staging, max_request_bytes)
    swap = [request for layout in layouts for request in _swap_requests(staging[layout.title].sheet_id, layout, tabs.get(layout.title))]
    client.batch_update(spreadsheet_id, swap)

    result = SheetsExportResult(
        spreadsheet_id=spreadsheet_id,
        tabs=tuple(titles),
        rows=sum(len(table.rows) for table in tables),
        notes_kept=sum(len(found.by_key) for found in notes.values()),
        api_calls=client.calls - calls_before,
    )
    logger.info("Sheets export of %s: %d tabs, %d rows, %d notes kept, %d API calls", month, len(result.tabs), result.rows, result.notes_kept, result.api_calls)
    return result


def export_to_sheets(
    tables: Sequence[Table],
    month: str,
    *,
    spreadsheet: str,
    credentials_file: Path | None,
    language: Language,
    environ: Mapping[str, str] = os.environ,
    retry: RetryPolicy = RetryPolicy(),
) -> SheetsExportResult:
    """Export `tables` with the service account of `credentials_file` (or $GOOGLE_APPLICATION_CREDENTIALS)."""
    credentials = load_credentials(credentials_path(credentials_file, environ))
    with authorized_session(credentials) as session:
        return export_month(SheetsClient(session, retry), spreadsheet, month, tables, language)


def _check_export(month: str, tables: Sequence[Table], language: Language) -> list[str]:
    """Validate the export's arguments and return the tab titles."""
    if not _MONTH_RE.match(month):
        raise ValueError(f"month must be YYYY-MM, got {month!r}")
    if not tables:
        raise ValueError("nothing to export: no tables given")
    titles = [tab_title(month, table, language) for table in tables]
    duplicates = sorted({title for title in titles if titles.count(title) > 1})
    if duplicates:
        raise ValueError(f"two tables would share the tab {duplicates}; give each table its own name")
    for table in tables:
        editable = [column.key for column in table.columns if column.editable]
        if len(editable) > 1:
            raise ValueError(f"table {table.key!r} has several editable columns {editable}; the notes support one")
        if editable:
            _key_indexes(table)
    return titles


def _staging_tabs(layouts: Sequence[TabLayout], tabs: Mapping[str, _Tab], rng: random.Random) -> dict[str, _Tab]:
    """Choose a fresh sheet id and a title ending in ` ~<8 hex digits>` for each staging tab."""
    taken = {tab.sheet_id for tab in tabs.values()}
    staging = {}
    for layout in layouts:
        sheet_id = rng.randrange(1, 2**31 - 1)
        while sheet_id in taken:
            sheet_id = rng.randrange(1, 2**31 - 1)
        taken.add(sheet_id)
        staging[layout.title] = _Tab(sheet_id, f"{layout.title} ~{rng.getrandbits(32):08x}", hidden=True)
    return staging


def _add_staging_tabs(
    client: SheetsClient,
    spreadsheet_id: str,
    layouts: Sequence[TabLayout],
    staging: Mapping[str, _Tab],
    tabs: Mapping[str, _Tab],
    limit: int,
) -> None:
    """Delete staging tabs an interrupted export left behind, then add and format new ones.

    The first batch contains the deletions and additions, and only a month whose formats do
    not fit one request sends more batches, each touching hidden staging tabs only.
    """
    titles = {layout.title for layout in layouts}
    stale = [tab for tab in tabs.values() if _STAGING_SUFFIX_RE.search(tab.title) and _STAGING_SUFFIX_RE.sub("", tab.title) in titles]
    structure = [{"deleteSheet": {"sheetId": tab.sheet_id}} for tab in stale]
    structure += [_add_staging_request(staging[layout.title].sheet_id, staging[layout.title].title, layout) for layout in layouts]
    formats = [request for layout in layouts for request in _format_requests(staging[layout.title].sheet_id, layout)]

    for batch in _pack(structure + formats, lambda group: {"requests": group}, limit):
        client.batch_update(spreadsheet_id, batch)


def _write_values(client: SheetsClient, spreadsheet_id: str, layouts: Sequence[TabLayout], staging: Mapping[str, _Tab], limit: int) -> None:
    data = [block for layout in layouts for block in _value_data(staging[layout.title].title, layout, limit)]
    for group in _pack(data, lambda group: {"valueInputOption": "RAW", "data": group}, limit):
        client.update_values(spreadsheet_id, group)


# --- Set-up check for `acheckin-sync doctor` ------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SetupCheck:
    """One finding of `check_sheets_setup`, with its message in both languages."""

    name: str
    """`credentials`, `spreadsheet`, `access` (the sheet opens) or `edit` (the account may write)."""
    ok: bool
    message_vi: str
    message_en: str

    def message(self, language: Language) -> str:
        return self.message_vi if language == "vi" else self.message_en


@dataclasses.dataclass(frozen=True)
class SetupReport:
    """The findings of `check_sheets_setup`; `service_account_email` is None if the key is unreadable."""

    checks: tuple[SetupCheck, ...]
    service_account_email: str | None

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


def check_sheets_setup(
    spreadsheet: str | None,
    credentials_file: Path | None,
    *,
    environ: Mapping[str, str] = os.environ,
    session_factory: Callable[[service_account.Credentials], requests.Session] = authorized_session,
    retry: RetryPolicy = RetryPolicy(max_attempts=2, timeout_s=20),
) -> SetupReport:
    """Check that exports can reach the spreadsheet, saying exactly what to fix if not.

    Checks in order, stopping at the first failure: the credentials file is readable
    and contains a service-account key; `spreadsheet` is a key or URL; the spreadsheet
    exists and is shared with the service account (one `spreadsheets.get`), as an
    editor (one `spreadsheets.batchUpdate` that rewrites the title unchanged).
    """
    checks: list[SetupCheck] = []
    try:
        credentials = load_credentials(credentials_path(credentials_file, environ))
    except SheetsConfigError as exc:
        checks.append(SetupCheck("credentials", False, f"Không dùng được thông tin xác thực Google: {exc.message_vi}", f"Google credentials unusable: {exc}"))
        return SetupReport(tuple(checks), None)
    email_address = credentials.service_account_email
    checks.append(SetupCheck("credentials", True, f"Tài khoản dịch vụ: {email_address}", f"Service account: {email_address}"))

    if not spreadsheet:
        checks.append(
            SetupCheck(
                "spreadsheet",
                False,
                "Chưa khai báo bảng tính: đặt sheets.spreadsheet trong config.toml là khóa hoặc URL của Google Sheet",
                "No spreadsheet configured: set sheets.spreadsheet in config.toml to the Google Sheet's key or URL",
            )
        )
        return SetupReport(tuple(checks), email_address)
    try:
        spreadsheet_id = spreadsheet_id_from(spreadsheet)
    except SheetsConfigError as exc:
        checks.append(SetupCheck("spreadsheet", False, f"Địa chỉ bảng tính không hợp lệ: {exc.message_vi}", f"Invalid spreadsheet reference: {exc}"))
        return SetupReport(tuple(checks), email_address)

    checks.extend(_check_access(session_factory(credentials), retry, spreadsheet_id, email_address))
    return SetupReport(tuple(checks), email_address)


def _check_access(session: requests.Session, retry: RetryPolicy, spreadsheet_id: str, email_address: str) -> list[SetupCheck]:
    """Read the spreadsheet's title, then write the same title back to prove edit rights.

    Rewriting the title with its own value changes nothing a manager sees, but Google
    answers 403 to it when the sheet is shared with the service account as a viewer only.
    """
    with session:
        client = SheetsClient(session, retry)
        try:
            title = client.get_metadata(spreadsheet_id, fields="properties.title").get("properties", {}).get("title", "")
        except SheetsError as exc:
            return [_access_failure(exc, spreadsheet_id, email_address)]
        found = SetupCheck("access", True, f"Đã mở được bảng tính {title!r}", f"Opened spreadsheet {title!r}")

        same_title = {"updateSpreadsheetProperties": {"properties": {"title": title}, "fields": "title"}}
        try:
            client.batch_update(spreadsheet_id, [same_title])
        except SheetsRequestError as exc:
            if exc.status != 403:
                return [found, _access_failure(exc, spreadsheet_id, email_address, name="edit")]
            return [
                found,
                SetupCheck(
                    "edit",
                    False,
                    f"Tài khoản dịch vụ {email_address} chỉ có quyền xem: trong Google Sheets bấm Chia sẻ và đổi quyền của nó thành Người chỉnh sửa",
                    f"The service account {email_address} may only view the spreadsheet: in Google Sheets click Share and make it an Editor",
                ),
            ]
        except SheetsError as exc:
            return [found, _access_failure(exc, spreadsheet_id, email_address, name="edit")]
    return [found, SetupCheck("edit", True, f"{email_address} có quyền chỉnh sửa bảng tính", f"{email_address} may edit the spreadsheet")]


def _access_failure(exc: SheetsError, spreadsheet_id: str, email_address: str, name: str = "access") -> SetupCheck:
    """Return the failed check for an error of a call to the spreadsheet, with what to fix."""
    if isinstance(exc, SheetsRequestError) and exc.status == 404:
        return SetupCheck(
            name,
            False,
            f"Không tìm thấy bảng tính {spreadsheet_id}: kiểm tra lại khóa hoặc URL trong sheets.spreadsheet",
            f"Spreadsheet {spreadsheet_id} not found: check the key or URL in sheets.spreadsheet",
        )
    if isinstance(exc, SheetsRequestError) and exc.status == 403:
        return SetupCheck(
            name,
            False,
            f"Bảng tính chưa được chia sẻ với tài khoản dịch vụ: trong Google Sheets bấm Chia sẻ và thêm {email_address} với quyền Người chỉnh sửa",
            f"The spreadsheet is not shared with the service account: in Google Sheets click Share and add {email_address} as an Editor",
        )
    if isinstance(exc, SheetsConfigError):
        return SetupCheck(name, False, f"Google không chấp nhận khóa của tài khoản dịch vụ: {exc}", f"Google rejected the service account's key: {exc}")
    if isinstance(exc, SheetsUnavailableError):
        return SetupCheck(name, False, f"Không kết nối được Google Sheets, hãy thử lại sau: {exc}", f"Cannot reach Google Sheets, try again later: {exc}")
    return SetupCheck(name, False, f"Google Sheets từ chối yêu cầu: {exc}", f"Google Sheets rejected the request: {exc}")
