"""The timed jobs: registered, run once, run beside the API by the app's lifespan, and run by
`gridlink worker` as a real process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from api.config import Settings
from api.edge.app import create_app
from api.edge.worker import Job, registered_jobs, run_forever, run_once
from api.records import utcnow
from api.tickets import lifecycle
from api.tickets.deadline_models import DeadlineAlert
from api.tickets.models import Severity, TicketSource
from tests.factories import town_world

ROOT = Path(__file__).resolve().parent.parent


async def _overdue_ticket(session_factory) -> None:
    async with session_factory() as session, session.begin():
        world = await town_world(session)
        await lifecycle.create_ticket(
            session,
            scope=world.liaison,
            title="Scaffolding without guard rails",
            source=TicketSource.RISK_HAZARD,
            severity=Severity.CRITICAL,
            enterprise_id=world.enterprise.id,
            now=utcnow() - timedelta(days=2),
        )


async def _alerts(session_factory) -> int:
    async with session_factory() as session:
        return await session.scalar(select(func.count()).select_from(DeadlineAlert))


def test_the_jobs_are_registered() -> None:
    jobs = {job.name: job for job in registered_jobs(Settings())}
    assert {"check_deadlines", "refresh_risk_levels"} <= set(jobs)
    assert all(job.interval_seconds > 0 for job in jobs.values())


async def test_run_once_runs_every_job(session_factory, settings: Settings) -> None:
    await _overdue_ticket(session_factory)
    done = await run_once(session_factory, registered_jobs(settings))
    assert done["check_deadlines"] == 2  # first response and resolution both missed
    assert done["refresh_risk_levels"] >= 1
    again = await run_once(session_factory, registered_jobs(settings))
    assert again["check_deadlines"] == 0


async def test_a_failing_job_does_not_stop_the_others(session_factory) -> None:
    stop = asyncio.Event()
    turns: list[str] = []

    async def broken(_sessions, _now) -> int:
        turns.append("broken")
        raise RuntimeError("boom")

    async def counting(_sessions, _now) -> int:
        turns.append("counting")
        if turns.count("counting") >= 3:
            stop.set()
        return 1

    jobs = [Job("broken", 0.001, broken), Job("counting", 0.001, counting)]
    await asyncio.wait_for(run_forever(session_factory, jobs, stop=stop), timeout=10)
    assert turns.count("counting") == 3 and "broken" in turns


async def test_serve_runs_the_jobs_in_process(settings: Settings, engine, session_factory) -> None:
    await _overdue_ticket(session_factory)
    app = create_app(replace(settings, run_worker_in_process=True), engine=engine)
    async with app.router.lifespan_context(app):
        worker = [t for t in asyncio.all_tasks() if t.get_name() == "gridlink-worker"]
        assert len(worker) == 1 and not worker[0].done()
        # The background task runs its first turn at once; wait for its effect, not for time.
        for _ in range(500):
            if await _alerts(session_factory) == 2:
                break
            await asyncio.sleep(0.01)
        assert await _alerts(session_factory) == 2
    assert worker[0].done()  # stopped cleanly with the app


async def test_tests_and_workers_elsewhere_need_no_in_process_jobs(settings, engine) -> None:
    assert settings.run_worker_in_process is False
    app = create_app(settings, engine=engine)
    async with app.router.lifespan_context(app):
        assert not [t for t in asyncio.all_tasks() if t.get_name() == "gridlink-worker"]


def _env(database_url: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLINK_")}
    environ["GRIDLINK_DATABASE_URL"] = database_url
    return environ


async def test_gridlink_worker_once_and_forever(database_url: str, session_factory) -> None:
    await _overdue_ticket(session_factory)
    once = subprocess.run(
        [sys.executable, "-m", "api.edge.cli", "worker", "--once"],
        cwd=ROOT,
        env=_env(database_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert once.returncode == 0, once.stderr
    assert "check_deadlines: 2" in once.stdout
    assert await _alerts(session_factory) == 2

    process = subprocess.Popen(
        [sys.executable, "-m", "api.edge.cli", "worker"],
        cwd=ROOT,
        env=_env(database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = await asyncio.to_thread(process.stdout.readline)
        assert "check_deadlines" in first  # the first line names the jobs (codes, any language)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 30) == 0
    finally:
        if process.poll() is None:
            process.kill()
