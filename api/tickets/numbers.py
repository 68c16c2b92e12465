"""Human ticket numbers (SY-2026-000123), assigned by the server inside the writing transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.tickets.models import Counter

PREFIX = "SY"


def _upsert(insert: Any) -> Any:
    """Bump the year's counter by :count (made at :count when missing), answering its value."""
    table: Any = Counter.__table__  # type: ignore[attr-defined]
    statement = insert(table).values(name=sa.bindparam("name"), value=sa.bindparam("count"))
    return statement.on_conflict_do_update(
        index_elements=[table.c.name], set_={"value": table.c.value + sa.bindparam("count")}
    ).returning(table.c.value)


# Built once: a CREATE of a batch of 500 tickets asked for 500 numbers, each a statement built
# anew and run through the ORM's execution path.
_UPSERT = {"postgresql": _upsert(pg_insert), "sqlite": _upsert(sqlite_insert)}
# Numbers drawn ahead for this session's next tickets: (year, the numbers left, in order).
_RESERVED = "ticket_numbers_reserved"


async def _draw(session: AsyncSession, at: datetime, count: int) -> int:
    """The upsert makes the year's counter if missing or bumps it, taking the row lock on
    PostgreSQL (and SQLite writes one at a time), so two transactions never get the same
    number. Answers the last number drawn."""
    connection = await session.connection()
    statement = _UPSERT[connection.dialect.name]
    parameters = {"name": f"ticket-{at.year}", "count": count}
    return (await connection.execute(statement, parameters)).scalar_one()


async def next_ticket_number(session: AsyncSession, at: datetime) -> str:
    """The next number of the year, in one statement (or drawn ahead: reserve_numbers)."""
    reserved = session.info.get(_RESERVED)
    if reserved is not None and reserved[0] == at.year and reserved[1]:
        value = reserved[1].pop(0)
    else:
        value = await _draw(session, at, 1)
    return f"{PREFIX}-{at.year}-{value:06d}"


@asynccontextmanager
async def reserve_numbers(session: AsyncSession, at: datetime, count: int) -> AsyncIterator[None]:
    """The next `count` tickets of the year this session makes inside the block take their
    numbers from one statement, in the order they are made: the numbers one statement each
    would have given. For a caller that knows how many it makes (a sync push's run of new
    tickets, under a savepoint that gives the numbers back if the run is rolled back); what
    the block leaves unused is not drawn again by it."""
    last = await _draw(session, at, count)
    session.info[_RESERVED] = (at.year, list(range(last - count + 1, last + 1)))
    try:
        yield
    finally:
        session.info.pop(_RESERVED, None)
