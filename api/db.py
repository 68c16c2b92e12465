"""Engines and sessions for SQLite and PostgreSQL; the one session factory."""

from __future__ import annotations

import weakref
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from api.config import Settings
from api.session_hooks import HookedSession

# Hear each statement run on asyncpg itself, past SQLAlchemy (a GraphQL list's kept page:
# schema/prepared.py; a sync pull's log page: sync/pull.py), which SQLAlchemy's own
# before_cursor_execute listeners do not: tests that count statements listen to both.
DRIVER_LISTENERS: list[Callable[[str], None]] = []


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
    engine = create_async_engine(
        url,
        pool_size=20,
        max_overflow=0,
        pool_recycle=3600,
        connect_args={"server_settings": {"plan_cache_mode": "force_custom_plan"}},
    )
    _savepoints_named_by_depth(engine.sync_engine)
    return engine


def _savepoints_named_by_depth(engine: Engine) -> None:
    """SQLAlchemy names every savepoint anew (sa_savepoint_1, _2, ...) and asyncpg prepares
    every new statement text: a push of 500 mutations, one savepoint each, paid a prepare
    round trip for each SAVEPOINT and each RELEASE (and pushed the batch's own statements out
    of the prepared-statement cache). Savepoints are strictly nested, so a name per depth is
    enough: PostgreSQL releases or rolls back to the most recent savepoint of a name, and a
    savepoint left behind by ROLLBACK TO is shadowed by the next of its depth and released
    with its parent. Three statement texts per depth, each prepared once per connection."""
    dialect = engine.dialect
    open_by_connection: weakref.WeakKeyDictionary[Connection, dict[str, str]] = (
        weakref.WeakKeyDictionary()
    )

    def named(connection: Connection, name: str) -> str:
        return open_by_connection.get(connection, {}).pop(name, name)

    # Sent as driver SQL: SQLAlchemy compiles its savepoint clauses anew every time.
    def do_savepoint(connection: Connection, name: str) -> None:
        opened = open_by_connection.setdefault(connection, {})
        opened[name] = f"gl_savepoint_{len(opened) + 1}"
        connection.exec_driver_sql(f"SAVEPOINT {opened[name]}")

    def do_rollback_to_savepoint(connection: Connection, name: str) -> None:
        connection.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {named(connection, name)}")

    def do_release_savepoint(connection: Connection, name: str) -> None:
        released = named(connection, name)
        if connection not in _keeping:
            connection.exec_driver_sql(f"RELEASE SAVEPOINT {released}")

    def forget(connection: Connection) -> None:
        # A new outer transaction: savepoints of an earlier one ended with it.
        open_by_connection.pop(connection, None)
        _keeping.discard(connection)

    dialect.do_savepoint = do_savepoint  # type: ignore[method-assign]
    dialect.do_rollback_to_savepoint = do_rollback_to_savepoint  # type: ignore[method-assign]
    dialect.do_release_savepoint = do_release_savepoint  # type: ignore[method-assign]
    event.listen(engine, "begin", forget)


# Connections whose current transaction leaves its savepoints open (keep_savepoints).
_keeping: weakref.WeakSet[Connection] = weakref.WeakSet()


def keep_savepoints(connection: Connection) -> None:
    """Until this transaction ends, a released savepoint is left open on PostgreSQL: one round
    trip fewer per savepoint, for a transaction that opens many in a row (a sync push: one
    per mutation). It changes nothing that can be seen: an open savepoint's writes and locks
    are its parent's as a released one's are, COMMIT ends them all, and ROLLBACK TO finds the
    newest savepoint of a name (the depth naming above), so a rollback still undoes only its
    own mutation. Nor does it cost other sessions: PostgreSQL keeps a released
    subtransaction's id in the backend's list of running ids all the same (only an aborted one
    leaves it), so past 64 writing savepoints the list overflows either way. Measured with 500
    savepoints of one INSERT each: 47 ms instead of 59, COMMIT 1.3 ms instead of 0.6, another
    session's reads of the rows as fast. A long transaction that opens thousands must not use
    it: every open savepoint holds a little server memory until COMMIT. SQLite releases."""
    _keeping.add(connection)


def _sqlite_begin_immediate(conn) -> None:  # noqa: ANN001
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=HookedSession)
