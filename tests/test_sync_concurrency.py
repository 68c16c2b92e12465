"""Invariant 4: a pull never skips a change, also when two PostgreSQL transactions take
change positions in one order and commit in the other."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from api.tickets import lifecycle
from api.tickets.models import TicketSource
from sync.models import ChangeRow
from sync.pull import pull
from tests.sync_support import build_county

pytestmark = pytest.mark.postgres_only


async def _pull_to_end(session_factory, scope, checkpoint) -> tuple[list[str], str]:
    ids: list[str] = []
    for _ in range(400):
        async with session_factory() as session, session.begin():
            page = await pull(session, scope=scope, checkpoint=checkpoint, limit=1000)
        ids += [c["id"] for c in page.changes if c["collection"] == "tickets"]
        checkpoint = page.checkpoint
        if not page.has_more:
            return ids, checkpoint
        if not page.changes:
            await asyncio.sleep(0.02)  # held behind a transaction still running somewhere
    raise AssertionError("pull never settled")


async def _report(session, scope, grid, title, year) -> uuid.UUID:
    # Different years: the two transactions must not queue on one ticket-number counter.
    ticket = await lifecycle.create_ticket(
        session,
        scope=scope,
        title=title,
        source=TicketSource.RISK_HAZARD,
        grid_id=grid.id,
        now=datetime(year, 6, 1, tzinfo=UTC),
    )
    return ticket.id


async def _seq_of(session_factory, record_id) -> int:
    async with session_factory() as session:
        return await session.scalar(
            sa.select(sa.func.min(ChangeRow.seq)).where(ChangeRow.record_id == record_id)
        )


@pytest.mark.parametrize("first_takes", ["position", "txid"])
async def test_a_change_committed_late_is_not_skipped(session_factory, first_takes) -> None:
    county = await build_county(session_factory)
    scope = county.dispatcher.scope
    _, checkpoint = await _pull_to_end(session_factory, scope, None)

    slow = session_factory()
    await slow.begin()
    try:
        if first_takes == "position":
            # The slow transaction takes the smaller sequence number, then stays open.
            slow_id = await _report(slow, scope, county.grid_a, "slow", 2031)
        else:
            # It only takes its transaction id first; its change row comes after the fast one.
            await slow.execute(sa.text("SELECT pg_current_xact_id()"))
        async with session_factory() as fast, fast.begin():
            fast_id = await _report(fast, scope, county.grid_b, "fast", 2032)
        if first_takes == "txid":
            slow_id = await _report(slow, scope, county.grid_a, "slow", 2031)
            await slow.flush()

        # While the slow one is open, the pull may not move past it: it hands out nothing
        # of either and says there is more to come.
        async with session_factory() as session, session.begin():
            page = await pull(session, scope=scope, checkpoint=checkpoint, limit=1000)
        assert page.changes == [] and page.has_more
        checkpoint = page.checkpoint
        await slow.commit()
    finally:
        await slow.close()

    ids, _ = await _pull_to_end(session_factory, scope, checkpoint)
    assert set(ids) == {str(slow_id), str(fast_id)}
    # The scenario is real: in "position" order a plain `seq > checkpoint` pull taken while
    # the slow transaction was open would have seen the fast change and stepped over the slow.
    slow_seq, fast_seq = (
        await _seq_of(session_factory, slow_id),
        await _seq_of(session_factory, fast_id),
    )
    assert (slow_seq < fast_seq) == (first_takes == "position")


async def test_a_long_transaction_in_another_database_does_not_hold_pulls_back(
    session_factory, database_url
) -> None:
    county = await build_county(session_factory)
    scope = county.dispatcher.scope
    _, checkpoint = await _pull_to_end(session_factory, scope, None)
    # A writing transaction left open in another database of the same server.
    other = await asyncpg.connect(
        make_url(database_url)
        .set(drivername="postgresql", database="postgres")
        .render_as_string(False)
    )
    try:
        busy = other.transaction()
        await busy.start()
        await other.fetchval("SELECT pg_current_xact_id()")
        async with session_factory() as session, session.begin():
            made = await _report(session, scope, county.grid_a, "Scaffold unsafe", 2026)
        async with session_factory() as session, session.begin():
            page = await pull(session, scope=scope, checkpoint=checkpoint, limit=1000)
        assert str(made) in [c["id"] for c in page.changes]
        await busy.rollback()
    finally:
        await other.close()
