"""Small builders for test data, through the real domain services."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.scope import Scope, scope_for
from api.enterprises.codes import CREDIT_ALPHABET, credit_check_char
from api.enterprises.models import Enterprise
from api.enterprises.service import register_enterprise
from api.grids.models import Grid, GridKind
from api.grids.service import create_grid
from api.members.service import create_member

_counter = itertools.count(1)
_rng = random.Random(7)


def credit_code() -> str:
    body = "91320924" + "".join(_rng.choice(CREDIT_ALPHABET) for _ in range(9))
    return body + credit_check_char(body)


def phone() -> str:
    return f"139{next(_counter) + _rng.randrange(10_000_000):08d}"[:11]


async def county_with_town(session: AsyncSession) -> tuple[Grid, Grid]:
    county = await create_grid(
        session, code="SY", name="Sheyang County", kind=GridKind.COUNTY, parent_id=None
    )
    town = await create_grid(
        session, code="SY-T01", name="Hede Town", kind=GridKind.TOWN, parent_id=county.id
    )
    return county, town


async def park_in(session: AsyncSession, town: Grid, code: str = "SY-T01-P1") -> Grid:
    return await create_grid(
        session, code=code, name="Textile Dyeing Park", kind=GridKind.PARK, parent_id=town.id
    )


@dataclass
class TownWorld:
    """A county with one town, two enterprises in their joint grids, and one of each role."""

    county: Grid
    town: Grid
    grid: Grid
    enterprise: Enterprise
    other_enterprise: Enterprise
    liaison: Scope
    town_staff: Scope
    county_staff: Scope
    worker: Scope
    chair: Scope


async def town_world(session: AsyncSession) -> TownWorld:
    county, town = await county_with_town(session)
    placed = await register_enterprise(
        session,
        name="Hede Foods",
        credit_code=credit_code(),
        headcount=40,
        industry="Food",
        town_id=town.id,
        has_union=True,
    )
    other = await register_enterprise(
        session,
        name="Hede Garments",
        credit_code=credit_code(),
        headcount=60,
        industry="Garments",
        town_id=town.id,
        has_union=True,
    )
    grid = placed.placement.grid
    scopes = {}
    for key, roles, grids, enterprise in [
        ("liaison", ["LIAISON"], [grid.id], None),
        ("town_staff", ["TOWN_STAFF"], [town.id], None),
        ("county_staff", ["COUNTY_STAFF"], [], None),
        ("worker", ["MEMBER"], [], placed.enterprise.id),
        ("chair", ["CHAIR"], [], placed.enterprise.id),
    ]:
        member = await create_member(
            session,
            name=key.replace("_", " ").title(),
            phone=phone(),
            roles=roles,
            grid_ids=grids,
            enterprise_id=enterprise,
        )
        scopes[key] = await scope_for(session, member)
    return TownWorld(
        county=county,
        town=town,
        grid=grid,
        enterprise=placed.enterprise,
        other_enterprise=other.enterprise,
        **scopes,
    )
