"""Notifications: the transactional outbox of "tell this person". Written in the same
transaction as the change that causes them; delivered by Web Push, subscriptions and sync."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

import sqlalchemy as sa
from sqlmodel import Field

from api.records import SyncedRecord, enum_column, time_column


class NotificationKind(StrEnum):
    ASSIGNED = "ASSIGNED"
    REASSIGNED = "REASSIGNED"
    UNASSIGNED = "UNASSIGNED"
    ESCALATED = "ESCALATED"
    DEADLINE_WARNING = "DEADLINE_WARNING"
    DEADLINE_BREACH = "DEADLINE_BREACH"
    RISK_RAISED = "RISK_RAISED"


class Notification(SyncedRecord, table=True):
    sync_collection: ClassVar[str] = "notifications"
    __table_args__ = (sa.Index("ix_notification_recipient_created", "recipient_id", "created_at"),)

    recipient_id: uuid.UUID = Field(foreign_key="member.id")
    kind: NotificationKind = enum_column(NotificationKind)
    title: str = Field(max_length=200)
    body: str = Field(default="", max_length=1000)
    ticket_id: uuid.UUID | None = Field(default=None, foreign_key="ticket.id", index=True)
    enterprise_id: uuid.UUID | None = Field(default=None, foreign_key="enterprise.id")
    grid_id: uuid.UUID | None = Field(default=None, foreign_key="grid.id")
    # Makes "recorded once" hold when a timed job runs again: e.g. "breach:<ticket>:<deadline>".
    dedup_key: str | None = Field(default=None, max_length=200, unique=True)
    read_at: datetime | None = time_column()
