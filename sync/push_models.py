"""Web Push tables: the devices a member registered, and one delivery row per notification and
device (the outbox's send queue). Neither is synced to phones; both are server bookkeeping.

The fan-out hook lives here, beside the tables, so that any process that knows these tables
also queues deliveries: every new notification gets one PushDelivery per device of its
recipient, written by the same flush and so committed (or rolled back) together with the change
that caused it. Nothing is lost (no separate step that could fail after the commit) and nothing
is queued twice (one insert per new notification, unique per device)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from api.notifications.models import Notification
from api.records import enum_column, time_column, utcnow


class PushSubscription(SQLModel, table=True):
    """A browser's `PushSubscription`: where to POST and the keys to encrypt for it."""

    __tablename__ = "push_subscription"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    member_id: uuid.UUID = Field(foreign_key="member.id", index=True)
    # The endpoint is the subscription's identity: a browser re-registering it is an update.
    endpoint: str = Field(max_length=2048, unique=True)
    p256dh: str = Field(max_length=100)
    auth: str = Field(max_length=40)
    user_agent: str | None = Field(default=None, max_length=300)
    created_at: datetime = time_column(nullable=False, default_factory=utcnow)
    updated_at: datetime = time_column(nullable=False, default_factory=utcnow)
    last_success_at: datetime | None = time_column()
    # Consecutive failed attempts (reset by a success); shown to admins.
    failure_count: int = Field(default=0)


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"  # waiting for its next_attempt_at
    SENDING = "SENDING"  # claimed by a worker until claimed_until
    DELIVERED = "DELIVERED"  # the push service accepted it
    FAILED = "FAILED"  # permanently refused, or gave up after the bounded number of tries
    GONE = "GONE"  # the device's subscription expired (404/410); the subscription was removed


class PushDelivery(SQLModel, table=True):
    """Sending one notification to one device. Created in the notification's own transaction,
    so a committed notification always has its deliveries and an aborted one has none."""

    __tablename__ = "push_delivery"
    __table_args__ = (
        # Nothing is queued twice for one device.
        sa.UniqueConstraint("notification_id", "subscription_id"),
        # The worker's claim: due rows in order.
        sa.Index("ix_push_delivery_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Indexed by the unique constraint above (its leading column).
    notification_id: uuid.UUID = Field(foreign_key="notification.id", ondelete="CASCADE")
    # Null once the device's subscription is gone; the row stays as history for admins.
    subscription_id: uuid.UUID | None = Field(
        default=None, foreign_key="push_subscription.id", ondelete="SET NULL", index=True
    )
    status: DeliveryStatus = enum_column(DeliveryStatus, default=DeliveryStatus.PENDING)
    # Attempts started (counted at claim time, so a worker that dies mid-send still counts).
    attempts: int = Field(default=0)
    # When the row is next due: the retry time while PENDING, the lease end while SENDING.
    next_attempt_at: datetime = time_column(nullable=False)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = time_column()
    last_error: str | None = Field(default=None, max_length=500)
    last_status_code: int | None = Field(default=None)
    delivered_at: datetime | None = time_column()
    created_at: datetime = time_column(nullable=False, default_factory=utcnow)
    updated_at: datetime = time_column(nullable=False, default_factory=utcnow)


_delivery = PushDelivery.__table__  # type: ignore[attr-defined]
_subscription = PushSubscription.__table__  # type: ignore[attr-defined]


def fan_out_statement(notification: Notification) -> sa.Insert:
    """INSERT ... SELECT: a PENDING delivery, due at once, for each of the recipient's devices."""
    columns = _delivery.c
    rows = sa.select(
        sa.literal(notification.id, columns.notification_id.type),
        _subscription.c.id,
        sa.literal(DeliveryStatus.PENDING.value, sa.String()),
        sa.literal(0, sa.Integer()),
        sa.literal(notification.created_at, columns.next_attempt_at.type),
        sa.literal(notification.created_at, columns.created_at.type),
        sa.literal(notification.created_at, columns.updated_at.type),
    ).where(_subscription.c.member_id == notification.recipient_id)
    return _delivery.insert().from_select(
        [
            columns.notification_id,
            columns.subscription_id,
            columns.status,
            columns.attempts,
            columns.next_attempt_at,
            columns.created_at,
            columns.updated_at,
        ],
        rows,
    )


def fan_out_new_notifications(session: Session, _context: Any) -> None:
    # In after_flush the notification rows exist (foreign keys hold) and session.new still
    # lists what this flush inserted, so each notification fans out exactly once.
    new = [obj for obj in session.new if isinstance(obj, Notification)]
    if not new:
        return
    connection = session.connection()
    for notification in new:
        connection.execute(fan_out_statement(notification))
