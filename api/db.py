"""Engines and sessions for SQLite and PostgreSQL; the one session factory."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from api.config import Settings
from api.session_hooks import HookedSession


def async_url(url: str) -> str:
    """Pick the async driver for a plain sqlite:// or postgresql:// URL."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend in {"postgresql", "postgres"}:
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database URL scheme: {parsed.drivername}")


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
    # The driver's own implicit BEGIN is switched off so that _sqlite_begin_immediate decides.
    dbapi_connection.isolation_level = None
    # WAL lets readers run beside the one writer; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_engine(settings: Settings) -> AsyncEngine:
    if path := settings.sqlite_path():
        path.parent.mkdir(parents=True, exist_ok=True)
    url = async_url(settings.database_url)
    if settings.is_sqlite:
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        # aiosqlite's implicit BEGIN is deferred; take the write lock up front so that two
        # writers queue on busy_timeout instead of failing with "database is locked".
        event.listen(engine.sync_engine, "begin", _sqlite_begin_immediate)
        return engine
    # Every statement is planned for its parameter values: asyncpg prepares statements, and
    # after five runs PostgreSQL may switch to a generic plan that ignores them; for a list
    # limited to a caller's grids and ordered by time, that plan walks every row in time order
    # (25 ms instead of < 1 ms at 100 000 tickets). Planning costs a fraction of a millisecond.
    # No pre-ping: on asyncpg it is three round trips (BEGIN, ping, ROLLBACK) per checkout, as
    # many as the rest of a small request. A connection found dead invalidates the pool, and a
    # request's sign-in, its first statement, retries once (api/edge/graphql_view.py); connections
    # are renewed hourly so that none outlives a firewall's idle timeout unnoticed.
    # Twenty connections at most, all kept: with ten kept and ten more "overflow" ones, a
    # busy process (16 requests in flight: each holds its connection until its task runs
    # again) opened and closed an overflow connection for most requests, a new PostgreSQL
    # backend each time (bench/graphql_bench.py: a quarter fewer requests per second).
    return create_async_engine(
        url,
        pool_size=20,
        max_overflow=0,
        pool_recycle=3600,
        connect_args={"server_settings": {"plan_cache_mode": "force_custom_plan"}},
    )


def _sqlite_begin_immediate(conn) -> None:  # noqa: ANN001
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=HookedSession)
