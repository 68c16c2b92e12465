"""Small builders for test data, through the real domain services."""

from __future__ import annotations

import itertools
import random

from sqlalchemy.ext.asyncio import AsyncSession

from api.enterprises.codes import CREDIT_ALPHABET, credit_check_char
from api.grids.models import Grid, GridKind
from api.grids.service import create_grid

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
