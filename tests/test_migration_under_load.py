"""Upgrading a PostgreSQL database that holds 1 000 000 tickets from the previous release's
schema (0005) to head while the API serves reads: not one request fails, and the migrations
keep their lock_timeout (an index on the large table is built CONCURRENTLY, so reads and writes
are never queued behind it)."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from api.auth.models import TokenKind
from api.auth.tokens import issue_token
from api.config import Settings
from api.db import create_engine, session_factory
from api.enterprises.service import register_enterprise
from api.grids.models import GridKind
from api.grids.service import create_grid
from api.members.service import create_member
from api.migrate import current_revision, head_revision, upgrade
from tests.factories import credit_code
from tests.helpers import LiveServer

ROOT = Path(__file__).resolve().parent.parent
TICKETS = 1_000_000
PREVIOUS_RELEASE = "0005"

# Generated in the database, not sent from Python: a million rows in seconds.
FILL = """
INSERT INTO ticket (id, version, created_at, updated_at, number, title, description, source,
  category, severity, status, tier, enterprise_id, grid_id, reported_at, paused_seconds,
  rated_on_behalf)
SELECT gen_random_uuid(), 1, now() - make_interval(secs => i), now() - make_interval(secs => i),
  'LD-' || i, 'ticket ' || i, '', 'WORKER_REQUEST', 'OTHER', 'MEDIUM',
  CASE WHEN i % 10 = 0 THEN 'REPORTED' ELSE 'CLOSED' END, 'GRID', :enterprise, :grid,
  now() - make_interval(secs => i), 0, false
FROM generate_series(1, :n) AS i
"""

TICKETS_QUERY = "{ tickets(first: 20) { edges { node { id number status } } } }"


@pytest.mark.postgres_only
async def test_upgrade_a_million_tickets_while_the_api_serves_reads(
    backend: str, empty_database_url: str
) -> None:
    settings = Settings(database_url=empty_database_url, run_worker_in_process=False)
    engine = create_engine(settings)
    try:
        await upgrade(engine, PREVIOUS_RELEASE)
        async with session_factory(engine)() as session, session.begin():
            county = await create_grid(
                session, code="LD", name="负载县", kind=GridKind.COUNTY, parent_id=None
            )
            town = await create_grid(
                session, code="LD-T01", name="负载镇", kind=GridKind.TOWN, parent_id=county.id
            )
            placed = await register_enterprise(
                session, name="负载企业", credit_code=credit_code(), headcount=50,
                industry="纺织", town_id=town.id,
            )  # fmt: skip
            admin = await create_member(
                session, name="管理员", phone="13911110000", roles=["ADMIN"]
            )
            token = (
                await issue_token(
                    session, member=admin, kind=TokenKind.SESSION, lifetime=timedelta(hours=1)
                )
            ).token
        async with engine.begin() as connection:
            # Bulk load as a restore does: indexes dropped, rows in, indexes built once (a
            # sort per index instead of a million insertions into each).
            indexes = (
                await connection.execute(
                    text(
                        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'ticket'"
                        " AND indexname <> 'pk_ticket'"
                    )
                )
            ).all()
            for name, _ in indexes:
                await connection.execute(text(f'DROP INDEX "{name}"'))
            await connection.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
            await connection.execute(
                text(FILL),
                {
                    "enterprise": placed.enterprise.id,
                    "grid": placed.placement.grid.id,
                    "n": TICKETS,
                },
            )
            for _, definition in indexes:
                await connection.execute(text(definition))
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("ANALYZE ticket"))
            count = (await connection.execute(text("SELECT count(*) FROM ticket"))).scalar_one()
        assert count == TICKETS + 0
    finally:
        await engine.dispose()

    server = LiveServer(settings)
    server.start()
    results: list[tuple[float, int, bool]] = []
    stop = asyncio.Event()

    async def reader() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    response = await http.post(
                        "/graphql", json={"query": TICKETS_QUERY}, headers=headers
                    )
                    body = response.json()
                    ok = response.status_code == 200 and "errors" not in body
                    ok = ok and len(body["data"]["tickets"]["edges"]) == 20
                    results.append((time.monotonic() - started, response.status_code, ok))
                except httpx.HTTPError:
                    results.append((time.monotonic() - started, 0, False))
                await asyncio.sleep(0.1)  # a steady trickle: enough to catch a lock

    try:
        readers = [asyncio.create_task(reader()) for _ in range(2)]
        await asyncio.sleep(1.0)  # reads flowing before the upgrade starts
        before = len(results)
        environ = {"GRIDLINK_DATABASE_URL": empty_database_url, "PATH": "/usr/bin:/bin"}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "api.edge.cli", "migrate", "--lang", "en", cwd=ROOT, env=environ,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await process.communicate()
        during = len(results) - before
        await asyncio.sleep(0.5)
        stop.set()
        await asyncio.gather(*readers)
    finally:
        server.stop()

    assert process.returncode == 0, err.decode()
    assert f"database at {head_revision()} (head)" in out.decode()
    failed = [r for r in results if not r[2]]
    assert not failed, f"{len(failed)} of {len(results)} reads failed: {failed[:5]}"
    assert during >= 3, "the upgrade finished before any read ran beside it"
    engine = create_engine(settings)
    try:
        assert await current_revision(engine) == head_revision()
        async with engine.connect() as connection:
            valid = (
                await connection.execute(
                    text(
                        "SELECT indisvalid FROM pg_index JOIN pg_class ON pg_class.oid = indexrelid"
                        " WHERE relname = 'ix_ticket_enterprise_status'"
                    )
                )
            ).scalar_one()
        assert valid is True
    finally:
        await engine.dispose()
