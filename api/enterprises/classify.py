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
from api.grids.service import town_of
from api.i18n import Message, _

INDEPENDENT_THRESHOLD = 200


@dataclass(frozen=True)
class Placement:
    grid: Grid
    reason: str
    created: bool


def independent_code(credit_code: str) -> str:
    # Keyed by credit code: an enterprise that drops under 200 and comes back gets its old
    # grid (and its history) back instead of a new one.
    return f"IND-{credit_code}"


# Grid names are records, written once in the county's own words (Chinese), whatever the
# language of whoever registered the enterprise: 合德镇服装联合网格, 某某公司独立网格.
def independent_name(name: str) -> str:
    return f"{name}独立网格"


def joint_code(parent_code: str, siblings: int) -> str:
    """The code of a parent's next joint grid, after ``siblings`` joint grids it has."""
    return f"{parent_code}-J{siblings + 1:02d}"


def joint_name(parent_name: str, industry: str) -> str:
    return f"{parent_name}{industry}联合网格"


def placement_reason(
    *, name: str, headcount: int, industry: str, town_name: str, park_name: str | None
) -> Message:
    """The sentence that explains where the rule puts an enterprise."""
    if headcount >= INDEPENDENT_THRESHOLD:
        if park_name:
            return _(
                "{name} has {headcount} staff, {threshold} or more, so it has its own "
                "independent grid under the big grid of {park}.",
                name=name,
                headcount=headcount,
                threshold=INDEPENDENT_THRESHOLD,
                park=park_name,
            )
        return _(
            "{name} has {headcount} staff, {threshold} or more, so it has its own "
            "independent grid in {town}.",
            name=name,
            headcount=headcount,
            threshold=INDEPENDENT_THRESHOLD,
            town=town_name,
        )
    if park_name:
        return _(
            "{name} has {headcount} staff, fewer than {threshold}, and is in the industrial "
            "park {park}, so it joins the park's {industry} joint grid under the park's big grid.",
            name=name,
            headcount=headcount,
            threshold=INDEPENDENT_THRESHOLD,
            park=park_name,
            industry=industry,
        )
    return _(
        "{name} has {headcount} staff, fewer than {threshold}, so it joins the joint grid "
        "of {town} for the {industry} industry.",
        name=name,
        headcount=headcount,
        threshold=INDEPENDENT_THRESHOLD,
        town=town_name,
        industry=industry,
    )


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
    reason = placement_reason(
        name=name,
        headcount=headcount,
        industry=industry,
        town_name=town.name,
        park_name=park.name if park else None,
    )
    if headcount >= INDEPENDENT_THRESHOLD:
        grid, created = await _independent_grid(session, name, credit_code, parent)
    else:
        grid, created = await _joint_grid(session, industry, parent)
    return Placement(grid, reason, created)


async def _independent_grid(
    session: AsyncSession, name: str, credit_code: str, parent: Grid
) -> tuple[Grid, bool]:
    code = independent_code(credit_code)
    grid = await session.scalar(select(Grid).where(Grid.code == code))
    if grid is not None:
        grid.deleted_at = None
        grid.parent_id = parent.id
        grid.town_id = town_of(parent)
        grid.name = independent_name(name)
        return grid, False
    grid = Grid(
        id=uuid.uuid4(),
        code=code,
        name=independent_name(name),
        kind=GridKind.INDEPENDENT,
        parent_id=parent.id,
        town_id=town_of(parent),
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
        code=joint_code(parent.code, siblings or 0),
        name=joint_name(parent.name, industry),
        kind=GridKind.JOINT,
        parent_id=parent.id,
        town_id=town_of(parent),
        industry=industry,
    )
    session.add(grid)
    await session.flush()
    return grid, True
