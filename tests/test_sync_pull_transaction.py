"""A PostgreSQL log page begins and ends its own transaction on asyncpg (sync/pull.py
_page_transaction): BEGIN and the plan setting in one round trip, SQLAlchemy sending neither
BEGIN nor COMMIT. Held here: the page is the same as one pulled in a transaction the caller
began (the session had read first), no pooled connection is left inside a transaction after
a page, nor after a page that failed, and the next page on that connection works."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from api.db import DRIVER_LISTENERS
from sync import pull as pull_module
from sync.checkpoint import Checkpoint, scope_fingerprint
from sync.pull import pull
from tests.sync_support import build_county, server_ticket

pytestmark = pytest.mark.postgres_only


async def _left_in_transaction(engine: Any) -> bool:
    """Whether the pool's connection is inside a transaction (the pool keeps one here)."""
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        return raw.driver_connection.is_in_transaction()


async def _after_the_log(session_factory: Any, scope: Any) -> str:
    """A checkpoint at the log's last position (what follows: the tickets made next)."""
    async with session_factory() as session:
        last = (
            await session.execute(
                sa.text("SELECT txid, seq FROM sync_change ORDER BY txid DESC, seq DESC LIMIT 1")
            )
        ).one()
    return Checkpoint(last.txid, last.seq, scope_fingerprint(scope)).encode()


async def test_the_page_is_its_own_transaction(engine, session_factory) -> None:
    county = await build_county(session_factory)
    a, d = county.liaison_a, county.dispatcher
    start = await _after_the_log(session_factory, a.scope)
    for title in ("one", "two", "three"):
        await server_ticket(session_factory, d, county.grid_a, title)
    driver: list[str] = []
    sqlalchemy: list[str] = []

    def heard(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        sqlalchemy.append(statement)

    DRIVER_LISTENERS.append(driver.append)
    event.listen(engine.sync_engine, "before_cursor_execute", heard)
    try:
        async with session_factory() as session, session.begin():
            alone = await pull(session, scope=a.scope, checkpoint=start, limit=500)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", heard)
        DRIVER_LISTENERS.remove(driver.append)
    assert [c["data"]["title"] for c in alone.changes] == ["one", "two", "three"]
    # BEGIN with the setting, then the page: two statements on the driver, none through
    # SQLAlchemy (tickets only: their records are read by the page's own statement).
    assert [s.split()[0] for s in driver] == ["BEGIN", "WITH"], driver
    assert sqlalchemy == []
    assert not await _left_in_transaction(engine)

    # A caller that read first keeps its transaction: the same page, then more reading.
    async with session_factory() as session, session.begin():
        await session.execute(sa.text("SELECT 1"))
        within = await pull(session, scope=a.scope, checkpoint=start, limit=500)
        assert await session.scalar(sa.text("SELECT 2")) == 2
    assert within == alone
    assert not await _left_in_transaction(engine)


async def test_a_failed_page_leaves_no_transaction(engine, session_factory, monkeypatch) -> None:
    county = await build_county(session_factory)
    a, d = county.liaison_a, county.dispatcher
    await server_ticket(session_factory, d, county.grid_a, "one")
    start = Checkpoint(0, 0, scope_fingerprint(a.scope)).encode()
    async with session_factory() as session, session.begin():
        expected = await pull(session, scope=a.scope, checkpoint=start, limit=500)

    async def broken(*_args: Any) -> Any:
        raise RuntimeError("page made wrong")

    monkeypatch.setattr(pull_module, "_page_changes", broken)
    with pytest.raises(RuntimeError, match="page made wrong"):
        async with session_factory() as session, session.begin():
            await pull(session, scope=a.scope, checkpoint=start, limit=500)
    monkeypatch.undo()
    assert not await _left_in_transaction(engine)
    async with session_factory() as session, session.begin():
        assert await pull(session, scope=a.scope, checkpoint=start, limit=500) == expected
