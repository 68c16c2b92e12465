"""Web Push delivery: the worker job that sends the outbox's PushDelivery rows.

One turn claims due rows (PostgreSQL: FOR UPDATE SKIP LOCKED, so two workers never take the
same row; SQLite: the single writer lock), commits the claim with a lease, sends outside any
transaction on a small thread pool (pywebpush is synchronous), and records each outcome in a
transaction of its own, fenced by the claim token. A worker that dies keeps its rows only until
the lease ends; then another worker takes them again. So delivery is at-least-once, and a
crash between send and mark re-sends at most once per device, which the per-ticket Topic lets
the push service collapse. Only workers send: a GraphQL request never waits on a push service.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.notifications.models import Notification, NotificationKind
from api.ops import metrics
from sync.push_endpoints import EndpointPolicy, guarded_session
from sync.push_models import DeliveryStatus, PushDelivery, PushSubscription
from sync.subscriptions import remove_subscription
from sync.webpush import (
    PushMessage,
    PushOutcome,
    PushResult,
    Urgency,
    backoff_delay,
    make_topic,
    public_key_from_private,
    send,
    validate_vapid_subject,
)

log = logging.getLogger("gridlink.push")

_delivery = PushDelivery.__table__  # type: ignore[attr-defined]
_subscription = PushSubscription.__table__  # type: ignore[attr-defined]
_notification = Notification.__table__  # type: ignore[attr-defined]

# What must reach a phone in a pocket at once; the rest may wait for the device to wake.
HIGH_URGENCY = frozenset(
    {
        NotificationKind.ASSIGNED,
        NotificationKind.REASSIGNED,
        NotificationKind.ESCALATED,
        NotificationKind.DEADLINE_BREACH,
    }
)
PAYLOAD_VERSION = 1
_ERROR_LIMIT = 500


@dataclass(frozen=True)
class DeliveryPolicy:
    # A liaison's phone may be off the network for a day; the push service keeps it that long.
    ttl_seconds: int = 24 * 3600
    # Bounded retries: about four hours of back-off at the defaults, then FAILED for admins.
    max_attempts: int = 8
    backoff_base_seconds: float = 30.0
    backoff_cap_seconds: float = 3600.0
    # Longer than a whole batch can take (batch_size / concurrency * send timeout), so that a
    # live worker never loses its claim; a dead worker's rows come back after it.
    lease_seconds: int = 300
    batch_size: int = 50
    concurrency: int = 8
    send_timeout_seconds: float = 10.0
    # One turn stops after this many batches, so that other jobs get their turn too.
    max_batches_per_turn: int = 20


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery this worker holds, with what is needed to send it."""

    id: int
    claim: str
    attempts: int
    subscription_id: uuid.UUID | None
    endpoint: str | None
    p256dh: str | None
    auth: str | None
    notification_id: uuid.UUID
    kind: NotificationKind
    title: str
    ticket_id: uuid.UUID | None
    enterprise_id: uuid.UUID | None
    grid_id: uuid.UUID | None
    version: int
    changed_at: datetime
    withdrawn: bool


def push_payload(delivery: ClaimedDelivery) -> bytes:
    """The small JSON a phone's service worker gets: enough to show the notification and to
    know what to pull; the rest comes with the next syncPull."""

    def text(value: uuid.UUID | None) -> str | None:
        return str(value) if value is not None else None

    body = {
        "v": PAYLOAD_VERSION,
        "kind": delivery.kind.value,
        "notificationId": str(delivery.notification_id),
        "title": delivery.title,
        "ticketId": text(delivery.ticket_id),
        "enterpriseId": text(delivery.enterprise_id),
        "gridId": text(delivery.grid_id),
        # Sync hint: the record the next pull will carry; a phone that holds this version
        # already has nothing to fetch.
        "sync": {
            "collection": Notification.sync_collection,
            "id": str(delivery.notification_id),
            "version": delivery.version,
            "changedAt": delivery.changed_at.isoformat(),
        },
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def push_topic(delivery: ClaimedDelivery) -> str:
    """One Topic per ticket (else per enterprise, else per notification): a push service
    holding an undelivered message replaces it by the newer one about the same thing."""
    if delivery.ticket_id is not None:
        return make_topic("ticket", str(delivery.ticket_id))
    if delivery.enterprise_id is not None:
        return make_topic("enterprise", str(delivery.enterprise_id))
    return make_topic("notification", str(delivery.notification_id))


def push_message(delivery: ClaimedDelivery, policy: DeliveryPolicy) -> PushMessage:
    assert delivery.endpoint and delivery.p256dh and delivery.auth
    urgency: Urgency = "high" if delivery.kind in HIGH_URGENCY else "normal"
    return PushMessage(
        endpoint=delivery.endpoint,
        p256dh=delivery.p256dh,
        auth=delivery.auth,
        payload=push_payload(delivery),
        ttl=policy.ttl_seconds,
        urgency=urgency,
        topic=push_topic(delivery),
    )


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def claim_due(
    session: AsyncSession, *, now: datetime, claim: str, policy: DeliveryPolicy
) -> list[ClaimedDelivery]:
    """Take up to batch_size due deliveries for this claim (commit the session afterwards).

    Due means PENDING with next_attempt_at reached, or SENDING whose lease ended (its worker
    died). A row past its last allowed attempt is not taken again but marked FAILED."""
    c = _delivery.c
    lease_end = now + timedelta(seconds=policy.lease_seconds)
    lost = sa.select(c.id).where(
        c.status == DeliveryStatus.SENDING.value,
        c.next_attempt_at <= now,
        c.attempts >= policy.max_attempts,
    )
    due = (
        sa.select(c.id)
        .where(
            c.status.in_([DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value]),
            c.next_attempt_at <= now,
        )
        .order_by(c.next_attempt_at, c.id)
        .limit(policy.batch_size)
    )
    if _is_postgres(session):
        # Rows another worker holds right now are skipped, not waited for (nor taken twice).
        lost = lost.with_for_update(skip_locked=True)
        due = due.with_for_update(skip_locked=True)
    await session.execute(
        sa.update(_delivery)
        .where(c.id.in_(lost.scalar_subquery()))
        .values(
            status=DeliveryStatus.FAILED.value,
            last_error="gave up: the worker making the last allowed attempt stopped before "
            "recording its result",
            claimed_by=None,
            claimed_until=None,
            updated_at=now,
        )
    )
    ids = list(
        await session.scalars(
            sa.update(_delivery)
            .where(c.id.in_(due.scalar_subquery()))
            .values(
                status=DeliveryStatus.SENDING.value,
                attempts=c.attempts + 1,
                claimed_by=claim,
                claimed_until=lease_end,
                # While claimed, the row is due again when the lease ends.
                next_attempt_at=lease_end,
                updated_at=now,
            )
            .returning(c.id)
        )
    )
    if not ids:
        return []
    s, n = _subscription.c, _notification.c
    rows = await session.execute(
        sa.select(
            c.id,
            c.attempts,
            c.subscription_id,
            s.endpoint,
            s.p256dh,
            s.auth,
            n.id,
            n.kind,
            n.title,
            n.ticket_id,
            n.enterprise_id,
            n.grid_id,
            n.version,
            n.updated_at,
            n.deleted_at,
        )
        .select_from(
            _delivery.join(_notification, n.id == c.notification_id).outerjoin(
                _subscription, s.id == c.subscription_id
            )
        )
        .where(c.id.in_(ids))
        .order_by(c.id)
    )
    return [
        ClaimedDelivery(
            id=row[0],
            claim=claim,
            attempts=row[1],
            subscription_id=row[2],
            endpoint=row[3],
            p256dh=row[4],
            auth=row[5],
            notification_id=row[6],
            kind=NotificationKind(row[7]),
            title=row[8],
            ticket_id=row[9],
            enterprise_id=row[10],
            grid_id=row[11],
            version=row[12],
            changed_at=row[13],
            withdrawn=row[14] is not None,
        )
        for row in rows
    ]


def _clip(error: str | None) -> str | None:
    if error is None:
        return None
    return error if len(error) <= _ERROR_LIMIT else error[: _ERROR_LIMIT - 3] + "..."


def _delivery_values(
    delivery: ClaimedDelivery,
    result: PushResult,
    *,
    now: datetime,
    policy: DeliveryPolicy,
    rng: random.Random | None,
) -> dict[str, object]:
    """The delivery row after this attempt."""
    values: dict[str, object] = {
        "claimed_by": None,
        "claimed_until": None,
        "last_status_code": result.status_code,
        "updated_at": now,
    }
    if result.outcome is PushOutcome.DELIVERED:
        values.update(status=DeliveryStatus.DELIVERED, delivered_at=now, last_error=None)
    elif result.outcome is PushOutcome.GONE:
        error = result.error or "the subscription has expired"
        values.update(status=DeliveryStatus.GONE, last_error=_clip(error))
    elif result.outcome is PushOutcome.RETRY and delivery.attempts < policy.max_attempts:
        delay = backoff_delay(
            delivery.attempts - 1,
            base=policy.backoff_base_seconds,
            cap=policy.backoff_cap_seconds,
            retry_after=result.retry_after_seconds,
            rng=rng or random,
        )
        values.update(
            status=DeliveryStatus.PENDING,
            next_attempt_at=now + timedelta(seconds=delay),
            last_error=_clip(result.error),
        )
    else:
        error = result.error or "refused by the push service"
        if result.outcome is PushOutcome.RETRY:
            error = f"gave up after {delivery.attempts} attempts: {error}"
        values.update(status=DeliveryStatus.FAILED, last_error=_clip(error))
    values["status"] = values["status"].value  # type: ignore[union-attr]
    return values


async def record_outcomes(
    session: AsyncSession,
    outcomes: list[tuple[ClaimedDelivery, PushResult]],
    *,
    now: datetime,
    policy: DeliveryPolicy,
    rng: random.Random | None = None,
) -> None:
    """Write what some attempts came to, in the caller's transaction.

    Each delivery row is fenced by its claim: when the lease was lost (this worker was too
    slow and another took the row), the other worker's outcome stands. Locks are taken in one
    order everywhere (subscriptions by id, then deliveries by id), so that two workers writing
    about the same device at once queue instead of deadlocking."""
    c, s = _delivery.c, _subscription.c
    touched = sorted(
        {d.subscription_id for d, _ in outcomes if d.subscription_id and not d.withdrawn}
    )
    if touched and _is_postgres(session):
        await session.execute(
            sa.select(s.id).where(s.id.in_(touched)).order_by(s.id).with_for_update(key_share=True)
        )
    delivered: set[uuid.UUID] = set()
    failures: Counter[uuid.UUID] = Counter()
    gone: set[uuid.UUID] = set()
    for delivery, result in sorted(outcomes, key=lambda pair: pair[0].id):
        values = _delivery_values(delivery, result, now=now, policy=policy, rng=rng)
        fenced = await session.execute(
            sa.update(_delivery)
            .where(c.id == delivery.id, c.claimed_by == delivery.claim)
            .values(**values)
        )
        if fenced.rowcount == 0:  # type: ignore[attr-defined]
            log.warning("push delivery %s: claim %s expired first", delivery.id, delivery.claim)
        else:
            metrics.PUSH_DELIVERIES.labels(values["status"]).inc()
        if delivery.subscription_id is None or delivery.withdrawn:
            continue
        if result.outcome is PushOutcome.DELIVERED:
            delivered.add(delivery.subscription_id)
        elif result.outcome is PushOutcome.GONE:
            gone.add(delivery.subscription_id)
        else:
            failures[delivery.subscription_id] += 1
    for subscription_id in touched:
        if subscription_id in gone:
            await remove_subscription(session, subscription_id)
        elif subscription_id in delivered:
            # The device works: earlier failures in this group were the push service's.
            await session.execute(
                sa.update(_subscription)
                .where(s.id == subscription_id)
                .values(last_success_at=now, failure_count=0)
            )
        elif failures[subscription_id]:
            await session.execute(
                sa.update(_subscription)
                .where(s.id == subscription_id)
                .values(failure_count=s.failure_count + failures[subscription_id])
            )


class PushDeliverer:
    """The delivery job (`Job.run`): `await deliverer(sessions, now)` runs one turn and returns
    how many deliveries it attempted."""

    def __init__(
        self,
        *,
        vapid_private_key: str,
        vapid_subject: str,
        policy: DeliveryPolicy | None = None,
        endpoint_policy: EndpointPolicy | None = None,
        worker_id: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        # A bad key or subject would fail every send; refuse it at start-up instead.
        public_key_from_private(vapid_private_key)
        validate_vapid_subject(vapid_subject)
        self.vapid_private_key = vapid_private_key
        self.vapid_subject = vapid_subject
        self.policy = policy or DeliveryPolicy()
        # Where sends may connect (sync/push_endpoints.py); default: public addresses only.
        self.endpoint_policy = endpoint_policy or EndpointPolicy()
        self.worker_id = (worker_id or f"{socket.gethostname()}:{os.getpid()}")[:40]
        self.rng = rng or random.Random()
        self._executor = ThreadPoolExecutor(
            max_workers=self.policy.concurrency, thread_name_prefix="push"
        )
        self._local = threading.local()

    def close(self) -> None:
        self._executor.shutdown(wait=True)

    def _send(self, message: PushMessage) -> PushResult:
        # One requests.Session per sending thread: kept-alive connections to the push service.
        http: requests.Session | None = getattr(self._local, "http", None)
        if http is None:
            http = self._local.http = guarded_session(self.endpoint_policy)
        return send(
            message,
            vapid_private_key=self.vapid_private_key,
            vapid_subject=self.vapid_subject,
            timeout=self.policy.send_timeout_seconds,
            session=http,
        )

    async def __call__(self, sessions: async_sessionmaker[AsyncSession], now: datetime) -> int:
        # `now` is the turn's start; later steps add the time elapsed since, so that tests can
        # inject the clock and a long turn still honours Retry-After and its leases.
        started = time.monotonic()

        def clock() -> datetime:
            return now + timedelta(seconds=time.monotonic() - started)

        attempted = 0
        for _ in range(self.policy.max_batches_per_turn):
            batch = await self.claim(sessions, clock())
            if not batch:
                break
            await self.send_batch(sessions, batch, clock)
            attempted += len(batch)
        return attempted

    async def claim(
        self, sessions: async_sessionmaker[AsyncSession], now: datetime
    ) -> list[ClaimedDelivery]:
        claim = f"{self.worker_id}/{uuid.uuid4().hex[:16]}"
        async with sessions() as session, session.begin():
            return await claim_due(session, now=now, claim=claim, policy=self.policy)

    async def send_batch(
        self,
        sessions: async_sessionmaker[AsyncSession],
        batch: list[ClaimedDelivery],
        clock: Callable[[], datetime],
    ) -> None:
        loop = asyncio.get_running_loop()
        finished: asyncio.Queue[tuple[ClaimedDelivery, PushResult]] = asyncio.Queue()

        async def attempt(delivery: ClaimedDelivery) -> None:
            try:
                if delivery.endpoint is None:
                    result = PushResult(None, PushOutcome.FAILED, None, "the device was removed")
                elif delivery.withdrawn:
                    result = PushResult(None, PushOutcome.FAILED, None, "notification withdrawn")
                else:
                    message = push_message(delivery, self.policy)
                    result = await loop.run_in_executor(self._executor, self._send, message)
            except Exception as error:  # noqa: BLE001 - a bug in one send must not lose the row
                log.exception("push delivery %s: sending raised", delivery.id)
                result = PushResult(None, PushOutcome.RETRY, None, f"internal error: {error!r}")
            finished.put_nowait((delivery, result))

        senders = [asyncio.create_task(attempt(d)) for d in batch]
        try:
            # Outcomes are recorded as they come in, all those that arrived together in one
            # transaction: a crash later in the batch does not make the finished ones go out
            # again, and the database sees a few commits per batch, not one per message.
            remaining = len(batch)
            while remaining:
                group = [await finished.get()]
                while not finished.empty():
                    group.append(finished.get_nowait())
                async with sessions() as session, session.begin():
                    await record_outcomes(
                        session, group, now=clock(), policy=self.policy, rng=self.rng
                    )
                remaining -= len(group)
        finally:
            # On a database error the rows left stay SENDING until their lease ends.
            for sender in senders:
                sender.cancel()
