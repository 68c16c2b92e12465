"""Importing the top of the grid tree a county keeps in a sheet: the county, its towns and its
industrial parks. Independent and joint grids are not imported: the grid rule makes them when
the enterprises come in."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import DomainError
from api.grids.models import Grid, GridKind
from api.grids.service import ALLOWED_PARENTS, create_grid
from api.imports.columns import GRIDS
from api.imports.report import ImportReport, RowOutcome
from api.imports.run import Cells, RowByRow
from api.imports.sheets import Header

KIND_WORDS: dict[str, GridKind] = {
    "县": GridKind.COUNTY,
    "县级": GridKind.COUNTY,
    "county": GridKind.COUNTY,
    "镇": GridKind.TOWN,
    "乡": GridKind.TOWN,
    "乡镇": GridKind.TOWN,
    "镇区": GridKind.TOWN,
    "街道": GridKind.TOWN,
    "town": GridKind.TOWN,
    "园区": GridKind.PARK,
    "工业园区": GridKind.PARK,
    "park": GridKind.PARK,
}
KIND_ZH = {GridKind.COUNTY: "县", GridKind.TOWN: "镇", GridKind.PARK: "园区"}


class GridImporter(RowByRow):
    kind = GRIDS

    def __init__(self, *, may_use: Callable[[uuid.UUID | None], bool] | None = None) -> None:
        self.may_use = may_use

    async def start(self, session: AsyncSession, header: Header) -> None:
        self.header = header

    async def row(
        self, session: AsyncSession, number: int, values: dict[str, str], report: ImportReport
    ) -> None:
        cells = Cells(self.kind, self.header, number, values, report)
        code, name = cells.text("code"), cells.text("name")
        kind_text = cells.text("kind")
        kind = KIND_WORDS.get(kind_text.strip().lower())
        if kind_text and kind is None:
            cells.fail("kind", "GRID_KIND", value=kind_text)
        parent_code = cells.text("parent")
        parent = None
        if parent_code:
            parent = await session.scalar(
                select(Grid).where(Grid.code == parent_code, Grid.deleted_at.is_(None))
            )
        if kind is not None and (parent.kind if parent else None) not in ALLOWED_PARENTS[kind]:
            cells.fail("parent", "GRID_PARENT", value=parent_code or "—", kind=KIND_ZH[kind])
        if cells.failed or kind is None:
            return
        if self.may_use is not None and not self.may_use(parent.id if parent else None):
            cells.fail("parent", "OUT_OF_SCOPE", value=parent_code or code)
            return
        existing = await session.scalar(select(Grid).where(Grid.code == code))
        if existing is not None:
            parent_id = parent.id if parent else None
            if existing.parent_id != parent_id or existing.kind != kind:
                current = (
                    await session.get(Grid, existing.parent_id) if existing.parent_id else None
                )
                cells.fail(
                    "parent",
                    "GRID_MOVED",
                    code=code,
                    current=current.code if current else "—",
                    value=parent_code or "—",
                )
                return
            if existing.name == name and existing.deleted_at is None:
                report.unchanged += 1
                return
            existing.name, existing.deleted_at = name, None
            report.updated += 1
            report.record(RowOutcome(number, "UPDATED", code))
            return
        try:
            await create_grid(
                session, code=code, name=name, kind=kind, parent_id=parent.id if parent else None
            )
        except DomainError as error:
            cells.fail("code", "REFUSED", reason=error.message)
            return
        report.created += 1
        report.grids_created.append(f"{code} {name}")
        report.record(RowOutcome(number, "CREATED", code))
