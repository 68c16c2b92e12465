"""A run of new tickets in a push is written together (sync/push.py _create_together: one
savepoint, one flush): the outcomes, the numbers, the events and the change-log rows are those
of the same mutations run one at a time (_one), also when one of the run is refused (the run
is then rolled back and goes one at a time). Both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from api.tickets.models import Ticket, TicketEvent
from sync import push as push_module
from sync.models import ChangeRow, StoredMutation
from sync.push import MutationInput, push_in
from tests.sync_support import as_compared, build_county, logged_as

NOW = datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


def _batch(grid: str, hidden: str, refused_at: int | None) -> list[MutationInput]:
    mutations = []
    for i in range(5):
        fields: dict[str, Any] = {"title": f"漏水 {i}", "source": "RISK_HAZARD", "gridId": grid}
        if i == 1:
            fields |= {"severity": "HIGH", "description": "二楼", "category": "SAFETY"}
        if i == refused_at:
            fields["gridId"] = hidden  # a grid the liaison does not see: NOT_FOUND
        mutations.append(
            MutationInput(uuid.uuid4().hex, "tickets", str(uuid.uuid4()), "CREATE", None, fields)
        )
    return mutations


async def _push(session_factory: Any, scope: Any, mutations: list[MutationInput]) -> Any:
    async with session_factory() as session, session.begin():
        results = await push_in(
            session, scope=scope, client_id="together", mutations=mutations, now=NOW
        )
    ids = [uuid.UUID(m.id) for m in mutations]
    async with session_factory() as session:
        tickets = {t.id: t for t in await session.scalars(select(Ticket).where(Ticket.id.in_(ids)))}
        logged = list(
            await session.scalars(
                select(ChangeRow).where(ChangeRow.record_id.in_(ids)).order_by(ChangeRow.seq)
            )
        )
        events = list(
            await session.scalars(select(TicketEvent).where(TicketEvent.ticket_id.in_(ids)))
        )
        stored = {
            row.mutation_id: row.result
            for row in await session.scalars(
                select(StoredMutation).where(
                    StoredMutation.mutation_id.in_([m.mutation_id for m in mutations])
                )
            )
        }
    assert [stored[m.mutation_id] for m in mutations] == results
    position = {record_id: index for index, record_id in enumerate(ids)}
    numbers = sorted(t.number for t in tickets.values())

    named = {n: f"number {rank}" for rank, n in enumerate(numbers)}
    named |= {str(record_id): f"record {index}" for record_id, index in position.items()}
    log = [logged_as(row, position[row.record_id]) for row in logged]
    happened = sorted((position[e.ticket_id], e.kind, e.actor_id, e.after) for e in events)
    return as_compared(results, named), numbers, log, happened


@pytest.mark.parametrize("refused_at", [None, 2])
async def test_new_tickets_written_together_are_as_one_at_a_time(
    session_factory, monkeypatch, refused_at
) -> None:
    county = await build_county(session_factory)
    a = county.liaison_a
    grid, hidden = str(county.grid_a.id), str(county.grid_c.id)
    runs: list[int] = []
    together = push_module._create_together

    async def counted(session: Any, caller: Any, run: list[MutationInput]) -> Any:
        runs.append(len(run))
        return await together(session, caller, run)

    monkeypatch.setattr(push_module, "_create_together", counted)
    grouped = await _push(session_factory, a.scope, _batch(grid, hidden, refused_at))
    assert runs == [5]  # the whole run was tried together
    monkeypatch.setattr(push_module, "_new_tickets", lambda *args: [])
    single = await _push(session_factory, a.scope, _batch(grid, hidden, refused_at))
    assert runs == [5]  # and here not at all
    results, numbers, log, events = grouped
    assert (results, log, events) == (single[0], single[2], single[3])
    assert [r["status"] for r in results] == [
        "REJECTED" if i == refused_at else "APPLIED" for i in range(5)
    ]
    # Numbers drawn in batch order, without a gap (a refused run gives its numbers back).
    assert len(numbers) == 5 - (refused_at is not None)
    both = numbers + single[1]
    tails = [int(n.rsplit("-", 1)[1]) for n in both]
    assert tails == list(range(tails[0], tails[0] + len(both)))
    # One log row per ticket, in batch order.
    assert [row[0] for row in log] == [i for i in range(5) if i != refused_at]
