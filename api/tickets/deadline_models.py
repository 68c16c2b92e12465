"""Time limits: the county's deadline policies and the record of each warning and breach."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from api.records import enum_column, time_column, utcnow
from api.tickets.models import Severity, Tier

# A policy row for every source; a row for one source refines it (e.g. risk hazards).
ANY_SOURCE = "ANY"


class DeadlineKind(StrEnum):
    FIRST_RESPONSE = "FIRST_RESPONSE"
    RESOLUTION = "RESOLUTION"


class AlertStage(StrEnum):
    WARNING = "WARNING"
    BREACH = "BREACH"


class DeadlinePolicy(SQLModel, table=True):
    """How long a tier has to answer and to settle a ticket of a severity (and source)."""

    __tablename__ = "deadline_policy"
    __table_args__ = (sa.UniqueConstraint("tier", "severity", "source"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tier: Tier = enum_column(Tier)
    severity: Severity = enum_column(Severity)
    # ANY, or one TicketSource value: a source row wins over the ANY row.
    source: str = Field(default=ANY_SOURCE, max_length=32)
    first_response_seconds: int = Field(gt=0)
    resolution_seconds: int = Field(gt=0)
    # The warning comes this share of the duration before the deadline.
    warning_percent: int = Field(default=25, ge=1, le=90)
    # A missed resolution deadline moves the ticket one tier up by itself.
    auto_escalate: bool = Field(default=False)
    updated_at: datetime = time_column(nullable=False, default_factory=utcnow)


class DeadlineAlert(SQLModel, table=True):
    """One warning or breach of one deadline of one ticket, recorded once: the unique key makes
    a re-run or a second worker insert nothing. ``nominal_due_at`` is the deadline net of the
    time the ticket spent waiting on the worker, so a pause that pushes the deadline back does
    not make it a new deadline; a tier change or a reopening does."""

    __tablename__ = "deadline_alert"
    __table_args__ = (sa.UniqueConstraint("ticket_id", "kind", "stage", "nominal_due_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # The unique key's index, led by ticket_id, also serves "the alerts of a ticket".
    ticket_id: uuid.UUID = Field(foreign_key="ticket.id")
    kind: DeadlineKind = enum_column(DeadlineKind)
    stage: AlertStage = enum_column(AlertStage)
    nominal_due_at: datetime = time_column(nullable=False)
    due_at: datetime = time_column(nullable=False)
    tier: Tier = enum_column(Tier)
    fired_at: datetime = time_column(nullable=False)
    escalated: bool = Field(default=False)
