"""Timed jobs (deadline checks, push delivery, sync pruning) run in a loop: by `gridlink worker`
in a process of its own, or inside `gridlink serve` on one machine.

Each job is one function `run(sessions, now) -> int` (how many things it did). Jobs must be safe
to run in several workers at once: they claim their rows (FOR UPDATE SKIP LOCKED on PostgreSQL)
or record their effects under unique keys, so that a second worker never acts twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import sync.broadcast  # noqa: F401 - jobs' notifications reach live subscribers
from api.records import utcnow

log = logging.getLogger("gridlink.worker")

JobFunction = Callable[[async_sessionmaker[AsyncSession], datetime], Awaitable[int]]


@dataclass(frozen=True)
class Job:
    name: str
    interval_seconds: float
    run: JobFunction


def registered_jobs() -> list[Job]:
    """Every timed job of the product. Imported late: the jobs live in higher layers."""
    jobs: list[Job] = []
    return jobs


async def run_once(
    sessions: async_sessionmaker[AsyncSession],
    jobs: Sequence[Job],
    *,
    now: datetime | None = None,
) -> dict[str, int]:
    """Run each job once (tests and `gridlink worker --once`)."""
    done: dict[str, int] = {}
    for job in jobs:
        done[job.name] = await job.run(sessions, now or utcnow())
    return done


async def run_forever(
    sessions: async_sessionmaker[AsyncSession],
    jobs: Sequence[Job],
    *,
    stop: asyncio.Event | None = None,
) -> None:
    """Run every job on its own interval until `stop` is set. A failing job is logged and
    retried at its next turn; it never stops the others."""
    stop = stop or asyncio.Event()

    async def loop(job: Job) -> None:
        while not stop.is_set():
            try:
                count = await job.run(sessions, utcnow())
                if count:
                    log.info("%s: %d done", job.name, count)
            except Exception:  # noqa: BLE001 - a worker must outlive one bad turn
                log.exception("job %s failed; retrying at its next turn", job.name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=job.interval_seconds)

    await asyncio.gather(*(loop(job) for job in jobs))
