"""Running an import: read the sheet a row at a time, hand the rows to the kind's importer a batch
at a time, in one transaction that is committed only for --apply with no problem found, and
rolled back otherwise (a dry run writes nothing: it runs the same code, so it reports exactly
what --apply would do)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.imports.columns import Column, SheetKind
from api.imports.messages import problem
from api.imports.report import ImportReport
from api.imports.sheets import Header, SheetError, read_sheet

# Rows per batch: an importer looks a batch up in one query and writes it in one flush; the
# session forgets what it flushed, so memory stays flat.
BATCH = 1000
# A data row: its number as Excel shows it, and {column key: text}.
Record = tuple[int, dict[str, str]]


class RowImporter(Protocol):
    kind: SheetKind

    async def start(self, session: AsyncSession, header: Header) -> None: ...

    async def rows(
        self, session: AsyncSession, batch: list[Record], report: ImportReport
    ) -> None: ...


class RowByRow:
    """For the kinds whose files are small (the grid tree, the people): a row at a time."""

    async def row(
        self, session: AsyncSession, number: int, values: dict[str, str], report: ImportReport
    ) -> None:
        raise NotImplementedError

    async def rows(self, session: AsyncSession, batch: list[Record], report: ImportReport) -> None:
        for number, values in batch:
            await self.row(session, number, values, report)


class Cells:
    """One row's cells with the checks every kind shares; problems go to the report."""

    def __init__(
        self,
        kind: SheetKind,
        header: Header,
        number: int,
        values: dict[str, str],
        report: ImportReport,
    ) -> None:
        self.kind, self.header, self.number = kind, header, number
        self.values, self.report = values, report
        self.failed = False

    def label(self, key: str) -> str:
        return self.header.label(self.kind.column(key))

    def fail(self, key: str, which: str, **values: object) -> None:
        self.failed = True
        self.report.add(problem(which, self.number, self.label(key), **values))

    def text(self, key: str) -> str:
        column: Column = self.kind.column(key)
        value = self.values.get(key, "").strip()
        if column.required and not value:
            self.fail(key, "REQUIRED")
        elif column.max_length and len(value) > column.max_length:
            self.fail(key, "TOO_LONG", maximum=column.max_length, length=len(value))
        return value

    def yes_no(self, key: str) -> bool:
        from api.imports.columns import NO, YES

        value = self.values.get(key, "").strip().lower()
        if value in YES:
            return True
        if value not in NO:
            self.fail(key, "YES_NO", value=value)
        return False


async def run_import(
    sessions: async_sessionmaker[AsyncSession],
    importer: RowImporter,
    source: Path | bytes,
    *,
    apply: bool,
    on_row: Callable[[int], None] | None = None,
) -> ImportReport:
    report = ImportReport(kind=importer.kind.name, apply=apply)
    try:
        header, records = read_sheet(importer.kind, source)
    except SheetError as error:
        report.add(error.problem)
        return report
    for found in header.problems:
        if found.code == "HEADER_UNKNOWN":
            report.warnings.append(found)
        else:
            report.add(found)
    if not report.ok:
        return report  # without its columns no row can be read
    async with sessions() as session:
        await session.begin()
        reading: asyncio.Task[tuple[list[Record], SheetError | None]] | None = None
        try:
            await importer.start(session, header)
            # The next batch is read from the file (in a thread) while this one is checked and
            # written: the file's parsing overlaps the database's work. Two batches are held.
            reading = asyncio.create_task(asyncio.to_thread(_take, records))
            while True:
                batch, broken = await reading
                if broken is None and len(batch) == BATCH:
                    reading = asyncio.create_task(asyncio.to_thread(_take, records))
                report.rows += len(batch)
                if batch:
                    await _run_batch(session, importer, batch, report, on_row)
                if broken is not None:  # a file broken half-way (a truncated XLSX)
                    report.add(broken.problem)
                if broken is not None or len(batch) < BATCH:
                    break
        except BaseException:
            if reading is not None:
                reading.cancel()
            await session.rollback()
            raise
        if apply and report.ok:
            await session.commit()
            report.written = True
        else:
            await session.rollback()
    return report


def _take(records: Iterator[Record]) -> tuple[list[Record], SheetError | None]:
    """The next BATCH records (fewer at the end of the file), and the error that ended it."""
    batch: list[Record] = []
    try:
        for record in records:
            batch.append(record)
            if len(batch) == BATCH:
                break
    except SheetError as error:
        return batch, error
    return batch, None


async def _run_batch(
    session: AsyncSession,
    importer: RowImporter,
    batch: list[Record],
    report: ImportReport,
    on_row: Callable[[int], None] | None,
) -> None:
    await importer.rows(session, batch, report)
    await session.flush()
    session.expunge_all()
    if on_row is not None:
        on_row(report.rows)
