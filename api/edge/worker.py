"""Timed jobs (deadline checks, push delivery, sync pruning) run in a loop: by `gridlink worker`
in a process of its own, or inside `gridlink serve` on one machine.

Each job is one function `run(sessions, now) -> int` (how many things it did). Jobs must be safe
to run in several workers at once: they claim their rows (FOR UPDATE SKIP LOCKED on PostgreSQL)
or record their effects under unique keys, so that a second worker never acts twice."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.config import Settings
from api.edge import session_hooks
from api.records import utcnow

log = logging.getLogger("gridlink.worker")

JobFunction = Callable[[async_sessionmaker[AsyncSession], datetime], Awaitable[int]]


@dataclass(frozen=True)
class Job:
    name: str
    interval_seconds: float
    run: JobFunction


def _sync_prune_job(settings: Settings) -> Job:
    from api.attachments.storage import store_for
    from sync.prune import prune_job

    retention = settings.sync_retention_seconds
    media = store_for(settings)
    return Job(
        "sync-prune",
        3600,
        functools.partial(prune_job, retention_seconds=retention, media=media),
    )


def registered_jobs(settings: Settings | None = None) -> list[Job]:
    """Every timed job of the product. Imported late: the jobs live in higher layers."""
    from api.tickets.deadline_checks import check_deadlines
    from api.warnings.service import refresh_risk_levels

    settings = settings or Settings.from_env()
    jobs: list[Job] = [
        Job("check_deadlines", 60, check_deadlines),
        Job(
            "refresh_risk_levels",
            300,
            functools.partial(refresh_risk_levels, fallback=settings.risk_rules),
        ),
    ]
    if push := _push_delivery_job(settings):
        jobs.append(push)
    jobs.append(_sync_prune_job(settings))
    jobs.append(_heartbeat_job(jobs))
    return jobs


def _heartbeat_job(jobs: Sequence[Job]) -> Job:
    from api.heartbeat import HEARTBEAT_SECONDS, Heartbeat

    names = ",".join(job.name for job in jobs)
    return Job("heartbeat", HEARTBEAT_SECONDS, Heartbeat(names))


def _push_delivery_job(settings: Settings) -> Job | None:
    # Also installs the push fan-out hook for the notifications the other jobs write.
    from sync.delivery import PushDeliverer
    from sync.push_endpoints import EndpointPolicy

    if not settings.vapid_private_key:
        log.warning("GRIDLINK_VAPID_PRIVATE_KEY is not set: Web Push delivery is off")
        return None
    deliverer = PushDeliverer(
        vapid_private_key=settings.vapid_private_key,
        vapid_subject=settings.vapid_subject,
        endpoint_policy=EndpointPolicy.from_settings(settings),
    )
    return Job(name="push-delivery", interval_seconds=2.0, run=deliverer)


async def run_once(
    sessions: async_sessionmaker[AsyncSession],
    jobs: Sequence[Job],
    *,
    now: datetime | None = None,
) -> dict[str, int]:
    """Run each job once (tests and `gridlink worker --once`)."""
    # The jobs write (deadline warnings, risk levels, deliveries): versioned, logged, broadcast.
    session_hooks.install()
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
    # The jobs write (deadline warnings, risk levels, deliveries): versioned, logged, broadcast.
    session_hooks.install()
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


class InProcessWorker:
    """The jobs as a background task of the serving process (started and stopped by the app's
    lifespan), for the one-machine case."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], jobs: Sequence[Job]) -> None:
        self.sessions = sessions
        self.jobs = list(jobs)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(
            run_forever(self.sessions, self.jobs, stop=self._stop), name="gridlink-worker"
        )

    async def stop(self, timeout: float = 10.0) -> None:
        """Let the running turn finish (up to ``timeout``), then end the loop."""
        if self._task is None:
            return
        self._stop.set()
        try:
            await asyncio.wait_for(self._task, timeout)
        except TimeoutError:
            log.warning("worker did not stop within %.0f s; cancelled", timeout)
        self._task = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()
