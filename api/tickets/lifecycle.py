"""The ticket lifecycle and layered mediation: who may move a ticket where, and what each move
records. One rule, two doors: GraphQL mutations and sync pushes both call these functions.

    REPORTED → ASSIGNED → IN_PROGRESS ⇄ WAITING_ON_WORKER / MEDIATING → RESOLVED → CLOSED
    RESOLVED/CLOSED → REOPENED → ASSIGNED / IN_PROGRESS;  any open state → WITHDRAWN

Tiers: GRID → TOWN → COUNTY_STATION → COURT_MEDIATION (up by escalation, down by
de-escalation). Every move writes a TicketEvent; assignments and escalations notify."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.scope import Scope
from api.errors import DomainError, forbidden, invalid, not_found
from api.grids.models import Grid
from api.grids.service import get_grid, town_of
from api.i18n import _
from api.members.models import Member, MemberGrid, Role
from api.members.service import members_serving, members_with_role
from api.notifications.models import NotificationKind
from api.notifications.service import notify
from api.records import utcnow
from api.row_locks import get_for_update
from api.tickets import fields
from api.tickets.deadlines import apply_deadlines, severity_changed
from api.tickets.models import (
    OPEN_STATUSES,
    Severity,
    Ticket,
    TicketComment,
    TicketEvent,
    TicketStatus,
    Tier,
)
from api.tickets.service import add_reported_ticket, check_new_ticket, record_event
from api.times import optional_with_offset

S = TicketStatus

TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    S.REPORTED: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.WITHDRAWN}),
    S.ASSIGNED: frozenset({S.IN_PROGRESS, S.WITHDRAWN}),
    S.IN_PROGRESS: frozenset({S.WAITING_ON_WORKER, S.MEDIATING, S.RESOLVED, S.WITHDRAWN}),
    S.WAITING_ON_WORKER: frozenset({S.IN_PROGRESS, S.MEDIATING, S.RESOLVED, S.WITHDRAWN}),
    S.MEDIATING: frozenset({S.IN_PROGRESS, S.WAITING_ON_WORKER, S.RESOLVED, S.WITHDRAWN}),
    S.RESOLVED: frozenset({S.CLOSED, S.REOPENED}),
    S.CLOSED: frozenset({S.REOPENED}),
    S.REOPENED: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.WITHDRAWN}),
    S.WITHDRAWN: frozenset(),
}

# How far along the lifecycle a status is: when a phone and the server both moved a ticket,
# the move further along wins (docs/sync-protocol.md).
STATUS_ORDER: dict[TicketStatus, int] = {
    S.REPORTED: 0,
    S.REOPENED: 1,
    S.ASSIGNED: 1,
    S.IN_PROGRESS: 2,
    S.WAITING_ON_WORKER: 3,
    S.MEDIATING: 3,
    S.RESOLVED: 4,
    S.CLOSED: 5,
    S.WITHDRAWN: 5,
}

TIERS: tuple[Tier, ...] = (Tier.GRID, Tier.TOWN, Tier.COUNTY_STATION, Tier.COURT_MEDIATION)

# The per-state timestamp each status sets when a ticket enters it.
STATE_TIMESTAMP: dict[TicketStatus, str] = {
    S.ASSIGNED: "assigned_at",
    S.IN_PROGRESS: "in_progress_at",
    S.WAITING_ON_WORKER: "waiting_since",
    S.MEDIATING: "mediating_at",
    S.RESOLVED: "resolved_at",
    S.CLOSED: "closed_at",
    S.REOPENED: "reopened_at",
    S.WITHDRAWN: "withdrawn_at",
}

# States in which someone is working the ticket: entering one counts as the first response.
WORKING = frozenset({S.IN_PROGRESS, S.WAITING_ON_WORKER, S.MEDIATING, S.RESOLVED})
EDITABLE_FIELDS = {
    "title": "title",
    "description": "description",
    "category": "category",
    "severity": "severity",
    "reporterName": "reporter_name",
    "reporterPhone": "reporter_phone",
}
MAX_COMMENT = 5_000

SYSTEM_SCOPE = Scope(member_id=None, roles=frozenset({Role.ADMIN}), everything=True)


# --- who may do what ---------------------------------------------------------------------


def _writable(scope: Scope) -> None:
    if scope.read_only:
        raise forbidden(_("this token is read-only"))


def can_dispatch_ticket(scope: Scope, ticket: Ticket) -> bool:
    """Town staff dispatch within their town, county staff and admins anywhere."""
    return scope.can_dispatch and scope.sees_grid(ticket.grid_id)


# How a caller stands to a ticket, each as alternatives of all-of facts (the fact names are
# FACTS below). With MOVES_BY_STANDING and TRANSITIONS this is the whole move rule: the server
# checks it and ticket_rules() hands it to phones, which evaluate it offline.
STANDINGS: dict[str, tuple[tuple[str, ...], ...]] = {
    # The assignee works its tickets; dispatchers work any in their scope.
    "WORKER": (("assignee",), ("dispatcher", "inGrid")),
    # The worker may withdraw a request, or reopen one it is not satisfied with.
    "REPORTER": (("reporter",),),
    # A liaison takes an unassigned ticket of its own grid (it becomes the assignee).
    "GRID_LIAISON": (("liaison", "inGrid", "unassigned"),),
}
MOVES_BY_STANDING: dict[str, frozenset[TicketStatus]] = {
    "WORKER": frozenset(S),
    "REPORTER": frozenset({S.WITHDRAWN, S.REOPENED}),
    "GRID_LIAISON": frozenset({S.IN_PROGRESS}),
}
# Moves that need something of the ticket beyond the caller's standing.
NEEDS_ASSIGNEE = frozenset({S.ASSIGNED})
NEEDS_NOTE = frozenset({S.RESOLVED, S.CLOSED})

FACTS: dict[str, Any] = {
    "assignee": lambda scope, t: scope.member_id is not None and t.assignee_id == scope.member_id,
    "reporter": lambda scope, t: scope.member_id is not None and t.reporter_id == scope.member_id,
    "dispatcher": lambda scope, t: scope.can_dispatch,
    "liaison": lambda scope, t: scope.has_role(Role.LIAISON),
    "inGrid": lambda scope, t: scope.sees_grid(t.grid_id),
    "unassigned": lambda scope, t: t.assignee_id is None,
}


def stands_as(scope: Scope, ticket: Ticket, standing: str) -> bool:
    return not scope.read_only and any(
        all(FACTS[fact](scope, ticket) for fact in facts) for facts in STANDINGS[standing]
    )


def can_work_ticket(scope: Scope, ticket: Ticket) -> bool:
    return stands_as(scope, ticket, "WORKER")


def _is_reporter(scope: Scope, ticket: Ticket) -> bool:
    return FACTS["reporter"](scope, ticket)


def granted_moves(scope: Scope, ticket: Ticket) -> frozenset[TicketStatus]:
    """The statuses the caller's standing lets it move this ticket to (any status)."""
    granted: set[TicketStatus] = set()
    for standing, moves in MOVES_BY_STANDING.items():
        if stands_as(scope, ticket, standing):
            granted |= moves
    return frozenset(granted)


def allowed_moves(scope: Scope, ticket: Ticket) -> list[TicketStatus]:
    """The moves the caller may make from the ticket's status now (a note may still be
    needed: NEEDS_NOTE), in lifecycle order."""
    granted = granted_moves(scope, ticket)
    return [
        to
        for to in sorted(TRANSITIONS[ticket.status], key=lambda s: (STATUS_ORDER[s], s.value))
        if to in granted and not (to in NEEDS_ASSIGNEE and ticket.assignee_id is None)
    ]


def ticket_rules(scope: Scope) -> dict[str, Any]:
    """The lifecycle as data for offline clients, with the caller's own facts: a phone
    computes allowed_moves() from this without a second copy of the rules."""
    return {
        "version": 1,
        "statuses": [s.value for s in sorted(S, key=lambda s: (STATUS_ORDER[s], s.value))],
        "open": sorted(s.value for s in OPEN_STATUSES),
        "transitions": {s.value: sorted(t.value for t in TRANSITIONS[s]) for s in S},
        "order": {s.value: STATUS_ORDER[s] for s in S},
        "standings": {name: [list(f) for f in alts] for name, alts in STANDINGS.items()},
        "movesByStanding": {
            name: sorted(m.value for m in ms) for name, ms in MOVES_BY_STANDING.items()
        },
        "needsAssignee": sorted(s.value for s in NEEDS_ASSIGNEE),
        "needsNote": sorted(s.value for s in NEEDS_NOTE),
        "caller": {
            "memberId": str(scope.member_id) if scope.member_id else None,
            "readOnly": scope.read_only,
            "dispatcher": scope.can_dispatch,
            "liaison": scope.has_role(Role.LIAISON),
            "allGrids": scope.everything,
            "gridIds": sorted(str(g) for g in scope.grid_ids),
        },
    }


async def filed_by(session: AsyncSession, ticket: Ticket) -> uuid.UUID | None:
    """Who put the ticket in (a liaison's phone, an officer): the REPORTED event's actor."""
    return await session.scalar(
        select(TicketEvent.actor_id).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "REPORTED"
        )
    )


async def is_own_new_ticket(session: AsyncSession, scope: Scope, ticket: Ticket) -> bool:
    """The caller filed it (or is the worker who reported it) and nobody has taken it up yet:
    it may still fix or withdraw its own report — also one made offline."""
    if scope.read_only or scope.member_id is None or ticket.status != S.REPORTED:
        return False
    return _is_reporter(scope, ticket) or await filed_by(session, ticket) == scope.member_id


async def may_edit_details(session: AsyncSession, scope: Scope, ticket: Ticket) -> bool:
    """THE rule for editing a ticket's details (both doors: updateTicket and sync)."""
    return can_work_ticket(scope, ticket) or await is_own_new_ticket(session, scope, ticket)


async def may_delete(session: AsyncSession, scope: Scope, ticket: Ticket) -> bool:
    """THE rule for deleting a ticket (docs/sync-protocol.md, tickets DELETE): union staff whose
    area holds it, or whoever filed it (the REPORTED event's actor) while it is still REPORTED.
    Unlike an edit, the worker it was reported for may not delete it: it withdraws instead."""
    if can_dispatch_ticket(scope, ticket):
        return True
    if scope.read_only or scope.member_id is None or ticket.status != S.REPORTED:
        return False
    return await filed_by(session, ticket) == scope.member_id


async def delete_ticket(
    session: AsyncSession, *, scope: Scope, ticket: Ticket, now: datetime
) -> Ticket:
    """Delete a ticket the caller sees; its comments and attachments go with it (the flush hook
    api/tickets/models.py:children_go_with_their_ticket)."""
    _writable(scope)
    if not await may_delete(session, scope, ticket):
        raise forbidden(
            _("only union staff, or whoever reported it while it is still REPORTED, may delete it")
        )
    ticket.deleted_at = now
    await session.flush()
    return ticket


async def get_visible_ticket(
    session: AsyncSession, scope: Scope, ticket_id: uuid.UUID, *, for_update: bool = False
) -> Ticket:
    """The ticket if the caller may see it; a foreign ticket answers as not found."""
    if for_update:
        ticket = await get_for_update(session, Ticket, ticket_id)
    else:
        ticket = await session.scalar(select(Ticket).where(Ticket.id == ticket_id))
    if ticket is None or ticket.deleted or not scope.sees(ticket):
        raise not_found("ticketId", _("the ticket"))
    return ticket


def check_transition(
    ticket: Ticket,
    to_status: TicketStatus,
    scope: Scope,
    *,
    resolution_note: str | None = None,
) -> None:
    """Refuse an illegal or unauthorised move with a reason a person can act on."""
    current = ticket.status
    if to_status == current:
        raise DomainError(
            "ILLEGAL_TRANSITION", _("the ticket is already {current}", current=current), "status"
        )
    if to_status not in TRANSITIONS[current]:
        onward = sorted(TRANSITIONS[current], key=lambda s: (STATUS_ORDER[s], s.value))
        allowed = onward or _("none (final)")
        raise DomainError(
            "ILLEGAL_TRANSITION",
            _(
                "a {current} ticket cannot move to {to_status}; it can move to: {allowed}",
                current=current,
                to_status=to_status,
                allowed=allowed,
            ),
            "status",
        )
    if to_status in NEEDS_ASSIGNEE and ticket.assignee_id is None:
        raise DomainError(
            "ILLEGAL_TRANSITION", _("assign the ticket to someone to make it ASSIGNED"), "status"
        )
    if to_status in NEEDS_NOTE:
        note = resolution_note if resolution_note is not None else ticket.resolution_note
        if not (note and note.strip()):
            raise invalid("resolutionNote", _("write a resolution note before closing a ticket"))
    if scope.read_only:
        raise forbidden(_("this token is read-only"), "status")
    if to_status in granted_moves(scope, ticket):
        return
    raise forbidden(
        _(
            "only the assignee or the town or county staff may move this ticket to {to_status}",
            to_status=to_status,
        ),
        "status",
    )


# --- moves -------------------------------------------------------------------------------


def enter_status(ticket: Ticket, to_status: TicketStatus, now: datetime) -> None:
    """Put a ticket into a status: its timestamp, the first response, paused clocks."""
    if ticket.status == S.WAITING_ON_WORKER and ticket.waiting_since is not None:
        # Deadline clocks stop while the ticket waits on the worker: push them back.
        paused = now - ticket.waiting_since
        ticket.paused_seconds += max(0, int(paused.total_seconds()))
        # Both move together with paused_seconds, so a deadline net of pauses never changes
        # (deadline alerts are keyed on it: a pause does not make a second warning).
        if ticket.first_response_due_at:
            ticket.first_response_due_at += paused
        if ticket.resolution_due_at:
            ticket.resolution_due_at += paused
        ticket.waiting_since = None
    ticket.status = to_status
    if to_status in STATE_TIMESTAMP:
        setattr(ticket, STATE_TIMESTAMP[to_status], now)
    if to_status in WORKING and ticket.first_responded_at is None:
        ticket.first_responded_at = now
    if to_status == S.REOPENED:
        ticket.resolved_at = ticket.closed_at = None


async def transition_ticket(
    session: AsyncSession,
    *,
    scope: Scope,
    ticket_id: uuid.UUID,
    to_status: TicketStatus,
    note: str | None = None,
    resolution_note: str | None = None,
    now: datetime | None = None,
) -> Ticket:
    now = now or utcnow()
    ticket = await get_visible_ticket(session, scope, ticket_id, for_update=True)
    check_transition(ticket, to_status, scope, resolution_note=resolution_note)
    before = {"status": ticket.status.value, "assigneeId": _str(ticket.assignee_id)}
    if resolution_note is not None and resolution_note.strip():
        ticket.resolution_note = resolution_note.strip()
    if to_status == S.IN_PROGRESS and ticket.assignee_id is None and scope.member_id:
        ticket.assignee_id = scope.member_id
        ticket.assigned_at = now
    enter_status(ticket, to_status, now)
    if to_status == S.REOPENED:
        await apply_deadlines(session, ticket, now=now)  # a reopened matter gets fresh clocks
    record_event(
        session,
        ticket,
        kind="STATUS",
        actor_id=scope.member_id,
        before=before,
        after={"status": to_status.value, "assigneeId": _str(ticket.assignee_id)},
        note=note or resolution_note,
        at=now,
    )
    await session.flush()
    return ticket


async def _check_assignee(session: AsyncSession, assignee_id: uuid.UUID, grid: Grid) -> Member:
    assignee = await session.get(Member, assignee_id)
    if assignee is None or assignee.deleted or not assignee.is_active:
        raise not_found("assigneeId", _("the assignee"))
    staff = {Role.ADMIN, Role.COUNTY_STAFF, Role.TOWN_STAFF}
    if assignee.has_role(*staff):
        return assignee
    if not assignee.has_role(Role.LIAISON):
        raise invalid("assigneeId", _("{name} is not a liaison or union staff", name=assignee.name))
    served = set(
        await session.scalars(select(MemberGrid.grid_id).where(MemberGrid.member_id == assignee.id))
    )
    # A liaison takes tickets of the grids it serves and of the grids above them.
    chain: set[uuid.UUID] = set()
    node: Grid | None = grid
    while node is not None:
        chain.add(node.id)
        node = await session.get(Grid, node.parent_id) if node.parent_id else None
    if served.isdisjoint(chain):
        raise invalid(
            "assigneeId",
            _("{name} is not a liaison of {name2}", name=assignee.name, name2=grid.name),
        )
    return assignee


async def assign_ticket(
    session: AsyncSession,
    *,
    scope: Scope,
    ticket_id: uuid.UUID,
    assignee_id: uuid.UUID,
    note: str | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Dispatch a ticket to a person (a liaison may also take one of its grid's tickets)."""
    now = now or utcnow()
    _writable(scope)
    ticket = await get_visible_ticket(session, scope, ticket_id, for_update=True)
    self_take = (
        assignee_id == scope.member_id
        and scope.has_role(Role.LIAISON)
        and scope.sees_grid(ticket.grid_id)
        and ticket.assignee_id is None
    )
    if not (can_dispatch_ticket(scope, ticket) or self_take):
        raise forbidden(_("only town or county staff may dispatch this ticket"), "assigneeId")
    if ticket.status not in OPEN_STATUSES:
        raise DomainError(
            "ILLEGAL_TRANSITION",
            _("a {status} ticket cannot be assigned; reopen it first", status=ticket.status),
            "assigneeId",
        )
    if ticket.assignee_id == assignee_id:
        raise invalid("assigneeId", _("the ticket is already assigned to this person"))
    grid = await get_grid(session, ticket.grid_id)
    assignee = await _check_assignee(session, assignee_id, grid)
    previous = ticket.assignee_id
    before = {"status": ticket.status.value, "assigneeId": _str(previous)}
    ticket.assignee_id = assignee.id
    ticket.assigned_at = now
    if ticket.status in {S.REPORTED, S.REOPENED}:
        enter_status(ticket, S.ASSIGNED, now)
    record_event(
        session,
        ticket,
        kind="ASSIGNED" if previous is None else "REASSIGNED",
        actor_id=scope.member_id,
        before=before,
        after={"status": ticket.status.value, "assigneeId": str(assignee.id)},
        note=note,
        at=now,
    )
    await _notify_assignment(session, ticket, assignee.id, previous, grid)
    await session.flush()
    return ticket


async def _notify_assignment(
    session: AsyncSession,
    ticket: Ticket,
    assignee_id: uuid.UUID | None,
    previous_id: uuid.UUID | None,
    grid: Grid,
    *,
    kind: NotificationKind = NotificationKind.ASSIGNED,
    reason: str | None = None,
) -> None:
    if assignee_id is not None and assignee_id != previous_id:
        await notify(
            session,
            recipient_id=assignee_id,
            kind=kind,
            title=f"{ticket.number}: {ticket.title}"[:200],
            body=reason
            or _(
                "{severity} · {source} · {grid}",
                severity=ticket.severity,
                source=ticket.source,
                grid=grid.name,
            ),
            ticket_id=ticket.id,
            enterprise_id=ticket.enterprise_id,
            grid_id=ticket.grid_id,
        )
    if previous_id is not None and previous_id != assignee_id:
        await notify(
            session,
            recipient_id=previous_id,
            kind=NotificationKind.REASSIGNED,
            title=_("{number} was handed to someone else", number=ticket.number),
            body=ticket.title,
            ticket_id=ticket.id,
            enterprise_id=ticket.enterprise_id,
            grid_id=ticket.grid_id,
        )


async def reassign_to_grid(
    session: AsyncSession,
    *,
    scope: Scope,
    ticket_id: uuid.UUID,
    grid_id: uuid.UUID,
    assignee_id: uuid.UUID | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Move a ticket to another grid (a dispatcher's decision). The old assignee loses it
    unless named again; an ASSIGNED ticket without a new assignee goes back to REPORTED."""
    now = now or utcnow()
    _writable(scope)
    ticket = await get_visible_ticket(session, scope, ticket_id, for_update=True)
    if not can_dispatch_ticket(scope, ticket):
        raise forbidden(_("only town or county staff may move a ticket to another grid"), "gridId")
    if not scope.sees_grid(grid_id):
        raise not_found("gridId", _("the grid"))
    if grid_id == ticket.grid_id:
        raise invalid("gridId", _("the ticket is already in this grid"))
    if ticket.status not in OPEN_STATUSES:
        raise DomainError(
            "ILLEGAL_TRANSITION",
            _("a {status} ticket cannot be moved", status=ticket.status),
            "gridId",
        )
    grid = await get_grid(session, grid_id)
    assignee = await _check_assignee(session, assignee_id, grid) if assignee_id else None
    previous = ticket.assignee_id
    before = {
        "gridId": str(ticket.grid_id),
        "assigneeId": _str(previous),
        "status": ticket.status.value,
    }
    ticket.grid_id = grid.id
    ticket.assignee_id = assignee.id if assignee else None
    if assignee is not None:
        ticket.assigned_at = now
    elif ticket.status == S.ASSIGNED:
        ticket.status = S.REPORTED
    # The new grid has not picked the matter up yet: its clocks start now, as at a new tier.
    await apply_deadlines(session, ticket, now=now)
    record_event(
        session,
        ticket,
        kind="MOVED",
        actor_id=scope.member_id,
        before=before,
        after={
            "gridId": str(grid.id),
            "assigneeId": _str(ticket.assignee_id),
            "status": ticket.status.value,
        },
        note=note,
        at=now,
    )
    await _notify_assignment(session, ticket, ticket.assignee_id, previous, grid)
    await session.flush()
    return ticket


async def tier_staff(session: AsyncSession, ticket: Ticket, tier: Tier) -> list[uuid.UUID]:
    """Who holds a tier's queue: town staff of the ticket's town, county staff above it."""
    if tier == Tier.GRID:
        return await members_serving(session, [ticket.grid_id], {Role.LIAISON})
    if tier == Tier.TOWN:
        town = town_of(await get_grid(session, ticket.grid_id))
        return await members_serving(session, [town], {Role.TOWN_STAFF})
    return (await members_with_role(session, Role.COUNTY_STAFF))[:20]


async def _change_tier(
    session: AsyncSession,
    *,
    scope: Scope,
    ticket_id: uuid.UUID,
    reason: str,
    assignee_id: uuid.UUID | None,
    step: int,
    now: datetime | None,
) -> Ticket:
    now = now or utcnow()
    _writable(scope)
    if not reason.strip():
        raise invalid("reason", _("say why the ticket changes tier"))
    ticket = await get_visible_ticket(session, scope, ticket_id, for_update=True)
    if ticket.status not in OPEN_STATUSES:
        raise DomainError(
            "ILLEGAL_TRANSITION",
            _("a {status} ticket cannot change tier; reopen it first", status=ticket.status),
            "tier",
        )
    index = TIERS.index(ticket.tier) + step
    if step > 0:
        if not can_work_ticket(scope, ticket):
            raise forbidden(_("only the assignee or union staff may escalate this ticket"), "tier")
        if index >= len(TIERS):
            raise DomainError(
                "ILLEGAL_TRANSITION",
                _("the ticket is already at court-linked mediation, the highest tier"),
                "tier",
            )
    else:
        if not can_dispatch_ticket(scope, ticket):
            raise forbidden(_("only union staff may send a ticket back to a lower tier"), "tier")
        if index < 0:
            raise DomainError(
                "ILLEGAL_TRANSITION",
                _("the ticket is already at the grid, the lowest tier"),
                "tier",
            )
    new_tier = TIERS[index]
    grid = await get_grid(session, ticket.grid_id)
    assignee = await _check_assignee(session, assignee_id, grid) if assignee_id else None
    previous = ticket.assignee_id
    before = {
        "tier": ticket.tier.value,
        "assigneeId": _str(previous),
        "status": ticket.status.value,
    }
    ticket.tier = new_tier
    # Handed to the new tier's queue: its own assignee if named, else whoever takes it there.
    ticket.assignee_id = assignee.id if assignee else None
    if assignee is not None:
        ticket.assigned_at = now
        if ticket.status in {S.REPORTED, S.REOPENED}:
            enter_status(ticket, S.ASSIGNED, now)
    elif ticket.status == S.ASSIGNED:
        ticket.status = S.REPORTED
    await apply_deadlines(session, ticket, now=now)  # the new tier's clocks start now
    record_event(
        session,
        ticket,
        kind="ESCALATED" if step > 0 else "DEESCALATED",
        actor_id=scope.member_id,
        before=before,
        after={
            "tier": new_tier.value,
            "assigneeId": _str(ticket.assignee_id),
            "status": ticket.status.value,
        },
        note=reason.strip(),
        at=now,
    )
    message = (
        _("escalated to {tier}: {reason}", tier=new_tier, reason=reason.strip())
        if step > 0
        else _("sent back to {tier}: {reason}", tier=new_tier, reason=reason.strip())
    )
    if assignee is not None:
        await _notify_assignment(
            session,
            ticket,
            assignee.id,
            previous,
            grid,
            kind=NotificationKind.ESCALATED,
            reason=message,
        )
    else:
        if previous is not None:
            await _notify_assignment(session, ticket, None, previous, grid)
        for member_id in await tier_staff(session, ticket, new_tier):
            await notify(
                session,
                recipient_id=member_id,
                kind=NotificationKind.ESCALATED,
                title=f"{ticket.number}: {ticket.title}"[:200],
                body=message,
                ticket_id=ticket.id,
                enterprise_id=ticket.enterprise_id,
                grid_id=ticket.grid_id,
            )
    await session.flush()
    return ticket


async def escalate_ticket(
    session: AsyncSession,
    *,
    scope: Scope,
    ticket_id: uuid.UUID,
    reason: str,
    assignee_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Up one tier: grid → town union → county mediation station → court-linked mediation."""
    return await _change_tier(
        session,
        scope=scope,
        ticket_id=ticket_id,
        reason=reason,
        assignee_id=assignee_id,
        step=1,
        now=now,
    )


async def deescalate_ticket(
    session: AsyncSession,
    *,
    scope: Scope,
    ticket_id: uuid.UUID,
    reason: str,
    assignee_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Back down one tier, e.g. when the town sends a settled matter back to the grid."""
    return await _change_tier(
        session,
        scope=scope,
        ticket_id=ticket_id,
        reason=reason,
        assignee_id=assignee_id,
        step=-1,
        now=now,
    )


async def rate_ticket(
    session: AsyncSession,
    *,
    scope: Scope,
    ticket_id: uuid.UUID,
    rating: int,
    comment: str | None = None,
    now: datetime | None = None,
) -> Ticket:
    """The worker's satisfaction, 1–5, after closure. The reporter rates for itself; a
    liaison or staff member may record the worker's rating on the worker's behalf (marked)."""
    now = now or utcnow()
    _writable(scope)
    ticket = await get_visible_ticket(session, scope, ticket_id, for_update=True)
    if ticket.status != S.CLOSED:
        raise DomainError(
            "ILLEGAL_TRANSITION", _("a ticket can be rated once it is closed"), "rating"
        )
    if ticket.satisfaction_rating is not None:
        raise invalid("rating", _("this ticket has already been rated"))
    if not 1 <= rating <= 5:
        raise invalid("rating", _("a rating is a whole number from 1 to 5"))
    if comment is not None and len(comment) > 1000:
        raise invalid("comment", _("a comment has at most 1000 characters"))
    on_behalf = not _is_reporter(scope, ticket)
    if on_behalf and not (
        can_work_ticket(scope, ticket)
        or (scope.has_role(Role.LIAISON) and scope.sees_grid(ticket.grid_id))
    ):
        raise forbidden(_("only the reporting worker or its liaison may record a rating"), "rating")
    ticket.satisfaction_rating = rating
    ticket.satisfaction_comment = comment.strip() if comment else None
    ticket.rated_by_id = scope.member_id
    ticket.rated_on_behalf = on_behalf
    ticket.rated_at = now
    record_event(
        session,
        ticket,
        kind="RATED",
        actor_id=scope.member_id,
        after={"rating": rating, "onBehalf": on_behalf},
        note=comment,
        at=now,
    )
    await session.flush()
    return ticket


async def create_ticket(
    session: AsyncSession,
    *,
    scope: Scope,
    ticket_id: uuid.UUID | None = None,
    id_is_new: bool = False,
    now: datetime | None = None,
    flush: bool = True,
    **inputs: Any,
) -> Ticket:
    """Report a ticket in the caller's scope: a liaison in its grids, staff in theirs, a
    member or chair for its own enterprise. ``inputs``: the keywords of
    api/tickets/service.py:check_new_ticket (title, source, gridId or enterprise, ...).
    ``id_is_new``: the caller has already checked that no record has ``ticket_id`` (sync
    push checks a whole batch's in one statement), so it is not asked again. ``flush``:
    False leaves the new ticket and its event to the caller's flush (sync push writes a
    run of new tickets in one)."""
    _writable(scope)
    if ticket_id is not None and not id_is_new and await session.get(Ticket, ticket_id) is not None:
        raise DomainError("DUPLICATE_ID", _("a ticket with this id already exists"), "id")
    new = await check_new_ticket(session, **inputs)
    own_enterprise = False
    if scope.member_id is not None and new.enterprise is not None:
        me = await session.get(Member, scope.member_id)
        own_enterprise = me is not None and me.enterprise_id == new.enterprise.id
    if not (scope.sees_grid(new.grid_id) or own_enterprise):
        raise not_found("gridId" if inputs.get("grid_id") else "enterpriseId", _("the grid"))
    reporter_id = inputs.get("reporter_id")
    await _check_reporter(session, scope, reporter_id)
    new.reporter_id = reporter_id or (scope.member_id if own_enterprise else None)
    return await add_reported_ticket(
        session, new, actor_id=scope.member_id, ticket_id=ticket_id, now=now, flush=flush
    )


async def _check_reporter(
    session: AsyncSession, scope: Scope, reporter_id: uuid.UUID | None
) -> None:
    """Only union staff name a reporter other than themselves, and only one they see (the
    reporter sees the ticket from then on)."""
    if reporter_id is None or reporter_id == scope.member_id:
        return
    if not scope.can_dispatch:
        raise forbidden(_("only union staff may name someone else as the reporter"), "reporterId")
    seen = await session.scalar(
        select(Member.id).where(
            Member.id == reporter_id, Member.deleted_at.is_(None), scope.visible(Member)
        )
    )
    if seen is None:
        raise not_found("reporterId", _("the member"))


async def update_ticket(
    session: AsyncSession,
    *,
    scope: Scope,
    ticket_id: uuid.UUID,
    changes: dict[str, Any],
    now: datetime | None = None,
    flush: bool = True,
) -> Ticket:
    """Edit a ticket's details (camelCase keys as clients send them). Status, assignee, grid
    and tier change through their own moves, never here. ``flush``: False leaves the change
    and its event to the caller's flush (sync push writes a run of edits in one)."""
    now = now or utcnow()
    _writable(scope)
    ticket = await get_visible_ticket(session, scope, ticket_id, for_update=True)
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise invalid(unknown[0], _("{unknown} cannot be changed this way", unknown=unknown[0]))
    if not await may_edit_details(session, scope, ticket):
        raise forbidden(
            _(
                "only the assignee, union staff, or whoever filed it while it is still REPORTED "
                "may edit this ticket"
            )
        )
    if ticket.status in {S.CLOSED, S.WITHDRAWN}:
        raise DomainError(
            "ILLEGAL_TRANSITION",
            _("a {status} ticket cannot be edited", status=ticket.status),
            None,
        )
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for key, value in changes.items():
        attr = EDITABLE_FIELDS[key]
        value = fields.BY_FIELD[key](value)
        old = getattr(ticket, attr)
        if old == value:
            continue
        before[key] = old.value if hasattr(old, "value") else old
        after[key] = value.value if hasattr(value, "value") else value
        setattr(ticket, attr, value)
    if "severity" in after:
        await severity_changed(session, ticket, Severity(before["severity"]))
    if after:
        record_event(
            session,
            ticket,
            kind="EDITED",
            actor_id=scope.member_id,
            before=before,
            after=after,
            at=now,
        )
        if flush:
            await session.flush()
    return ticket


async def add_comment(
    session: AsyncSession,
    *,
    scope: Scope,
    ticket_id: uuid.UUID,
    body: str,
    occurred_at: datetime | None = None,
    comment_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> TicketComment:
    """Append a remark; anyone who can see the ticket may comment (append-only)."""
    _writable(scope)
    ticket = await get_visible_ticket(session, scope, ticket_id)
    text = body.strip()
    if not text:
        raise invalid("body", _("a comment cannot be empty"))
    if len(text) > MAX_COMMENT:
        raise invalid(
            "body", _("a comment has at most {MAX_COMMENT} characters", MAX_COMMENT=MAX_COMMENT)
        )
    optional_with_offset(occurred_at, "occurredAt")
    if comment_id is not None and await session.get(TicketComment, comment_id) is not None:
        raise DomainError("DUPLICATE_ID", _("a comment with this id already exists"), "id")
    comment = TicketComment(
        id=comment_id or uuid.uuid4(),
        ticket_id=ticket.id,
        author_id=scope.member_id,
        body=text,
        occurred_at=occurred_at or now or utcnow(),
    )
    session.add(comment)
    await session.flush()
    return comment


def _str(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None
