"""The timed-job worker's heartbeat: `gridlink doctor` reads it to tell a live worker from a
dead one."""

from __future__ import annotations

import os
import socket
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import Field, SQLModel

from api.records import time_column

HEARTBEAT_SECONDS = 30.0


class WorkerHeartbeat(SQLModel, table=True):
    """One row per worker process (host:pid), stamped every HEARTBEAT_SECONDS."""

    __tablename__ = "worker_heartbeat"

    worker: str = Field(primary_key=True, max_length=200)
    jobs: str = Field(default="", max_length=500)
    started_at: datetime = time_column(nullable=False)
    beat_at: datetime = time_column(nullable=False, index=True)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Heartbeat:
    """A timed job (api/edge/worker.py) that stamps this process's row."""

    def __init__(self, jobs: str) -> None:
        self.name = worker_name()
        self.jobs = jobs[:500]
        self.started_at: datetime | None = None

    async def __call__(self, sessions: async_sessionmaker[AsyncSession], now: datetime) -> int:
        self.started_at = self.started_at or now
        async with sessions() as session, session.begin():
            row = await session.get(WorkerHeartbeat, self.name)
            if row is None:
                session.add(
                    WorkerHeartbeat(
                        worker=self.name, jobs=self.jobs, started_at=self.started_at, beat_at=now
                    )
                )
            else:
                row.beat_at, row.jobs = now, self.jobs
        return 0


async def last_beat(session: AsyncSession) -> WorkerHeartbeat | None:
    return await session.scalar(select(WorkerHeartbeat).order_by(WorkerHeartbeat.beat_at.desc()))
