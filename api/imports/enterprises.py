"""Importing a county's enterprise register: each row validated, matched to an enterprise by
credit code, and placed by the grid rule (api/enterprises/classify.py) through the same
services as the API, so an import and a hand-made registration end in the same grid."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, union
from sqlalchemy.ext.asyncio import AsyncSession

from api.enterprises.codes import CREDIT_ALPHABET, credit_check_char
from api.enterprises.models import Enterprise
from api.enterprises.service import register_enterprise, update_enterprise
from api.errors import DomainError
from api.grids.models import Grid, GridKind
from api.imports.columns import ENTERPRISES
from api.imports.report import ImportReport, RowOutcome
from api.imports.run import Cells
from api.imports.sheets import Header

MAX_HEADCOUNT = 1_000_000
# Which cell a refusal of the enterprise service is about.
SERVICE_FIELDS = {
    "name": "name",
    "creditCode": "credit_code",
    "headcount": "headcount",
    "industry": "industry",
    "townId": "town",
    "parkId": "park",
}


def credit_code_problem(code: str) -> tuple[str, dict[str, object]] | None:
    """Why a (normalized, upper-case) credit code is wrong, in the terms of GB 32100-2015."""
    if len(code) != 18:
        return "CREDIT_LENGTH", {"length": len(code)}
    bad = "".join(sorted({c for c in code if c not in CREDIT_ALPHABET}))
    if bad:
        return "CREDIT_CHARS", {"chars": bad}
    expected = credit_check_char(code[:17])
    if expected != code[17]:
        return "CREDIT_CHECK", {"expected": expected, "actual": code[17]}
    return None


@dataclass(frozen=True)
class Area:
    id: uuid.UUID
    name: str
    town_id: uuid.UUID | None


def _key(text: str) -> str:
    return "".join(text.split()).lower()


async def area_index(session: AsyncSession, kind: GridKind) -> dict[str, Area]:
    """Towns (or parks) by code and by name: a sheet names them either way."""
    rows = await session.execute(
        select(Grid.id, Grid.code, Grid.name, Grid.town_id).where(
            Grid.kind == kind, Grid.deleted_at.is_(None)
        )
    )
    index: dict[str, Area] = {}
    for row in rows:
        area = Area(row.id, row.name, row.town_id)
        index[_key(row.code)] = area
        index.setdefault(_key(row.name), area)
    return index


class EnterpriseImporter:
    kind = ENTERPRISES

    def __init__(
        self,
        *,
        actor_id: uuid.UUID | None = None,
        allow_new_industries: bool = False,
        may_use: Callable[[uuid.UUID], bool] | None = None,
    ) -> None:
        self.actor_id = actor_id
        self.allow_new_industries = allow_new_industries
        self.may_use = may_use
        self.seen: dict[str, int] = {}

    async def start(self, session: AsyncSession, header: Header) -> None:
        self.header = header
        self.towns = await area_index(session, GridKind.TOWN)
        self.parks = await area_index(session, GridKind.PARK)
        known = await session.scalars(
            union(
                select(Enterprise.industry).where(Enterprise.deleted_at.is_(None)),
                select(Grid.industry).where(Grid.industry.is_not(None)),
            )
        )
        self.industries = {i for i in known if i}

    async def row(
        self, session: AsyncSession, number: int, values: dict[str, str], report: ImportReport
    ) -> None:
        cells = Cells(self.kind, self.header, number, values, report)
        name = cells.text("name")
        code = cells.text("credit_code").replace(" ", "").upper()
        if code and (wrong := credit_code_problem(code)):
            cells.fail("credit_code", wrong[0], **wrong[1])
        elif code in self.seen:
            cells.fail("credit_code", "CREDIT_DUPLICATE", code=code, first=self.seen[code])
        elif code:
            self.seen[code] = number
        headcount = self._headcount(cells)
        industry = cells.text("industry")
        if industry and industry not in self.industries:
            if self.allow_new_industries:
                self.industries.add(industry)
                report.new_industries.append(industry)
            else:
                known = "、".join(sorted(self.industries)[:5]) or "—"
                cells.fail("industry", "INDUSTRY_UNKNOWN", value=industry, known=known)
        town, park = self._area(cells)
        address = cells.text("address")
        has_union = cells.yes_no("has_union")
        direct = cells.yes_no("direct_report")
        if cells.failed or town is None or headcount is None:
            return
        existing = await session.scalar(select(Enterprise).where(Enterprise.credit_code == code))
        if existing is not None and self.may_use is not None and not self.may_use(existing.town_id):
            cells.fail("credit_code", "OUT_OF_SCOPE", value=code)
            return
        try:
            if existing is None:
                placed = await register_enterprise(
                    session,
                    name=name,
                    credit_code=code,
                    headcount=headcount,
                    industry=industry,
                    town_id=town.id,
                    park_id=park.id if park else None,
                    address=address,
                    has_union=has_union,
                    is_direct_report_point=direct,
                    actor_id=self.actor_id,
                )
                report.created += 1
                action = "CREATED"
            else:
                wanted = (name, headcount, industry, town.id, park.id if park else None)
                wanted += (address, has_union, direct)
                if wanted == (
                    existing.name,
                    existing.headcount,
                    existing.industry,
                    existing.town_id,
                    existing.park_id,
                    existing.address,
                    existing.has_union,
                    existing.is_direct_report_point,
                ):
                    report.unchanged += 1
                    return
                placed = await update_enterprise(
                    session,
                    enterprise_id=existing.id,
                    actor_id=self.actor_id,
                    name=name,
                    headcount=headcount,
                    industry=industry,
                    town_id=town.id,
                    park_id=park.id if park else None,
                    clear_park=park is None,
                    address=address,
                    has_union=has_union,
                    is_direct_report_point=direct,
                )
                report.updated += 1
                report.moved += placed.moved
                action = "MOVED" if placed.moved else "UPDATED"
        except DomainError as error:
            cells.fail(
                SERVICE_FIELDS.get(error.field or "", "name"), "REFUSED", reason=error.message
            )
            return
        grid = placed.placement.grid
        if placed.placement.created:
            report.grids_created.append(f"{grid.code} {grid.name}")
        report.record(RowOutcome(number, action, code, grid.code, placed.placement.reason))

    def _headcount(self, cells: Cells) -> int | None:
        raw = cells.text("headcount").replace(",", "").replace("，", "")
        if not raw:
            return None
        try:
            value = int(raw)
        except ValueError:
            cells.fail("headcount", "HEADCOUNT_NUMBER", value=raw)
            return None
        if not 0 <= value <= MAX_HEADCOUNT:
            cells.fail("headcount", "HEADCOUNT_RANGE", value=value)
            return None
        return value

    def _area(self, cells: Cells) -> tuple[Area | None, Area | None]:
        town_text, park_text = cells.text("town"), cells.text("park")
        town = self.towns.get(_key(town_text)) if town_text else None
        if town_text and town is None:
            cells.fail("town", "TOWN_UNKNOWN", value=town_text)
        park = self.parks.get(_key(park_text)) if park_text else None
        if park_text and park is None:
            cells.fail("park", "PARK_UNKNOWN", value=park_text)
        if town and park and park.town_id != town.id:
            cells.fail("park", "PARK_TOWN", park=park_text, town=town_text)
            return None, None
        if town and self.may_use is not None and not self.may_use(town.id):
            cells.fail("town", "OUT_OF_SCOPE", value=town_text)
            return None, None
        return town, park
