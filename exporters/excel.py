"""Write `Table`s into an Excel workbook (.xlsx), one sheet per table.

Each sheet has the table's title lines, one frozen header row, the rows, then the
footer lines (the legend). Cells are typed: dates and times are Excel serial numbers
with dd/mm/yyyy or hh:mm formats, numbers are numbers, and every text cell is
written as a string, so webhook text such as `=HYPERLINK(...)` never becomes a
formula. Control characters are dropped in the cell, never in the database.

The workbook is streamed with openpyxl's write-only mode, so memory stays flat in
the number of rows, and it is written to a temporary file in the target's folder
that replaces the target only once complete. The same tables give a byte-identical
file: the document properties and zip entry times come from the data, not the clock.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import re
import secrets
import shutil
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from exporters.tables import FILL_COLOURS, GRID_TABLE_KEY, Column, Fill, Language, Table, ValueType

logger = logging.getLogger(__name__)

MAX_SHEET_NAME_LENGTH = 31
"""Excel's limit on a sheet name."""

MAX_CELL_TEXT_LENGTH = 32_767
"""Excel's limit on the characters in one cell; longer text is cut to it."""

_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")

_UNWRITABLE_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
"""C0 and C1 control characters except tab and line feed, lone surrogates and the two
non-characters: XML 1.0 cannot carry most of them, and the rest show as garbage."""

FALLBACK_TIMESTAMP = dt.datetime(1980, 1, 1)
"""The document timestamp of tables without a single date: the earliest a zip entry allows."""

LATEST_ZIP_TIMESTAMP = dt.datetime(2107, 12, 31, 23, 59, 58)
"""The latest time a zip entry can carry."""

HEADER_FILL_COLOUR = "DDEBF7"
TITLE_FONT = Font(bold=True, size=14)
HEADER_FONT = Font(bold=True)
THIN_BORDER = Border(*(Side(style="thin", color="A6A6A6"),) * 4)
LINE_HEIGHT_POINTS = 15
CHARACTERS_PER_WIDTH_UNIT = 0.9
"""An estimate of how many header characters (Calibri 11, bold) fit in one unit of column width.

A LibreOffice rendering of the grid cut off wrapped headers at 1.1."""


def write_workbook(tables: Sequence[Table], path: Path, language: Language) -> Path:
    """Write `tables` to the workbook `path`, one sheet each, in the order given.

    The file appears whole or not at all: it is written next to `path` under a
    hidden temporary name, flushed to disk, then renamed over `path` (an existing
    file is replaced whole). On any error the temporary file is removed and an
    existing `path` stays as it was. Returns `path`.

    Raises FileNotFoundError or NotADirectoryError when the folder of `path` does
    not exist, IsADirectoryError when `path` is a folder, and ValueError or
    TypeError for a table that cannot be written (sheet name, value type).
    """
    path = Path(path)
    _check_target(path)
    _check_sheet_names(tables, language)

    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        with temporary.open("xb") as file:
            _write_xlsx(tables, file, language)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise

    _sync_folder(path.parent)
    logger.info("Wrote workbook %s: %d sheets, %d rows", path, len(tables), sum(len(table.rows) for table in tables))
    return path


def _check_target(path: Path) -> None:
    folder = path.parent
    if not folder.exists():
        raise FileNotFoundError(f"Cannot write workbook {path}: folder {folder} does not exist; create it or choose another output path")
    if not folder.is_dir():
        raise NotADirectoryError(f"Cannot write workbook {path}: {folder} is not a folder")
    if path.is_dir():
        raise IsADirectoryError(f"Cannot write workbook {path}: it is a folder; give a file name such as {path / 'bang-cham-cong.xlsx'}")


def _check_sheet_names(tables: Sequence[Table], language: Language) -> None:
    if not tables:
        raise ValueError("Cannot write a workbook without tables: give at least one Table")

    seen: set[str] = set()
    for table in tables:
        name = table.name(language)
        if not name or len(name) > MAX_SHEET_NAME_LENGTH:
            raise ValueError(f"Sheet name {name!r} of table {table.key!r} must be 1 to {MAX_SHEET_NAME_LENGTH} characters")
        if _SHEET_NAME_FORBIDDEN.search(name) or name.startswith("'") or name.endswith("'"):
            raise ValueError(f"Sheet name {name!r} of table {table.key!r} contains a character Excel rejects: [ ] : * ? / \\ or a leading or trailing '")
        if name.casefold() in seen:
            raise ValueError(f"Sheet name {name!r} is used by two tables; Excel needs distinct names")
        seen.add(name.casefold())


def _sync_folder(folder: Path) -> None:
    """Flush the rename to disk; some platforms cannot open a folder, which is harmless."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


# --- The workbook -------------------------------------------------------------------


def _write_xlsx(tables: Sequence[Table], file: IO[bytes], language: Language) -> None:
    workbook = Workbook(write_only=True)
    latest = FALLBACK_TIMESTAMP
    try:
        for table in tables:
            sheet = _CellSheet(parent=workbook, title=table.name(language))
            workbook._add_sheet(sheet)
            latest = max(latest, _SheetWriter(sheet, table, language).write())
    except BaseException:
        _discard_streamed_sheets(workbook)
        raise

    timestamp = min(latest, LATEST_ZIP_TIMESTAMP).replace(microsecond=0)
    workbook.properties.created = timestamp
    workbook.properties.modified = timestamp
    workbook.properties.creator = "acheckin-sync"

    archive = _FixedTimeZipFile(file, "w", zipfile.ZIP_DEFLATED, allowZip64=True, date_time=timestamp.timetuple()[:6])
    ExcelWriter(workbook, archive).save()


def _discard_streamed_sheets(workbook: Workbook) -> None:
    """Remove the temporary files write-only sheets stream into, which only a save removes.

    openpyxl 3.1 would otherwise keep them until the process exits, and `serve` runs
    for months. This reaches into its private `_writer`, so it is best effort.
    """
    for sheet in workbook.worksheets:
        writer = getattr(sheet, "_writer", None)
        if writer is None:
            continue
        try:
            rows = getattr(sheet, "_rows", None)
            if rows is not None:
                rows.close()
            writer.close()
            writer.cleanup()
        except (OSError, ValueError, RuntimeError, StopIteration) as exc:
            logger.debug("Could not remove a streamed sheet's temporary file: %s", exc)


class _FixedTimeZipFile(zipfile.ZipFile):
    """A zip archive whose entries all carry one given time, so reruns give the same bytes.

    openpyxl's `ExcelWriter` adds parts with `writestr(name, data)` and the streamed
    sheets with `write(filename, name)`; both otherwise stamp the current time.
    """

    def __init__(self, file: IO[bytes], mode: str, compression: int, *, allowZip64: bool, date_time: tuple[int, ...]) -> None:
        super().__init__(file, mode, compression, allowZip64=allowZip64)
        self._date_time = date_time

    def _entry(self, name: str) -> zipfile.ZipInfo:
        entry = zipfile.ZipInfo(name, date_time=self._date_time)  # type: ignore[arg-type]
        entry.compress_type = self.compression
        entry.external_attr = 0o644 << 16
        return entry

    def writestr(self, zinfo_or_arcname: Any, data: Any, compress_type: int | None = None, compresslevel: int | None = None) -> None:
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = self._entry(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename: Any, arcname: Any = None, compress_type: int | None = None, compresslevel: int | None = None) -> None:
        entry = self._entry(arcname if arcname is not None else os.path.basename(filename))
        with open(filename, "rb") as source, self.open(entry, "w", force_zip64=True) as target:
            shutil.copyfileobj(source, target, 1 << 20)


# --- One sheet ----------------------------------------------------------------------


class _CellSheet(WriteOnlyWorksheet):
    """A write-only sheet whose rows are iterables of finished cells.

    openpyxl's own `append` first tries each item as a value and then builds a fresh
    cell after every styled one. At a million cells that doubled the time of an
    unstyled write. NOTE: this overrides `_values_to_row` and is added with
    `Workbook._add_sheet`, both private in openpyxl 3.1.5, so an openpyxl upgrade
    must rerun tests/test_excel.py.
    """

    def _values_to_row(self, cells: Iterable[Cell], row_idx: int) -> Iterator[Cell]:
        for column_idx, cell in enumerate(cells, start=1):
            cell.row = row_idx
            cell.column = column_idx
            yield cell


class _SheetWriter:
    """Stream one table into one write-only sheet: title, header, rows, footer.

    Every cell's style is one of a few style arrays built once per column and fill
    and shared by all its cells, so styling a cell costs no lookup per attribute.
    """

    def __init__(self, sheet: WriteOnlyWorksheet, table: Table, language: Language) -> None:
        self.sheet = sheet
        self.table = table
        self.language = language
        self.columns = tuple(table.columns)
        self.latest = FALLBACK_TIMESTAMP
        self.header_row = len(table.title_lines) + (2 if table.title_lines else 1)
        self._styles: dict[tuple[int, Fill | None], Any] = {}
        self._cell = Cell(sheet, row=1, column=1)
        self._text_style = self._style_array(font=None, number_format="General")
        self._title_style = self._style_array(font=TITLE_FONT, number_format="General")

    def write(self) -> dt.datetime:
        """Write the sheet; return the latest date or time it contains (for the file's timestamps)."""
        self._lay_out()
        self._write_title()
        self._write_header()
        self._write_rows()
        self._write_footer()
        return self.latest

    def _lay_out(self) -> None:
        """Set what write-only mode needs before the first row: widths, panes, header height, printing."""
        sheet = self.sheet
        for index, column in enumerate(self.columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = column.width

        frozen_columns = min(max(self.table.frozen_columns, 0), len(self.columns))
        sheet.freeze_panes = f"{get_column_letter(frozen_columns + 1)}{self.header_row + 1}"
        sheet.row_dimensions[self.header_row].height = LINE_HEIGHT_POINTS * self._header_line_count()

        sheet.print_title_rows = f"{self.header_row}:{self.header_row}"
        if frozen_columns:
            sheet.print_title_cols = f"A:{get_column_letter(frozen_columns)}"
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.paperSize = Worksheet.PAPERSIZE_A4
        if self.table.key == GRID_TABLE_KEY:
            sheet.sheet_properties.pageSetUpPr.fitToPage = True
            sheet.page_setup.fitToWidth = 1
            sheet.page_setup.fitToHeight = 0

    def _header_line_count(self) -> int:
        """Estimate how many lines the tallest header label needs when wrapped at spaces."""
        count = 1
        for column in self.columns:
            per_line = max(1, int(column.width * CHARACTERS_PER_WIDTH_UNIT))
            lines = sum(_wrapped_line_count(part, per_line) for part in column.label(self.language).split("\n"))
            count = max(count, lines)
        return count

    def _write_title(self) -> None:
        for index, line in enumerate(self.table.title_lines):
            style = self._title_style if index == 0 else self._text_style
            self.sheet.append(self._text_row([line], style))
        if self.table.title_lines:
            self.sheet.append([])

    def _write_header(self) -> None:
        header_style = self._style_array(
            font=HEADER_FONT,
            fill=PatternFill(fill_type="solid", start_color=HEADER_FILL_COLOUR, end_color=HEADER_FILL_COLOUR),
            border=THIN_BORDER,
            alignment=Alignment(horizontal="center", vertical="center", wrap_text=True),
            number_format="General",
        )
        self.sheet.append(self._text_row([column.label(self.language) for column in self.columns], header_style))

    def _write_rows(self) -> None:
        keys = {column.key for column in self.columns}
        fills_by_row: dict[int, dict[str, Fill]] = {}
        for (row_index, key), fill in self.table.fills.items():
            if key not in keys or not 0 <= row_index < len(self.table.rows):
                raise ValueError(f"Sheet {self.table.name(self.language)!r}: fill at row index {row_index}, column {key!r} is outside the table's rows and columns")
            fills_by_row.setdefault(row_index, {})[key] = fill

        for row_index, row in enumerate(self.table.rows):
            self.sheet.append(self._row_cells(row_index, row, fills_by_row.get(row_index)))

    def _write_footer(self) -> None:
        if not self.table.footer_lines:
            return
        self.sheet.append([])
        for line in self.table.footer_lines:
            self.sheet.append(self._text_row([line], self._text_style))

    # --- cells ------------------------------------------------------------------
    # Rows are generators of one reused cell: `_CellSheet` writes each cell before
    # the generator loads the next value into it, so no cell object is built per value.

    def _text_row(self, texts: Sequence[str], style: Any) -> Iterator[Cell]:
        for text in texts:
            yield self._load(*_text_value(text), style)

    def _row_cells(self, row_index: int, row: Mapping[str, Any], fills: dict[str, Fill] | None) -> Iterator[Cell]:
        for column_index, column in enumerate(self.columns):
            fill = fills.get(column.key) if fills else None
            style = self._styles.get((column_index, fill)) or self._column_style(column_index, fill)
            value = row.get(column.key)
            if value is None:
                yield self._load(None, "n", style)
                continue
            try:
                value, data_type = self._typed_value(column.type, value)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"Sheet {self.table.name(self.language)!r}, row {row_index + 1}, column {column.key!r}: {exc}") from exc
            yield self._load(value, data_type, style)

    def _load(self, value: Any, data_type: str, style: Any) -> Cell:
        """Return the reused cell holding `value` with openpyxl's data type code and a shared style array."""
        cell = self._cell
        cell._value = value
        cell.data_type = data_type
        cell._style = style
        return cell

    def _typed_value(self, kind: ValueType, value: Any) -> tuple[Any, str]:
        """Return `value` checked against the column type, with openpyxl's data type code."""
        if kind is ValueType.TEXT:
            return _text_value(value)
        if kind is ValueType.INTEGER or kind is ValueType.DECIMAL:
            return _number_value(kind, value), "n"

        moment = _moment(kind, value)
        if moment > self.latest:
            self.latest = moment
        return value, "d"

    # --- styles -----------------------------------------------------------------

    def _column_style(self, column_index: int, fill: Fill | None) -> Any:
        key = (column_index, fill)
        style = self._styles.get(key)
        if style is None:
            column = self.columns[column_index]
            style = self._style_array(
                font=None,
                fill=_pattern_fill(fill),
                border=THIN_BORDER,
                alignment=_alignment(column),
                number_format=column.number_format,
            )
            self._styles[key] = style
        return style

    def _style_array(self, *, font: Font | None, number_format: str, fill: PatternFill | None = None, border: Border | None = None, alignment: Alignment | None = None) -> Any:
        """Register a style with the workbook through a throwaway cell; return its style array."""
        template = Cell(self.sheet, row=1, column=1)
        if font is not None:
            template.font = font
        if fill is not None:
            template.fill = fill
        if border is not None:
            template.border = border
        if alignment is not None:
            template.alignment = alignment
        template.number_format = number_format
        return template._style


def _text_value(value: Any) -> tuple[str | None, str]:
    """Return cleaned text typed as a string ("s"), so "=..." is never a formula nor "#N/A" an error."""
    text = clean_text(value if isinstance(value, str) else str(value))[:MAX_CELL_TEXT_LENGTH]
    if not text:
        return None, "n"
    return text, "s"


def _number_value(kind: ValueType, value: Any) -> int | float | Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise TypeError(f"expected a number for a {kind} column, got {type(value).__name__} {value!r}")
    if isinstance(value, (float, Decimal)) and not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r}; Excel cannot store NaN or infinity")
    if kind is ValueType.INTEGER and isinstance(value, float) and not value.is_integer():
        raise ValueError(f"expected a whole number for an integer column, got {value!r}")
    return value


def _moment(kind: ValueType, value: Any) -> dt.datetime:
    """Check a date, time or datetime value; return it as a datetime (a bare time as `FALLBACK_TIMESTAMP`)."""
    if kind is ValueType.DATE:
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise TypeError(f"expected a datetime.date for a date column, got {type(value).__name__} {value!r}")
        return dt.datetime.combine(value, dt.time())

    if kind is ValueType.TIME and isinstance(value, dt.time):
        if value.tzinfo is not None:
            raise ValueError(f"expected a naive local time, got {value!r} with a time zone")
        return FALLBACK_TIMESTAMP

    if not isinstance(value, dt.datetime):
        raise TypeError(f"expected a naive local datetime.datetime for a {kind} column, got {type(value).__name__} {value!r}")
    if value.tzinfo is not None:
        raise ValueError(f"expected a naive local datetime, got {value!r} with a time zone; convert it to the firm's wall time first")
    return value


def _pattern_fill(fill: Fill | None) -> PatternFill | None:
    if fill is None:
        return None
    colour = FILL_COLOURS[fill]
    return PatternFill(fill_type="solid", start_color=colour, end_color=colour)


def _alignment(column: Column) -> Alignment:
    if column.centered or column.type in (ValueType.DATE, ValueType.TIME, ValueType.DATETIME):
        return Alignment(horizontal="center", vertical="center")
    return Alignment(vertical="center")


def clean_text(text: str) -> str:
    """Return `text` in NFC without the characters a cell cannot show (see `_UNWRITABLE_CHARACTERS`).

    Carriage returns go too, so a CR LF line break becomes the LF a cell uses.
    """
    text = _UNWRITABLE_CHARACTERS.sub("", text)
    return unicodedata.normalize("NFC", text)


def _wrapped_line_count(text: str, per_line: int) -> int:
    """Count the lines `text` takes when wrapped at spaces into lines of `per_line` characters.

    A word longer than a line is broken, as spreadsheets do.
    """
    lines, used = 1, 0
    for word in text.split():
        length = len(word)
        needed = length if used == 0 else used + 1 + length
        if needed <= per_line:
            used = needed
            continue
        if used:
            lines += 1
        lines += (length - 1) // per_line
        used = length % per_line or per_line
    return lines
