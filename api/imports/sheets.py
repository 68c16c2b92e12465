"""Reading a county's spreadsheet a row at a time: XLSX (openpyxl, read-only streaming) or CSV in
UTF-8 or GBK. Only the current row is held, so a 100 000-row file reads in flat memory."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from api.imports.columns import Column, SheetKind, normalize_header
from api.imports.messages import Problem, problem

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0"
# GB 18030 is a superset of GBK (and of GB 2312): what "ANSI" CSV from Chinese Excel is.
ENCODINGS = ("utf-8-sig", "gb18030")


class SheetError(Exception):
    """The file as a whole cannot be read; carries the problem to report."""

    def __init__(self, found: Problem) -> None:
        super().__init__(found.en)
        self.problem = found


@dataclass
class Header:
    """Which column of the file holds which declared column."""

    positions: dict[str, int]
    headers: dict[str, str]  # key -> the header as written in the file
    problems: list[Problem] = field(default_factory=list)

    def label(self, column: Column) -> str:
        return self.headers.get(column.key, column.zh)


def cell_text(value: Any) -> str:
    """A cell as the text a person typed: 120.0 -> "120", phone numbers stay whole."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def _open_binary(source: Path | bytes) -> IO[bytes]:
    return io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115


def _csv_encoding(source: Path | bytes) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes as such, else GBK/GB 18030.
    Decoded incrementally in 1 MiB chunks: nothing but the decoder's state is kept."""
    for encoding in ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with _open_binary(source) as raw:
                while chunk := raw.read(1 << 20):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise SheetError(problem("FILE_ENCODING"))


def _csv_rows(source: Path | bytes) -> Iterator[list[Any]]:
    encoding = _csv_encoding(source)
    with _open_binary(source) as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        sample = text.read(4096)
        text.seek(0)
        try:
            dialect: Any = csv.Sniffer().sniff(sample, delimiters=",\t;")
        except csv.Error:
            dialect = csv.excel
        yield from csv.reader(text, dialect)


def _xlsx_rows(source: Path | bytes) -> Iterator[list[Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(
            io.BytesIO(source) if isinstance(source, bytes) else source,
            read_only=True,
            data_only=True,
        )
    except Exception as error:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
        reason = str(error) or type(error).__name__
        raise SheetError(problem("FILE_UNREADABLE", reason=reason)) from None
    try:
        sheet = book.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield list(values)
    finally:
        book.close()


def raw_rows(source: Path | bytes) -> Iterator[list[Any]]:
    """Every row of the first sheet (XLSX) or of the CSV file, as a list of cell values."""
    with _open_binary(source) as raw:
        head = raw.read(8)
    if head.startswith(XLS_MAGIC):
        raise SheetError(problem("FILE_XLS"))
    if head.startswith(XLSX_MAGIC):
        return _xlsx_rows(source)
    return _csv_rows(source)


def read_header(kind: SheetKind, cells: list[Any], row: int = 1) -> Header:
    known = kind.by_header()
    positions: dict[str, int] = {}
    headers: dict[str, str] = {}
    problems: list[Problem] = []
    for index, value in enumerate(cells):
        text = cell_text(value)
        if not text:
            continue
        column = known.get(normalize_header(text))
        if column is None:
            names = "、".join(c.zh for c in kind.columns)
            problems.append(problem("HEADER_UNKNOWN", row, text, header=text, known=names))
            continue
        if column.key in positions:
            problems.append(problem("HEADER_DUPLICATE", row, text, name=text))
            continue
        positions[column.key] = index
        headers[column.key] = text
    for column in kind.columns:
        if column.required and column.key not in positions:
            problems.append(
                problem("HEADER_MISSING", row, column.zh, name=column.zh, english=column.en)
            )
    return Header(positions, headers, problems)


def read_sheet(kind: SheetKind, source: Path | bytes) -> tuple[Header, Iterator[tuple[int, dict]]]:
    """The header and an iterator of (row number as Excel shows it, {column key: text});
    blank rows are skipped."""
    rows = raw_rows(source)
    number = 0
    for cells in rows:
        number += 1
        if any(cell_text(c) for c in cells):
            header = read_header(kind, cells, number)
            break
    else:
        raise SheetError(problem("FILE_EMPTY"))

    def records(number: int) -> Iterator[tuple[int, dict[str, str]]]:
        for cells in rows:
            number += 1
            values = {
                key: cell_text(cells[index]) if index < len(cells) else ""
                for key, index in header.positions.items()
            }
            if any(values.values()):
                yield number, values

    return header, records(number)
