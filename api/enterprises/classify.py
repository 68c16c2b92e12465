"""The grid rule (Sheyang's "grid + union + enterprise"): where an enterprise belongs, and why.

- 200 staff or more: its own independent grid (under its park's big grid when in a park);
- under 200 in an industrial park: the park's joint grid of its industry, under the park;
- under 200 elsewhere: the joint grid of its town and industry, made when missing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.grids.models import Grid, GridKind
from api.i18n import _

INDEPENDENT_THRESHOLD = 200


# Grid names are records, written once in the county's own words (Chinese), whatever the
# language of whoever registered the enterprise: 合德镇服装联合网格, 某某公司独立网格.
def independent_grid_name(enterprise: str) -> str:
    return f"{enterprise}独立网格"


def joint_grid_name(area: str, industry: str) -> str:
    return f"{area}{industry}联合网格"


@dataclass(frozen=True)
class Placement:
    grid: Grid
    reason: str
    created: bool


async def place_enterprise(
    session: AsyncSession,
    *,
    name: str,
    credit_code: str,
    headcount: int,
    industry: str,
    town: Grid,
    park: Grid | None,
) -> Placement:
    """The grid an enterprise belongs in, made if missing, with a sentence explaining why."""
    parent = park or town
    if headcount >= INDEPENDENT_THRESHOLD:
        grid, created = await _independent_grid(session, name, credit_code, parent)
        reason = (
            _(
                "{name} has {headcount} staff, {threshold} or more, so it has its own "
                "independent grid under the big grid of {park}.",
                name=name,
                headcount=headcount,
                threshold=INDEPENDENT_THRESHOLD,
                park=park.name,
            )
            if park
            else _(
                "{name} has {headcount} staff, {threshold} or more, so it has its own "
                "independent grid in {town}.",
                name=name,
                headcount=headcount,
                threshold=INDEPENDENT_THRESHOLD,
                town=town.name,
            )
        )
        return Placement(grid, reason, created)
    grid, created = await _joint_grid(session, industry, parent)
    if park:
        reason = _(
            "{name} has {headcount} staff, fewer than {threshold}, and is in the industrial "
            "park {park}, so it joins the park's {industry} joint grid under the park's big grid.",
            name=name,
            headcount=headcount,
            threshold=INDEPENDENT_THRESHOLD,
            park=park.name,
            industry=industry,
        )
    else:
        reason = _(
            "{name} has {headcount} staff, fewer than {threshold}, so it joins the joint grid "
            "of {town} for the {industry} industry.",
            name=name,
            headcount=headcount,
            threshold=INDEPENDENT_THRESHOLD,
            town=town.name,
            industry=industry,
        )
    return Placement(grid, reason, created)


async def _independent_grid(
    session: AsyncSession, name: str, credit_code: str, parent: Grid
) -> tuple[Grid, bool]:
    # Keyed by credit code: an enterprise that drops under 200 and comes back gets its old
    # grid (and its history) back instead of a new one.
    code = f"IND-{credit_code}"
    grid = await session.scalar(select(Grid).where(Grid.code == code))
    if grid is not None:
        grid.deleted_at = None
        grid.parent_id = parent.id
        grid.town_id = parent.id if parent.kind == GridKind.TOWN else parent.town_id
        grid.name = independent_grid_name(name)
        return grid, False
    grid = Grid(
        id=uuid.uuid4(),
        code=code,
        name=independent_grid_name(name),
        kind=GridKind.INDEPENDENT,
        parent_id=parent.id,
        town_id=parent.id if parent.kind == GridKind.TOWN else parent.town_id,
    )
    session.add(grid)
    await session.flush()
    return grid, True


async def _joint_grid(session: AsyncSession, industry: str, parent: Grid) -> tuple[Grid, bool]:
    grid = await session.scalar(
        select(Grid).where(
            Grid.parent_id == parent.id, Grid.industry == industry, Grid.kind == GridKind.JOINT
        )
    )
    if grid is not None:
        grid.deleted_at = None
        return grid, False
    siblings = await session.scalar(
        select(func.count())
        .select_from(Grid)
        .where(Grid.parent_id == parent.id, Grid.kind == GridKind.JOINT)
    )
    grid = Grid(
        id=uuid.uuid4(),
        code=f"{parent.code}-J{(siblings or 0) + 1:02d}",
        name=joint_grid_name(parent.name, industry),
        kind=GridKind.JOINT,
        parent_id=parent.id,
        town_id=parent.id if parent.kind == GridKind.TOWN else parent.town_id,
        industry=industry,
    )
    session.add(grid)
    await session.flush()
    return grid, True
