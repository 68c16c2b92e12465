"""The demo's tickets: 53 worker requests closed over two years (everyone satisfied), and the
open tickets of the last weeks — every source, status, tier and severity.

Every move goes through api.tickets.lifecycle, as the person who made it, with notifications
muted: nobody is told today of last year's work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from api.auth.scope import Scope
from api.demo.builder import Build
from api.demo.records import OpenTicket, WorkerRequest, tickets
from api.enterprises.models import Enterprise
from api.grids.models import Grid
from api.members.models import Member, Role
from api.notifications.service import notifications_muted
from api.tickets.lifecycle import (
    SYSTEM_SCOPE,
    TIERS,
    assign_ticket,
    create_ticket,
    escalate_ticket,
    rate_ticket,
    transition_ticket,
)
from api.tickets.models import Severity, Ticket, TicketComment, TicketSource, TicketStatus, Tier

S = TicketStatus
# The moves after the ticket is taken (and escalated) that lead to each further status.
LAST_MOVES: dict[TicketStatus, tuple[TicketStatus, ...]] = {
    S.WAITING_ON_WORKER: (S.WAITING_ON_WORKER,),
    S.MEDIATING: (S.MEDIATING,),
    S.RESOLVED: (S.RESOLVED,),
    S.REOPENED: (S.RESOLVED, S.CLOSED, S.REOPENED),
    S.WITHDRAWN: (S.WITHDRAWN,),
}


@dataclass(frozen=True)
class _ClosedPlan:
    request: WorkerRequest
    enterprise: Enterprise
    severity: Severity
    tier: Tier
    rating: int
    comment: str | None


def as_person(member: Member | None) -> Scope:
    """The lifecycle's authority, acting as the named person: the events carry who did it.
    (The demo replays a history it knows to be allowed; it does not re-ask each role.)"""
    if member is None:
        return SYSTEM_SCOPE
    return Scope(member_id=member.id, roles=frozenset({Role.ADMIN}), everything=True)


class _Tickets:
    def __init__(self, build: Build) -> None:
        self.build = build
        self.session = build.session
        self.record = tickets()

    def handler(self, tier: Tier, grid: Grid) -> Member:
        """Who works a ticket at a tier: the grid's liaison, the town union, the county."""
        build = self.build
        if tier == Tier.GRID:
            return build.liaison.get(grid.id) or build.town_staff[grid.town_id or grid.id]
        if tier == Tier.TOWN:
            return build.town_staff[grid.town_id or grid.id]
        return build.accounts[Role.COUNTY_STAFF]

    async def assign(self, ticket: Ticket, at: datetime, actor: Member, to: Member) -> None:
        await assign_ticket(
            self.session, scope=as_person(actor), ticket_id=ticket.id, assignee_id=to.id, now=at
        )

    async def move(
        self,
        ticket: Ticket,
        at: datetime,
        actor: Member,
        status: TicketStatus,
        note: str | None = None,
        resolution: str | None = None,
    ) -> None:
        await transition_ticket(
            self.session,
            scope=as_person(actor),
            ticket_id=ticket.id,
            to_status=status,
            note=note,
            resolution_note=resolution,
            now=at,
        )

    async def escalate(self, ticket: Ticket, at: datetime, actor: Member, to: Member) -> None:
        tier = TIERS[TIERS.index(ticket.tier) + 1]
        await escalate_ticket(
            self.session,
            scope=as_person(actor),
            ticket_id=ticket.id,
            reason=self.record.escalation_notes[tier],
            assignee_id=to.id,
            now=at,
        )

    async def report(
        self,
        *,
        title: str,
        description: str,
        source: TicketSource,
        category: str,
        severity: Severity,
        grid: Grid,
        enterprise: Enterprise | None,
        reported_at: datetime,
    ) -> Ticket:
        build = self.build
        reporter: Member | None = None
        reporter_name = reporter_phone = None
        if source == TicketSource.RISK_HAZARD:
            reporter = build.liaison.get(grid.id) or build.town_staff[grid.town_id or grid.id]
        elif source == TicketSource.DIRECT_REPORT and enterprise is not None:
            reporter = build.chair.get(enterprise.id)
        else:
            reporter_name, reporter_phone = build.name(), build.phone()
        # The hotline is answered at the county union, which records the call.
        actor = build.county_staff[-1] if source == TicketSource.HOTLINE_12351 else None
        return await create_ticket(
            self.session,
            scope=as_person(actor),
            title=title,
            description=description,
            source=source,
            category=category,
            severity=severity,
            grid_id=grid.id,
            enterprise_id=enterprise.id if enterprise else None,
            reporter_id=reporter.id if reporter else None,
            reporter_name=reporter_name,
            reporter_phone=reporter_phone,
            reported_at=reported_at,
            # Numbered in the year it was reported (SY-2025-000012), not the year loaded.
            now=reported_at,
        )

    def closed_plan(self) -> list[tuple[datetime, _ClosedPlan]]:
        """The article's 53 worker requests closed over the last two years, all satisfied."""
        build, rng, clock = self.build, self.build.rng, self.build.clock
        plans = []
        requests = list(self.record.worker_requests)
        rng.shuffle(requests)
        for i in range(self.record.closed_requests):
            enterprise = rng.choice(build.sheyang)
            # Most are settled in the grid; some go to the town union, a few to the county.
            roll = rng.random()
            tier = Tier.COUNTY_STATION if roll < 0.05 else Tier.TOWN if roll < 0.2 else Tier.GRID
            at = build.local(clock.uniform(45, 730), clock.randint(8, 17), clock.randrange(60))
            plan = _ClosedPlan(
                request=requests[i % len(requests)],
                enterprise=enterprise,
                severity=rng.choices((Severity.LOW, Severity.MEDIUM, Severity.HIGH), (3, 5, 2))[0],
                tier=tier,
                rating=5 if rng.random() < 0.75 else 4,
                comment=rng.choice(self.record.rating_comments),
            )
            plans.append((at, plan))
        return plans

    async def closed(self, plan: _ClosedPlan, reported: datetime) -> None:
        build, clock, enterprise = self.build, self.build.clock, plan.enterprise
        grid = build.grid_of[enterprise.id]
        town_staff = build.town_staff[enterprise.town_id]
        liaison = self.handler(Tier.GRID, grid)
        ticket = await self.report(
            title=plan.request.title,
            description=plan.request.description,
            source=TicketSource.WORKER_REQUEST,
            category=plan.request.category,
            severity=plan.severity,
            grid=grid,
            enterprise=enterprise,
            reported_at=reported,
        )
        at = reported + timedelta(hours=clock.uniform(0.5, 6))
        await self.assign(ticket, at, town_staff, liaison)
        at += timedelta(hours=clock.uniform(0.5, 20))
        await self.move(ticket, at, liaison, S.IN_PROGRESS)
        handler = liaison
        for tier in TIERS[1 : TIERS.index(plan.tier) + 1]:
            at += timedelta(days=clock.uniform(1, 4))
            next_handler = self.handler(tier, grid)
            await self.escalate(ticket, at, handler, next_handler)
            handler = next_handler
            if ticket.status != S.MEDIATING:
                at += timedelta(hours=clock.uniform(2, 24))
                await self.move(ticket, at, handler, S.MEDIATING, self.record.mediation_note)
        at += timedelta(days=clock.uniform(1, 9))
        note = plan.request.resolution
        if build.area_of[enterprise.id].startswith("SY-T15"):
            note += self.record.settled_at.format(centre=self.record.port_service_centre)
        await self.move(ticket, at, handler, S.RESOLVED, resolution=note)
        at += timedelta(days=clock.uniform(0.5, 3))
        await self.move(ticket, at, handler, S.CLOSED)
        # Rated after closing, by phone: the liaison records it on the worker's behalf.
        at += timedelta(minutes=clock.uniform(5, 120))
        await rate_ticket(
            self.session,
            scope=as_person(liaison),
            ticket_id=ticket.id,
            rating=plan.rating,
            comment=plan.comment,
            now=at,
        )

    async def open(self, spec: OpenTicket, reported: datetime) -> None:
        build = self.build
        enterprise: Enterprise | None = None
        match spec.target:
            case ("joint", area, industry):
                grid = build.joint[(area, industry)]
                enterprise = build.rng.choice(build.by_grid[grid.id])
            case ("big", name):
                enterprise = build.big[name]
                grid = build.grid_of[enterprise.id]
            case ("town", code):
                grid = build.grids[code]
            case _:
                raise ValueError(f"unknown ticket target {spec.target}")
        ticket = await self.report(
            title=spec.title,
            description=spec.description,
            source=spec.source,
            category=spec.category,
            severity=spec.severity,
            grid=grid,
            enterprise=enterprise,
            reported_at=reported,
        )
        if spec.status == S.REPORTED:
            return
        # The moves that lead to the wanted state, spread between the report and now.
        escalations = TIERS.index(spec.tier)
        worked = spec.status not in {S.ASSIGNED, S.WITHDRAWN}
        last_moves = LAST_MOVES.get(spec.status, ())
        span = (build.now - timedelta(minutes=20)) - reported
        moves = 1 + escalations + worked + len(last_moves)
        # Dispatched soon after the report; the later moves anywhere up to now.
        shares = [build.clock.uniform(0.01, 0.1)]
        shares += sorted(build.clock.uniform(0.15, 1) for _ in range(moves - 1))
        times = iter(reported + span * share for share in shares)
        handler = self.handler(Tier.GRID, grid)
        await self.assign(ticket, next(times), build.town_staff[grid.town_id or grid.id], handler)
        if worked:
            await self.move(ticket, next(times), handler, S.IN_PROGRESS)
        for tier in TIERS[1 : escalations + 1]:
            next_handler = self.handler(tier, grid)
            await self.escalate(ticket, next(times), handler, next_handler)
            handler = next_handler
        for status in last_moves:
            if status == S.MEDIATING:
                await self.move(ticket, next(times), handler, status, self.record.mediation_note)
            elif status == S.RESOLVED:
                await self.move(ticket, next(times), handler, status, resolution=spec.comment)
            else:
                await self.move(ticket, next(times), handler, status, spec.comment)
        if spec.comment:
            self.session.add(
                TicketComment(
                    ticket_id=ticket.id,
                    author_id=handler.id,
                    body=spec.comment,
                    occurred_at=build.now - timedelta(minutes=build.clock.uniform(5, 15)),
                )
            )


async def build_tickets(build: Build) -> None:
    """Reported in time order so that the human numbers rise with the dates."""
    work = _Tickets(build)
    jobs: list[tuple[datetime, int, _ClosedPlan | OpenTicket]] = []
    jobs += [(at, 0, plan) for at, plan in work.closed_plan()]
    for spec in work.record.open_tickets:
        at = build.now - timedelta(hours=spec.age_hours)
        jobs.append((at.replace(second=0, microsecond=0), 1, spec))
    jobs.sort(key=lambda job: job[0])
    with notifications_muted():
        for _at, _kind, plan in jobs:
            if isinstance(plan, OpenTicket):
                await work.open(plan, _at)
            else:
                await work.closed(plan, _at)
    await build.session.flush()
