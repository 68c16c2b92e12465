"""The per-request GraphQL context: settings, sessions, the caller and its scope, one read
connection for the request, and the request's DataLoaders."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy import Executable
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection
from strawberry.types import Info as StrawberryInfo

from api.auth.models import AuthToken
from api.auth.scope import ANONYMOUS, Scope
from api.config import Settings
from api.members.models import Member
from api.records import utcnow
from api.session_hooks import HookedSession
from schema.errors import unauthenticated
from schema.prepared import LISTENERS, arguments_of, prepared, row_maker

if TYPE_CHECKING:
    from schema.loaders import Loaders


class Reader:
    """One connection per request for reads, taken on first use and given back at the end.
    Statements run one at a time (DataLoaders dispatch concurrently), each in its own short
    transaction so that a SQLite write lock is never held between them."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, keep: bool = True) -> None:
        self._engine = sessions.kw["bind"]
        self._connection: AsyncConnection | None = None
        # The asyncpg connection under it, for statements run past SQLAlchemy.
        self._driver: Any = None
        self._lock = asyncio.Lock()
        # A long-lived context (a WebSocket) gives the connection back after each statement.
        self._keep = keep

    async def _connect(self) -> AsyncConnection:
        if self._connection is None:
            connection = await self._engine.connect()
            if connection.dialect.name == "postgresql":
                # A read is one statement, a transaction of its own either way; autocommit
                # spares the BEGIN and COMMIT round trips. (SQLite keeps its BEGIN IMMEDIATE.)
                await connection.execution_options(isolation_level="AUTOCOMMIT")
            self._connection = connection
            self._driver = None
        return self._connection

    async def _release(self) -> None:
        if not self._keep and self._connection is not None:
            connection, self._connection = self._connection, None
            await connection.close()

    async def rows(
        self,
        statement: Executable,
        parameters: dict[str, Any] | None = None,
        *,
        reused: bool = False,
    ) -> Sequence[Any]:
        """The statement's rows. ``reused``: a SELECT its maker keeps and runs again (a list's
        page), which on PostgreSQL runs straight on asyncpg (schema/prepared.py)."""
        async with self._lock:
            connection = await self._connect()
            try:
                if reused and connection.dialect.name == "postgresql":
                    assert isinstance(statement, sa.Select)
                    found = await self._direct(connection, statement, parameters or {})
                    if found is not None:
                        return found
                    connection = await self._connect()
                async with connection.begin():
                    result = await connection.execute(statement, parameters)
                    return result.all()
            finally:
                await self._release()

    async def _direct(
        self, connection: AsyncConnection, statement: sa.Select[Any], parameters: dict[str, Any]
    ) -> list[tuple[Any, ...]] | None:
        """The rows by asyncpg itself; None when that failed (the connection is then given up,
        and SQLAlchemy runs the statement and reports any error as it always has)."""
        kept = prepared(statement, connection.dialect)
        variant = kept.variant(parameters)
        arguments = arguments_of(variant, parameters)
        for listener in LISTENERS:
            listener(variant.sql)
        try:
            if self._driver is None:
                raw = await connection.get_raw_connection()
                self._driver = raw.driver_connection
            driver = self._driver
            if variant.rows is None:
                ready = await driver.prepare(variant.sql)
                oids = [attribute.type.oid for attribute in ready.get_attributes()]
                records = await ready.fetch(*arguments)
                variant.rows = row_maker(kept, oids)
            else:
                records = await driver.fetch(variant.sql, *arguments)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            self._connection = self._driver = None
            await connection.invalidate()
            await connection.close()
            return None
        except BaseException:
            # Cancelled while the statement ran (graphql-core cancels a request's other root
            # fields when one fails; a client went away): the connection's protocol state is
            # unknown, so it is given up, as SQLAlchemy gives up one it was using then (at
            # once, without awaiting: the task is being cancelled). Reused, it had answered
            # the next transaction's BEGIN with "already in a transaction".
            self._connection = self._driver = None
            connection.sync_connection.invalidate()
            raise
        return variant.rows(records)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """An ORM session on the request's connection (sign-in and scope read through it, so
        that a request takes one pooled connection, not two); it never writes."""
        async with self._lock:
            connection = await self._connect()
            try:
                async with AsyncSession(
                    bind=connection, expire_on_commit=False, sync_session_class=HookedSession
                ) as session:
                    yield session
            finally:
                await self._release()

    async def scalar(self, statement: Executable) -> Any:
        rows = await self.rows(statement)
        return rows[0][0] if rows else None

    async def close(self) -> None:
        async with self._lock:
            if self._connection is not None:
                connection, self._connection = self._connection, None
                await connection.close()


@dataclass
class Context:
    request: HTTPConnection
    response: Any
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    member: Member | None = None
    token: AuthToken | None = None
    scope: Scope = ANONYMOUS
    # The bearer token signed in with (a WebSocket signs in again with it: api/edge/socket_auth.py).
    bearer: str | None = None
    # Why a presented token was refused, so that the error says so instead of "sign in".
    auth_error: str | None = None
    # graphql-transport-ws: the connection_init payload; WebSocket contexts live long.
    connection_params: dict[str, Any] | None = None
    long_lived: bool = False
    # The request's clock: "overdue" and the dashboard read one instant for the whole answer.
    now: datetime = field(default_factory=utcnow)
    # Per-request caches (DataLoaders and the like), created on first use.
    cache: dict[str, Any] = field(default_factory=dict)
    _reader: Reader | None = None
    _loaders: Loaders | None = None

    def require_member(self) -> Member:
        if self.member is None:
            raise unauthenticated(self.auth_error)
        return self.member

    @property
    def reader(self) -> Reader:
        if self._reader is None:
            self._reader = Reader(self.sessions, keep=not self.long_lived)
        return self._reader

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            from schema.loaders import Loaders

            self._loaders = Loaders(self)
        return self._loaders

    def fresh(self) -> None:
        """Forget what was loaded: a subscription answers each event with current data."""
        self._loaders = None
        self.cache.clear()
        self.now = utcnow()

    async def close(self) -> None:
        if self._reader is not None:
            await self._reader.close()


Info = StrawberryInfo[Context, None]
