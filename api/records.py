"""What every record a phone may hold has: a client-choosable UUID, a version, server times,
soft deletion. The columns are shared; the version and times are kept by a session hook
(``stamp_versions``, installed by api/session_hooks.py). Also the one way to add a row whose
unique key a concurrent writer may take first (``add_unless_taken``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from api.errors import DomainError

# Named constraints so that migrations can alter and drop them on both databases.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite drops the zone otherwise)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; gridlink stores aware UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_column(enum_type: type, **kwargs: Any) -> Any:
    """Enums stored as their (upper-case) names in a VARCHAR, portable and easy to migrate."""
    return Field(
        sa_type=sa.Enum(enum_type, native_enum=False, length=32, validate_strings=True),
        **kwargs,
    )


def time_column(*, nullable: bool = True, index: bool = False, **kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, nullable=nullable, index=index, **kwargs)


class SyncedRecord(SQLModel):
    """Base of the tables a phone keeps a copy of (see docs/sync-protocol.md)."""

    # Name of the collection on the sync wire; set by each table.
    sync_collection: ClassVar[str] = ""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    version: int = Field(default=1, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


def new_row(**values: Any) -> dict[str, Any]:
    """Every column of a new synced record written without an instance (a bulk INSERT of an
    import): the bookkeeping columns as the flush hook below would set them, then ``values``."""
    now = utcnow()
    return {
        "id": uuid.uuid4(),
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "deleted_at": None,
        **values,
    }


async def add_unless_taken(
    session: AsyncSession, row: SQLModel, taken: Callable[[], DomainError]
) -> None:
    """Add ``row`` in a savepoint of its own. A unique key that another writer took after the
    caller's check (a race; SQLite has no row lock to wait on) undoes only that savepoint and
    raises ``taken()``, the caller's coded refusal, instead of failing the whole transaction."""
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        raise taken() from None


def stamp_versions(session: Session, _context: Any, _instances: Any) -> None:
    """Server-authoritative times and a version bump on every change (docs/sync-protocol.md).
    A before_flush hook (api/session_hooks.py)."""
    now = utcnow()
    for obj in session.new:
        if isinstance(obj, SyncedRecord):
            obj.created_at = now
            obj.updated_at = now
            obj.version = 1
    for obj in session.dirty:
        if isinstance(obj, SyncedRecord) and session.is_modified(obj, include_collections=False):
            obj.updated_at = now
            obj.version = (obj.version or 0) + 1
