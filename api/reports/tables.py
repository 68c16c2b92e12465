"""What a report or an export is made of, whatever its file format: titled tables of typed
columns. XLSX, PDF and CSV writers read only this, so every format shows the same figures."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    TEXT = "text"
    COUNT = "count"
    RATE = "rate"  # a share 0–1, shown as a percentage
    YUAN = "yuan"
    NUMBER = "number"  # a decimal such as an average score
    TIME = "time"  # a datetime, shown in Beijing time


@dataclass(frozen=True)
class Column:
    title: str
    kind: Kind = Kind.TEXT
    # Width in characters (a CJK character counts as two), for the spreadsheet and the PDF.
    width: int = 12


@dataclass
class Table:
    """One section: a sheet of the workbook, a table of the PDF."""

    key: str  # language-neutral name (the sheet's order and tests use it)
    title: str
    columns: Sequence[Column]
    rows: list[list[Any]] = field(default_factory=list)
    # The totals row (same columns; None where a total means nothing), or None.
    totals: list[Any] | None = None
    note: str | None = None
    # A kind per row for the columns after the first (a table of figure / value), or None.
    row_kinds: list[Kind] | None = None

    def kind(self, row: int | None, column: int) -> Kind:
        if self.row_kinds is not None and row is not None and column > 0:
            return self.row_kinds[row]
        return self.columns[column].kind


@dataclass
class Document:
    """A report: a title, lines under it (who, which period, when made), and its tables."""

    title: str
    subtitle: Sequence[str]
    tables: list[Table]

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)


def sum_column(rows: Iterable[Sequence[Any]], index: int) -> int | float:
    return sum(row[index] or 0 for row in rows)


def display_width(text: str) -> int:
    """Characters as a spreadsheet or a printed table needs room for: CJK counts double."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
