"""Satisfaction: the share of rated closed tickets rated 4 or 5, per grid, town and county."""

from __future__ import annotations

from datetime import datetime, timedelta

from api.enterprises.service import register_enterprise
from api.grids.models import GridKind
from api.grids.service import create_grid
from api.tickets import lifecycle
from api.tickets.models import TicketSource, TicketStatus
from api.tickets.satisfaction import satisfaction
from tests.factories import credit_code, town_world

T0 = datetime.fromisoformat("2026-04-01T00:00:00+00:00")
S = TicketStatus


async def test_rates_per_grid_town_and_county(session_factory) -> None:
    async with session_factory() as session, session.begin():
        world = await town_world(session)
        other_town = await create_grid(
            session,
            code="SY-T02",
            name="Linhai Town",
            kind=GridKind.TOWN,
            parent_id=world.county.id,
        )
        elsewhere = (
            await register_enterprise(
                session,
                name="Linhai Nets",
                credit_code=credit_code(),
                headcount=30,
                industry="Fishing gear",
                town_id=other_town.id,
            )
        ).enterprise
        staff = world.county_staff
        plan = [  # (enterprise, rating, rated by the worker itself?)
            (world.enterprise.id, 5, True),
            (world.enterprise.id, 4, False),
            (world.enterprise.id, 3, False),
            (world.other_enterprise.id, 1, False),
            (elsewhere.id, 4, False),
            (world.enterprise.id, None, False),  # closed, not rated: not counted
        ]
        for i, (enterprise_id, rating, by_worker) in enumerate(plan):
            at = T0 + timedelta(days=i)
            ticket = await lifecycle.create_ticket(
                session,
                scope=world.worker if by_worker else staff,
                title=f"Request {i}",
                source=TicketSource.WORKER_REQUEST,
                enterprise_id=enterprise_id,
                now=at,
            )
            for status in [S.IN_PROGRESS, S.RESOLVED, S.CLOSED]:
                await lifecycle.transition_ticket(
                    session,
                    scope=staff,
                    ticket_id=ticket.id,
                    to_status=status,
                    resolution_note="paid in full",
                    now=at,
                )
            if rating is not None:
                await lifecycle.rate_ticket(
                    session,
                    scope=world.worker if by_worker else staff,
                    ticket_id=ticket.id,
                    rating=rating,
                    now=at,
                )
        # An open ticket counts for nothing either.
        await lifecycle.create_ticket(
            session,
            scope=staff,
            title="Still open",
            source=TicketSource.WORKER_REQUEST,
            enterprise_id=world.enterprise.id,
        )

    async with session_factory() as session:
        grid = await satisfaction(session, grid_id=world.grid.id)
        town = await satisfaction(session, grid_id=world.town.id)
        county = await satisfaction(session, grid_id=world.county.id)
        everything = await satisfaction(session)
        early = await satisfaction(session, since=T0, until=T0 + timedelta(days=2))
        mine = await satisfaction(session, grid_ids=[world.grid.id])
        empty = await satisfaction(session, grid_id=other_town.id, until=T0)
    assert (grid.rated, grid.satisfied, grid.rate, grid.on_behalf) == (3, 2, 0.6667, 2)
    assert (town.rated, town.satisfied, town.rate) == (4, 2, 0.5)  # its sub-grids included
    assert (county.rated, county.satisfied, county.rate) == (5, 3, 0.6)
    assert everything == county
    assert (early.rated, early.satisfied) == (2, 2)
    assert mine == grid
    assert (empty.rated, empty.rate) == (0, None)
