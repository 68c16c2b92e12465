"""Human ticket numbers (SY-2026-000123), assigned by the server inside the writing transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.tickets.models import Counter

PREFIX = "SY"


def _upsert(insert: Any) -> Any:
    table: Any = Counter.__table__  # type: ignore[attr-defined]
    statement = insert(table).values(name=sa.bindparam("name"), value=1)
    return statement.on_conflict_do_update(
        index_elements=[table.c.name], set_={"value": table.c.value + 1}
    ).returning(table.c.value)


# Built once: a CREATE of a batch of 500 tickets asked for 500 numbers, each a statement built
# anew and run through the ORM's execution path.
_UPSERT = {"postgresql": _upsert(pg_insert), "sqlite": _upsert(sqlite_insert)}


async def next_ticket_number(session: AsyncSession, at: datetime) -> str:
    """The next number of the year, in one statement: the upsert makes the year's counter if
    missing or bumps it, taking the row lock on PostgreSQL (and SQLite writes one at a time),
    so two transactions never get the same number."""
    connection = await session.connection()
    statement = _UPSERT[connection.dialect.name]
    value = (await connection.execute(statement, {"name": f"ticket-{at.year}"})).scalar_one()
    return f"{PREFIX}-{at.year}-{value:06d}"
