"""The offline day, over real HTTP: a liaison works all day without network (20 new tickets,
50 edits, 30 sign-ins, 5 photos) while the dispatcher moves two of its tickets to another grid; one
reconnect; nothing is lost, and the two moved tickets leave the phone with their edits kept
as conflicts."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy import func, select

from api.tickets import lifecycle
from api.tickets.models import Ticket
from api.warnings import recompute
from sync.models import StoredMutation, SyncConflict
from tests.attachment_support import photo
from tests.sync_support import build_county, do, phone, server_ticket, server_view

EDITS = [
    {"description": "talked to the shift leader"},
    {"severity": "HIGH"},
    {"status": "IN_PROGRESS"},
    {"title": "Overtime unpaid since March"},
    {"description": "workers will come to the station on Friday"},
]


async def test_a_day_offline(live_server, session_factory) -> None:
    county = await build_county(session_factory)
    d = county.dispatcher
    assigned = []
    for i in range(10):
        ticket_id = await server_ticket(session_factory, d, county.grid_a, f"Hazard {i}")
        await do(
            session_factory,
            lifecycle.assign_ticket,
            scope=d.scope,
            ticket_id=ticket_id,
            assignee_id=county.liaison_a.member.id,
        )
        assigned.append(str(ticket_id))

    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        a = phone(http, county.liaison_a, "liaison-phone")
        await a.pull()  # morning, at the office
        assert set(assigned) <= set(a.of("tickets"))

        # --- the day in the field, offline ---
        created = [
            a.create(
                "tickets",
                {
                    "title": f"New case {i}",
                    "source": "DIRECT_REPORT",
                    "gridId": str(county.grid_a.id),
                    "reportedAt": f"2026-11-27T{8 + i % 9:02d}:15:00+08:00",
                    "status": "IN_PROGRESS",
                },
            )
            for i in range(20)
        ]
        edits: dict[str, list[str]] = {}
        for ticket_id in assigned:
            edits[ticket_id] = [a.update("tickets", ticket_id, e) for e in EDITS]
        signins = [
            a.create(
                "attendances",
                {
                    "activityId": str(county.activity.id),
                    "attendeeName": f"Attendee {i}",
                    "signedInAt": "2026-11-27T14:00:00+08:00",
                },
            )
            for i in range(30)
        ]
        # Five photos: three of new cases, two of tickets in hand (one of them moved away
        # meanwhile, below: its photo stays with the phone's conflict, not uploaded).
        photos = {
            a.attach(ticket_id, photo(320, 240, seed=n), takenAt="2026-11-27T10:30:00+08:00"): n
            for n, ticket_id in enumerate([*created[:3], assigned[2], assigned[0]])
        }
        assert len(a.outbox) == 20 + 50 + 30 + 5
        sent = [m["mutationId"] for m in a.outbox]

        # --- meanwhile, at the office ---
        moved = assigned[:2]
        for ticket_id in moved:
            await do(
                session_factory,
                lifecycle.reassign_to_grid,
                scope=d.scope,
                ticket_id=uuid.UUID(ticket_id),
                grid_id=county.grid_b.id,
            )

        # --- one reconnect ---
        await a.sync()
        assert a.outbox == []

        # Every mutation has exactly one durable outcome.
        assert set(a.results) == set(sent)
        async with session_factory() as session:
            stored = await session.scalar(
                select(func.count())
                .select_from(StoredMutation)
                .where(StoredMutation.client_id == a.client_id)
            )
            assert stored == 105
            statuses = {a.results[m]["status"] for m in sent}
            assert "REJECTED" not in statuses, [
                a.results[m]["error"] for m in sent if a.results[m]["error"]
            ]

            # The 20 new tickets are on the server, numbered by it, with the phone's times.
            rows = (
                await session.scalars(
                    select(Ticket).where(Ticket.id.in_([uuid.UUID(t) for t in created]))
                )
            ).all()
            assert len(rows) == 20
            assert all(t.number.startswith("SY-") and t.status == "IN_PROGRESS" for t in rows)
            assert {t.reported_at.hour for t in rows} == {h - 8 for h in range(8, 17)}
            # The 8 tickets still in scope carry the day's edits.
            for ticket_id in assigned[2:]:
                assert all(a.results[m]["status"] == "APPLIED" for m in edits[ticket_id])
                ticket = await session.get(Ticket, uuid.UUID(ticket_id))
                assert ticket.description == "workers will come to the station on Friday"
                assert (ticket.title, ticket.severity, ticket.status) == (
                    "Overtime unpaid since March",
                    "HIGH",
                    "IN_PROGRESS",
                )
            # The two moved tickets: their ten edits are conflicts, nothing dropped.
            kept = (
                await session.scalars(
                    select(SyncConflict).where(
                        SyncConflict.record_id.in_([uuid.UUID(t) for t in moved])
                    )
                )
            ).all()
        for ticket_id in moved:
            assert [a.results[m]["status"] for m in edits[ticket_id]] == ["CONFLICT"] * 5
        assert sorted((str(k.record_id), k.field) for k in kept) == sorted(
            (t, field) for t in moved for e in EDITS for field in e
        )
        assert {k.rule for k in kept} == {"LEFT_SCOPE"}

        # The phone: the moved tickets are gone, the conflicts are there, all 30 sign-ins.
        assert not set(moved) & set(a.of("tickets"))
        # Ten edits and the photo of a moved ticket (its whole record, LEFT_SCOPE).
        assert len(a.of("syncConflicts")) == 11
        assert set(signins) == set(a.of("attendances"))
        # The four photos of tickets in scope are uploaded and say so; the fifth went with
        # its ticket (LEFT_SCOPE, kept as a conflict) and waits on nothing.
        landed = [p for p, n in photos.items() if n < 4]
        assert {p: a.of("ticketAttachments")[p]["uploaded"] for p in landed} == dict.fromkeys(
            landed, True
        )
        assert a.blobs == {}
        # The push also moves risk levels, recomputed a moment after it (a rise notifies the
        # liaison, api/warnings/recompute.py): once the server has settled, one more sync
        # leaves the phone holding exactly what the server shows it.
        view = await server_view(http, county.liaison_a)
        for _ in range(10):
            await asyncio.sleep(recompute.DELAY_SECONDS + 0.5)
            settled = await server_view(http, county.liaison_a)
            if settled == view:
                break
            view = settled
        await a.sync()
        assert a.snapshot() == view
