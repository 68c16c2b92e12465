"""Reporting tickets and keeping their audit trail."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.enterprises.models import Enterprise
from api.errors import invalid, not_found
from api.grids.service import get_grid
from api.i18n import _
from api.records import utcnow
from api.tickets import fields
from api.tickets.deadlines import apply_deadlines
from api.tickets.models import Severity, Ticket, TicketEvent, TicketSource, TicketStatus
from api.tickets.numbers import next_ticket_number
from api.times import optional_with_offset


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


@dataclass
class NewTicket:
    """A new ticket's inputs, each checked once (api/tickets/fields.py), its grid resolved."""

    title: str
    source: TicketSource
    grid_id: uuid.UUID
    enterprise: Enterprise | None
    description: str
    category: str
    severity: Severity
    reporter_id: uuid.UUID | None
    reporter_name: str | None
    reporter_phone: str | None
    reported_at: datetime | None


async def check_new_ticket(
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
) -> NewTicket:
    """Every input of a new ticket checked (the same validators as an edit); its grid is the
    enterprise's when not given. Who may report it is the caller's business (lifecycle)."""
    checked = NewTicket(
        title=fields.title(title),
        source=source,
        grid_id=grid_id,  # type: ignore[arg-type]  (resolved below)
        enterprise=None,
        description=fields.description(description),
        category=fields.category(category),
        severity=fields.severity(severity),
        reporter_id=reporter_id,
        reporter_name=fields.reporter_name(reporter_name),
        reporter_phone=fields.reporter_phone(reporter_phone),
        reported_at=optional_with_offset(reported_at, "reportedAt"),
    )
    if enterprise_id is not None:
        checked.enterprise = await session.get(Enterprise, enterprise_id)
        if checked.enterprise is None or checked.enterprise.deleted:
            raise not_found("enterpriseId", _("the enterprise"))
    if grid_id is None:
        if checked.enterprise is None:
            raise invalid("gridId", _("give the grid or the enterprise the ticket concerns"))
        checked.grid_id = checked.enterprise.grid_id
    await get_grid(session, checked.grid_id)
    return checked


async def add_reported_ticket(
    session: AsyncSession,
    new: NewTicket,
    *,
    actor_id: uuid.UUID | None = None,
    ticket_id: uuid.UUID | None = None,
    now: datetime | None = None,
    flush: bool = True,
) -> Ticket:
    """Write a checked new ticket: REPORTED at the GRID tier, its clocks started, its
    REPORTED event (whose actor is who filed it). ``flush``: False leaves both to the
    caller's flush."""
    now = now or utcnow()
    ticket = Ticket(
        id=ticket_id or uuid.uuid4(),
        number=await next_ticket_number(session, now),
        title=new.title,
        description=new.description,
        source=new.source,
        category=new.category,
        severity=new.severity,
        status=TicketStatus.REPORTED,
        enterprise_id=new.enterprise.id if new.enterprise else None,
        grid_id=new.grid_id,
        reporter_id=new.reporter_id,
        reporter_name=new.reporter_name,
        reporter_phone=new.reporter_phone,
        reported_at=new.reported_at or now,
    )
    await apply_deadlines(session, ticket, now=now)
    session.add(ticket)
    # One flush for the ticket and its first event (the unit of work inserts the ticket
    # first: the event's foreign key points at it).
    record_event(
        session,
        ticket,
        kind="REPORTED",
        actor_id=actor_id or new.reporter_id,
        after={"status": ticket.status.value, "tier": ticket.tier.value},
        at=now,
    )
    if flush:
        await session.flush()
    return ticket


async def report_ticket(
    session: AsyncSession,
    *,
    actor_id: uuid.UUID | None = None,
    ticket_id: uuid.UUID | None = None,
    now: datetime | None = None,
    **inputs: Any,
) -> Ticket:
    """A new ticket in REPORTED at the GRID tier, without a caller's scope (the demo, tests):
    ``inputs`` as for check_new_ticket."""
    new = await check_new_ticket(session, **inputs)
    return await add_reported_ticket(session, new, actor_id=actor_id, ticket_id=ticket_id, now=now)
