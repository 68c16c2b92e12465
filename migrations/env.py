"""Alembic environment bound to gridlink's models; runs on the app's async drivers."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

import api.tables  # noqa: F401  (fills the metadata)
import sync.tables  # noqa: F401
from api.config import Settings
from api.db import async_url
from api.records import SQLModel

config = context.config
target_metadata = SQLModel.metadata


def _database_url() -> str:
    # A URL handed over by gridlink's own code (tests, `gridlink migrate`) wins over the env.
    return config.attributes.get("database_url") or Settings.from_env().database_url


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    context.configure(
        connection=connection,
        url=url,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=True,
        compare_type=True,
        compare_server_default=True,
        literal_binds=url is not None,
        # Each migration commits on its own: an index built CONCURRENTLY must run outside a
        # transaction, and a long upgrade keeps what it finished.
        transaction_per_migration=True,
    )


def _timeouts(dialect_name: str) -> None:
    """lock_timeout and statement_timeout for every migration on PostgreSQL (session level, so
    that they hold across the per-migration transactions and autocommit blocks)."""
    if dialect_name != "postgresql":
        return
    from api.migrate import LOCK_TIMEOUT, STATEMENT_TIMEOUT

    lock = config.attributes.get("lock_timeout", LOCK_TIMEOUT)
    statement = config.attributes.get("statement_timeout", STATEMENT_TIMEOUT)
    context.execute(f"SET lock_timeout = '{lock}'")
    context.execute(f"SET statement_timeout = '{statement}'")


def run_migrations_offline() -> None:
    url = _database_url()
    _configure(url=url)
    _timeouts(make_url(url).get_backend_name())
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    _configure(connection=connection)
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        _timeouts("postgresql")
        connection.commit()
    try:
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if postgres:
            # The connection goes back to the pool: the API's statements have no such limits.
            connection.rollback()
            connection.exec_driver_sql("RESET lock_timeout")
            connection.exec_driver_sql("RESET statement_timeout")
            connection.commit()


async def _run_async() -> None:
    engine = create_async_engine(async_url(_database_url()))
    async with engine.connect() as connection:
        await connection.run_sync(_run_sync)
        await connection.commit()
    await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_sync(connection)
        return
    asyncio.run(_run_async())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
