"""Login throttling: failed sign-ins per phone and per client address, with growing delays
and a temporary lock, shared by every server process (a database table, or Redis when
GRIDLINK_REDIS_URL is set).

Every attempt is counted *before* the password is checked, as if it failed, in one atomic
step with the check that the key is not blocked; a success then gives the count back. So a
burst of parallel attempts (or aliased ``login`` fields in one request) cannot slip more
guesses in between the check and the count, and a refused attempt costs no password hash.

Per phone: 3 free attempts, then a wait of 1, 2, 4, ... seconds (at most 60) before the
next, and from the 10th failure a lock of 15 minutes — renewed by each further failure —
that a success (after the lock) ends. Per address (many members may share one office's
address): 20 free, then the same waits, locked from the 100th. Counts are forgotten after a
day without attempts."""

from __future__ import annotations

import asyncio
import hashlib
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.models import LoginThrottle
from api.enterprises.codes import normalize_phone
from api.errors import DomainError
from api.i18n import _

FORGET_AFTER_SECONDS = 86400
TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"


@dataclass(frozen=True)
class Limits:
    free: int  # failures before any wait
    lock_after: int  # failures from which the key is locked
    lock_seconds: int
    max_wait: int

    def wait_after(self, failures: int) -> int:
        """Seconds before the next attempt after ``failures`` failures in a row."""
        if failures >= self.lock_after:
            return self.lock_seconds
        if failures < self.free:
            return 0
        return min(2 ** (failures - self.free), self.max_wait)


PHONE = Limits(free=3, lock_after=10, lock_seconds=15 * 60, max_wait=60)
ADDRESS = Limits(free=20, lock_after=100, lock_seconds=15 * 60, max_wait=60)


class Throttled(DomainError):
    """Too many attempts: none before ``retry_after`` seconds from now."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            TOO_MANY_ATTEMPTS,
            _("too many sign-in attempts: try again in {seconds} s", seconds=retry_after),
        )
        self.retry_after = retry_after


def phone_key(phone: str) -> str:
    """The phone's key: its normal form where it has one (so spellings count together),
    hashed (no attacker-chosen text is stored)."""
    try:
        text = normalize_phone(phone)
    except DomainError:
        text = phone.strip()
    return "phone:" + hashlib.sha256(text.encode()).hexdigest()[:40]


def address_key(address: str | None) -> str:
    return "addr:" + (address or "unknown")[:64]


Keys = Sequence[tuple[str, Limits]]


class Store(Protocol):
    async def attempt(self, keys: Keys, now: int) -> None:
        """Count an attempt on every key, or raise Throttled (and count nothing)."""

    async def succeeded(self, keys: Keys, now: int) -> None:
        """The attempt succeeded: the phone starts afresh, the address gets its count back."""


def _next(failures: int, updated_at: int, limits: Limits, now: int) -> tuple[int, int]:
    """(failures, blocked_until) after one more attempt."""
    failures = 1 if now - updated_at > FORGET_AFTER_SECONDS else failures + 1
    wait = limits.wait_after(failures)
    # ``now`` is whole seconds (rounded down): the deadline is rounded up, so that a wait of
    # one second is never cut to a moment by the turn of a second.
    return failures, now + wait + 1 if wait else 0


# --- in the database -------------------------------------------------------------------------

_t = LoginThrottle.__table__  # type: ignore[attr-defined]


class DatabaseStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def attempt(self, keys: Keys, now: int) -> None:
        names = [key for key, _ in keys]
        async with self.sessions() as session, session.begin():
            dialect = session.get_bind().dialect.name
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            # Rows first, so that FOR UPDATE locks them even for a first attempt (PostgreSQL;
            # SQLite's BEGIN IMMEDIATE already serialises writers).
            await session.execute(
                insert(_t)
                .values(
                    [
                        {"key": n, "failures": 0, "blocked_until": 0, "updated_at": now}
                        for n in names
                    ]
                )
                .on_conflict_do_nothing()
            )
            rows = {
                row.key: row
                for row in await session.execute(
                    sa.select(_t).where(_t.c.key.in_(names)).with_for_update()
                )
            }
            blocked = max(rows[n].blocked_until for n in names)
            if blocked > now:
                raise Throttled(blocked - now)
            for key, limits in keys:
                row = rows[key]
                failures, until = _next(row.failures, row.updated_at, limits, now)
                await session.execute(
                    sa.update(_t)
                    .where(_t.c.key == key)
                    .values(failures=failures, blocked_until=until, updated_at=now)
                )

    async def succeeded(self, keys: Keys, now: int) -> None:
        async with self.sessions() as session, session.begin():
            for key, limits in keys:
                if limits is PHONE:
                    await session.execute(sa.delete(_t).where(_t.c.key == key))
                else:
                    await session.execute(
                        sa.update(_t)
                        .where(_t.c.key == key)
                        .values(
                            failures=sa.case((_t.c.failures > 0, _t.c.failures - 1), else_=0),
                            blocked_until=0,
                        )
                    )


# --- in Redis --------------------------------------------------------------------------------


class RedisStore:
    def __init__(self, url: str, prefix: str = "gridlink:login:") -> None:
        import redis.asyncio as redis  # only needed when GRIDLINK_REDIS_URL is set

        self.client = redis.from_url(url)
        self.prefix = prefix

    async def attempt(self, keys: Keys, now: int) -> None:
        from redis.exceptions import WatchError

        names = [self.prefix + key for key, _ in keys]
        async with self.client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    # Optimistic: if another process changes a key meanwhile, start again.
                    await pipe.watch(*names)
                    rows = [await pipe.hmget(n, "failures", "until", "at") for n in names]
                    values = [tuple(int(v or 0) for v in row) for row in rows]
                    blocked = max(until for _, until, _ in values)
                    if blocked > now:
                        await pipe.unwatch()
                        raise Throttled(blocked - now)
                    pipe.multi()
                    for name, (_, limits), (failures, _, at) in zip(
                        names, keys, values, strict=True
                    ):
                        failures, until = _next(failures, at, limits, now)
                        pipe.hset(name, mapping={"failures": failures, "until": until, "at": now})
                        pipe.expire(name, FORGET_AFTER_SECONDS + limits.lock_seconds)
                    await pipe.execute()
                    return
                except WatchError:
                    continue

    async def succeeded(self, keys: Keys, now: int) -> None:
        for key, limits in keys:
            name = self.prefix + key
            if limits is PHONE:
                await self.client.delete(name)
            else:
                await self.client.eval(
                    "local f = tonumber(redis.call('HGET', KEYS[1], 'failures') or '0') "
                    "if f > 0 then redis.call('HSET', KEYS[1], 'failures', f - 1, 'until', 0) end",
                    1,
                    name,
                )


# --- which store -----------------------------------------------------------------------------

# One Redis client per event loop (a client's connections belong to the loop that made them).
_redis: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, RedisStore]] = (
    weakref.WeakKeyDictionary()
)


def store_for(redis_url: str | None, sessions: async_sessionmaker[AsyncSession]) -> Store:
    if not redis_url:
        return DatabaseStore(sessions)
    stores = _redis.setdefault(asyncio.get_running_loop(), {})
    if redis_url not in stores:
        stores[redis_url] = RedisStore(redis_url)
    return stores[redis_url]


def now_seconds() -> int:
    return int(time.time())
