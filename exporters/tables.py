"""Plain tables that every exporter renders, and the one definition of their columns.

A `Table` is typed rows plus `Column`s that carry a key, a Vietnamese and an English
label, a value type and a number format. Excel and Google Sheets both render these,
so a layout is defined once. Exporters never query the database: `jobs` builds the
tables and hands them over.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from typing import Any, Literal

Language = Literal["vi", "en"]


class ValueType(enum.StrEnum):
    """How a column's values are written and formatted."""

    TEXT = "text"
    """Always text, even when it looks like a number or a formula."""
    INTEGER = "integer"
    DECIMAL = "decimal"
    """A number shown with two decimals (hours, workdays)."""
    DATE = "date"
    """A `datetime.date`, shown dd/mm/yyyy."""
    TIME = "time"
    """A naive local `datetime.datetime`, shown HH:MM."""
    DATETIME = "datetime"
    """A naive local `datetime.datetime`, shown dd/mm/yyyy HH:MM:SS."""


NUMBER_FORMATS: dict[ValueType, str] = {
    ValueType.TEXT: "@",
    ValueType.INTEGER: "0",
    ValueType.DECIMAL: "0.00",
    ValueType.DATE: "dd/mm/yyyy",
    ValueType.TIME: "hh:mm",
    ValueType.DATETIME: "dd/mm/yyyy hh:mm:ss",
}


class Fill(enum.StrEnum):
    """A cell's shading, by what the date is."""

    REST = "rest"
    HOLIDAY = "holiday"


@dataclasses.dataclass(frozen=True)
class Column:
    """One column: its key, its labels in both languages, its type and width."""

    key: str
    label_vi: str
    label_en: str
    type: ValueType = ValueType.TEXT
    width: float = 12
    editable: bool = False
    """Managers may type in this column of the shared sheet; exports keep it."""

    def label(self, language: Language) -> str:
        """Return the header in `language`."""
        return self.label_vi if language == "vi" else self.label_en

    @property
    def number_format(self) -> str:
        """Return the spreadsheet number format of this column's type."""
        return NUMBER_FORMATS[self.type]


@dataclasses.dataclass(frozen=True)
class Table:
    """A titled grid of typed values, one exporter sheet or tab.

    Each row maps column keys to Python values of the column's type; a missing key
    or None is a blank cell. `fills` shades cells by (row index, column key), the
    row index 0-based within `rows`.
    `title_lines` are printed above the header (the 01a-LĐTL title block) and
    `footer_lines` below the rows (the legend); both are plain text.
    """

    key: str
    name_vi: str
    name_en: str
    columns: Sequence[Column]
    rows: Sequence[Mapping[str, Any]]
    fills: dict[tuple[int, str], Fill] = dataclasses.field(default_factory=dict)
    title_lines: Sequence[str] = ()
    footer_lines: Sequence[str] = ()

    def name(self, language: Language) -> str:
        """Return the sheet name in `language`."""
        return self.name_vi if language == "vi" else self.name_en
