"""Writing notifications (the outbox) from domain operations."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.notifications.models import Notification, NotificationKind


async def notify(
    session: AsyncSession,
    *,
    recipient_id: uuid.UUID,
    kind: NotificationKind,
    title: str,
    body: str = "",
    ticket_id: uuid.UUID | None = None,
    enterprise_id: uuid.UUID | None = None,
    grid_id: uuid.UUID | None = None,
    dedup_key: str | None = None,
) -> Notification | None:
    """Add a notification to the caller's transaction; None when its dedup_key already exists
    (a re-run of a timed job must not notify twice)."""
    if dedup_key is not None:
        existing = await session.scalar(
            select(Notification.id).where(Notification.dedup_key == dedup_key)
        )
        if existing is not None:
            return None
    notification = Notification(
        recipient_id=recipient_id,
        kind=kind,
        title=title[:200],
        body=body[:1000],
        ticket_id=ticket_id,
        enterprise_id=enterprise_id,
        grid_id=grid_id,
        dedup_key=dedup_key,
    )
    session.add(notification)
    return notification
