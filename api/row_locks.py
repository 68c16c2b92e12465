"""Row locks (SELECT ... FOR UPDATE) taken once per transaction and remembered: a batch that
locks all the rows it will touch up front (a sync push) lets every later "read it for update"
of those rows come from the session instead of costing another round trip each."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
_LOCKED = "row_locks"


def _locked(session: AsyncSession) -> set[tuple[type, uuid.UUID]]:
    """The rows locked by the session's current transaction (forgotten with it)."""
    root = session.sync_session.get_transaction()
    held_by, rows = session.info.get(_LOCKED, (None, set()))
    if held_by is not root:
        rows = set()
        session.info[_LOCKED] = (root, rows)
    return rows


async def lock_rows(session: AsyncSession, model: type[T], ids: Iterable[uuid.UUID]) -> list[T]:
    """Lock the rows of ``model`` with these ids, in id order (two transactions locking
    overlapping sets queue instead of deadlocking), and load them into the session. On SQLite
    (one writer at a time) they are only loaded."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    m: Any = model
    postgres = _on_postgres(session)
    statement = _for_update(session, select(model).where(m.id.in_(wanted)).order_by(m.id))
    found = list(await session.scalars(statement))
    # A lock taken inside a savepoint goes if the savepoint is rolled back: only the
    # transaction's own locks are remembered.
    if postgres and not session.in_nested_transaction():
        _locked(session).update((model, row.id) for row in found)  # type: ignore[attr-defined]
    return found


async def get_for_update(session: AsyncSession, model: type[T], record_id: uuid.UUID) -> T | None:
    """The row, locked for the rest of the transaction (on PostgreSQL): from the session when
    this transaction already locked it (lock_rows), else read with SELECT ... FOR UPDATE."""
    if (model, record_id) in _locked(session):
        return await session.get(model, record_id)
    m: Any = model
    return await session.scalar(_for_update(session, select(model).where(m.id == record_id)))


def _on_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _for_update(session: AsyncSession, statement: Select[Any]) -> Select[Any]:
    """The statement locking its rows, where rows have locks (PostgreSQL)."""
    return statement.with_for_update() if _on_postgres(session) else statement
