"""Human ticket numbers (SY-2026-000123), assigned by the server inside the writing transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.tickets.models import Counter

PREFIX = "SY"


async def next_ticket_number(session: AsyncSession, at: datetime) -> str:
    """The next number of the year. The UPDATE takes the row lock on PostgreSQL (and SQLite
    writes one at a time), so two transactions never get the same number."""
    name = f"ticket-{at.year}"
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # Make the year's counter if missing without racing another transaction doing the same.
    await session.execute(insert(Counter).values(name=name, value=0).on_conflict_do_nothing())
    value = await session.scalar(
        update(Counter)
        .where(Counter.name == name)
        .values(value=Counter.value + 1)
        .returning(Counter.value)
    )
    return f"{PREFIX}-{at.year}-{value:06d}"
