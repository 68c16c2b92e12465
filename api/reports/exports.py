"""Exports of tickets, enterprises and attendances as CSV (UTF-8 with a BOM, so that Excel
reads the Chinese) or XLSX, streamed: rows come from a server-side cursor in batches and go
out as they are written, so a 100 000-ticket export holds one batch in memory at a time
(bench/export_bench.py measures it).

Each export is one declaration: its columns (titles, kinds) and one Core select whose columns
are in the same order. The caller adds the visibility and filter conditions."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import aliased

from api.auth.scope import Scope
from api.enterprises.models import Enterprise
from api.grids.models import Grid
from api.i18n import N_, Lazy, render
from api.members.models import Member
from api.reports.tables import Kind
from api.reports.xlsx import FORMATS, excel_value
from api.stations.models import ActivityKind, Attendance, Station, StationActivity
from api.tickets.models import Severity, Ticket, TicketSource, TicketStatus, Tier

BATCH = 2000
CSV_BOM = "\ufeff".encode()


class Format(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


@dataclass(frozen=True)
class ExportColumn:
    title: Lazy
    kind: Kind = Kind.TEXT
    width: int = 14
    # Enum columns: shown by their label (the value as stored, converted by this enum).
    enum: type | None = None


@dataclass(frozen=True)
class Export:
    key: str
    title: Lazy
    columns: Sequence[ExportColumn]
    # The select (columns in the order above) with the caller's visibility applied.
    select: Callable[[Scope], sa.Select[Any]]


def _ticket_select(scope: Scope) -> sa.Select[Any]:
    t = Ticket.__table__.c
    assignee = aliased(Member)
    return (
        sa.select(
            t.number,
            t.title,
            t.source,
            t.severity,
            t.status,
            t.tier,
            t.category,
            Grid.name,
            Enterprise.name,
            t.reporter_name,
            assignee.name,
            t.reported_at,
            t.first_response_due_at,
            t.resolution_due_at,
            t.closed_at,
            t.satisfaction_rating,
            t.rated_on_behalf,
        )
        .select_from(Ticket)
        .join(Grid, Grid.id == t.grid_id)
        .outerjoin(Enterprise, Enterprise.id == t.enterprise_id)
        .outerjoin(assignee, assignee.id == t.assignee_id)
        .where(t.deleted_at.is_(None), scope.visible(Ticket))
        .order_by(t.created_at, t.id)
    )


def _enterprise_select(scope: Scope) -> sa.Select[Any]:
    e = Enterprise.__table__.c
    town = aliased(Grid)
    return (
        sa.select(
            e.name,
            e.credit_code,
            e.industry,
            e.headcount,
            town.name,
            Grid.name,
            e.has_union,
            e.is_direct_report_point,
            e.address,
        )
        .select_from(Enterprise)
        .join(Grid, Grid.id == e.grid_id)
        .join(town, town.id == e.town_id)
        .where(e.deleted_at.is_(None), scope.visible(Enterprise))
        .order_by(e.name, e.id)
    )


def _attendance_select(scope: Scope) -> sa.Select[Any]:
    at = Attendance.__table__.c
    a = StationActivity.__table__.c
    return (
        sa.select(
            Station.name,
            a.title,
            a.kind,
            a.starts_at,
            at.attendee_name,
            Enterprise.name,
            at.signed_in_at,
        )
        .select_from(Attendance)
        .join(StationActivity, StationActivity.id == at.activity_id)
        .join(Station, Station.id == at.station_id)
        .outerjoin(Enterprise, Enterprise.id == at.enterprise_id)
        .where(at.deleted_at.is_(None), scope.visible(Attendance))
        .order_by(a.starts_at, at.signed_in_at, at.id)
    )


EXPORTS: dict[str, Export] = {
    "tickets": Export(
        "tickets",
        N_("Tickets"),
        [
            ExportColumn(N_("Number"), width=18),
            ExportColumn(N_("Title"), width=36),
            ExportColumn(N_("Source"), width=12, enum=TicketSource),
            ExportColumn(N_("Severity"), width=8, enum=Severity),
            ExportColumn(N_("Status"), width=12, enum=TicketStatus),
            ExportColumn(N_("Tier"), width=12, enum=Tier),
            ExportColumn(N_("Category"), width=14),
            ExportColumn(N_("Grid"), width=28),
            ExportColumn(N_("Enterprise"), width=28),
            ExportColumn(N_("Reported by"), width=12),
            ExportColumn(N_("Assignee"), width=12),
            ExportColumn(N_("Reported at"), Kind.TIME, 18),
            ExportColumn(N_("First response due"), Kind.TIME, 18),
            ExportColumn(N_("Resolution due"), Kind.TIME, 18),
            ExportColumn(N_("Closed at"), Kind.TIME, 18),
            ExportColumn(N_("Rating"), Kind.COUNT, 8),
            ExportColumn(N_("Rated on the worker's behalf"), width=10),
        ],
        _ticket_select,
    ),
    "enterprises": Export(
        "enterprises",
        N_("Enterprises"),
        [
            ExportColumn(N_("Enterprise"), width=32),
            ExportColumn(N_("Unified social credit code"), width=22),
            ExportColumn(N_("Industry"), width=14),
            ExportColumn(N_("Headcount"), Kind.COUNT, 10),
            ExportColumn(N_("Town"), width=14),
            ExportColumn(N_("Grid"), width=30),
            ExportColumn(N_("Has a union"), width=10),
            ExportColumn(N_("Direct report point"), width=10),
            ExportColumn(N_("Address"), width=36),
        ],
        _enterprise_select,
    ),
    "attendance": Export(
        "attendance",
        N_("Attendance"),
        [
            ExportColumn(N_("Station"), width=28),
            ExportColumn(N_("Activity"), width=32),
            ExportColumn(N_("Kind"), width=14, enum=ActivityKind),
            ExportColumn(N_("Starts at"), Kind.TIME, 18),
            ExportColumn(N_("Attendee"), width=12),
            ExportColumn(N_("Enterprise"), width=28),
            ExportColumn(N_("Signed in at"), Kind.TIME, 18),
        ],
        _attendance_select,
    ),
}

YES, NO = N_("yes"), N_("no")


def _cell(value: Any, column: ExportColumn, language: str) -> Any:
    """A stored value as a person reads it (CSV: text; XLSX keeps numbers and times)."""
    if value is None:
        return None
    if column.enum is not None:
        return render(column.enum(value), language)
    if isinstance(value, bool):
        return render(YES if value else NO, language)
    return value


async def stream_rows(engine: AsyncEngine, statement: sa.Select[Any]) -> AsyncIterator[list[Any]]:
    """Batches of rows from a server-side cursor, one short read-only transaction."""
    async with engine.connect() as connection:
        result = await connection.stream(statement.execution_options(yield_per=BATCH))
        async for partition in result.partitions(BATCH):
            yield [list(row) for row in partition]


async def csv_chunks(
    export: Export, batches: AsyncIterator[list[list[Any]]], language: str
) -> AsyncIterator[bytes]:
    """UTF-8 with a BOM; times in Beijing time; one chunk per batch."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([render(c.title, language) for c in export.columns])
    yield CSV_BOM + buffer.getvalue().encode()
    async for batch in batches:
        buffer.seek(0)
        buffer.truncate()
        for row in batch:
            writer.writerow(
                [
                    _csv_text(_cell(v, c, language), c, language)
                    for v, c in zip(row, export.columns, strict=True)
                ]
            )
        yield buffer.getvalue().encode()


def _csv_text(value: Any, column: ExportColumn, language: str) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return render(value, language)
    return str(value)


async def xlsx_chunks(
    export: Export, batches: AsyncIterator[list[list[Any]]], language: str
) -> AsyncIterator[bytes]:
    """A write-only workbook (rows go to a temporary file as they come), then the finished
    file in chunks: memory holds one batch, not the sheet."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(render(export.title, language)[:31])
    sheet.freeze_panes = "A2"
    for number, column in enumerate(export.columns):
        sheet.column_dimensions[_letter(number)].width = column.width + 2
    header = []
    for column in export.columns:
        cell = WriteOnlyCell(sheet, value=render(column.title, language))
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    async for batch in batches:
        for row in batch:
            cells = []
            for value, column in zip(row, export.columns, strict=True):
                cell = WriteOnlyCell(sheet, value=excel_value(_cell(value, column, language)))
                if column.kind in FORMATS:
                    cell.number_format = FORMATS[column.kind]
                cells.append(cell)
            sheet.append(cells)
    with tempfile.TemporaryFile() as file:
        workbook.save(file)
        file.seek(0)
        while chunk := file.read(64 * 1024):
            yield chunk


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def export_chunks(
    export: Export,
    format: Format,
    batches: AsyncIterator[list[list[Any]]],
    language: str,
) -> AsyncIterator[bytes]:
    if format == Format.CSV:
        return csv_chunks(export, batches, language)
    return xlsx_chunks(export, batches, language)
