"""Web Push delivery of notifications, end to end against the real fake push service (real HTTP,
VAPID checked, aes128gcm decrypted) and the real pywebpush path. No mocks."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from api.config import Settings
from api.notifications.models import Notification, NotificationKind
from api.notifications.service import notify
from api.records import utcnow
from sync.delivery import push_message, record_outcomes
from sync.push_endpoints import EndpointPolicy
from sync.push_models import DeliveryStatus, PushDelivery, PushSubscription
from sync.subscriptions import register_subscription
from sync.webpush import PushOutcome, PushResult, make_topic, public_key_from_private, send
from tests import fakepush, push_support
from tests.fakepush import FakePushService, unused_endpoint
from tests.push_support import (
    SUBJECT,
    assign_to_liaison,
    deliveries,
    make_deliverer,
    make_world,
    notify_assigned,
    payload,
    register_device,
    subscription_ids,
)

# Fixtures shared with the other notification tests.
ROOT = Path(__file__).resolve().parent.parent

fake_push = fakepush.fake_push
vapid_keys = fakepush.vapid_keys
deliverer = push_support.deliverer


async def test_assignment_reaches_each_device_once_and_expired_device_is_removed(
    session_factory, fake_push: FakePushService, deliverer
) -> None:
    world = await make_world(session_factory)
    phone, tablet, old = (fake_push.new_device() for _ in range(3))
    for device in (phone, tablet, old):
        await register_device(session_factory, world.liaison, device)
    registered = await subscription_ids(session_factory)
    fake_push.expire(old.device_id, 410)

    ticket = await assign_to_liaison(session_factory, world)
    assert len(await deliveries(session_factory)) == 3  # queued with the assignment
    async with session_factory() as session:
        [notification] = await session.scalars(sa.select(Notification))

    assert await deliverer(session_factory, utcnow()) == 3
    for device in (phone, tablet):
        [message] = fake_push.messages(device.device_id)
        body = payload(message)
        assert body["title"] == f"{ticket.number}: Wages unpaid for two months"
        assert body["kind"] == "ASSIGNED"
        assert body["notificationId"] == str(notification.id)
        assert body["ticketId"] == str(world.ticket.id)
        assert body["sync"] == {
            "collection": "notifications",
            "id": str(notification.id),
            "version": 1,
            "changedAt": notification.updated_at.isoformat(),
        }
        assert message.ttl == 24 * 3600
        assert message.urgency == "high"
        assert message.topic == make_topic("ticket", str(world.ticket.id))
    assert fake_push.messages(old.device_id) == []
    assert [r.status for r in fake_push.requests(old.device_id)] == [410]

    # The expired device is gone; its delivery stays as history without a subscription.
    remaining = await subscription_ids(session_factory)
    assert len(remaining) == 2 and remaining < registered
    rows = await deliveries(session_factory)
    assert sorted(r.status for r in rows) == ["DELIVERED", "DELIVERED", "GONE"]
    gone = next(r for r in rows if r.status is DeliveryStatus.GONE)
    assert gone.subscription_id is None and gone.last_status_code == 410

    # Nothing is due any more: another turn sends nothing again.
    assert await deliverer(session_factory, utcnow() + timedelta(days=1)) == 0
    assert len(fake_push.requests()) == 3


# Every entry point installs the fan-out hook (with the others): tests/test_session_hooks.py.


async def test_fan_out_is_part_of_the_notifications_transaction(
    session_factory, fake_push: FakePushService
) -> None:
    world = await make_world(session_factory)
    await register_device(session_factory, world.liaison, fake_push.new_device())
    await register_device(session_factory, world.dispatcher, fake_push.new_device())

    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with session_factory() as session, session.begin():
            await notify(
                session,
                recipient_id=world.liaison.id,
                kind=NotificationKind.ASSIGNED,
                title="rolled back",
            )
            await session.flush()
            assert await session.scalar(sa.select(sa.func.count()).select_from(PushDelivery)) == 1
            raise Abort
    assert await deliveries(session_factory) == []

    # A timed job re-run with the same dedup key notifies (and queues) once.
    for _ in range(2):
        async with session_factory() as session, session.begin():
            await notify(
                session,
                recipient_id=world.liaison.id,
                kind=NotificationKind.DEADLINE_BREACH,
                title="Deadline passed",
                ticket_id=world.ticket.id,
                dedup_key=f"breach:{world.ticket.id}:1",
            )
    [row] = await deliveries(session_factory)
    assert row.status is DeliveryStatus.PENDING and row.attempts == 0

    # A device registered later gets later notifications only.
    await register_device(session_factory, world.liaison, fake_push.new_device())
    await notify_assigned(session_factory, world)
    assert len(await deliveries(session_factory)) == 3


async def test_retry_after_429_is_honoured(
    session_factory, fake_push: FakePushService, deliverer
) -> None:
    world = await make_world(session_factory)
    device = fake_push.new_device()
    await register_device(session_factory, world.liaison, device)
    fake_push.script(device.device_id, [(429, 120)])
    await notify_assigned(session_factory, world)

    t0 = utcnow()
    assert await deliverer(session_factory, t0) == 1
    [row] = await deliveries(session_factory)
    assert row.status is DeliveryStatus.PENDING and row.attempts == 1
    assert row.last_status_code == 429 and "429" in (row.last_error or "")
    assert row.next_attempt_at >= t0 + timedelta(seconds=120)

    # Not before the push service asked us to come back.
    assert await deliverer(session_factory, t0 + timedelta(seconds=119)) == 0
    assert len(fake_push.requests(device.device_id)) == 1

    assert await deliverer(session_factory, row.next_attempt_at) == 1
    [message] = fake_push.messages(device.device_id)
    assert payload(message)["kind"] == "ASSIGNED"
    [row] = await deliveries(session_factory)
    assert row.status is DeliveryStatus.DELIVERED and row.attempts == 2
    assert row.last_error is None and row.delivered_at is not None


async def test_bounded_retries_end_failed_with_last_error(
    session_factory, fake_push: FakePushService, vapid_keys
) -> None:
    world = await make_world(session_factory)
    device = fake_push.new_device()
    subscription = await register_device(session_factory, world.liaison, device)
    fake_push.script(device.device_id, [500, 503, 500, 500])
    await notify_assigned(session_factory, world)
    worker = make_deliverer(
        vapid_keys, max_attempts=3, backoff_base_seconds=1, backoff_cap_seconds=2
    )
    try:
        at = utcnow()
        delays = []
        for _ in range(3):
            assert await worker(session_factory, at) == 1
            [row] = await deliveries(session_factory)
            if row.status is DeliveryStatus.PENDING:
                delays.append((row.next_attempt_at - at).total_seconds())
            at += timedelta(seconds=10)
        assert await worker(session_factory, at + timedelta(days=1)) == 0
    finally:
        worker.close()
    assert len(delays) == 2 and all(0 <= d <= 2.5 for d in delays)  # back-off, capped
    [row] = await deliveries(session_factory)
    assert row.status is DeliveryStatus.FAILED and row.attempts == 3
    assert row.last_error is not None and row.last_error.startswith("gave up after 3 attempts: 500")
    assert fake_push.messages(device.device_id) == []
    async with session_factory() as session:
        stored = await session.get(PushSubscription, subscription.id)
        assert stored is not None and stored.failure_count == 3  # kept: 5xx is not "gone"


async def test_other_4xx_fails_at_once_and_404_removes_the_device(
    session_factory, fake_push: FakePushService, deliverer
) -> None:
    world = await make_world(session_factory)
    refused, unknown = fake_push.new_device(), fake_push.new_device()
    await register_device(session_factory, world.liaison, refused)
    await register_device(session_factory, world.liaison, unknown)
    fake_push.script(refused.device_id, [400])
    fake_push.expire(unknown.device_id, 404)
    await notify_assigned(session_factory, world)

    assert await deliverer(session_factory, utcnow()) == 2
    rows = await deliveries(session_factory)
    by_status = {r.status: r for r in rows}
    assert set(by_status) == {DeliveryStatus.FAILED, DeliveryStatus.GONE}
    assert by_status[DeliveryStatus.FAILED].attempts == 1
    assert by_status[DeliveryStatus.FAILED].last_status_code == 400
    assert await deliverer(session_factory, utcnow() + timedelta(days=1)) == 0
    assert len(await subscription_ids(session_factory)) == 1


async def test_a_worker_that_dies_after_claiming_loses_nothing(
    session_factory, fake_push: FakePushService, vapid_keys
) -> None:
    world = await make_world(session_factory)
    devices = [fake_push.new_device() for _ in range(2)]
    for device in devices:
        await register_device(session_factory, world.liaison, device)
    await notify_assigned(session_factory, world)

    t0 = utcnow()
    doomed, survivor = make_deliverer(vapid_keys), make_deliverer(vapid_keys)
    try:
        claimed = await doomed.claim(session_factory, t0)  # ... and then the process dies
        assert len(claimed) == 2
        # While the lease runs, nobody else takes those rows.
        assert await survivor(session_factory, t0 + timedelta(seconds=60)) == 0
        assert fake_push.requests() == []
        # After it, the survivor delivers them, once per device.
        lease_end = t0 + timedelta(seconds=doomed.policy.lease_seconds)
        assert await survivor(session_factory, lease_end) == 2
    finally:
        doomed.close()
        survivor.close()
    for device in devices:
        assert len(fake_push.messages(device.device_id)) == 1
    rows = await deliveries(session_factory)
    assert [(r.status, r.attempts) for r in rows] == [(DeliveryStatus.DELIVERED, 2)] * 2


async def test_a_crash_between_send_and_mark_resends_once_under_the_same_topic(
    session_factory, fake_push: FakePushService, vapid_keys
) -> None:
    world = await make_world(session_factory)
    device = fake_push.new_device()
    await register_device(session_factory, world.liaison, device)
    await notify_assigned(session_factory, world)

    t0 = utcnow()
    doomed, survivor = make_deliverer(vapid_keys), make_deliverer(vapid_keys)
    try:
        [claimed] = await doomed.claim(session_factory, t0)
        sent = send(
            push_message(claimed, doomed.policy),
            vapid_private_key=vapid_keys[0],
            vapid_subject=SUBJECT,
            policy=EndpointPolicy(allow_insecure=True),
        )
        assert sent.outcome is PushOutcome.DELIVERED  # ... and the worker dies before marking
        assert (
            await survivor(session_factory, t0 + timedelta(seconds=doomed.policy.lease_seconds))
            == 1
        )
        # The dead worker's late word does not overwrite the survivor's (fenced by the claim).
        async with session_factory() as session, session.begin():
            late = PushResult(500, PushOutcome.FAILED, None, "late")
            await record_outcomes(session, [(claimed, late)], now=utcnow(), policy=doomed.policy)
    finally:
        doomed.close()
        survivor.close()
    first, second = fake_push.messages(device.device_id)
    assert first.payload == second.payload and first.topic == second.topic is not None
    [row] = await deliveries(session_factory)
    assert row.status is DeliveryStatus.DELIVERED and row.last_error is None


def test_gridlink_vapid_keys_prints_a_working_pair() -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLINK_")}
    done = subprocess.run(
        [sys.executable, "-m", "api.edge.cli", "vapid-keys"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    first, second = done.stdout.splitlines()
    name, _, private = first.partition("=")
    assert name == "GRIDLINK_VAPID_PRIVATE_KEY"
    public = second.rsplit(" ", 1)[-1]
    assert public_key_from_private(private) == public and len(public) == 87
    # The printed line works as the setting it names.
    assert Settings.from_env({first.split("=")[0]: private}).vapid_private_key == private


async def test_an_unreachable_push_service_is_retried_later(
    session_factory, fake_push: FakePushService, deliverer
) -> None:
    world = await make_world(session_factory)
    device = fake_push.new_device()
    async with session_factory() as session, session.begin():
        await register_subscription(
            session,
            member_id=world.liaison.id,
            endpoint=unused_endpoint(),
            p256dh=device.p256dh,
            auth=device.auth,
            allow_insecure=True,
        )
    await notify_assigned(session_factory, world)
    t0 = utcnow()
    assert await deliverer(session_factory, t0) == 1
    [row] = await deliveries(session_factory)
    assert row.status is DeliveryStatus.PENDING and row.attempts == 1
    assert row.last_status_code is None and "Connection" in (row.last_error or "")
    assert (
        t0
        <= row.next_attempt_at
        <= t0 + timedelta(seconds=deliverer.policy.backoff_base_seconds + 1)
    )
