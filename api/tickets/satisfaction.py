"""Worker satisfaction: the share of rated closed tickets rated 4 or 5, per grid (with its
sub-grids), town or the whole county. The rating itself is lifecycle.rate_ticket's."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.grids.service import descendants, grid_tree
from api.tickets.models import Ticket, TicketStatus

SATISFIED_FROM = 4


@dataclass(frozen=True)
class Satisfaction:
    rated: int
    satisfied: int
    # Share of rated tickets rated 4 or 5, 0.0–1.0; None when nothing is rated yet.
    rate: float | None
    # How many of the rated were recorded by a liaison on the worker's behalf.
    on_behalf: int


async def satisfaction(
    session: AsyncSession,
    *,
    grid_id: uuid.UUID | None = None,
    grid_ids: Collection[uuid.UUID] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Satisfaction:
    """Over closed, rated tickets of a grid and everything below it (a town is a grid; the
    county grid or no grid at all is the whole county), or of exactly ``grid_ids`` (a
    caller's visible grids), closed in [since, until) when given."""
    conditions = [
        Ticket.status == TicketStatus.CLOSED,
        Ticket.satisfaction_rating.is_not(None),
        Ticket.deleted_at.is_(None),
    ]
    if grid_id is not None:
        covered = descendants(await grid_tree(session), {grid_id})
        conditions.append(Ticket.grid_id.in_(list(covered)))
    if grid_ids is not None:
        conditions.append(Ticket.grid_id.in_(list(grid_ids)))
    if since is not None:
        conditions.append(Ticket.closed_at >= since)
    if until is not None:
        conditions.append(Ticket.closed_at < until)
    row = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(
                    func.sum(case((Ticket.satisfaction_rating >= SATISFIED_FROM, 1), else_=0)), 0
                ),
                func.coalesce(func.sum(case((Ticket.rated_on_behalf.is_(True), 1), else_=0)), 0),
            ).where(*conditions)
        )
    ).one()
    rated, satisfied, on_behalf = int(row[0]), int(row[1]), int(row[2])
    return Satisfaction(
        rated=rated,
        satisfied=satisfied,
        rate=round(satisfied / rated, 4) if rated else None,
        on_behalf=on_behalf,
    )
