"""Google Sheets figures: API calls and bytes per monthly export, through the fake Sheets API.

The fake (`tests/fake_sheets.py`, the one the test suite uses) responds in memory
and records every request, so no request leaves the process.
"""

from __future__ import annotations

import collections
import dataclasses
import pickle
import random
from pathlib import Path

from bench.excel import EXPORT_MONTH, month_tables

SPREADSHEET_ID = "bench-spreadsheet"


@dataclasses.dataclass(frozen=True)
class ExportCalls:
    """The requests of one export of the month."""

    employees: int
    export: str
    """`first` (the month's tabs are new), `again` (the tabs exist and their notes are read) or a table's name."""
    rows: int
    calls: int
    calls_by_kind: dict[str, int]
    bytes_total: int
    max_request_bytes: int


@dataclasses.dataclass(frozen=True)
class SheetsFigures:
    """Calls and bytes at each size; `sizes` contains the repeated exports, the steady state."""

    description: str
    first: list[ExportCalls]
    sizes: list[ExportCalls]
    per_table: list[ExportCalls]
    """The largest size's tables exported one at a time (first export): which table sends the bytes."""


def measure(workdir: Path, sizes: list[int]) -> SheetsFigures:
    """Export the month twice for each employee count and record the requests."""
    first, again = [], []
    for employees in sizes:
        tables = pickle.loads(month_tables(workdir, employees).read_bytes())
        first.append(_export(tables, employees, "first"))
        again.append(_export(tables, employees, "again", exports_before=1))
    largest = pickle.loads(month_tables(workdir, max(sizes)).read_bytes())
    per_table = [_export([table], max(sizes), table.name("en")) for table in largest]
    return SheetsFigures(description=_description(), first=first, sizes=again, per_table=per_table)


def _export(tables, employees: int, label: str, exports_before: int = 0) -> ExportCalls:
    from exporters.sheets import SheetsClient, export_month
    from tests.fake_sheets import FakeSheets, fake_session

    fake = FakeSheets()
    fake.add_spreadsheet(SPREADSHEET_ID)
    client = SheetsClient(fake_session(fake), sleep=lambda seconds: None, rng=random.Random(1))
    for _ in range(exports_before):
        export_month(client, SPREADSHEET_ID, EXPORT_MONTH, tables, "vi", rng=random.Random(1))
    first_request = len(fake.requests)
    result = export_month(client, SPREADSHEET_ID, EXPORT_MONTH, tables, "vi", rng=random.Random(2))
    if fake.unexpected:
        raise RuntimeError(f"requests went somewhere other than the fake Sheets API: {fake.unexpected}")

    requests = fake.requests[first_request:]
    kinds = collections.Counter(request.kind for request in requests)
    return ExportCalls(
        employees=employees,
        export=label,
        rows=result.rows,
        calls=len(requests),
        calls_by_kind=dict(kinds),
        bytes_total=sum(len(request.body) for request in requests),
        max_request_bytes=max(len(request.body) for request in requests),
    )


def _description() -> str:
    return (
        f"Each size exports the tables of {EXPORT_MONTH} that `jobs.export.build_month_tables` builds from a "
        "generated, rolled-up dataset (the same tables as the Excel workbook) with `exporters.sheets.export_month` "
        "into the fake Sheets API of `tests/fake_sheets.py`. The table shows the second export of the month (the "
        "tabs exist, so the managers' notes are read first), the steady state of a nightly job; the first export "
        "is listed below it. Bytes are request bodies as sent (JSON), headers not counted."
    )
