"""Savepoints named by depth on PostgreSQL (api/db.py): a name reused at each depth must
keep SQLAlchemy's nesting — a rolled-back savepoint undoes only its own writes, the next one
at its depth and the one around it commit theirs — and the statement texts repeat, so that
asyncpg prepares each once per connection."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from api.db import keep_savepoints


@pytest.mark.parametrize("left_open", [False, True], ids=["released", "left-open"])
async def test_savepoints_keep_their_nesting(engine, session_factory, left_open):
    texts: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        if "SAVEPOINT" in statement.upper():
            texts.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", note)
    async with session_factory() as session, session.begin():
        if left_open:  # as a sync push does: released savepoints stay open until COMMIT
            keep_savepoints((await session.connection()).sync_connection)
        await session.execute(sa.text("CREATE TEMPORARY TABLE kept (n integer)"))
        for first in (1, 10):  # two rounds: the same names again
            async with session.begin_nested():
                await session.execute(sa.text(f"INSERT INTO kept VALUES ({first})"))
                inner = await session.begin_nested()
                await session.execute(sa.text(f"INSERT INTO kept VALUES ({first + 1})"))
                await inner.rollback()
                async with session.begin_nested():
                    await session.execute(sa.text(f"INSERT INTO kept VALUES ({first + 2})"))
            failed = await session.begin_nested()
            await session.execute(sa.text(f"INSERT INTO kept VALUES ({first + 3})"))
            await failed.rollback()
        kept = sorted(await session.scalars(sa.text("SELECT n FROM kept")))
    event.remove(engine.sync_engine, "before_cursor_execute", note)
    assert kept == [1, 3, 10, 12]
    if engine.dialect.name == "postgresql" and left_open:
        assert not [t for t in texts if t.startswith("RELEASE")], texts
        assert len(set(texts)) == 4, texts  # SAVEPOINT and ROLLBACK TO, by depth
    elif engine.dialect.name == "postgresql":
        assert len(texts) == 16
        assert len(set(texts)) == 6, texts  # SAVEPOINT, RELEASE and ROLLBACK TO, by depth
