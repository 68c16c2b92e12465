"""Human ticket numbers (SY-2026-000123), assigned by the server inside the writing transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.tickets.models import Counter

PREFIX = "SY"


async def next_ticket_number(session: AsyncSession, at: datetime) -> str:
    """The next number of the year, in one statement: the upsert makes the year's counter if
    missing or bumps it, taking the row lock on PostgreSQL (and SQLite writes one at a time),
    so two transactions never get the same number."""
    name = f"ticket-{at.year}"
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(Counter).values(name=name, value=1)
    statement = statement.on_conflict_do_update(
        index_elements=[Counter.name], set_={"value": Counter.value + 1}
    ).returning(Counter.value)
    value = await session.scalar(statement)
    return f"{PREFIX}-{at.year}-{value:06d}"
