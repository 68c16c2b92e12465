"""Fan-out of the notification outbox: every new notification gets one PushDelivery row per
device of its recipient, written by the same flush and so committed (or rolled back) together
with the change that caused it. Nothing is lost (no separate step that could fail after the
commit) and nothing is queued twice (one insert per new notification, unique per device).

Importing this module installs the session hook; sync.tables imports it, and so does every
entry point that may create notifications (the app via schema, the CLI, the worker)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from api.notifications.models import Notification
from sync.push_models import DeliveryStatus, PushDelivery, PushSubscription

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


@event.listens_for(Session, "after_flush")
def _fan_out_new_notifications(session: Session, _context: Any) -> None:
    # In after_flush the notification rows exist (foreign keys hold) and session.new still
    # lists what this flush inserted, so each notification fans out exactly once.
    new = [obj for obj in session.new if isinstance(obj, Notification)]
    if not new:
        return
    connection = session.connection()
    for notification in new:
        connection.execute(fan_out_statement(notification))
