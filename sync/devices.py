"""A member's devices as an admin sees them: the phones that sync (the client ledger) and the
browsers registered for Web Push; deactivating an account also stops pushes to its devices.
And the Web Push deliveries as admins triage them (the sending itself: sync/delivery.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.models import AccountAction
from api.accounts.service import Actor, Deactivation, deactivate, get_member, record
from api.errors import not_found
from api.i18n import _
from api.notifications.models import Notification, NotificationKind
from sync.models import SyncClient
from sync.push_models import DeliveryStatus, PushDelivery, PushSubscription
from sync.webpush import vapid_audience

_delivery = PushDelivery.__table__  # type: ignore[attr-defined]
_subscription = PushSubscription.__table__  # type: ignore[attr-defined]
_notification = Notification.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Device:
    id: str
    kind: str  # SYNC_CLIENT or PUSH_SUBSCRIPTION
    label: str
    first_seen_at: datetime | None
    last_seen_at: datetime | None


def _host(endpoint: str) -> str:
    # The push service's host says which browser family it is (and nothing secret).
    return endpoint.split("/")[2] if "//" in endpoint else endpoint[:60]


async def member_devices(session: AsyncSession, member_id: uuid.UUID) -> list[Device]:
    await get_member(session, member_id)
    clients = await session.scalars(
        select(SyncClient).where(SyncClient.member_id == member_id).order_by(SyncClient.client_id)
    )
    subscriptions = await session.scalars(
        select(PushSubscription)
        .where(PushSubscription.member_id == member_id)
        .order_by(PushSubscription.created_at)
    )
    devices = [
        Device(
            c.client_id,
            "SYNC_CLIENT",
            f"sync client {c.client_id}",
            c.first_seen_at,
            c.last_seen_at,
        )
        for c in clients
    ]
    devices += [
        Device(
            str(s.id),
            "PUSH_SUBSCRIPTION",
            s.user_agent or _host(s.endpoint),
            s.created_at,
            s.last_success_at,
        )
        for s in subscriptions
    ]
    return devices


async def revoke_device(
    session: AsyncSession, member_id: uuid.UUID, device_id: str, actor: Actor
) -> Device:
    """Stop pushes to a browser (its subscription is removed), or forget a sync client (its
    tokens are revoked separately: the client then must sign in again)."""
    for device in await member_devices(session, member_id):
        if device.id == device_id:
            break
    else:
        raise not_found("deviceId", _("the device"))
    if device.kind == "PUSH_SUBSCRIPTION":
        await session.execute(
            delete(PushSubscription).where(PushSubscription.id == uuid.UUID(device_id))
        )
    else:
        await session.execute(delete(SyncClient).where(SyncClient.client_id == device_id))
    await record(
        session, member_id, AccountAction.DEVICE_REVOKED, actor, deviceId=device_id,
        kind=device.kind,
    )  # fmt: skip
    return device


async def deactivate_account(
    session: AsyncSession, member_id: uuid.UUID, actor: Actor
) -> tuple[Deactivation, int]:
    """Deactivate (tokens revoked, open tickets listed) and remove the push subscriptions."""
    done = await deactivate(session, member_id, actor)
    removed = await session.execute(
        delete(PushSubscription).where(PushSubscription.member_id == member_id)
    )
    return done, removed.rowcount or 0


@dataclass(frozen=True)
class DeliveryView:
    """A delivery as admins see it: where it stands, never the device's secret endpoint."""

    id: int
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    last_status_code: int | None
    delivered_at: datetime | None
    updated_at: datetime
    notification_id: uuid.UUID
    notification_kind: NotificationKind
    recipient_id: uuid.UUID
    subscription_id: uuid.UUID | None
    push_service: str | None


async def list_deliveries(
    session: AsyncSession, *, status: DeliveryStatus | None = None, first: int = 50
) -> list[DeliveryView]:
    """The newest deliveries, optionally of one status (FAILED for triage)."""
    c, s, n = _delivery.c, _subscription.c, _notification.c
    query = sa.select(
        c.id,
        c.status,
        c.attempts,
        c.next_attempt_at,
        c.last_error,
        c.last_status_code,
        c.delivered_at,
        c.updated_at,
        c.notification_id,
        n.kind,
        n.recipient_id,
        c.subscription_id,
        s.endpoint,
    ).select_from(
        _delivery.join(_notification, n.id == c.notification_id).outerjoin(
            _subscription, s.id == c.subscription_id
        )
    )
    if status is not None:
        query = query.where(c.status == status.value)
    rows = await session.execute(query.order_by(c.id.desc()).limit(first))
    return [
        DeliveryView(
            id=row.id,
            status=DeliveryStatus(row.status),
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
            last_status_code=row.last_status_code,
            delivered_at=row.delivered_at,
            updated_at=row.updated_at,
            notification_id=row.notification_id,
            notification_kind=NotificationKind(row.kind),
            recipient_id=row.recipient_id,
            subscription_id=row.subscription_id,
            push_service=vapid_audience(row.endpoint) if row.endpoint else None,
        )
        for row in rows
    ]
