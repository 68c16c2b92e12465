"""A report as an Excel workbook: one sheet per section, a bold frozen header, the totals row
in bold, widths that fit the Chinese, percentages and yuan as numbers with formats."""

from __future__ import annotations

import io
import re
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from api.i18n import BEIJING
from api.reports.tables import Document, Kind, Table, display_width

FORMATS = {
    Kind.COUNT: "#,##0",
    Kind.YUAN: "#,##0",
    Kind.RATE: "0.0%",
    Kind.NUMBER: "#,##0.##",
    Kind.TIME: "yyyy-mm-dd hh:mm",
}
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
BOLD = Font(bold=True)
# Characters Excel refuses in a sheet name, and its 31-character limit.
_SHEET_UNSAFE = re.compile(r"[\[\]:*?/\\]")


def sheet_title(text: str) -> str:
    return _SHEET_UNSAFE.sub(" ", text)[:31]


def excel_value(value: Any) -> Any:
    """Excel has no time zones: a time is written as Beijing wall-clock time."""
    if isinstance(value, datetime):
        return value.astimezone(BEIJING).replace(tzinfo=None)
    return value


def report_xlsx(document: Document) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for table in document.tables:
        _sheet(workbook, table, document)
    workbook.properties.title = document.title
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _sheet(workbook: Workbook, table: Table, document: Document) -> None:
    sheet = workbook.create_sheet(sheet_title(table.title))
    # Title lines above the table; the header row is frozen under them.
    sheet.append([document.title])
    sheet.append([f"{table.title}" + (f" — {table.note}" if table.note else "")])
    sheet["A1"].font = Font(bold=True, size=14)
    header_row = 3
    sheet.append([column.title for column in table.columns])
    for cell in sheet[header_row]:
        cell.font = BOLD
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for index, row in enumerate(table.rows):
        sheet.append([excel_value(v) for v in row])
        _format_row(sheet, table, sheet.max_row, index)
    if table.totals is not None:
        sheet.append([excel_value(v) for v in table.totals])
        _format_row(sheet, table, sheet.max_row, None)
        for cell in sheet[sheet.max_row]:
            cell.font = BOLD
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
    for number, column in enumerate(table.columns, start=1):
        longest = max(
            [display_width(column.title), column.width]
            + [display_width(str(row[number - 1] or "")) for row in table.rows[:200]]
        )
        sheet.column_dimensions[get_column_letter(number)].width = min(longest + 2, 80)


def _format_row(sheet: Any, table: Table, row_number: int, index: int | None) -> None:
    for number in range(1, len(table.columns) + 1):
        kind = table.kind(index, number - 1)
        if kind in FORMATS:
            sheet.cell(row=row_number, column=number).number_format = FORMATS[kind]
        if kind == Kind.TEXT:
            sheet.cell(row=row_number, column=number).alignment = Alignment(wrap_text=True)
