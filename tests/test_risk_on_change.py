"""Risk levels follow a ticket change within seconds (api/warnings/recompute.py): a served app
with no timed jobs running stores the new level and notifies the rise, which the grid's
liaison sees through GraphQL."""

from __future__ import annotations

import asyncio
import time

import httpx
from sqlalchemy import select

from api.warnings.models import RiskLevel, RiskLevelRecord, RiskSubject
from tests.graphql_world import build_world
from tests.helpers import gql

CREATE = """mutation($input: CreateTicketInput!) { createTicket(input: $input) {
  errors { field code } ticket { id } } }"""
RISES = """{ notifications(first: 50) { nodes { kind enterpriseId } } }"""


async def test_a_ticket_change_raises_the_stored_level_within_seconds(
    live_server, session_factory
) -> None:
    # settings.run_worker_in_process is off: only the recompute after a change can do it.
    world = await build_world(session_factory)
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        created = await gql(
            http,
            CREATE,
            {
                "input": {
                    "title": "Wages three months late, workers at the gate",
                    "source": "WORKER_REQUEST",
                    "enterpriseId": world.gid("Enterprise", "e1"),
                    "severity": "CRITICAL",
                }
            },
            token=world.tokens["admin"],
        )
        assert created["data"]["createTicket"]["errors"] == []
        changed_at = time.monotonic()
        seen = None
        while time.monotonic() - changed_at < 5:
            body = await gql(http, RISES, token=world.tokens["liaison1"])
            seen = [
                n
                for n in body["data"]["notifications"]["nodes"]
                if n["kind"] == "RISK_RAISED" and n["enterpriseId"] == str(world["e1"])
            ]
            if seen:
                break
            await asyncio.sleep(0.2)
        assert seen, "no RISK_RAISED notification within 5 seconds"
    async with session_factory() as session:
        stored = await session.scalar(
            select(RiskLevelRecord).where(
                RiskLevelRecord.subject_kind == RiskSubject.ENTERPRISE,
                RiskLevelRecord.subject_id == world["e1"],
            )
        )
    assert stored is not None and stored.level.rank >= RiskLevel.ORANGE.rank
