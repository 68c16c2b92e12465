"""The persisted-query store: bounded per member and in all, least recently used out first."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from api.persisted.models import PersistedQuery
from api.records import utcnow

_t = PersistedQuery.__table__


async def find_query(connection: AsyncConnection, sha256: str) -> str | None:
    return await connection.scalar(sa.select(_t.c.query).where(_t.c.sha256 == sha256))


async def touch_query(connection: AsyncConnection, sha256: str) -> None:
    """Note a use: a query in use is the last to be dropped."""
    await connection.execute(sa.update(_t).where(_t.c.sha256 == sha256).values(used_at=utcnow()))


async def store_query(
    connection: AsyncConnection,
    sha256: str,
    query: str,
    *,
    owner: uuid.UUID,
    per_owner: int,
    limit: int,
) -> None:
    """Keep ``query`` under its hash for ``owner``. Beyond ``per_owner`` entries the owner's
    own least recently used go; beyond ``limit`` in all, the least recently used of all. A
    member can thus hold at most ``per_owner`` entries and never empties the store alone."""
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    added = await connection.execute(
        insert(_t).values(sha256=sha256, query=query, owner_id=owner).on_conflict_do_nothing()
    )
    if not added.rowcount:
        return
    await _drop_least_used(connection, _t.c.owner_id == owner, per_owner)
    await _drop_least_used(connection, sa.true(), limit)


async def _drop_least_used(
    connection: AsyncConnection, where: sa.ColumnElement[bool], keep: int
) -> None:
    count = await connection.scalar(sa.select(sa.func.count()).select_from(_t).where(where))
    if count and count > keep:
        least_used = (
            sa.select(_t.c.sha256)
            .where(where)
            .order_by(_t.c.used_at, _t.c.sha256)
            .limit(count - keep)
        )
        await connection.execute(sa.delete(_t).where(_t.c.sha256.in_(least_used)))
