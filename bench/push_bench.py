"""Web Push benchmark: delivery throughput to the fake push service (one worker, two), and the
latency an assignment gains from the outbox. Each figure is set against a baseline measured in
the same run.

    .venv/bin/python -m bench.push_bench                  # SQLite file
    GRIDLINK_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test \\
        .venv/bin/python -m bench.push_bench              # and PostgreSQL (a scratch database)

Throughput: N deliveries (notifications x 2 devices) queued, then sent by the worker; the
baseline is `sync.webpush.send` straight to the same fake service with as many threads as the
worker uses (no database at all), i.e. the ceiling the worker can approach. "Two workers" are
two processes, each its own engine and thread pool, started together on the same queue.

Latency: `assign_ticket` in its own transaction, timed from session open to commit, median and
p90 over interleaved rounds, in three variants: without the outbox (the notification call
switched off for the run), with the notification row only (the push fan-out hook switched off),
and the full outbox with the liaison's two devices queued.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

import api.tickets.lifecycle as lifecycle
from api.auth.scope import scope_for
from api.config import Settings
from api.db import create_engine, session_factory
from api.edge import session_hooks
from api.members.models import Member
from api.members.service import create_member
from api.migrate import upgrade
from api.notifications.models import NotificationKind
from api.notifications.service import notify
from api.records import utcnow
from api.tickets.models import TicketSource
from api.tickets.service import report_ticket
from sync import push_models
from sync.delivery import DeliveryPolicy
from sync.push_endpoints import EndpointPolicy, guarded_session
from sync.push_models import DeliveryStatus, PushDelivery
from sync.subscriptions import register_subscription
from sync.webpush import PushMessage, send
from tests.factories import county_with_town
from tests.fakepush import FakeDevice, FakePushService, fake_vapid_keys

ROOT = Path(__file__).resolve().parent.parent
SUBJECT = "mailto:bench@gridlink.example"
POLICY = DeliveryPolicy()
# The fake push service listens on 127.0.0.1.
LOCAL = EndpointPolicy(allow_insecure=True)


@dataclass
class Row:
    case: str
    value: float
    unit: str
    baseline: float | None


# --------------------------------------------------------------------------- databases


@contextmanager
def database(backend: str, tmp: Path):
    """A freshly migrated scratch database of this backend; dropped afterwards."""
    if backend == "sqlite":
        path = tmp / f"push-bench-{uuid.uuid4().hex[:8]}.db"
        yield f"sqlite:///{path}"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    base = os.environ["GRIDLINK_TEST_POSTGRES_URL"]
    admin = make_url(base).set(drivername="postgresql").render_as_string(False)
    name = f"gl_push_bench_{uuid.uuid4().hex[:8]}"

    async def run(sql: str) -> None:
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(False)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class World:
    liaison_id: uuid.UUID
    dispatcher_id: uuid.UUID
    grid_id: uuid.UUID


async def make_world(sessions: async_sessionmaker[AsyncSession]) -> World:
    async with sessions() as session, session.begin():
        _county, town = await county_with_town(session)
        liaison = await create_member(
            session, name="Wang Fang", phone="13900000001", roles=["LIAISON"], grid_ids=[town.id]
        )
        dispatcher = await create_member(
            session, name="Li Ming", phone="13900000002", roles=["TOWN_STAFF"], grid_ids=[town.id]
        )
    return World(liaison.id, dispatcher.id, town.id)


async def register(
    sessions: async_sessionmaker[AsyncSession], member_id: uuid.UUID, devices: list[FakeDevice]
) -> None:
    async with sessions() as session, session.begin():
        for device in devices:
            await register_subscription(
                session,
                member_id=member_id,
                endpoint=device.endpoint,
                p256dh=device.p256dh,
                auth=device.auth,
                allow_insecure=True,
            )


@asynccontextmanager
async def world_with_devices(
    url: str, service: FakePushService
) -> AsyncIterator[tuple[AsyncEngine, async_sessionmaker[AsyncSession], World]]:
    """A migrated database at ``url`` with the bench's world, its liaison subscribed from two
    fake devices; the engine disposed of afterwards."""
    engine = create_engine(Settings(database_url=url))
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        world = await make_world(sessions)
        await register(sessions, world.liaison_id, [service.new_device(), service.new_device()])
        yield engine, sessions, world
    finally:
        await engine.dispose()


# --------------------------------------------------------------------------- throughput


def raw_send_rate(service: FakePushService, private_key: str, count: int) -> float:
    """Messages per second straight through sync.webpush.send, as many threads as the worker."""
    device = service.new_device()
    message = PushMessage(device.endpoint, device.p256dh, device.auth, b'{"v":1}' * 20, 86400)
    sessions = [guarded_session(LOCAL) for _ in range(POLICY.concurrency)]

    def one(index: int) -> None:
        result = send(
            message,
            vapid_private_key=private_key,
            vapid_subject=SUBJECT,
            session=sessions[index % len(sessions)],
        )
        assert result.ok, result

    started = time.perf_counter()
    with ThreadPoolExecutor(POLICY.concurrency) as pool:
        list(pool.map(one, range(count)))
    return count / (time.perf_counter() - started)


async def queue(sessions: async_sessionmaker[AsyncSession], world: World, count: int) -> None:
    async with sessions() as session, session.begin():
        for number in range(count):
            await notify(
                session,
                recipient_id=world.liaison_id,
                kind=NotificationKind.ASSIGNED,
                title=f"SY-2026-{number:06d}: wages unpaid",
                grid_id=world.grid_id,
            )


async def delivered(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return await session.scalar(
            sa.select(sa.func.count())
            .select_from(PushDelivery)
            .where(PushDelivery.status == DeliveryStatus.DELIVERED)
        )


WORKER = """
import asyncio, sys
from api.config import Settings
from api.db import create_engine, session_factory
from api.records import utcnow
from sync.delivery import PushDeliverer
from sync.push_endpoints import EndpointPolicy
from api.edge import session_hooks

async def main() -> None:
    session_hooks.install()
    url, key, subject = sys.argv[1:4]
    engine = create_engine(Settings(database_url=url))
    deliverer = PushDeliverer(
        vapid_private_key=key,
        vapid_subject=subject,
        endpoint_policy=EndpointPolicy(allow_insecure=True),
    )
    sessions = session_factory(engine)
    async with engine.connect():  # warm the pool before the start signal
        pass
    print("ready", flush=True)
    sys.stdin.readline()
    while await deliverer(sessions, utcnow()):
        pass
    deliverer.close()
    await engine.dispose()

asyncio.run(main())
"""


def worker_rate(url: str, private_key: str, workers: int, expected: int) -> float:
    """Messages per second with `workers` worker processes draining the queue together."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, private_key, SUBJECT],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    for process in processes:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    started = time.perf_counter()
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    for process in processes:
        assert process.wait(timeout=600) == 0
    elapsed = time.perf_counter() - started

    async def check() -> int:
        engine = create_engine(Settings(database_url=url))
        try:
            return await delivered(session_factory(engine))
        finally:
            await engine.dispose()

    assert asyncio.run(check()) == expected, "not everything was delivered"
    return expected / elapsed


def throughput(backend: str, tmp: Path, notifications: int) -> list[Row]:
    private, public = fake_vapid_keys()
    rows: list[Row] = []
    with FakePushService(vapid_public_key=public) as service:
        baseline = raw_send_rate(service, private, 2 * notifications)
        rows.append(
            Row(
                f"{backend}: send() directly, {POLICY.concurrency} threads, no DB",
                baseline,
                "msg/s",
                baseline,
            )
        )
        for workers in (1, 2):
            with database(backend, tmp) as url:

                async def prepare(url: str = url) -> None:
                    async with world_with_devices(url, service) as (_engine, sessions, world):
                        await queue(sessions, world, notifications)

                asyncio.run(prepare())
                rate = worker_rate(url, private, workers, 2 * notifications)
            label = "1 worker process" if workers == 1 else f"{workers} worker processes"
            rows.append(
                Row(f"{backend}: {label} (DB claim + send + mark)", rate, "msg/s", baseline)
            )
    return rows


# --------------------------------------------------------------------------- assignment latency


@contextmanager
def without_fan_out():
    event.remove(Session, "after_flush", push_models.fan_out_new_notifications)
    try:
        yield
    finally:
        event.listen(Session, "after_flush", push_models.fan_out_new_notifications)


@contextmanager
def without_notifications():
    async def silent(*_args: object, **_kwargs: object) -> None:
        return None

    original = lifecycle.notify
    lifecycle.notify = silent  # type: ignore[assignment]
    try:
        with without_fan_out():
            yield
    finally:
        lifecycle.notify = original


async def assignment_latencies(
    engine: AsyncEngine, world: World, tickets: list[uuid.UUID]
) -> list[float]:
    sessions = session_factory(engine)
    timings: list[float] = []
    for ticket_id in tickets:
        started = time.perf_counter()
        async with sessions() as session, session.begin():
            dispatcher = await session.get(Member, world.dispatcher_id)
            assert dispatcher is not None
            await lifecycle.assign_ticket(
                session,
                scope=await scope_for(session, dispatcher),
                ticket_id=ticket_id,
                assignee_id=world.liaison_id,
            )
        timings.append(time.perf_counter() - started)
    return timings


def latency(backend: str, tmp: Path, per_round: int, rounds: int) -> list[Row]:
    private, public = fake_vapid_keys()
    variants: dict[str, Callable[[], AbstractContextManager[object]]] = {
        "assign_ticket without the outbox (no notification)": without_notifications,
        "assign_ticket + notification row, no push fan-out": without_fan_out,
        "assign_ticket + notification + 2 deliveries (outbox)": nullcontext,
    }
    timings: dict[str, list[float]] = {name: [] for name in variants}
    with FakePushService(vapid_public_key=public) as service, database(backend, tmp) as url:

        async def run() -> None:
            async with world_with_devices(url, service) as (engine, sessions, world):
                for _ in range(rounds):
                    for name, switch in variants.items():
                        tickets = await new_tickets(sessions, world, per_round)
                        with switch():
                            timings[name] += await assignment_latencies(engine, world, tickets)

        asyncio.run(run())
    baseline = statistics.median(timings[next(iter(variants))]) * 1000
    rows = []
    for name, values in timings.items():
        ms = sorted(v * 1000 for v in values)
        p90 = ms[int(len(ms) * 0.9)]
        rows.append(Row(f"{backend}: {name}, median", statistics.median(ms), "ms", baseline))
        rows.append(Row(f"{backend}: {name}, p90", p90, "ms", None))
    return rows


async def new_tickets(
    sessions: async_sessionmaker[AsyncSession], world: World, count: int
) -> list[uuid.UUID]:
    async with sessions() as session, session.begin():
        return [
            (
                await report_ticket(
                    session,
                    title="Wages unpaid for two months",
                    source=TicketSource.WORKER_REQUEST,
                    grid_id=world.grid_id,
                    now=utcnow(),
                )
            ).id
            for _ in range(count)
        ]


# --------------------------------------------------------------------------- table


def print_table(rows: list[Row]) -> None:
    width = max(len(r.case) for r in rows)
    print(f"| {'case':<{width}} | {'value':>10} | unit  | vs baseline |")
    print(f"| {'-' * width} | {'-' * 10} | ----- | ----------- |")
    for row in rows:
        ratio = f"{row.value / row.baseline:.2f}x" if row.baseline else ""
        print(f"| {row.case:<{width}} | {row.value:>10.2f} | {row.unit:<5} | {ratio:>11} |")


def main() -> None:
    session_hooks.install()  # writes are versioned and logged, as in the product
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notifications", type=int, default=300, help="x2 devices")
    parser.add_argument("--assignments", type=int, default=40, help="per variant per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    backends = ["sqlite"] + (["postgresql"] if os.environ.get("GRIDLINK_TEST_POSTGRES_URL") else [])
    tmp = ROOT / "var"
    tmp.mkdir(exist_ok=True)
    rows: list[Row] = []
    for backend in backends:
        rows += throughput(backend, tmp, args.notifications)
        rows += latency(backend, tmp, args.assignments, args.rounds)
    print_table(rows)


if __name__ == "__main__":
    main()
