"""Tickets (worker requests, risk hazards, hotline calls, direct reports), their audit trail
and comments."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from api.records import SyncedRecord, enum_column, time_column, utcnow


class TicketSource(StrEnum):
    WORKER_REQUEST = "WORKER_REQUEST"
    RISK_HAZARD = "RISK_HAZARD"
    HOTLINE_12351 = "HOTLINE_12351"
    DIRECT_REPORT = "DIRECT_REPORT"


class Severity(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


class TicketStatus(StrEnum):
    REPORTED = "REPORTED"
    ASSIGNED = "ASSIGNED"
    IN_PROGRESS = "IN_PROGRESS"
    WAITING_ON_WORKER = "WAITING_ON_WORKER"
    MEDIATING = "MEDIATING"
    RESOLVED = "RESOLVED"
    CLOSED = "CLOSED"
    REOPENED = "REOPENED"
    WITHDRAWN = "WITHDRAWN"


OPEN_STATUSES = frozenset(
    {
        TicketStatus.REPORTED,
        TicketStatus.ASSIGNED,
        TicketStatus.IN_PROGRESS,
        TicketStatus.WAITING_ON_WORKER,
        TicketStatus.MEDIATING,
        TicketStatus.REOPENED,
    }
)


class Tier(StrEnum):
    GRID = "GRID"
    TOWN = "TOWN"
    COUNTY_STATION = "COUNTY_STATION"
    COURT_MEDIATION = "COURT_MEDIATION"


class Ticket(SyncedRecord, table=True):
    sync_collection: ClassVar[str] = "tickets"
    __table_args__ = (
        sa.Index("ix_ticket_grid_status", "grid_id", "status"),
        sa.Index("ix_ticket_assignee_status", "assignee_id", "status"),
        # Open tickets that follow an enterprise to its new grid (imports move many at once).
        sa.Index("ix_ticket_enterprise_status", "enterprise_id", "status"),
        sa.Index("ix_ticket_updated", "updated_at", "id"),
        # Keyset paging of the newest-first ticket lists.
        sa.Index("ix_ticket_created", "created_at", "id"),
    )

    # Human number (SY-2026-000123), assigned by the server only (docs/sync-protocol.md).
    number: str = Field(max_length=32, unique=True, index=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_type=sa.Text)
    source: TicketSource = enum_column(TicketSource, index=True)
    category: str = Field(default="OTHER", max_length=64, index=True)
    severity: Severity = enum_column(Severity, default=Severity.MEDIUM, index=True)
    status: TicketStatus = enum_column(TicketStatus, default=TicketStatus.REPORTED, index=True)
    tier: Tier = enum_column(Tier, default=Tier.GRID, index=True)
    enterprise_id: uuid.UUID | None = Field(default=None, foreign_key="enterprise.id", index=True)
    grid_id: uuid.UUID = Field(foreign_key="grid.id")
    reporter_id: uuid.UUID | None = Field(default=None, foreign_key="member.id", index=True)
    # A worker who is not a member in the system is named here.
    reporter_name: str | None = Field(default=None, max_length=100)
    reporter_phone: str | None = Field(default=None, max_length=20)
    assignee_id: uuid.UUID | None = Field(default=None, foreign_key="member.id")
    # The client's own time of the report; createdAt is the server's.
    reported_at: datetime = time_column(nullable=False, default_factory=utcnow)
    first_response_due_at: datetime | None = time_column(index=True)
    resolution_due_at: datetime | None = time_column(index=True)
    first_responded_at: datetime | None = time_column()
    # One timestamp per state (Netflix Dispatch style), null until the ticket gets there.
    assigned_at: datetime | None = time_column()
    in_progress_at: datetime | None = time_column()
    waiting_since: datetime | None = time_column()
    mediating_at: datetime | None = time_column()
    resolved_at: datetime | None = time_column()
    closed_at: datetime | None = time_column()
    reopened_at: datetime | None = time_column()
    withdrawn_at: datetime | None = time_column()
    # Deadline clocks stop while waiting on the worker; the paused time is added to them.
    paused_seconds: int = Field(default=0)
    resolution_note: str | None = Field(default=None, sa_type=sa.Text)
    satisfaction_rating: int | None = Field(default=None, ge=1, le=5)
    satisfaction_comment: str | None = Field(default=None, max_length=1000)
    rated_by_id: uuid.UUID | None = Field(default=None, foreign_key="member.id")
    rated_on_behalf: bool = Field(default=False)
    rated_at: datetime | None = time_column()

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class TicketEvent(SQLModel, table=True):
    """Audit trail: who did what to a ticket and when, with the values before and after."""

    __tablename__ = "ticket_event"
    __table_args__ = (sa.Index("ix_ticket_event_ticket_at", "ticket_id", "at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    ticket_id: uuid.UUID = Field(foreign_key="ticket.id")
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="member.id")
    kind: str = Field(max_length=32)
    before: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    note: str | None = Field(default=None, sa_type=sa.Text)
    at: datetime = time_column(nullable=False, default_factory=utcnow)


class TicketComment(SyncedRecord, table=True):
    """Append-only remarks on a ticket; never edited, so never in conflict."""

    sync_collection: ClassVar[str] = "ticketComments"
    __tablename__ = "ticket_comment"

    ticket_id: uuid.UUID = Field(foreign_key="ticket.id", index=True)
    author_id: uuid.UUID | None = Field(default=None, foreign_key="member.id")
    body: str = Field(sa_type=sa.Text)
    # The client's time of writing; createdAt is the server's.
    occurred_at: datetime = time_column(nullable=False, default_factory=utcnow)


class Counter(SQLModel, table=True):
    """Named counters for human numbers, incremented inside the writing transaction."""

    name: str = Field(primary_key=True, max_length=64)
    value: int = Field(default=0)


# Records that hang off a ticket and go when it goes (comments here; attachments add
# themselves in api/attachments/models.py). Each has `ticket_id` and soft deletion.
TICKET_CHILDREN: list[type[SyncedRecord]] = [TicketComment]


def children_go_with_their_ticket(session: Session, _context: Any, _instances: Any) -> None:
    """A ticket deleted by any door (sync push, GraphQL, CLI) deletes its comments and
    attachments in the same flush, so that phones get their tombstones and nobody holds a
    remark about a ticket nobody has. First among the flush hooks (api/session_hooks.py):
    the version stamp and the change log then treat the children like any other change."""
    gone: dict[uuid.UUID, datetime] = {}
    for record in session.dirty:
        if isinstance(record, Ticket) and record.deleted_at is not None:
            history = sa.inspect(record).attrs.deleted_at.history
            if history.added and not any(history.deleted):
                gone[record.id] = record.deleted_at
    if not gone:
        return
    with session.no_autoflush:
        for model in TICKET_CHILDREN:
            m: Any = model
            children = session.scalars(
                sa.select(m).where(m.ticket_id.in_(list(gone)), m.deleted_at.is_(None))
            )
            for child in children:
                child.deleted_at = gone[child.ticket_id]
