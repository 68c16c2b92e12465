"""The persisted-query store: bounded, first in first out."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from api.persisted.models import PersistedQuery

_t = PersistedQuery.__table__


async def find_query(connection: AsyncConnection, sha256: str) -> str | None:
    return await connection.scalar(sa.select(_t.c.query).where(_t.c.sha256 == sha256))


async def store_query(connection: AsyncConnection, sha256: str, query: str, *, limit: int) -> None:
    """Keep ``query`` under its hash; beyond ``limit`` entries the oldest go."""
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    added = await connection.execute(
        insert(_t).values(sha256=sha256, query=query).on_conflict_do_nothing()
    )
    if not added.rowcount:
        return
    count = await connection.scalar(sa.select(sa.func.count()).select_from(_t))
    if count and count > limit:
        oldest = sa.select(_t.c.sha256).order_by(_t.c.created_at, _t.c.sha256).limit(count - limit)
        await connection.execute(sa.delete(_t).where(_t.c.sha256.in_(oldest)))
