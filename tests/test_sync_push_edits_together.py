"""A run of ticket edits in a push is written together (sync/push.py _edit_together: one
savepoint, one flush): the outcomes (APPLIED, MERGED, CONFLICT, REJECTED), the stored results,
the conflicts kept, the events and the change-log rows (in batch order) are those of the same
mutations run one at a time (_one); also when one of the run is refused (the run is then
rolled back and goes one at a time), when a ticket is edited twice in one batch (the two
never share a run) and with creates and comments between the edits. Both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from api.tickets.models import Ticket, TicketEvent
from sync import push as push_module
from sync.models import ChangeRow, StoredMutation, SyncConflict
from sync.push import MutationInput, push_in
from tests.sync_support import as_compared, build_county, logged_as, server_ticket

BEFORE = datetime(2026, 5, 6, 6, 0, 0, 0, tzinfo=UTC)
NOW = datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
CLIENT = "edits-together"


def _edit(ticket: Any, base: int | None, **fields: Any) -> MutationInput:
    return MutationInput(uuid.uuid4().hex, "tickets", str(ticket), "UPDATE", base, fields)


async def _world(session_factory: Any, county: Any) -> tuple[list[uuid.UUID], uuid.UUID]:
    """Eight tickets of liaison A's grid (version 1), three of them then changed by another
    phone (version 2): T1's and T5's description (an edit of their title merges), T2's
    title (an edit of its title conflicts); and a ticket of a grid A does not see."""
    a = county.liaison_a
    ids = [
        await server_ticket(session_factory, a, county.grid_a, f"漏水 {i}", now=BEFORE)
        for i in range(8)
    ]
    hidden = await server_ticket(session_factory, county.liaison_c, county.grid_c, "别处", BEFORE)
    other = [
        _edit(ids[1], 1, description="三楼"),
        _edit(ids[2], 1, title="屋顶漏水"),
        _edit(ids[5], 1, description="楼梯间"),
    ]
    async with session_factory() as session, session.begin():
        done = await push_in(session, scope=a.scope, client_id="other", mutations=other, now=BEFORE)
    assert [r["status"] for r in done] == ["APPLIED"] * 3
    return ids, hidden


def _batch(ids: list[uuid.UUID], hidden: uuid.UUID, grid: str, refused: str | None) -> Any:
    new = [uuid.uuid4(), uuid.uuid4()]
    comment = uuid.uuid4()
    fourth = {
        None: _edit(ids[4], 1, description="地下室"),
        "base": _edit(ids[4], 7, description="地下室"),  # a version the server never had
        "hidden": _edit(hidden, 1, description="地下室"),  # NOT_FOUND
    }[refused]
    mutations = [
        *(
            MutationInput(
                uuid.uuid4().hex,
                "tickets",
                str(record),
                "CREATE",
                None,
                {"title": f"新 {i}", "source": "RISK_HAZARD", "gridId": grid},
            )
            for i, record in enumerate(new)
        ),
        _edit(ids[0], 1, title="改 0"),  # APPLIED
        _edit(ids[1], 1, title="改 1"),  # MERGED (the server changed the description)
        _edit(ids[2], 1, title="改 2", category="SAFETY"),  # CONFLICT on title, category applied
        _edit(ids[3], 1, severity="HIGH", reporterName="王"),  # APPLIED, deadlines moved
        fourth,
        _edit(ids[0], 2, description="又改"),  # the same ticket again: a run of its own
        MutationInput(
            uuid.uuid4().hex,
            "ticketComments",
            str(comment),
            "CREATE",
            None,
            {"ticketId": str(ids[5]), "body": "到了"},
        ),
        _edit(ids[5], 1, title="改 5"),  # MERGED
        _edit(new[0], None, title="刚建又改"),  # no base: its own CREATE (one at a time)
        _edit(new[1], 1, title="刚建又改"),  # a run of three
        _edit(ids[6], 1, title="漏水 6"),  # the value it has: APPLIED, nothing written
        _edit(ids[7], 1, title="改 7", id=str(ids[7])),  # a server-owned field, ignored
    ]
    return mutations, [*ids, hidden, *new, comment]


async def _push(session_factory: Any, scope: Any, mutations: list[MutationInput], records: Any):
    async with session_factory() as session:
        head = await session.scalar(select(func.max(ChangeRow.seq)))
        events_before = set(await session.scalars(select(TicketEvent.id)))
    async with session_factory() as session, session.begin():
        results = await push_in(
            session, scope=scope, client_id=CLIENT, mutations=mutations, now=NOW
        )
    position = {record: index for index, record in enumerate(records)}
    mutation_ids = [m.mutation_id for m in mutations]
    async with session_factory() as session:
        tickets = list(await session.scalars(select(Ticket).where(Ticket.id.in_(records))))
        logged = list(
            await session.scalars(
                select(ChangeRow).where(ChangeRow.seq > head).order_by(ChangeRow.seq)
            )
        )
        events = [
            e
            for e in await session.scalars(
                select(TicketEvent).where(TicketEvent.ticket_id.in_(records))
            )
            if e.id not in events_before
        ]
        stored = {
            row.mutation_id: row.result
            for row in await session.scalars(
                select(StoredMutation).where(StoredMutation.mutation_id.in_(mutation_ids))
            )
        }
        conflicts = list(
            await session.scalars(
                select(SyncConflict).where(SyncConflict.mutation_id.in_(mutation_ids))
            )
        )
    assert [stored[m] for m in mutation_ids] == results
    numbers = {t.number: f"number of {position[t.id]}" for t in tickets}
    kept = {str(k.id): f"conflict of {mutation_ids.index(k.mutation_id)}" for k in conflicts}

    named = {str(record): f"record {index}" for record, index in position.items()}
    named |= numbers | kept

    def plain(value: Any) -> Any:
        return as_compared(value, named)

    def place(record_id: uuid.UUID) -> Any:
        return position.get(record_id, kept.get(str(record_id)))

    log = [logged_as(row, place(row.record_id)) for row in logged]
    happened = sorted(
        [
            (position[e.ticket_id], e.kind, e.actor_id, plain(e.before), plain(e.after))
            for e in events
        ],
        key=repr,
    )
    stored_conflicts = sorted(
        [
            plain(
                [
                    mutation_ids.index(k.mutation_id),
                    k.record_id,
                    k.field,
                    k.client_value,
                    k.server_value,
                    k.rule,
                    k.winner,
                    k.base_version,
                    k.server_version,
                    k.message,
                ]
            )
            for k in conflicts
        ],
        key=repr,
    )
    return plain(results), log, happened, stored_conflicts


@pytest.mark.parametrize("refused", [None, "base", "hidden"])
async def test_edits_written_together_are_as_one_at_a_time(
    session_factory, monkeypatch, refused
) -> None:
    county = await build_county(session_factory)
    a = county.liaison_a
    grid = str(county.grid_a.id)
    runs: list[tuple[int, bool]] = []
    together = push_module._edit_together

    async def counted(session: Any, caller: Any, run: list[MutationInput]) -> Any:
        answered = await together(session, caller, run)
        runs.append((len(run), answered is not None))
        return answered

    monkeypatch.setattr(push_module, "_edit_together", counted)
    ids, hidden = await _world(session_factory, county)
    runs.clear()  # the other phone's three edits were one run
    mutations, records = _batch(ids, hidden, grid, refused)
    grouped = await _push(session_factory, a.scope, mutations, records)
    # Edits 2-6 together (written, or rolled back for the refusal), the second edit of T0
    # and the no-base edit alone, the last three together.
    assert runs == [(5, refused is None), (3, True)]
    monkeypatch.setattr(push_module, "_ticket_edits", lambda *args: [])
    ids, hidden = await _world(session_factory, county)
    mutations, records = _batch(ids, hidden, grid, refused)
    single = await _push(session_factory, a.scope, mutations, records)
    assert runs == [(5, refused is None), (3, True)]  # and here none
    assert grouped == single
    results, log, events, conflicts = grouped
    fourth = "REJECTED" if refused else "APPLIED"
    assert [r["status"] for r in results] == [
        *("APPLIED", "APPLIED"),
        *("APPLIED", "MERGED", "CONFLICT", "APPLIED", fourth, "APPLIED"),
        *("APPLIED", "MERGED", "APPLIED", "APPLIED", "APPLIED", "APPLIED"),
    ]
    assert [c[2] for c in conflicts] == ["title"]
    # The log in batch order: the two new tickets, the edits (T2's category before the title
    # kept as a conflict: the conflict names the version the category made), the comment,
    # the later edits; T6 unchanged has none.
    fourth_logged = [] if refused else [4]
    assert [row[0] for row in log] == [
        9,
        10,
        0,
        1,
        2,
        "conflict of 4",
        3,
        *fourth_logged,
        0,
        11,
        5,
        9,
        10,
        7,
    ]
    # One event per ticket written (none for the comment or the conflict kept).
    assert len(events) == len(log) - 2
