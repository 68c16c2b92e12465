"""Several delivery workers at once, and a worker killed with SIGKILL in the middle of a batch:
each message reaches each device exactly once (two live workers) or at least once with at most
one batch re-sent (a killed one). Real databases, real processes, the real fake push service."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from api import db
from api.config import Settings
from api.db import create_engine
from api.notifications.models import NotificationKind
from api.notifications.service import notify
from api.records import utcnow
from sync.push_models import DeliveryStatus
from tests import fakepush
from tests.fakepush import FakeDevice, FakePushService
from tests.push_support import (
    SUBJECT,
    deliveries,
    make_deliverer,
    make_world,
    payload,
    register_device,
)

fake_push = fakepush.fake_push
vapid_keys = fakepush.vapid_keys

ROOT = Path(__file__).resolve().parent.parent


async def _queue(session_factory, world, count: int) -> None:
    async with session_factory() as session, session.begin():
        for number in range(count):
            await notify(
                session,
                recipient_id=world.liaison.id,
                kind=NotificationKind.ASSIGNED,
                title=f"Ticket {number} assigned to you",
                ticket_id=world.ticket.id,
            )


def _received(service: FakePushService, device: FakeDevice) -> Counter[str]:
    return Counter(payload(m)["notificationId"] for m in service.messages(device.device_id))


async def test_concurrent_workers_deliver_each_message_exactly_once_per_device(
    settings: Settings, session_factory, fake_push: FakePushService, vapid_keys
) -> None:
    world = await make_world(session_factory)
    devices = [fake_push.new_device() for _ in range(2)]
    expired = fake_push.new_device()
    for device in [*devices, expired]:
        await register_device(session_factory, world.liaison, device)
    fake_push.expire(expired.device_id)  # all workers find it gone at once: no deadlock
    await _queue(session_factory, world, 40)

    # Three workers with engines (connection pools) of their own, as two processes would have.
    engines = [create_engine(settings) for _ in range(3)]
    workers = [make_deliverer(vapid_keys, batch_size=3, concurrency=3) for _ in range(3)]
    try:
        now = utcnow()
        done = await asyncio.gather(
            *(w(db.session_factory(e), now) for w, e in zip(workers, engines, strict=True))
        )
    finally:
        for worker in workers:
            worker.close()
        for engine in engines:
            await engine.dispose()

    for device in devices:
        received = _received(fake_push, device)
        assert len(received) == 40 and set(received.values()) == {1}
    rows = await deliveries(session_factory)
    # The expired device's claimed rows end GONE; what was still queued for it was dropped.
    gone = [r for r in rows if r.subscription_id is None]
    assert 1 <= len(gone) == len(fake_push.requests(expired.device_id)) == sum(done) - 80
    assert {r.status for r in gone} == {DeliveryStatus.GONE}
    live = [r for r in rows if r.subscription_id is not None]
    assert len(live) == 80
    assert {(r.status, r.attempts) for r in live} == {(DeliveryStatus.DELIVERED, 1)}


WORKER_SCRIPT = """
import asyncio, os, sys
from api.config import Settings
from api.db import create_engine, session_factory
from api.edge.worker import Job, run_forever
from sync.delivery import DeliveryPolicy, PushDeliverer
from sync.push_endpoints import EndpointPolicy

async def main() -> None:
    settings = Settings(database_url=os.environ["TEST_DATABASE_URL"])
    deliverer = PushDeliverer(
        vapid_private_key=os.environ["TEST_VAPID_PRIVATE_KEY"],
        vapid_subject=os.environ["TEST_VAPID_SUBJECT"],
        policy=DeliveryPolicy(batch_size=10, concurrency=2),
        endpoint_policy=EndpointPolicy(allow_insecure=True),
    )
    print("ready", flush=True)
    await run_forever(session_factory(create_engine(settings)), [Job("push", 0.05, deliverer)])

asyncio.run(main())
"""


async def test_a_worker_killed_mid_batch_loses_nothing(
    database_url: str, session_factory, fake_push: FakePushService, vapid_keys
) -> None:
    world = await make_world(session_factory)
    devices = [fake_push.new_device() for _ in range(2)]
    for device in devices:
        await register_device(session_factory, world.liaison, device)
    total = 100
    await _queue(session_factory, world, total)

    env = {
        **os.environ,
        "TEST_DATABASE_URL": database_url,
        "TEST_VAPID_PRIVATE_KEY": vapid_keys[0],
        "TEST_VAPID_SUBJECT": SUBJECT,
    }
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER_SCRIPT], cwd=ROOT, env=env, stdout=subprocess.PIPE
    )
    try:
        for _ in range(600):
            assert process.poll() is None, "the worker process stopped by itself"
            try:
                fake_push.wait_for_requests(12, timeout=0.1)
                break
            except TimeoutError:
                continue
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()

    before = Counter(r.status for r in await deliveries(session_factory))
    assert before[DeliveryStatus.DELIVERED] < 2 * total, "the worker finished before the kill"
    assert before[DeliveryStatus.PENDING] > 0

    survivor = make_deliverer(vapid_keys)
    try:
        # The dead worker's claims come back when their lease ends.
        later = utcnow() + timedelta(seconds=survivor.policy.lease_seconds + 1)
        while await survivor(session_factory, later):
            pass
    finally:
        survivor.close()

    rows = await deliveries(session_factory)
    assert len(rows) == 2 * total
    assert {r.status for r in rows} == {DeliveryStatus.DELIVERED}
    resent = 0
    for device in devices:
        received = _received(fake_push, device)
        assert len(received) == total  # nothing lost
        resent += sum(received.values()) - total
    # At most what the killed worker had in flight (one batch) went out twice.
    assert resent <= 10


@pytest.mark.postgres_only
async def test_claims_skip_rows_locked_by_another_worker(
    settings: Settings, session_factory, fake_push: FakePushService, vapid_keys
) -> None:
    """Two claims inside open transactions at once take disjoint rows (FOR UPDATE SKIP LOCKED)."""
    from sync.delivery import DeliveryPolicy, claim_due

    world = await make_world(session_factory)
    await register_device(session_factory, world.liaison, fake_push.new_device())
    await _queue(session_factory, world, 6)
    policy = DeliveryPolicy(batch_size=4)
    engine = create_engine(settings)
    try:
        other = db.session_factory(engine)
        now = utcnow()
        async with session_factory() as first, first.begin():
            mine = await claim_due(first, now=now, claim="a", policy=policy)
            async with other() as second, second.begin():
                # Without SKIP LOCKED this would wait for the first claim's row locks.
                theirs = await asyncio.wait_for(
                    claim_due(second, now=now, claim="b", policy=policy), timeout=10
                )
    finally:
        await engine.dispose()
    assert len(mine) == 4 and len(theirs) == 2
    assert not {d.id for d in mine} & {d.id for d in theirs}
