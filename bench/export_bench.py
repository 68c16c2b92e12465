"""Memory and time of the ticket export as tickets grow: the export streams, so its peak memory
stays flat; the baseline in the same run loads every row first (what a non-streaming export
would hold).

    GRIDLINK_DATABASE_URL=sqlite:////tmp/export_bench.db .venv/bin/python \
        bench/export_bench.py [--tickets 1000,10000,100000] [--format csv]

The database is emptied and migrated first (never point it at real data); N tickets are added
to a small county. Peak memory is Python's (tracemalloc) during the export alone; the ratio is
the streamed peak against the peak at the smallest size (flat: near 1)."""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import tracemalloc
import uuid
from datetime import timedelta

import sqlalchemy as sa

from api.auth.scope import Scope
from api.config import Settings
from api.db import create_engine, session_factory
from api.edge import session_hooks
from api.grids.models import GridKind
from api.grids.service import create_grid
from api.members.models import Role
from api.migrate import downgrade, upgrade
from api.records import utcnow
from api.reports.exports import EXPORTS, Format, export_chunks, stream_rows
from api.tickets.models import Severity, Ticket, TicketSource, TicketStatus

EVERYTHING = Scope(member_id=None, roles=frozenset({Role.ADMIN}), everything=True)
MIB = 1024 * 1024


async def _fill(engine, count: int) -> None:  # noqa: ANN001
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        county = await create_grid(
            session, code="BX", name="基准县", kind=GridKind.COUNTY, parent_id=None
        )
        town = await create_grid(
            session, code="BX-T01", name="基准镇", kind=GridKind.TOWN, parent_id=county.id
        )
    now = utcnow()
    sources, severities = list(TicketSource), list(Severity)
    batch = []
    async with engine.begin() as connection:
        for i in range(count):
            at = now - timedelta(minutes=i)
            batch.append(
                {
                    "id": uuid.uuid4(),
                    "version": 1,
                    "created_at": at,
                    "updated_at": at,
                    "number": f"BX-2026-{i:07d}",
                    "title": f"拖欠工资 第{i}号",
                    "description": "",
                    "source": sources[i % 4].value,
                    "category": "WAGES",
                    "severity": severities[i % 4].value,
                    "status": TicketStatus.REPORTED.value,
                    "tier": "GRID",
                    "grid_id": town.id,
                    "reporter_name": "王芳",
                    "reported_at": at,
                    "paused_seconds": 0,
                    "rated_on_behalf": False,
                }
            )
            if len(batch) == 5000:
                await connection.execute(sa.insert(Ticket.__table__), batch)
                batch = []
        if batch:
            await connection.execute(sa.insert(Ticket.__table__), batch)


async def _streamed(engine, fmt: Format) -> tuple[int, float, int]:  # noqa: ANN001
    export = EXPORTS["tickets"]
    tracemalloc.start()
    start = time.perf_counter()
    size = 0
    async for chunk in export_chunks(
        export, fmt, stream_rows(engine, export.select(EVERYTHING)), "zh-CN"
    ):
        size += len(chunk)
    elapsed = time.perf_counter() - start
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return size, elapsed, peak


async def _loaded_first(engine) -> int:  # noqa: ANN001
    """Baseline: the same rows read whole into memory (no writing at all)."""
    export = EXPORTS["tickets"]
    tracemalloc.start()
    async with engine.connect() as connection:
        rows = (await connection.execute(export.select(EVERYTHING))).all()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del rows
    return peak


async def main(sizes: list[int], fmt: Format) -> None:
    session_hooks.install()  # writes are versioned and logged, as in the product
    url = os.environ.get("GRIDLINK_DATABASE_URL")
    if not url:
        raise SystemExit("set GRIDLINK_DATABASE_URL to a scratch database")
    engine = create_engine(Settings(database_url=url))
    results = []
    try:
        for count in sizes:
            await downgrade(engine, "base")
            await upgrade(engine)
            await _fill(engine, count)
            size, elapsed, peak = await _streamed(engine, fmt)
            loaded = await _loaded_first(engine)
            results.append((count, size, elapsed, peak, loaded))
    finally:
        await engine.dispose()
    smallest = results[0][3]
    print(f"ticket export, {fmt.value}, {engine.dialect.name}")
    print(
        "| tickets | file MiB | seconds | rows/s | peak MiB streamed | ratio "
        "| peak MiB rows loaded |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for count, size, elapsed, peak, loaded in results:
        print(
            f"| {count:,} | {size / MIB:.1f} | {elapsed:.2f} | {count / elapsed:,.0f} "
            f"| {peak / MIB:.1f} | {peak / smallest:.2f} | {loaded / MIB:.1f} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", default="1000,10000,100000")
    parser.add_argument("--format", choices=[f.value for f in Format], default="csv")
    args = parser.parse_args()
    asyncio.run(main([int(n) for n in args.tickets.split(",")], Format(args.format)))
