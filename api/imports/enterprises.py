"""Importing a county's enterprise register: each row validated, matched to an enterprise by
credit code, and placed by the grid rule (api/enterprises/classify.py), so an import and a
hand-made registration end in the same grid with the same explanation.

A register has 100 000 rows, so the work is done a batch of rows at a time, not a row at a time:
the towns, parks, industries and joint grids are read once; the enterprises (and independent
grids) of a batch are looked up with one IN query each; grids are placed in memory; and the
batch is written in one flush (multi-row INSERTs, the change log batched per table).
Problems are still found and reported row by row, in the file's order."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from api.enterprises.classify import (
    INDEPENDENT_THRESHOLD,
    independent_code,
    independent_name,
    joint_code,
    joint_name,
    placement_reason,
)
from api.enterprises.codes import CREDIT_ALPHABET, credit_check_char
from api.enterprises.models import Enterprise, GridMove
from api.enterprises.service import after_moves, grid_move
from api.errors import not_found
from api.grids.models import Grid, GridKind
from api.grids.service import town_of
from api.i18n import _
from api.imports.columns import ENTERPRISES
from api.imports.report import ImportReport, RowOutcome
from api.imports.run import Cells, Record
from api.imports.sheets import Header
from api.records import new_row

MAX_HEADCOUNT = 1_000_000


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
    """A town or park as the importer places by it (the columns of its grid it needs)."""

    id: uuid.UUID
    code: str
    name: str
    kind: GridKind
    town_id: uuid.UUID | None


@dataclass
class JointGrid:
    id: uuid.UUID
    code: str
    deleted: bool


@dataclass(frozen=True)
class Wanted:
    """A row that passed every check: the enterprise as the file wants it."""

    number: int
    name: str
    code: str
    headcount: int
    industry: str
    town: Area
    park: Area | None
    address: str
    has_union: bool
    direct: bool

    def fields(self) -> tuple[object, ...]:
        park_id = self.park.id if self.park else None
        return (self.name, self.headcount, self.industry, self.town.id, park_id) + (
            self.address,
            self.has_union,
            self.direct,
        )


@dataclass(frozen=True)
class Change:
    """A new or changed enterprise, to be written with its batch."""

    wanted: Wanted
    enterprise: Enterprise | None  # None: a new one
    grid_id: uuid.UUID
    reason: str


def _key(text: str) -> str:
    return "".join(text.split()).lower()


def _code(values: dict[str, str]) -> str:
    return values.get("credit_code", "").strip().replace(" ", "").upper()


async def area_index(session: AsyncSession, kind: GridKind) -> dict[str, Area]:
    """Towns (or parks) by code and by name: a sheet names them either way."""
    rows = await session.execute(
        select(Grid.id, Grid.code, Grid.name, Grid.town_id).where(
            Grid.kind == kind, Grid.deleted_at.is_(None)
        )
    )
    index: dict[str, Area] = {}
    for row in rows:
        area = Area(row.id, row.code, row.name, kind, row.town_id)
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
        # Every joint grid (deleted ones too: the rule brings them back), by parent and
        # industry, and how many each parent has (the next one's code): a county has hundreds.
        self.joint: dict[tuple[uuid.UUID, str], JointGrid] = {}
        self.joint_count: dict[uuid.UUID, int] = {}
        rows = await session.execute(
            select(Grid.id, Grid.code, Grid.parent_id, Grid.industry, Grid.deleted_at).where(
                Grid.kind == GridKind.JOINT
            )
        )
        for row in rows:
            self.joint_count[row.parent_id] = self.joint_count.get(row.parent_id, 0) + 1
            if row.industry is not None:
                self.joint[(row.parent_id, row.industry)] = JointGrid(
                    row.id, row.code, row.deleted_at is not None
                )

    async def rows(self, session: AsyncSession, batch: list[Record], report: ImportReport) -> None:
        codes = list({code for _number, values in batch if len(code := _code(values)) == 18})
        existing: dict[str, Enterprise] = {}
        independent: dict[str, Grid] = {}
        if codes:
            found = await session.scalars(
                select(Enterprise).where(Enterprise.credit_code.in_(codes))
            )
            existing = {e.credit_code: e for e in found}
            grids = await session.scalars(
                select(Grid).where(Grid.code.in_([independent_code(c) for c in codes]))
            )
            independent = {g.code: g for g in grids}
        changes: list[Change] = []
        grids: list[dict[str, Any]] = []
        for number, values in batch:
            wanted = self._check(number, values, report)
            if wanted is not None:
                await self._place(session, wanted, existing, independent, changes, grids, report)
        await self._write(session, changes, grids)

    def _check(self, number: int, values: dict[str, str], report: ImportReport) -> Wanted | None:
        """The row's problems into the report, and the enterprise it wants when it has none."""
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
            return None
        return Wanted(
            number, name, code, headcount, industry, town, park, address, has_union, direct
        )

    async def _place(
        self,
        session: AsyncSession,
        wanted: Wanted,
        existing: dict[str, Enterprise],
        independent: dict[str, Grid],
        changes: list[Change],
        grids: list[dict[str, Any]],
        report: ImportReport,
    ) -> None:
        """Decide what becomes of the row's enterprise and report it: the same outcome, grid
        history and change log as api/enterprises/service.py, without its statements per
        enterprise (written by ``_write``)."""
        cells = Cells(self.kind, self.header, wanted.number, {}, report)
        enterprise = existing.get(wanted.code)
        if (
            enterprise is not None
            and self.may_use is not None
            and not self.may_use(enterprise.town_id)
        ):
            cells.fail("credit_code", "OUT_OF_SCOPE", value=wanted.code)
            return
        if enterprise is not None:
            if wanted.fields() == (
                enterprise.name,
                enterprise.headcount,
                enterprise.industry,
                enterprise.town_id,
                enterprise.park_id,
                enterprise.address,
                enterprise.has_union,
                enterprise.is_direct_report_point,
            ):
                report.unchanged += 1
                return
            if enterprise.deleted:
                cells.fail("name", "REFUSED", reason=not_found("id", _("the enterprise")).message)
                return
        grid_id, grid_code, made = await self._grid(session, wanted, independent, grids)
        if made:
            report.grids_created.append(made)
        reason = placement_reason(
            name=wanted.name,
            headcount=wanted.headcount,
            industry=wanted.industry,
            town_name=wanted.town.name,
            park_name=wanted.park.name if wanted.park else None,
        )
        changes.append(Change(wanted, enterprise, grid_id, reason))
        if enterprise is None:
            report.created += 1
            action = "CREATED"
        else:
            moved = grid_id != enterprise.grid_id
            report.updated += 1
            report.moved += moved
            action = "MOVED" if moved else "UPDATED"
        report.record(RowOutcome(wanted.number, action, wanted.code, grid_code, reason))

    async def _write(
        self, session: AsyncSession, changes: list[Change], grids: list[dict[str, Any]]
    ) -> None:
        """A batch's changes, a multi-row INSERT per table in the order of the foreign keys
        (new grids, new enterprises, their grid history); changed enterprises through the
        session, which knows their old values for the change log."""
        await session.flush()  # grids brought back or renamed
        # render_nulls: one statement for the batch, not one per pattern of empty columns.
        bulk = {"render_nulls": True}
        if grids:
            await session.execute(insert(Grid), grids, execution_options=bulk)
        new: list[dict[str, Any]] = []
        history: list[dict[str, Any]] = []
        moves: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID]] = {}
        for change in changes:
            wanted, enterprise = change.wanted, change.enterprise
            columns = {
                "name": wanted.name,
                "headcount": wanted.headcount,
                "industry": wanted.industry,
                "town_id": wanted.town.id,
                "park_id": wanted.park.id if wanted.park else None,
                "address": wanted.address,
                "has_union": wanted.has_union,
                "is_direct_report_point": wanted.direct,
                "grid_id": change.grid_id,
                "grid_reason": change.reason,
            }
            if enterprise is None:
                row = new_row(credit_code=wanted.code, **columns)
                new.append(row)
                came_from = None
            else:
                came_from = enterprise.grid_id
                for name, value in columns.items():
                    setattr(enterprise, name, value)
                if came_from == change.grid_id:
                    continue
                moves[enterprise.id] = (came_from, change.grid_id)
            history.append(
                grid_move(
                    enterprise_id=row["id"] if enterprise is None else enterprise.id,
                    from_grid_id=came_from,
                    to_grid_id=change.grid_id,
                    reason=change.reason,
                    headcount=wanted.headcount,
                    actor_id=self.actor_id,
                )
            )
        if new:
            await session.execute(insert(Enterprise), new, execution_options=bulk)
        await session.flush()
        if history:
            await session.execute(insert(GridMove), history, execution_options=bulk)
        await after_moves(session, moves)

    async def _grid(
        self,
        session: AsyncSession,
        wanted: Wanted,
        independent: dict[str, Grid],
        grids: list[dict[str, Any]],
    ) -> tuple[uuid.UUID, str, str | None]:
        """The grid the rule puts the row's enterprise in (id, code, and "code name" when made
        now), as api/enterprises/classify.py's place_enterprise would, from memory."""
        parent = wanted.park or wanted.town
        if wanted.headcount >= INDEPENDENT_THRESHOLD:
            code = independent_code(wanted.code)
            grid = independent.get(code)
            if grid is not None:
                grid.deleted_at = None
                grid.parent_id = parent.id
                grid.town_id = town_of(parent)  # type: ignore[arg-type]
                grid.name = independent_name(wanted.name)
                return grid.id, code, None
            row = new_row(
                code=code,
                name=independent_name(wanted.name),
                kind=GridKind.INDEPENDENT,
                parent_id=parent.id,
                town_id=town_of(parent),  # type: ignore[arg-type]
                industry=None,
            )
            grids.append(row)
            return row["id"], code, f"{code} {row['name']}"
        joint = self.joint.get((parent.id, wanted.industry))
        if joint is not None:
            if joint.deleted:
                revived = await session.get(Grid, joint.id)
                if revived is not None:
                    revived.deleted_at = None
                joint.deleted = False
            return joint.id, joint.code, None
        siblings = self.joint_count.get(parent.id, 0)
        row = new_row(
            code=joint_code(parent.code, siblings),
            name=joint_name(parent.name, wanted.industry),
            kind=GridKind.JOINT,
            parent_id=parent.id,
            town_id=town_of(parent),  # type: ignore[arg-type]
            industry=wanted.industry,
        )
        grids.append(row)
        self.joint_count[parent.id] = siblings + 1
        self.joint[(parent.id, wanted.industry)] = JointGrid(row["id"], row["code"], False)
        return row["id"], row["code"], f"{row['code']} {row['name']}"

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
