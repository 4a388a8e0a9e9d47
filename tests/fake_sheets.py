"""A small in-memory fake of the Google Sheets API v4, mounted as a requests transport.

`FakeSheets` holds spreadsheets, answers the calls the exporter makes
(`spreadsheets.get`, `spreadsheets.batchUpdate`, `values.batchGet`,
`values.batchUpdate`, `values.batchClear`), records every request (method, path,
query, body bytes, status) and can be set to fail the next calls with a status
such as 429 or 500, or to time out. `fake_session(fake)` returns a google-auth
`AuthorizedSession` with anonymous credentials (no token is ever fetched) whose
transport for https://sheets.googleapis.com is the fake; any other URL raises
`UnexpectedHostError`, so a test cannot reach Google or any other host.

The fake follows the documented behaviour the exporter relies on: a
`spreadsheets.batchUpdate` applies all of its requests or none, a values write
must fit inside its range and the tab's grid, sheet titles are unique, and the
last visible tab can be neither hidden nor deleted. It is not a full Sheets model:
no formulas are evaluated, USER_ENTERED input is parsed only for plain numbers,
TRUE/FALSE and a leading `=`, and only the request kinds listed in
`_BATCH_HANDLERS` exist.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests
from google.auth.credentials import AnonymousCredentials
from google.auth.transport.requests import AuthorizedSession
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

SHEETS_ORIGIN = "https://sheets.googleapis.com"


class UnexpectedHostError(AssertionError):
    """Raised when code under test sends a request anywhere but the fake."""


class FakeApiError(Exception):
    """An error response of the fake API: HTTP status, Google's status name and message."""

    def __init__(self, code: int, status: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message


def _invalid(message: str) -> FakeApiError:
    return FakeApiError(400, "INVALID_ARGUMENT", message)


@dataclasses.dataclass(frozen=True)
class Formula:
    """A USER_ENTERED string that Sheets would have turned into a formula."""

    text: str


@dataclasses.dataclass
class FakeSheet:
    """One tab: properties, cells by (row, column), 0-based, and column widths."""

    sheet_id: int
    title: str
    hidden: bool = False
    row_count: int = 1000
    column_count: int = 26
    frozen_rows: int = 0
    frozen_columns: int = 0
    values: dict[tuple[int, int], Any] = dataclasses.field(default_factory=dict)
    formats: dict[tuple[int, int], dict[str, Any]] = dataclasses.field(default_factory=dict)
    column_widths: dict[int, int] = dataclasses.field(default_factory=dict)

    def clone(self) -> FakeSheet:
        """Return a copy to edit; format dicts are shared because edits replace them whole."""
        return dataclasses.replace(self, values=dict(self.values), formats=dict(self.formats), column_widths=dict(self.column_widths))

    def rows(self) -> list[list[Any]]:
        """Return the values as rows, trailing blanks trimmed like the API does."""
        return _trim([[self.values.get((row, column), "") for column in range(self.column_count)] for row in range(self.row_count)])

    def properties(self, index: int) -> dict[str, Any]:
        grid = {"rowCount": self.row_count, "columnCount": self.column_count}
        if self.frozen_rows:
            grid["frozenRowCount"] = self.frozen_rows
        if self.frozen_columns:
            grid["frozenColumnCount"] = self.frozen_columns
        properties = {"sheetId": self.sheet_id, "title": self.title, "index": index, "sheetType": "GRID", "gridProperties": grid}
        if self.hidden:
            properties["hidden"] = True
        return properties


@dataclasses.dataclass
class FakeSpreadsheet:
    """A spreadsheet; `shared` False makes every call fail with 403, as for an unshared sheet."""

    spreadsheet_id: str
    title: str = "Chấm công"
    sheets: list[FakeSheet] = dataclasses.field(default_factory=list)
    shared: bool = True
    read_only: bool = False
    """Shared as a viewer: reads work, writes fail with 403."""

    def sheet(self, title: str) -> FakeSheet:
        for sheet in self.sheets:
            if sheet.title == title:
                return sheet
        raise KeyError(f"no tab {title!r}; tabs are {[sheet.title for sheet in self.sheets]}")

    def by_id(self, sheet_id: int) -> FakeSheet:
        for sheet in self.sheets:
            if sheet.sheet_id == sheet_id:
                return sheet
        raise _invalid(f"No grid with id: {sheet_id}")

    def titles(self) -> list[str]:
        return [sheet.title for sheet in self.sheets]

    def metadata(self) -> dict[str, Any]:
        return {
            "spreadsheetId": self.spreadsheet_id,
            "properties": {"title": self.title, "locale": "vi_VN", "timeZone": "Asia/Ho_Chi_Minh"},
            "sheets": [{"properties": sheet.properties(index)} for index, sheet in enumerate(self.sheets)],
        }


@dataclasses.dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received and its response status ("timeout" if it hung)."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    status: int | str

    @property
    def kind(self) -> str:
        """The API method: `get`, `batchUpdate`, `values:batchGet`, `values:batchUpdate`, ..."""
        tail = self.path.split("/v4/spreadsheets/", 1)[1]
        if "/values" in tail:
            return "values" + tail.split("/values", 1)[1]
        return tail.split(":", 1)[1] if ":" in tail else "get"

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclasses.dataclass(frozen=True)
class Fault:
    """How the fake answers one call: an HTTP status (with Retry-After) or a hang."""

    status: int | None = None
    retry_after: str | None = None
    hang: bool = False
    after_applying: bool = False
    """Apply the request, then answer the fault (a lost answer)."""


class FakeSheets:
    """The fake API's state, its request log and the faults queued for coming calls."""

    def __init__(self) -> None:
        self.spreadsheets: dict[str, FakeSpreadsheet] = {}
        self.requests: list[RecordedRequest] = []
        self.unexpected: list[str] = []
        self._faults: dict[int, Fault] = {}
        self._next_sheet_id = 1000

    def add_spreadsheet(self, spreadsheet_id: str, tabs: tuple[str, ...] = ("Sheet1",), shared: bool = True) -> FakeSpreadsheet:
        spreadsheet = FakeSpreadsheet(spreadsheet_id, shared=shared)
        for title in tabs:
            spreadsheet.sheets.append(FakeSheet(self._new_sheet_id(), title))
        self.spreadsheets[spreadsheet_id] = spreadsheet
        return spreadsheet

    def fail_next(self, times: int, status: int, retry_after: str | None = None, after: int = 0, after_applying: bool = False) -> None:
        """Answer `status` to `times` calls, starting `after` calls from now."""
        self._queue(times, after, Fault(status=status, retry_after=retry_after, after_applying=after_applying))

    def hang_next(self, times: int, after: int = 0) -> None:
        """Time out `times` calls, starting `after` calls from now (the caller must set a timeout)."""
        self._queue(times, after, Fault(hang=True))

    def calls(self, kind: str | None = None) -> list[RecordedRequest]:
        return [request for request in self.requests if kind is None or request.kind == kind]

    def _queue(self, times: int, after: int, fault: Fault) -> None:
        start = len(self.requests) + after
        for index in range(start, start + times):
            self._faults[index] = fault

    def _new_sheet_id(self) -> int:
        self._next_sheet_id += 1
        return self._next_sheet_id

    # --- Dispatch ---------------------------------------------------------------

    def handle(self, request: requests.PreparedRequest, timeout: Any) -> requests.Response:
        url = urlparse(request.url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        fault = self._faults.pop(len(self.requests), None)

        def record(status: int | str) -> None:
            self.requests.append(RecordedRequest(request.method or "", url.path, parse_qs(url.query), body, status))

        if fault is not None and fault.hang:
            record("timeout")
            if timeout is None:
                raise AssertionError(f"{request.method} {url.path} was sent without a timeout and would hang forever")
            time.sleep(0.001)
            raise requests.exceptions.ReadTimeout(f"fake read timeout on {url.path}", request=request)
        if fault is not None and not fault.after_applying:
            record(fault.status or 500)
            return _error_response(request, FakeApiError(fault.status or 500, "UNAVAILABLE", "fake fault"), fault.retry_after)

        try:
            answer = self._route(request.method or "", url.path, parse_qs(url.query), body)
        except FakeApiError as error:
            record(error.code)
            return _error_response(request, error, None)
        if fault is not None:
            record(fault.status or 500)
            return _error_response(request, FakeApiError(fault.status or 500, "UNAVAILABLE", "fake fault after applying"), fault.retry_after)
        record(200)
        return _json_response(request, 200, answer)

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> Any:
        match = re.fullmatch(r"/v4/spreadsheets/([^/:]+)(.*)", path)
        if match is None:
            raise FakeApiError(404, "NOT_FOUND", f"no such API path {path}")
        spreadsheet = self._spreadsheet(match.group(1))
        tail = match.group(2)
        payload = json.loads(body) if body else {}
        routes = {
            ("GET", ""): lambda: spreadsheet.metadata(),
            ("POST", ":batchUpdate"): lambda: self._batch_update(spreadsheet, payload),
            ("GET", "/values:batchGet"): lambda: _values_batch_get(spreadsheet, query),
            ("POST", "/values:batchUpdate"): lambda: _values_batch_update(spreadsheet, payload),
            ("POST", "/values:batchClear"): lambda: _values_batch_clear(spreadsheet, payload),
        }
        handler = routes.get((method.upper(), tail))
        if handler is None:
            raise FakeApiError(404, "NOT_FOUND", f"the fake does not implement {method} {tail or '/'}")
        if spreadsheet.read_only and method.upper() == "POST":
            raise FakeApiError(403, "PERMISSION_DENIED", "The caller does not have permission")
        return handler()

    def _spreadsheet(self, spreadsheet_id: str) -> FakeSpreadsheet:
        spreadsheet = self.spreadsheets.get(spreadsheet_id)
        if spreadsheet is None:
            raise FakeApiError(404, "NOT_FOUND", "Requested entity was not found.")
        if not spreadsheet.shared:
            raise FakeApiError(403, "PERMISSION_DENIED", "The caller does not have permission")
        return spreadsheet

    def _batch_update(self, spreadsheet: FakeSpreadsheet, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Apply every request to a copy and keep it only if all succeed (all or nothing)."""
        draft = dataclasses.replace(spreadsheet, sheets=[sheet.clone() for sheet in spreadsheet.sheets])
        replies = []
        for request in payload.get("requests", []):
            if len(request) != 1:
                raise _invalid(f"each request must set exactly one kind, got {sorted(request)}")
            (kind, body), = request.items()
            handler = _BATCH_HANDLERS.get(kind)
            if handler is None:
                raise _invalid(f"the fake does not implement the {kind} request")
            replies.append(handler(self, draft, body) or {})
        spreadsheet.sheets = draft.sheets
        spreadsheet.title = draft.title
        answer: dict[str, Any] = {"spreadsheetId": spreadsheet.spreadsheet_id, "replies": replies}
        if payload.get("includeSpreadsheetInResponse"):
            answer["updatedSpreadsheet"] = spreadsheet.metadata()
        return answer


# --- Responses ---------------------------------------------------------------------


def _json_response(request: requests.PreparedRequest, status: int, body: Any, headers: Mapping[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode("utf-8")
    response.headers = CaseInsensitiveDict({"Content-Type": "application/json; charset=UTF-8", **(headers or {})})
    response.encoding = "utf-8"
    response.url = request.url or ""
    response.request = request
    response.reason = "OK" if status == 200 else "Error"
    return response


def _error_response(request: requests.PreparedRequest, error: FakeApiError, retry_after: str | None) -> requests.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    body = {"error": {"code": error.code, "message": error.message, "status": error.status}}
    return _json_response(request, error.code, body, headers)


# --- A1 notation and grid ranges -----------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Area:
    """A rectangle on one tab, 0-based and half-open; None means to the grid's edge."""

    sheet: FakeSheet
    row_start: int
    row_end: int | None
    column_start: int
    column_end: int | None

    def rows(self) -> range:
        return range(self.row_start, min(self.row_end if self.row_end is not None else self.sheet.row_count, self.sheet.row_count))

    def columns(self) -> range:
        end = self.column_end if self.column_end is not None else self.sheet.column_count
        return range(self.column_start, min(end, self.sheet.column_count))


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters.upper():
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


def _parse_a1(spreadsheet: FakeSpreadsheet, a1: str) -> _Area:
    """Parse `'Tab name'!A1:C3`, `Tab!B:B`, `'Tab'!A5` or a bare tab name."""
    match = re.fullmatch(r"(?:'((?:[^']|'')*)'|([^!']+))(?:!(.*))?", a1)
    if match is None:
        raise _invalid(f"Unable to parse range: {a1}")
    title = match.group(1).replace("''", "'") if match.group(1) is not None else match.group(2)
    try:
        sheet = spreadsheet.sheet(title)
    except KeyError as exc:
        raise _invalid(f"Unable to parse range: {a1}") from exc
    cells = match.group(3)
    if not cells:
        return _Area(sheet, 0, None, 0, None)

    parts = cells.split(":")
    corners = [re.fullmatch(r"([A-Za-z]*)(\d*)", part) for part in parts]
    if len(parts) > 2 or any(corner is None or corner.group(0) == "" for corner in corners):
        raise _invalid(f"Unable to parse range: {a1}")
    first = corners[0]
    last = corners[-1]
    column_start = _column_index(first.group(1)) if first.group(1) else 0
    row_start = int(first.group(2)) - 1 if first.group(2) else 0
    column_end = _column_index(last.group(1)) + 1 if last.group(1) else None
    row_end = int(last.group(2)) if last.group(2) else None
    return _Area(sheet, row_start, row_end, column_start, column_end)


def _grid_area(spreadsheet: FakeSpreadsheet, grid_range: Mapping[str, Any]) -> _Area:
    sheet = spreadsheet.by_id(grid_range.get("sheetId", 0))
    return _Area(sheet, grid_range.get("startRowIndex", 0), grid_range.get("endRowIndex"), grid_range.get("startColumnIndex", 0), grid_range.get("endColumnIndex"))


def _check_inside(area: _Area, rows: int, columns: int, what: str) -> None:
    if area.row_start + rows > area.sheet.row_count or area.column_start + columns > area.sheet.column_count:
        raise _invalid(f"{what} on tab {area.sheet.title!r} exceeds its grid of {area.sheet.row_count} rows and {area.sheet.column_count} columns")


def _trim(rows: list[list[Any]]) -> list[list[Any]]:
    trimmed = []
    for row in rows:
        row = list(row)
        while row and row[-1] == "":
            row.pop()
        trimmed.append(row)
    while trimmed and not trimmed[-1]:
        trimmed.pop()
    return trimmed


# --- values.* ------------------------------------------------------------------------


def _values_batch_get(spreadsheet: FakeSpreadsheet, query: dict[str, list[str]]) -> dict[str, Any]:
    major = query.get("majorDimension", ["ROWS"])[0]
    formatted = query.get("valueRenderOption", ["FORMATTED_VALUE"])[0] == "FORMATTED_VALUE"
    value_ranges = []
    for a1 in query.get("ranges", []):
        area = _parse_a1(spreadsheet, a1)
        rows = [[_render(area.sheet.values.get((row, column), ""), formatted) for column in area.columns()] for row in area.rows()]
        if major == "COLUMNS":
            rows = [list(column) for column in zip(*rows)] if rows else []
        value_range: dict[str, Any] = {"range": a1, "majorDimension": major}
        trimmed = _trim(rows)
        if trimmed:
            value_range["values"] = trimmed
        value_ranges.append(value_range)
    return {"spreadsheetId": spreadsheet.spreadsheet_id, "valueRanges": value_ranges}


def _render(value: Any, formatted: bool) -> Any:
    if isinstance(value, Formula):
        return value.text
    if formatted and not isinstance(value, str):
        return str(value)
    return value


def _values_batch_update(spreadsheet: FakeSpreadsheet, payload: Mapping[str, Any]) -> dict[str, Any]:
    option = payload.get("valueInputOption")
    if option not in ("RAW", "USER_ENTERED"):
        raise _invalid(f"valueInputOption must be RAW or USER_ENTERED, got {option!r}")
    writes = []
    for data in payload.get("data", []):
        area = _parse_a1(spreadsheet, data["range"])
        if data.get("majorDimension", "ROWS") != "ROWS":
            raise _invalid("the fake writes majorDimension ROWS only")
        rows = data.get("values", [])
        width = max((len(row) for row in rows), default=0)
        bounded_rows = area.row_end - area.row_start if area.row_end is not None else None
        bounded_columns = area.column_end - area.column_start if area.column_end is not None else None
        if (bounded_rows is not None and len(rows) > bounded_rows) or (bounded_columns is not None and width > bounded_columns):
            raise _invalid(f"Requested writing within range [{data['range']}], but tried writing {len(rows)} rows of up to {width} cells")
        _check_inside(area, len(rows), width, f"writing {data['range']}")
        writes.append((area, rows))

    for area, rows in writes:
        for row_offset, row in enumerate(rows):
            for column_offset, value in enumerate(row):
                if value is None:
                    continue
                cell = (area.row_start + row_offset, area.column_start + column_offset)
                stored = value if option == "RAW" else _user_entered(value)
                if stored == "":
                    area.sheet.values.pop(cell, None)
                else:
                    area.sheet.values[cell] = stored
    return {"spreadsheetId": spreadsheet.spreadsheet_id, "totalUpdatedCells": sum(len(row) for _, rows in writes for row in rows)}


def _user_entered(value: Any) -> Any:
    """Parse a typed string roughly as Sheets would: numbers, TRUE/FALSE, formulas."""
    if not isinstance(value, str):
        return value
    if value.startswith("="):
        return Formula(value)
    if re.fullmatch(r"[+-]?\d+", value):
        return int(value)
    if re.fullmatch(r"[+-]?\d*\.\d+", value):
        return float(value)
    if value.upper() in ("TRUE", "FALSE"):
        return value.upper() == "TRUE"
    return value


def _values_batch_clear(spreadsheet: FakeSpreadsheet, payload: Mapping[str, Any]) -> dict[str, Any]:
    areas = [_parse_a1(spreadsheet, a1) for a1 in payload.get("ranges", [])]
    for area in areas:
        for row in area.rows():
            for column in area.columns():
                area.sheet.values.pop((row, column), None)
    return {"spreadsheetId": spreadsheet.spreadsheet_id, "clearedRanges": payload.get("ranges", [])}


# --- spreadsheets.batchUpdate requests ---------------------------------------------------


def _add_sheet(fake: FakeSheets, spreadsheet: FakeSpreadsheet, body: Mapping[str, Any]) -> dict[str, Any]:
    properties = body.get("properties", {})
    title = properties.get("title") or f"Sheet{len(spreadsheet.sheets) + 1}"
    if title in spreadsheet.titles():
        raise _invalid(f'A sheet with the name "{title}" already exists. Please enter another name.')
    sheet_id = properties.get("sheetId", fake._new_sheet_id())
    if any(sheet.sheet_id == sheet_id for sheet in spreadsheet.sheets):
        raise _invalid(f"A sheet with id {sheet_id} already exists.")
    grid = properties.get("gridProperties", {})
    sheet = FakeSheet(
        sheet_id,
        title,
        hidden=bool(properties.get("hidden", False)),
        row_count=grid.get("rowCount", 1000),
        column_count=grid.get("columnCount", 26),
        frozen_rows=grid.get("frozenRowCount", 0),
        frozen_columns=grid.get("frozenColumnCount", 0),
    )
    _check_frozen(sheet)
    spreadsheet.sheets.insert(properties.get("index", len(spreadsheet.sheets)), sheet)
    return {"addSheet": {"properties": sheet.properties(spreadsheet.sheets.index(sheet))}}


def _delete_sheet(fake: FakeSheets, spreadsheet: FakeSpreadsheet, body: Mapping[str, Any]) -> None:
    sheet = spreadsheet.by_id(body["sheetId"])
    spreadsheet.sheets.remove(sheet)
    if not any(not other.hidden for other in spreadsheet.sheets):
        raise _invalid("You can't remove all the visible sheets in a document.")


def _update_sheet_properties(fake: FakeSheets, spreadsheet: FakeSpreadsheet, body: Mapping[str, Any]) -> None:
    properties = body["properties"]
    sheet = spreadsheet.by_id(properties.get("sheetId", 0))
    for field in body["fields"].split(","):
        if field == "title":
            if properties["title"] != sheet.title and properties["title"] in spreadsheet.titles():
                raise _invalid(f'A sheet with the name "{properties["title"]}" already exists. Please enter another name.')
            sheet.title = properties["title"]
        elif field == "hidden":
            sheet.hidden = bool(properties.get("hidden", False))
        elif field == "index":
            spreadsheet.sheets.remove(sheet)
            spreadsheet.sheets.insert(properties.get("index", 0), sheet)
        elif field.startswith("gridProperties."):
            _set_grid_property(sheet, field.removeprefix("gridProperties."), properties.get("gridProperties", {}))
        else:
            raise _invalid(f"the fake cannot update the sheet property {field!r}")
    if not any(not other.hidden for other in spreadsheet.sheets):
        raise _invalid("You can't hide all the sheets in a document.")
    _check_frozen(sheet)


def _set_grid_property(sheet: FakeSheet, name: str, grid: Mapping[str, Any]) -> None:
    attributes = {"rowCount": "row_count", "columnCount": "column_count", "frozenRowCount": "frozen_rows", "frozenColumnCount": "frozen_columns"}
    if name not in attributes:
        raise _invalid(f"the fake cannot update gridProperties.{name}")
    setattr(sheet, attributes[name], grid.get(name, 0))
    for cells in (sheet.values, sheet.formats):
        for row, column in [cell for cell in cells if cell[0] >= sheet.row_count or cell[1] >= sheet.column_count]:
            del cells[(row, column)]


def _check_frozen(sheet: FakeSheet) -> None:
    if sheet.frozen_rows >= sheet.row_count or sheet.frozen_columns > sheet.column_count:
        raise _invalid(f"You can't freeze all visible rows on the sheet {sheet.title!r}.")
    if sheet.row_count < 1 or sheet.column_count < 1:
        raise _invalid(f"Sheet {sheet.title!r} needs at least one row and one column.")


def _apply_cell(sheet: FakeSheet, cell: tuple[int, int], data: Mapping[str, Any], fields: str) -> None:
    """Set or clear, per field path of `fields`, the value and format of one cell."""
    for field in fields.split(","):
        head, _, rest = field.partition(".")
        if head == "userEnteredValue":
            value = _cell_value(data.get("userEnteredValue"))
            if value == "":
                sheet.values.pop(cell, None)
            else:
                sheet.values[cell] = value
        elif head == "userEnteredFormat":
            source = data.get("userEnteredFormat", {})
            target = copy.deepcopy(sheet.formats.get(cell, {}))
            if rest:
                _set_path(target, rest.split("."), source)
            else:
                target = copy.deepcopy(source)
            if target:
                sheet.formats[cell] = target
            else:
                sheet.formats.pop(cell, None)
        else:
            raise _invalid(f"the fake cannot write the cell field {field!r}")


def _set_path(target: dict[str, Any], path: list[str], source: Mapping[str, Any]) -> None:
    node_source: Any = source
    for name in path:
        node_source = node_source.get(name) if isinstance(node_source, Mapping) else None
    node = target
    for name in path[:-1]:
        node = node.setdefault(name, {})
    if node_source is None:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = copy.deepcopy(node_source)


def _cell_value(extended: Mapping[str, Any] | None) -> Any:
    if not extended:
        return ""
    (kind, value), = extended.items()
    return Formula(value) if kind == "formulaValue" else value


def _repeat_cell(fake: FakeSheets, spreadsheet: FakeSpreadsheet, body: Mapping[str, Any]) -> None:
    area = _grid_area(spreadsheet, body["range"])
    for row in area.rows():
        for column in area.columns():
            _apply_cell(area.sheet, (row, column), body.get("cell", {}), body["fields"])


def _update_cells(fake: FakeSheets, spreadsheet: FakeSpreadsheet, body: Mapping[str, Any]) -> None:
    if "range" in body:
        area = _grid_area(spreadsheet, body["range"])
    else:
        start = body["start"]
        area = _Area(spreadsheet.by_id(start.get("sheetId", 0)), start.get("rowIndex", 0), None, start.get("columnIndex", 0), None)
    rows = body.get("rows", [])
    _check_inside(area, len(rows), max((len(row.get("values", [])) for row in rows), default=0), "updateCells")
    for row_offset, row in enumerate(rows):
        for column_offset, data in enumerate(row.get("values", [])):
            _apply_cell(area.sheet, (area.row_start + row_offset, area.column_start + column_offset), data, body["fields"])


def _update_dimension_properties(fake: FakeSheets, spreadsheet: FakeSpreadsheet, body: Mapping[str, Any]) -> None:
    dimension_range = body["range"]
    sheet = spreadsheet.by_id(dimension_range.get("sheetId", 0))
    if dimension_range["dimension"] != "COLUMNS" or body["fields"] != "pixelSize":
        raise _invalid("the fake sets only column pixelSize")
    if dimension_range["endIndex"] > sheet.column_count:
        raise _invalid(f"column range of {sheet.title!r} exceeds its {sheet.column_count} columns")
    for column in range(dimension_range["startIndex"], dimension_range["endIndex"]):
        sheet.column_widths[column] = body["properties"]["pixelSize"]


def _copy_paste(fake: FakeSheets, spreadsheet: FakeSpreadsheet, body: Mapping[str, Any]) -> None:
    source = _grid_area(spreadsheet, body["source"])
    destination = _grid_area(spreadsheet, body["destination"])
    paste_type = body.get("pasteType", "PASTE_NORMAL")
    if paste_type not in ("PASTE_NORMAL", "PASTE_VALUES", "PASTE_FORMAT") or body.get("pasteOrientation", "NORMAL") != "NORMAL":
        raise _invalid(f"the fake cannot paste {paste_type} {body.get('pasteOrientation')}")
    rows, columns = source.rows(), source.columns()
    _check_inside(destination, len(rows), len(columns), "copyPaste")
    cells = {
        (row - source.row_start, column - source.column_start): (source.sheet.values.get((row, column), ""), source.sheet.formats.get((row, column)))
        for row in rows
        for column in columns
    }
    for (row_offset, column_offset), (value, cell_format) in cells.items():
        cell = (destination.row_start + row_offset, destination.column_start + column_offset)
        if paste_type in ("PASTE_NORMAL", "PASTE_VALUES"):
            if value == "":
                destination.sheet.values.pop(cell, None)
            else:
                destination.sheet.values[cell] = value
        if paste_type in ("PASTE_NORMAL", "PASTE_FORMAT"):
            if cell_format:
                destination.sheet.formats[cell] = copy.deepcopy(cell_format)
            else:
                destination.sheet.formats.pop(cell, None)


def _update_spreadsheet_properties(fake: FakeSheets, spreadsheet: FakeSpreadsheet, body: Mapping[str, Any]) -> None:
    if body.get("fields") != "title":
        raise _invalid("the fake updates only the spreadsheet title")
    spreadsheet.title = body["properties"]["title"]


_BATCH_HANDLERS = {
    "updateSpreadsheetProperties": _update_spreadsheet_properties,
    "addSheet": _add_sheet,
    "deleteSheet": _delete_sheet,
    "updateSheetProperties": _update_sheet_properties,
    "repeatCell": _repeat_cell,
    "updateCells": _update_cells,
    "updateDimensionProperties": _update_dimension_properties,
    "copyPaste": _copy_paste,
}


# --- Transport ---------------------------------------------------------------------


class FakeSheetsAdapter(BaseAdapter):
    """A requests transport that hands every request to a `FakeSheets`."""

    def __init__(self, fake: FakeSheets) -> None:
        super().__init__()
        self.fake = fake

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None, verify: Any = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        return self.fake.handle(request, timeout)

    def close(self) -> None:
        pass


class _RefusingAdapter(BaseAdapter):
    """A transport for every other URL: records it and raises `UnexpectedHostError`."""

    def __init__(self, fake: FakeSheets) -> None:
        super().__init__()
        self.fake = fake

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None, verify: Any = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        self.fake.unexpected.append(f"{request.method} {request.url}")
        raise UnexpectedHostError(f"a test sent {request.method} {request.url}; only the fake Sheets API may be called")

    def close(self) -> None:
        pass


def fake_session(fake: FakeSheets) -> AuthorizedSession:
    """Return a google-auth session with anonymous credentials whose only transport is `fake`."""
    session = AuthorizedSession(AnonymousCredentials())
    session.mount("https://", _RefusingAdapter(fake))
    session.mount("http://", _RefusingAdapter(fake))
    session.mount(SHEETS_ORIGIN + "/", FakeSheetsAdapter(fake))
    return session
