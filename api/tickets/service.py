"""Reporting tickets and keeping their audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.enterprises.models import Enterprise
from api.errors import invalid, not_found
from api.grids.service import get_grid
from api.i18n import _
from api.records import utcnow
from api.tickets.deadlines import apply_deadlines
from api.tickets.models import Severity, Ticket, TicketEvent, TicketSource, TicketStatus
from api.tickets.numbers import next_ticket_number

MAX_TITLE = 200


def record_event(
    session: AsyncSession,
    ticket: Ticket,
    *,
    kind: str,
    actor_id: uuid.UUID | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str | None = None,
    at: datetime | None = None,
) -> TicketEvent:
    event = TicketEvent(
        ticket_id=ticket.id,
        actor_id=actor_id,
        kind=kind,
        before=before,
        after=after,
        note=note,
        at=at or utcnow(),
    )
    session.add(event)
    return event


async def report_ticket(
    session: AsyncSession,
    *,
    title: str,
    source: TicketSource,
    grid_id: uuid.UUID | None = None,
    enterprise_id: uuid.UUID | None = None,
    description: str = "",
    category: str = "OTHER",
    severity: Severity = Severity.MEDIUM,
    reporter_id: uuid.UUID | None = None,
    reporter_name: str | None = None,
    reporter_phone: str | None = None,
    reported_at: datetime | None = None,
    actor_id: uuid.UUID | None = None,
    ticket_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Ticket:
    """A new ticket in REPORTED at the GRID tier. Its grid is the enterprise's when not given."""
    now = now or utcnow()
    title = title.strip()
    if not title:
        raise invalid("title", _("a ticket needs a title"))
    if len(title) > MAX_TITLE:
        raise invalid("title", _("a title has at most {MAX_TITLE} characters", MAX_TITLE=MAX_TITLE))
    enterprise = None
    if enterprise_id is not None:
        enterprise = await session.get(Enterprise, enterprise_id)
        if enterprise is None or enterprise.deleted:
            raise not_found("enterpriseId", _("the enterprise"))
    if grid_id is None:
        if enterprise is None:
            raise invalid("gridId", _("give the grid or the enterprise the ticket concerns"))
        grid_id = enterprise.grid_id
    await get_grid(session, grid_id)
    if reported_at is not None and reported_at.tzinfo is None:
        raise invalid("reportedAt", _("give the time with its UTC offset"))
    ticket = Ticket(
        id=ticket_id or uuid.uuid4(),
        number=await next_ticket_number(session, now),
        title=title,
        description=description.strip(),
        source=source,
        category=category.strip().upper() or "OTHER",
        severity=severity,
        status=TicketStatus.REPORTED,
        enterprise_id=enterprise_id,
        grid_id=grid_id,
        reporter_id=reporter_id,
        reporter_name=reporter_name,
        reporter_phone=reporter_phone,
        reported_at=reported_at or now,
    )
    await apply_deadlines(session, ticket, now=now)
    session.add(ticket)
    await session.flush()
    record_event(
        session,
        ticket,
        kind="REPORTED",
        actor_id=actor_id or reporter_id,
        after={"status": ticket.status.value, "tier": ticket.tier.value},
        at=now,
    )
    await session.flush()
    return ticket
