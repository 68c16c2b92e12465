"""Invariant 7: a first sync arrives in pages (own assigned tickets first) and can resume; a
pull's work follows the changes, not the size of the tables."""

from __future__ import annotations

import uuid

from sqlalchemy import event

from api.tickets import lifecycle
from api.tickets.models import TicketSource
from sync.client import Record
from sync.pull import pull
from tests.sync_support import build_county, phone


async def _tickets(session_factory, scope, grid, n, prefix) -> list[uuid.UUID]:
    ids = []
    async with session_factory() as session, session.begin():
        for i in range(n):
            ticket = await lifecycle.create_ticket(
                session,
                scope=scope,
                title=f"{prefix} {i}",
                source=TicketSource.RISK_HAZARD,
                grid_id=grid.id,
            )
            ids.append(ticket.id)
    return ids


async def test_first_sync_in_pages_own_work_first_and_resumable(client, session_factory):
    county = await build_county(session_factory)
    d = county.dispatcher
    ids = await _tickets(session_factory, d.scope, county.grid_a, 230, "hazard")
    mine = ids[-3:]
    async with session_factory() as session, session.begin():
        for ticket_id in mine:
            await lifecycle.assign_ticket(
                session, scope=d.scope, ticket_id=ticket_id, assignee_id=county.liaison_a.member.id
            )
    a = phone(client, county.liaison_a, "a")
    a.page_size = 100
    pages = []
    checkpoint = None
    async with session_factory() as session:
        for _ in range(2):
            page = await pull(
                session, scope=county.liaison_a.scope, checkpoint=checkpoint, limit=100
            )
            pages.append(page)
            checkpoint = page.checkpoint
    first = [c for c in pages[0].changes if c["collection"] == "tickets"]
    assert [c["id"] for c in first[:3]] == sorted(str(t) for t in mine)
    assert pages[0].changes[0]["collection"] == "tickets"
    assert len(pages[0].changes) == 100 and pages[0].has_more

    # A phone that lost its connection after page 2 resumes from its checkpoint.
    a.checkpoint = checkpoint
    for page in pages:
        for change in page.changes:
            a.records[(change["collection"], change["id"])] = Record(
                change["version"], change["data"]
            )
    await a.pull()
    fresh = phone(client, county.liaison_a, "fresh")
    fresh.page_size = 1000
    await fresh.pull()
    assert set(a.of("tickets")) == {str(t) for t in ids} == set(fresh.of("tickets"))
    assert a.snapshot() == fresh.snapshot()


async def test_a_pull_costs_the_same_whatever_the_table_size(client, engine, session_factory):
    county = await build_county(session_factory)
    d = county.dispatcher
    a = phone(client, county.liaison_a, "a")
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(1))

    async def pull_after_three_changes() -> tuple[int, int]:
        await a.pull()
        await _tickets(session_factory, d.scope, county.grid_a, 3, "in scope")
        statements.clear()
        async with session_factory() as session:
            page = await pull(
                session, scope=county.liaison_a.scope, checkpoint=a.checkpoint, limit=500
            )
        a.checkpoint = page.checkpoint
        return len(page.changes), len(statements)

    small = await pull_after_three_changes()
    # Ten times the rows, all out of the liaison's scope: the same pull costs the same.
    await _tickets(session_factory, d.scope, county.grid_b, 300, "elsewhere")
    large = await pull_after_three_changes()
    assert small == large
    assert small[0] == 3 and small[1] <= 6
