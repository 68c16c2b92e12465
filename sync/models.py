"""Tables of the sync layer: the change log, stored push results, conflicts, the client ledger
and the pruning horizon (see docs/sync-protocol.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from api.records import SyncedRecord, enum_column, time_column, utcnow

# BIGINT on PostgreSQL; on SQLite only "INTEGER PRIMARY KEY" is the autoincrementing rowid.
BigSeq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class ChangeRow(SQLModel, table=True):
    """One change to one syncable record, written in the transaction that made it.

    Position in the log is (txid, seq): on PostgreSQL txid is the writing transaction's id, so
    a pull can stop below the oldest transaction still running and never skip a change that
    commits late (invariant 4); on SQLite writers are serialised and txid is 0."""

    __tablename__ = "sync_change"
    __table_args__ = (
        sa.Index("ix_sync_change_position", "txid", "seq"),
        sa.Index("ix_sync_change_record", "record_id", "version"),
        # A pull's "is this the record's last position?" answered from the index alone.
        sa.Index("ix_sync_change_record_position", "record_id", "txid", "seq"),
        sa.Index("ix_sync_change_at", "at"),
        # Never reuse a number after pruning (plain rowids restart from the largest left).
        {"sqlite_autoincrement": True},
    )

    seq: int | None = Field(default=None, sa_type=BigSeq, primary_key=True)
    txid: int = Field(default=0, sa_type=sa.BigInteger, nullable=False)
    collection: str = Field(max_length=32)
    record_id: uuid.UUID
    version: int
    deleted: bool = Field(default=False)
    # Who could see the record after the change, and before it (a record leaving a caller's
    # scope reaches that caller as deleted:true).
    keys_after: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    keys_before: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    # camelCase names of the fields this change touched: the three-way merge reads them.
    fields: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    # The sync client whose push made the change (null for other doors): its own earlier
    # changes are not "changed on the server" when its next mutation is merged.
    client_id: str | None = Field(default=None, max_length=100)
    at: datetime = time_column(nullable=False, default_factory=utcnow)


class ChangeKey(SQLModel, table=True):
    """Index of the change log by scope key: a pull reads only its caller's keys (invariant 7)."""

    __tablename__ = "sync_change_key"

    key: str = Field(max_length=64, primary_key=True)
    txid: int = Field(sa_type=sa.BigInteger, primary_key=True)
    seq: int = Field(sa_type=sa.BigInteger, primary_key=True)


class SyncState(SQLModel, table=True):
    """One row per setting of the log; today only the pruning horizon (position pruned up to)."""

    __tablename__ = "sync_state"

    name: str = Field(primary_key=True, max_length=32)
    txid: int = Field(default=0, sa_type=sa.BigInteger)
    seq: int = Field(default=0, sa_type=sa.BigInteger)
    at: datetime | None = time_column()


class MutationStatus(StrEnum):
    APPLIED = "APPLIED"
    MERGED = "MERGED"
    CONFLICT = "CONFLICT"
    REJECTED = "REJECTED"


class StoredMutation(SQLModel, table=True):
    """The outcome of one pushed mutation, kept so that a replay returns it unchanged
    (invariant 2), also after a restart."""

    __tablename__ = "sync_mutation"
    __table_args__ = (
        sa.UniqueConstraint("client_id", "mutation_id"),
        sa.Index("ix_sync_mutation_client_record", "client_id", "record_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: str = Field(max_length=100)
    mutation_id: str = Field(max_length=100)
    member_id: uuid.UUID = Field(foreign_key="member.id", index=True)
    collection: str = Field(max_length=32)
    record_id: str = Field(max_length=64)
    op: str = Field(max_length=8)
    status: MutationStatus = enum_column(MutationStatus)
    result: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    at: datetime = time_column(nullable=False, default_factory=utcnow, index=True)


class ConflictStatus(StrEnum):
    OPEN = "OPEN"
    RESOLVED = "RESOLVED"


class ConflictWinner(StrEnum):
    SERVER = "SERVER"
    CLIENT = "CLIENT"


class SyncConflict(SyncedRecord, table=True):
    """A value that lost a merge (invariant 1): kept until a person resolves it. Synced to
    the liaison whose edit it concerns, like any other record."""

    sync_collection: ClassVar[str] = "syncConflicts"
    __tablename__ = "sync_conflict"
    __table_args__ = (
        sa.Index("ix_sync_conflict_member_status", "member_id", "status"),
        sa.Index("ix_sync_conflict_record", "record_id"),
    )

    collection: str = Field(max_length=32)
    record_id: uuid.UUID
    field: str = Field(max_length=64)
    client_value: Any = Field(default=None, sa_type=sa.JSON, nullable=True)
    server_value: Any = Field(default=None, sa_type=sa.JSON, nullable=True)
    base_version: int | None = None
    server_version: int | None = None
    # Which documented field rule decided (docs/sync-protocol.md), and whose value is stored.
    rule: str = Field(max_length=32)
    winner: ConflictWinner = enum_column(ConflictWinner)
    message: str = Field(default="", max_length=500)
    client_id: str = Field(max_length=100)
    mutation_id: str = Field(max_length=100)
    member_id: uuid.UUID = Field(foreign_key="member.id")
    status: ConflictStatus = enum_column(ConflictStatus, default=ConflictStatus.OPEN)
    resolution: str | None = Field(default=None, max_length=16)
    resolved_value: Any = Field(default=None, sa_type=sa.JSON, nullable=True)
    resolved_by_id: uuid.UUID | None = Field(default=None, foreign_key="member.id")
    resolved_at: datetime | None = time_column()


class SyncClient(SQLModel, table=True):
    """The ledger: what the server knows of each phone (admins read it via syncClients)."""

    __tablename__ = "sync_client"

    client_id: str = Field(primary_key=True, max_length=100)
    member_id: uuid.UUID = Field(foreign_key="member.id", index=True)
    protocol_version: int | None = None
    last_checkpoint: str | None = Field(default=None, max_length=300)
    last_pulled_at: datetime | None = time_column()
    last_mutation_id: str | None = Field(default=None, max_length=100)
    last_pushed_at: datetime | None = time_column()
    mutations_pushed: int = Field(default=0)
    first_seen_at: datetime = time_column(nullable=False, default_factory=utcnow)
    last_seen_at: datetime = time_column(nullable=False, default_factory=utcnow)
