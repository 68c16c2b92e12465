"""Running an import: read the sheet a row at a time, hand each row to the kind's importer, in one
transaction that is committed only for --apply with no problem found, and rolled back otherwise
(a dry run writes nothing: it runs the same code, so it reports exactly what --apply would do)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.imports.columns import Column, SheetKind
from api.imports.messages import problem
from api.imports.report import ImportReport
from api.imports.sheets import Header, SheetError, read_sheet

# Rows between flushes; the session forgets what it flushed, so memory stays flat.
BATCH = 500


class RowImporter(Protocol):
    kind: SheetKind

    async def start(self, session: AsyncSession, header: Header) -> None: ...

    async def row(
        self, session: AsyncSession, number: int, values: dict[str, str], report: ImportReport
    ) -> None: ...


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
        try:
            await importer.start(session, header)
            for number, values in records:
                report.rows += 1
                await importer.row(session, number, values, report)
                if report.rows % BATCH == 0:
                    await session.flush()
                    session.expunge_all()
                    if on_row is not None:
                        on_row(report.rows)
            await session.flush()
        except SheetError as error:  # a file broken half-way (a truncated XLSX)
            report.add(error.problem)
        except BaseException:
            await session.rollback()
            raise
        if apply and report.ok:
            await session.commit()
            report.written = True
        else:
            await session.rollback()
    return report
