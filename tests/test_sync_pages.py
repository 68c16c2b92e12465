"""A pull's pages deliver each (record, version) at most once, whatever the page size and
while writers commit (issue 11, defect 4): property-based, on both databases."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections import Counter

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from api.config import Settings
from api.db import create_engine, session_factory
from api.tickets import lifecycle
from api.tickets.models import Ticket, TicketSource
from sync.pull import pull
from tests.sync_support import build_county

EXAMPLES = int(os.environ.get("GRIDLINK_SYNC_PAGE_EXAMPLES", "15"))
_worlds = itertools.count(100)


async def _drain(sessions, scope, checkpoint, sizes, seen: Counter, rounds: int = 2000) -> str:
    for round_ in range(rounds):
        async with sessions() as session, session.begin():
            page = await pull(
                session, scope=scope, checkpoint=checkpoint, limit=sizes[round_ % len(sizes)]
            )
        for change in page.changes:
            seen[(change["collection"], change["id"], change["version"])] += 1
        checkpoint = page.checkpoint
        if not page.has_more:
            return checkpoint
        if not page.changes:
            await asyncio.sleep(0.01)
    raise AssertionError("the pull never settled")


async def _example(database_url: str, sizes: list[int], edits: int, liaison: bool) -> None:
    engine = create_engine(Settings(database_url=database_url))
    sessions = session_factory(engine)
    try:
        county = await build_county(sessions, world=next(_worlds))
        d = county.dispatcher
        reader = county.liaison_a if liaison else county.admin
        ids = []
        async with sessions() as session, session.begin():
            for i in range(4):
                made = await lifecycle.create_ticket(
                    session,
                    scope=d.scope,
                    title=f"hazard {i}",
                    source=TicketSource.RISK_HAZARD,
                    grid_id=county.grid_a.id,
                )
                ids.append(made.id)
        seen: Counter = Counter()
        checkpoint = await _drain(sessions, reader.scope, None, [500], Counter())

        async def write(numbers: range) -> None:
            # Few records, many versions: what made small pages repeat.
            for n in numbers:
                async with sessions() as session, session.begin():
                    await lifecycle.update_ticket(
                        session,
                        scope=d.scope,
                        ticket_id=ids[n % len(ids)],
                        changes={"description": f"edit {n}"},
                    )
                    if n % 3 == 0:
                        await lifecycle.add_comment(
                            session, scope=d.scope, ticket_id=ids[n % 2], body=f"note {n}"
                        )
                await asyncio.sleep(0)

        async def read() -> str:
            point = checkpoint
            while not writer.done():
                point = await _drain(sessions, reader.scope, point, sizes, seen)
                await asyncio.sleep(0)
            return await _drain(sessions, reader.scope, point, sizes, seen)

        # A backlog behind the checkpoint, then more commits while the reader pages through.
        await write(range(edits // 2))
        writer = asyncio.ensure_future(write(range(edits // 2, edits)))
        await asyncio.gather(writer, read())
        repeats = {key: n for key, n in seen.items() if n > 1}
        assert repeats == {}
        # And nothing is missing: every ticket's last version arrived.
        async with sessions() as session:
            for ticket_id in ids:
                version = (await session.get(Ticket, ticket_id)).version
                if edits:
                    assert ("tickets", str(ticket_id), version) in seen or version == 1
    finally:
        await engine.dispose()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=8),
    edits=st.integers(min_value=0, max_value=40),
    liaison=st.booleans(),
)
@example(sizes=[1], edits=20, liaison=False)
@example(sizes=[2, 1, 3], edits=24, liaison=True)
def test_pages_deliver_each_record_version_at_most_once(database_url, sizes, edits, liaison):
    asyncio.run(_example(database_url, sizes, edits, liaison))


def test_the_issue_case_limit_one_equals_one_big_page(database_url) -> None:
    """From one checkpoint: pages of 1 deliver exactly what one page of 500 delivers."""

    async def run() -> None:
        engine = create_engine(Settings(database_url=database_url))
        sessions = session_factory(engine)
        try:
            county = await build_county(sessions, world=next(_worlds))
            d = county.admin
            start = await _drain(sessions, d.scope, None, [500], Counter())
            async with sessions() as session, session.begin():
                made = [
                    await lifecycle.create_ticket(
                        session,
                        scope=d.scope,
                        title=f"t{i}",
                        source=TicketSource.RISK_HAZARD,
                        grid_id=county.grid_a.id,
                    )
                    for i in range(3)
                ]
            for n in range(30):
                async with sessions() as session, session.begin():
                    await lifecycle.update_ticket(
                        session,
                        scope=d.scope,
                        ticket_id=made[n % 3].id,
                        changes={"description": f"v{n}"},
                    )
            small, big = Counter(), Counter()
            await _drain(sessions, d.scope, start, [1], small)
            await _drain(sessions, d.scope, start, [500], big)
            assert small == big and set(small.values()) == {1}
        finally:
            await engine.dispose()

    asyncio.run(run())
