"""Savepoints named by depth on PostgreSQL (api/db.py): a name reused at each depth must
keep SQLAlchemy's nesting — a rolled-back savepoint undoes only its own writes, the next one
at its depth and the one around it commit theirs — and the statement texts repeat, so that
asyncpg prepares each once per connection."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event


async def test_savepoints_keep_their_nesting(engine, session_factory):
    texts: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        if "SAVEPOINT" in statement.upper():
            texts.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", note)
    async with session_factory() as session, session.begin():
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
    if engine.dialect.name == "postgresql":
        assert len(texts) == 16
        assert len(set(texts)) == 6, texts  # SAVEPOINT, RELEASE and ROLLBACK TO, by depth
