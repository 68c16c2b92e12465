"""What the timed jobs cost as open tickets grow, against a baseline measured in the same run.

    GRIDLINK_DATABASE_URL=postgresql://postgres@127.0.0.1/bench_jobs .venv/bin/python \
        bench/timed_jobs.py [--tickets 500,5000]

The database is emptied and migrated first (never point it at real data). For each size it
loads the demo county plus N open tickets reported over the last three days, with the
deadlines the policies give them, then times:
- baseline: one `SELECT` of the open tickets' deadline columns;
- the first check_deadlines (records every warning and breach due: a backlog);
- check_deadlines again (nothing new: the common minute);
- refresh_risk_levels with the levels already stored (the common five minutes).
Steady-state figures are the median of 5 runs; the ratio is against the baseline."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select

from api.config import Settings
from api.db import create_engine, session_factory
from api.demo import load_demo
from api.edge import session_hooks
from api.enterprises.models import Enterprise
from api.migrate import downgrade, upgrade
from api.records import utcnow
from api.tickets.deadline_checks import check_deadlines
from api.tickets.deadline_models import DeadlineAlert
from api.tickets.deadlines import PolicyBook, start_clocks
from api.tickets.models import OPEN_STATUSES, Severity, Ticket, TicketSource, TicketStatus
from api.warnings.service import refresh_risk_levels

RUNS = 5


async def _median(work) -> float:  # noqa: ANN001
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        await work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


async def _add_tickets(sessions, count: int, now: datetime) -> None:  # noqa: ANN001
    rng = random.Random(7)
    book = PolicyBook()
    async with sessions() as session, session.begin():
        enterprises = list(await session.execute(select(Enterprise.id, Enterprise.grid_id)))
        statuses = [TicketStatus.REPORTED, TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS]
        for i in range(count):
            enterprise = rng.choice(enterprises)
            reported = now - timedelta(hours=rng.uniform(0, 72))
            ticket = Ticket(
                id=uuid.uuid4(),
                number=f"BENCH-{i:07d}",
                title="Bench ticket",
                source=rng.choice(list(TicketSource)),
                severity=rng.choice(list(Severity)),
                status=rng.choice(statuses),
                category="WAGES",
                enterprise_id=enterprise.id,
                grid_id=enterprise.grid_id,
                reported_at=reported,
            )
            session.add(start_clocks(ticket, book, reported))


async def main(sizes: list[int]) -> None:
    session_hooks.install()  # writes are versioned and logged, as in the product
    url = os.environ.get("GRIDLINK_DATABASE_URL")
    if not url:
        raise SystemExit("set GRIDLINK_DATABASE_URL to a scratch database")
    engine = create_engine(Settings(database_url=url))
    sessions = session_factory(engine)
    rows = []
    try:
        for size in sizes:
            await downgrade(engine, "base")
            await upgrade(engine)
            now = utcnow()
            async with sessions() as session, session.begin():
                await load_demo(session, now=now)
            await _add_tickets(sessions, size, now)
            await refresh_risk_levels(sessions, now)  # store the levels once

            async def baseline(now: datetime = now) -> None:
                async with sessions() as session:
                    await session.execute(
                        select(Ticket.id, Ticket.status, Ticket.resolution_due_at).where(
                            Ticket.status.in_(OPEN_STATUSES)
                        )
                    )

            async def check(now: datetime = now) -> None:
                await check_deadlines(sessions, now)

            async def risk(now: datetime = now) -> None:
                await refresh_risk_levels(sessions, now)

            start = time.perf_counter()
            await check()
            backlog = time.perf_counter() - start
            async with sessions() as session:
                alerts = await session.scalar(select(func.count()).select_from(DeadlineAlert))
                open_count = await session.scalar(
                    select(func.count()).select_from(Ticket).where(Ticket.status.in_(OPEN_STATUSES))
                )
            base = await _median(baseline)
            idle = await _median(check)
            levels = await _median(risk)
            rows.append((size, open_count, alerts, backlog, base, idle, levels))
    finally:
        await engine.dispose()
    print(f"database: {engine.url.get_backend_name()}; steady state: median of {RUNS} runs")
    print(
        "| added | open | first check: alerts | time | per alert | baseline select "
        "| check again | ratio | refresh_risk_levels | ratio |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for size, open_count, alerts, backlog, base, idle, levels in rows:
        print(
            f"| {size} | {open_count} | {alerts} | {backlog:.1f} s | "
            f"{backlog / max(alerts, 1) * 1000:.0f} ms | {base * 1000:.1f} ms | "
            f"{idle * 1000:.0f} ms | {idle / base:.0f} | {levels * 1000:.0f} ms | "
            f"{levels / base:.0f} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", default="500,5000")
    args = parser.parse_args()
    asyncio.run(main([int(n) for n in args.tickets.split(",")]))
