"""Alembic from code: `gridlink migrate`, the app's start-up and the tests use these."""

from __future__ import annotations

import io
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parent.parent

# PostgreSQL limits for every migration (migrations/env.py sets them): a migration that waits
# for a lock gives up after LOCK_TIMEOUT instead of queueing every request behind it; one that
# runs away is stopped after STATEMENT_TIMEOUT. Overridable per deployment.
LOCK_TIMEOUT = "5s"
STATEMENT_TIMEOUT = "30min"


def alembic_config(
    connection: Connection | None = None,
    database_url: str | None = None,
    *,
    output: io.StringIO | None = None,
) -> Config:
    config = Config(str(ROOT / "alembic.ini"), output_buffer=output)
    config.set_main_option("script_location", str(ROOT / "migrations"))
    if connection is not None:
        config.attributes["connection"] = connection
    if database_url is not None:
        config.attributes["database_url"] = database_url
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    # A plain connection, not a transaction: alembic runs each migration in its own
    # transaction (and commits before an index built CONCURRENTLY).
    async with engine.connect() as connection:
        await connection.run_sync(
            lambda sync_conn: command.upgrade(alembic_config(sync_conn), revision)
        )
        await connection.commit()


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    async with engine.connect() as connection:
        await connection.run_sync(
            lambda sync_conn: command.downgrade(alembic_config(sync_conn), revision)
        )
        await connection.commit()


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync_conn: MigrationContext.configure(sync_conn).get_current_revision()
        )


def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = scripts().get_current_head()
    assert head is not None, "the migrations have more than one head"
    return head


def known_revision(revision: str) -> bool:
    if revision in {"head", "base"}:
        return True
    try:
        return scripts().get_revision(revision) is not None
    except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown id
        return False


def pending_revisions(current: str | None) -> list[str]:
    """Revisions between ``current`` and head, oldest first."""
    walked = scripts().iterate_revisions("head", current or "base")
    return [script.revision for script in reversed(list(walked))]


def offline_sql(database_url: str, revision: str = "head", *, down: bool = False) -> str:
    """The SQL a migration would run, for a DBA to review (alembic's offline mode); from the
    database's current revision when given as "FROM:TO"."""
    output = io.StringIO()
    config = alembic_config(database_url=database_url, output=output)
    if down:
        command.downgrade(config, revision, sql=True)
    else:
        command.upgrade(config, revision, sql=True)
    return output.getvalue()
