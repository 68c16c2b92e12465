"""Registering and removing a member's devices for Web Push."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import invalid
from api.records import utcnow
from sync.push_endpoints import EndpointPolicy, check_endpoint, parse_endpoint
from sync.push_models import DeliveryStatus, PushDelivery, PushSubscription
from sync.webpush import validate_subscription_keys

# A member with more devices than this loses its least recently used one on registering anew
# (old browser profiles never unregister themselves).
MAX_DEVICES_PER_MEMBER = 20
MAX_USER_AGENT = 300


def check_subscription_input(
    *, endpoint: str, p256dh: str, auth: str, policy: EndpointPolicy
) -> tuple[str, str, str]:
    """The trimmed endpoint and keys, or a DomainError naming the field at fault. The
    endpoint's text only: ``resolve_endpoint`` checks where it leads."""
    endpoint, p256dh, auth = endpoint.strip(), p256dh.strip(), auth.strip()
    try:
        parse_endpoint(endpoint, policy)
    except ValueError as error:
        raise invalid("endpoint", str(error)) from None
    try:
        validate_subscription_keys(p256dh, auth)
    except ValueError as error:
        # validate_subscription_keys checks p256dh first and says which key it refused.
        field = "auth" if str(error).startswith("auth") else "p256dh"
        raise invalid(field, str(error)) from None
    return endpoint, p256dh, auth


async def resolve_endpoint(endpoint: str, policy: EndpointPolicy) -> None:
    """Resolve the endpoint's host (in a thread: DNS may take a while) and refuse it unless
    every address is public; call it before the transaction that registers it."""
    try:
        await asyncio.to_thread(check_endpoint, endpoint.strip(), policy)
    except ValueError as error:
        raise invalid("endpoint", str(error)) from None


def _upsert(dialect: str) -> type[postgresql.Insert] | type[sqlite.Insert]:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert  # type: ignore[return-value]


async def register_subscription(
    session: AsyncSession,
    *,
    member_id: uuid.UUID,
    endpoint: str,
    p256dh: str,
    auth: str,
    user_agent: str | None = None,
    allow_insecure: bool = False,
    policy: EndpointPolicy | None = None,
    now: datetime | None = None,
) -> PushSubscription:
    """Store a device's subscription, or update it when the endpoint is known (a browser
    re-subscribing, or the device now signed in as another member)."""
    now = now or utcnow()
    endpoint, p256dh, auth = check_subscription_input(
        endpoint=endpoint,
        p256dh=p256dh,
        auth=auth,
        policy=policy or EndpointPolicy(allow_insecure=allow_insecure),
    )
    user_agent = (user_agent or "").strip()[:MAX_USER_AGENT] or None
    table = PushSubscription.__table__  # type: ignore[attr-defined]
    previous_owner = await session.scalar(
        sa.select(table.c.member_id).where(table.c.endpoint == endpoint)
    )
    insert = _upsert(session.get_bind().dialect.name)(table).values(
        id=uuid.uuid4(),
        member_id=member_id,
        endpoint=endpoint,
        p256dh=p256dh,
        auth=auth,
        user_agent=user_agent,
        created_at=now,
        updated_at=now,
        failure_count=0,
    )
    # One statement, so that two registrations of one endpoint at once cannot both insert.
    subscription_id = await session.scalar(
        insert.on_conflict_do_update(
            index_elements=[table.c.endpoint],
            set_={
                "member_id": member_id,
                "p256dh": p256dh,
                "auth": auth,
                "user_agent": user_agent,
                "updated_at": now,
                "failure_count": 0,
            },
        ).returning(table.c.id)
    )
    if previous_owner is not None and previous_owner != member_id:
        # The device changed hands: what was queued for the previous member is not for this one.
        await _drop_pending(session, subscription_id)
    await _evict_beyond_limit(session, member_id)
    subscription = await session.get(PushSubscription, subscription_id, populate_existing=True)
    assert subscription is not None
    return subscription


async def _evict_beyond_limit(session: AsyncSession, member_id: uuid.UUID) -> None:
    last_used = sa.func.coalesce(PushSubscription.last_success_at, PushSubscription.updated_at)
    surplus = list(
        await session.scalars(
            sa.select(PushSubscription.id)
            .where(PushSubscription.member_id == member_id)
            .order_by(last_used.desc(), PushSubscription.id)
            .offset(MAX_DEVICES_PER_MEMBER)
        )
    )
    for subscription_id in surplus:
        await remove_subscription(session, subscription_id)


async def _drop_pending(session: AsyncSession, subscription_id: uuid.UUID) -> None:
    await session.execute(
        sa.delete(PushDelivery).where(
            PushDelivery.subscription_id == subscription_id,
            PushDelivery.status == DeliveryStatus.PENDING,
        )
    )


async def remove_subscription(session: AsyncSession, subscription_id: uuid.UUID) -> None:
    """Delete a subscription and what is still queued for it; finished deliveries stay as
    history (their subscription id becomes null)."""
    if session.get_bind().dialect.name == "postgresql":
        # The subscription first, then its deliveries: the order the delivery worker locks in.
        await session.execute(
            sa.select(PushSubscription.id)
            .where(PushSubscription.id == subscription_id)
            .with_for_update()
        )
    await _drop_pending(session, subscription_id)
    await session.execute(
        sa.update(PushDelivery)
        .where(PushDelivery.subscription_id == subscription_id)
        .values(subscription_id=None)
    )
    await session.execute(sa.delete(PushSubscription).where(PushSubscription.id == subscription_id))


async def unregister_subscription(
    session: AsyncSession, *, member_id: uuid.UUID, endpoint: str
) -> bool:
    """Remove the member's own subscription for this endpoint; False when it has none (another
    member's endpoint is treated as unknown, so that nothing about it leaks)."""
    subscription_id = await session.scalar(
        sa.select(PushSubscription.id).where(
            PushSubscription.endpoint == endpoint.strip(),
            PushSubscription.member_id == member_id,
        )
    )
    if subscription_id is None:
        return False
    await remove_subscription(session, subscription_id)
    return True
