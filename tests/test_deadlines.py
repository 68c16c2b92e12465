"""Time limits at their edges: policies, clocks, warnings and breaches recorded once, pauses,
automatic escalation, and two workers racing on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from api.config import Settings
from api.db import create_engine
from api.db import session_factory as make_session_factory
from api.i18n import ZH_CN, render
from api.notifications.models import Notification, NotificationKind
from api.records import utcnow
from api.tickets import lifecycle
from api.tickets.deadline_checks import check_deadlines
from api.tickets.deadline_models import AlertStage, DeadlineAlert, DeadlineKind, DeadlinePolicy
from api.tickets.deadlines import (
    DEFAULT_POLICIES,
    PolicyBook,
    ensure_default_policies,
    is_overdue,
)
from api.tickets.models import Severity, Ticket, TicketEvent, TicketSource, TicketStatus, Tier
from tests.factories import TownWorld, town_world

S = TicketStatus
H = timedelta(hours=1)
T0 = datetime.fromisoformat("2026-03-02T00:00:00+00:00")


@pytest.fixture
async def world(session_factory) -> TownWorld:
    async with session_factory() as session, session.begin():
        return await town_world(session)


async def _do(session_factory, fn, **kwargs):
    async with session_factory() as session, session.begin():
        return await fn(session, **kwargs)


async def _move(session_factory, scope, ticket_id, to_status, at, note=None) -> Ticket:
    return await _do(
        session_factory,
        lifecycle.transition_ticket,
        scope=scope,
        ticket_id=ticket_id,
        to_status=to_status,
        resolution_note=note,
        now=at,
    )


async def _ticket(
    session_factory,
    world: TownWorld,
    *,
    source: TicketSource = TicketSource.RISK_HAZARD,
    severity: Severity = Severity.CRITICAL,
    at: datetime = T0,
) -> Ticket:
    return await _do(
        session_factory,
        lifecycle.create_ticket,
        scope=world.liaison,
        title="Dormitory fire exit blocked",
        source=source,
        severity=severity,
        category="SAFETY",
        enterprise_id=world.enterprise.id,
        now=at,
    )


async def _alerts(session_factory) -> list[tuple[str, str]]:
    async with session_factory() as session:
        rows = await session.execute(
            select(DeadlineAlert.kind, DeadlineAlert.stage).order_by(DeadlineAlert.fired_at)
        )
        return [(k.value, s.value) for k, s in rows]


async def _notified(session_factory, kind: NotificationKind) -> list:
    async with session_factory() as session:
        return list(
            await session.scalars(
                select(Notification.recipient_id).where(Notification.kind == kind)
            )
        )


# --- policies ------------------------------------------------------------------------------


def test_default_table_and_source_refinement() -> None:
    book = PolicyBook()
    hazard = book.lookup(Tier.GRID, Severity.CRITICAL, TicketSource.RISK_HAZARD)
    assert (hazard.first_response, hazard.resolution) == (2 * H, 24 * H)
    direct = book.lookup(Tier.GRID, Severity.CRITICAL, TicketSource.DIRECT_REPORT)
    assert direct == hazard
    request = book.lookup(Tier.GRID, Severity.CRITICAL, TicketSource.WORKER_REQUEST)
    assert (request.first_response, request.resolution) == (4 * H, 48 * H)
    low = book.lookup(Tier.GRID, Severity.LOW, TicketSource.WORKER_REQUEST)
    assert (low.first_response, low.resolution) == (timedelta(days=3), timedelta(days=30))
    assert low.warning_lead(DeadlineKind.RESOLUTION) == timedelta(days=7.5)
    # Every tier and severity has a row for any source; the lower tiers escalate by themselves.
    for tier in Tier:
        for severity in Severity:
            policy = book.lookup(tier, severity, "ANY")
            assert policy.first_response < policy.resolution
            assert policy.auto_escalate == (tier in {Tier.GRID, Tier.TOWN})


def test_the_documented_table_is_the_default_table() -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "rules.md").read_text()
    units = {"h": H, "d": timedelta(days=1)}

    def span(words: str) -> tuple[timedelta, timedelta]:
        first, resolution = (w.split() for w in words.split(" / "))
        return (int(first[0]) * units[first[1]], int(resolution[0]) * units[resolution[1]])

    rows = [line.split(" | ") for line in text.splitlines() if line.startswith("| GRID |")]
    rows += [
        line.split(" | ")
        for line in text.splitlines()
        if line.startswith(("| TOWN |", "| COUNTY_STATION |", "| COURT_MEDIATION |"))
    ]
    assert len(rows) == 16
    book = PolicyBook()
    for tier, severity, any_source, hazard, auto in rows:
        tier, severity = Tier(tier.strip("| ")), Severity(severity)
        policy = book.lookup(tier, severity, "ANY")
        assert span(any_source) == (policy.first_response, policy.resolution)
        risky = book.lookup(tier, severity, TicketSource.RISK_HAZARD)
        assert (hazard == "same") == (risky == policy)
        if hazard != "same":
            assert span(hazard) == (risky.first_response, risky.resolution)
        assert (auto.strip(" |") == "yes") == policy.auto_escalate


async def test_the_table_is_written_once_and_overrides_the_defaults(session_factory) -> None:
    async with session_factory() as session, session.begin():
        assert await ensure_default_policies(session) == len(DEFAULT_POLICIES)
    async with session_factory() as session, session.begin():
        assert await ensure_default_policies(session) == 0
        row = await session.scalar(
            select(DeadlinePolicy).where(
                DeadlinePolicy.tier == Tier.GRID,
                DeadlinePolicy.severity == Severity.LOW,
                DeadlinePolicy.source == "ANY",
            )
        )
        row.first_response_seconds = 3600
    async with session_factory() as session:
        from api.tickets.deadlines import load_policies

        book = await load_policies(session)
    assert book.lookup(Tier.GRID, Severity.LOW, TicketSource.HOTLINE_12351).first_response == H


# --- clocks ------------------------------------------------------------------------------


async def test_creation_escalation_and_reopening_start_the_clocks(session_factory, world) -> None:
    ticket = await _ticket(session_factory, world)
    assert ticket.first_response_due_at == T0 + 2 * H
    assert ticket.resolution_due_at == T0 + 24 * H

    later = T0 + 5 * H
    escalated = await _do(
        session_factory,
        lifecycle.escalate_ticket,
        scope=world.town_staff,
        ticket_id=ticket.id,
        reason="the grid cannot open the exit",
        now=later,
    )
    # Critical hazard at the town tier: 2 h / 48 h from the escalation.
    assert escalated.first_response_due_at == later + 2 * H
    assert escalated.resolution_due_at == later + 48 * H

    for status, at in [(S.IN_PROGRESS, 6), (S.RESOLVED, 7), (S.CLOSED, 8), (S.REOPENED, 30)]:
        reopened = await _move(
            session_factory, world.town_staff, ticket.id, status, T0 + at * H, note="exit cleared"
        )
    assert reopened.resolution_due_at == T0 + 30 * H + 48 * H


async def test_raising_the_severity_keeps_the_start(session_factory, world) -> None:
    ticket = await _ticket(session_factory, world, severity=Severity.MEDIUM)
    assert ticket.resolution_due_at == T0 + timedelta(days=10)
    raised = await _do(
        session_factory,
        lifecycle.update_ticket,
        scope=world.town_staff,
        ticket_id=ticket.id,
        changes={"severity": "CRITICAL"},
        now=T0 + H,
    )
    assert raised.first_response_due_at == T0 + 2 * H
    assert raised.resolution_due_at == T0 + 24 * H


# --- warnings and breaches ---------------------------------------------------------------


async def test_warning_and_breach_at_their_edges_once_each(session_factory, world) -> None:
    ticket = await _ticket(session_factory, world)
    warn_at = T0 + 2 * H - 30 * timedelta(minutes=1)  # 25 % of 2 h before the deadline

    assert await check_deadlines(session_factory, warn_at - timedelta(seconds=1)) == 0
    assert await check_deadlines(session_factory, warn_at) == 1
    assert await check_deadlines(session_factory, warn_at) == 0  # a re-run records nothing
    assert await check_deadlines(session_factory, T0 + 2 * H - timedelta(seconds=1)) == 0
    assert await _alerts(session_factory) == [("FIRST_RESPONSE", "WARNING")]
    # No assignee: the grid's liaison hears of the warning.
    assert await _notified(session_factory, NotificationKind.DEADLINE_WARNING) == [
        world.liaison.member_id
    ]

    assert await check_deadlines(session_factory, T0 + 2 * H) == 1  # exactly at the deadline
    assert await check_deadlines(session_factory, T0 + 3 * H) == 0
    assert await _alerts(session_factory) == [
        ("FIRST_RESPONSE", "WARNING"),
        ("FIRST_RESPONSE", "BREACH"),
    ]
    # A breach also tells the town staff.
    assert sorted(await _notified(session_factory, NotificationKind.DEADLINE_BREACH)) == sorted(
        [world.liaison.member_id, world.town_staff.member_id]
    )
    async with session_factory() as session:
        still = await session.get(Ticket, ticket.id)
        assert still.tier == Tier.GRID  # a first-response breach does not escalate
        assert is_overdue(still, T0 + 3 * H)


async def test_taking_the_ticket_meets_the_first_response(session_factory, world) -> None:
    ticket = await _ticket(session_factory, world)
    await _move(session_factory, world.liaison, ticket.id, S.IN_PROGRESS, T0 + H)
    assert await check_deadlines(session_factory, T0 + 3 * H) == 0
    # The resolution clock still runs: warned 6 h before 24 h, to the assignee only.
    assert await check_deadlines(session_factory, T0 + 18 * H) == 1
    assert await _alerts(session_factory) == [("RESOLUTION", "WARNING")]
    assert await _notified(session_factory, NotificationKind.DEADLINE_WARNING) == [
        world.liaison.member_id
    ]


async def test_resolution_breach_escalates_once(session_factory, world) -> None:
    ticket = await _ticket(session_factory, world)
    await _move(session_factory, world.liaison, ticket.id, S.IN_PROGRESS, T0 + H)
    breach = T0 + 24 * H
    assert await check_deadlines(session_factory, breach - timedelta(seconds=1)) == 1  # warning
    assert await check_deadlines(session_factory, breach) == 1
    assert await check_deadlines(session_factory, breach) == 0
    assert await check_deadlines(session_factory, breach + H) == 0
    async with session_factory() as session:
        moved = await session.get(Ticket, ticket.id)
        assert moved.tier == Tier.TOWN
        assert moved.assignee_id is None  # handed to the town's queue
        assert moved.resolution_due_at == breach + 48 * H
        events = list(
            await session.scalars(
                select(TicketEvent).where(
                    TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "ESCALATED"
                )
            )
        )
        assert len(events) == 1
        assert events[0].actor_id is None  # the system
        # The reason says which deadline of which tier (a message, Chinese by default).
        assert render(Tier.GRID, ZH_CN) in events[0].note
        alert = await session.scalar(
            select(DeadlineAlert).where(DeadlineAlert.stage == AlertStage.BREACH)
        )
        assert alert.escalated and alert.tier == Tier.GRID
    escalated_to = await _notified(session_factory, NotificationKind.ESCALATED)
    assert escalated_to == [world.town_staff.member_id]
    # At the town tier nobody has taken it: the town's first-response clock runs (2 h).
    assert await check_deadlines(session_factory, breach + 2 * H) == 1
    assert (await _alerts(session_factory))[-1] == ("FIRST_RESPONSE", "BREACH")


async def test_no_automatic_escalation_when_the_policy_says_no(session_factory, world) -> None:
    async with session_factory() as session, session.begin():
        session.add(
            DeadlinePolicy(
                tier=Tier.GRID,
                severity=Severity.LOW,
                source="ANY",
                first_response_seconds=3600,
                resolution_seconds=7200,
                warning_percent=50,
                auto_escalate=False,
            )
        )
    ticket = await _ticket(
        session_factory, world, source=TicketSource.WORKER_REQUEST, severity=Severity.LOW
    )
    assert ticket.resolution_due_at == T0 + 2 * H
    assert await check_deadlines(session_factory, T0 + H / 2) == 1  # first response at 50 %
    assert await check_deadlines(session_factory, T0 + 2 * H) == 2  # both breached at once
    async with session_factory() as session:
        assert (await session.get(Ticket, ticket.id)).tier == Tier.GRID
        assert not any(a.escalated for a in await session.scalars(select(DeadlineAlert)))


async def test_waiting_on_the_worker_pauses_without_a_second_warning(
    session_factory, world
) -> None:
    ticket = await _ticket(session_factory, world)
    for status, at in [(S.IN_PROGRESS, T0 + H), (S.WAITING_ON_WORKER, T0 + 19 * H)]:
        await _move(session_factory, world.liaison, ticket.id, status, at)
    # Waiting since 19 h (never checked before): nothing fires, even long past the deadline.
    assert await check_deadlines(session_factory, T0 + 40 * H) == 0
    async with session_factory() as session:
        assert not is_overdue(await session.get(Ticket, ticket.id), T0 + 40 * H)
    resumed = await _move(session_factory, world.liaison, ticket.id, S.IN_PROGRESS, T0 + 41 * H)
    assert resumed.resolution_due_at == T0 + 24 * H + 22 * H
    assert resumed.paused_seconds == 22 * 3600
    assert await check_deadlines(session_factory, T0 + 41 * H) == 1  # inside the warning lead
    assert await check_deadlines(session_factory, T0 + 46 * H - timedelta(seconds=1)) == 0
    assert await check_deadlines(session_factory, T0 + 46 * H) == 1
    assert await _alerts(session_factory) == [("RESOLUTION", "WARNING"), ("RESOLUTION", "BREACH")]


async def test_a_pause_after_the_warning_does_not_warn_again(session_factory, world) -> None:
    ticket = await _ticket(session_factory, world)
    await _move(session_factory, world.liaison, ticket.id, S.IN_PROGRESS, T0 + H)
    assert await check_deadlines(session_factory, T0 + 18 * H) == 1
    for status, at in [(S.WAITING_ON_WORKER, 19), (S.IN_PROGRESS, 25)]:
        await _move(session_factory, world.liaison, ticket.id, status, T0 + at * H)
    # The deadline moved to 30 h and the check is inside its warning lead again: same deadline.
    assert await check_deadlines(session_factory, T0 + 25 * H) == 0
    assert await check_deadlines(session_factory, T0 + 30 * H) == 1
    assert await _alerts(session_factory) == [("RESOLUTION", "WARNING"), ("RESOLUTION", "BREACH")]


async def test_finished_tickets_never_alert(session_factory, world) -> None:
    moves = {
        S.RESOLVED: [S.IN_PROGRESS, S.RESOLVED],
        S.CLOSED: [S.IN_PROGRESS, S.RESOLVED, S.CLOSED],
        S.WITHDRAWN: [S.WITHDRAWN],
    }
    for path in moves.values():
        ticket = await _ticket(session_factory, world)
        for status in path:
            await _move(
                session_factory,
                world.town_staff,
                ticket.id,
                status,
                T0 + H,
                note="settled with the employer",
            )
    assert await check_deadlines(session_factory, T0 + 100 * H) == 0
    assert await _alerts(session_factory) == []


# --- two workers -------------------------------------------------------------------------


@pytest.mark.postgres_only
async def test_two_workers_racing_act_once_per_ticket(
    session_factory, world, settings: Settings
) -> None:
    tickets = [await _ticket(session_factory, world, at=T0) for _ in range(24)]
    for ticket in tickets:
        await _move(session_factory, world.liaison, ticket.id, S.IN_PROGRESS, T0 + H)
    engines = [create_engine(settings) for _ in range(2)]
    try:
        workers: list[async_sessionmaker] = [make_session_factory(e) for e in engines]
        recorded = []
        for _ in range(3):  # three rounds of two workers at once, at the breach
            recorded += await asyncio.gather(
                *(check_deadlines(w, T0 + 24 * H, batch_size=4) for w in workers)
            )
    finally:
        for engine in engines:
            await engine.dispose()
    async with session_factory() as session:
        alerts = await session.scalar(select(func.count()).select_from(DeadlineAlert))
        escalations = await session.scalar(
            select(func.count()).select_from(TicketEvent).where(TicketEvent.kind == "ESCALATED")
        )
        notes = await session.execute(
            select(Notification.recipient_id, Notification.ticket_id, Notification.kind)
        )
        notes = list(notes)
        tiers = set(await session.scalars(select(Ticket.tier)))
    assert alerts == 24  # one resolution breach per ticket (the warning came too late to send)
    assert sum(recorded) == 24  # each counted by the one worker that recorded it
    assert escalations == 24
    assert tiers == {Tier.TOWN}
    assert len(notes) == len(set(notes))  # nobody told twice of the same thing
    breach_notes = [n for n in notes if n.kind == NotificationKind.DEADLINE_BREACH]
    assert len(breach_notes) == 24 * 2  # the assignee and the town staff


async def test_now_defaults_to_the_clock(session_factory, world) -> None:
    await _ticket(session_factory, world, at=utcnow() - timedelta(days=3))
    assert await check_deadlines(session_factory) == 2  # both deadlines long missed


async def test_policies_read_once_per_transaction_follow_a_change_in_it(session_factory) -> None:
    """load_policies keeps what it read for the transaction (a push of many tickets reads
    the table once) and forgets it when a policy is written in the same transaction."""
    from api.tickets.deadlines import load_policies

    key = (Tier.GRID, Severity.LOW, TicketSource.WORKER_REQUEST)
    async with session_factory() as session, session.begin():
        first = await load_policies(session)
        assert await load_policies(session) is first
        session.add(
            DeadlinePolicy(
                tier=Tier.GRID,
                severity=Severity.LOW,
                source="ANY",
                first_response_seconds=60,
                resolution_seconds=120,
                warning_percent=50,
                auto_escalate=False,
            )
        )
        await session.flush()
        changed = await load_policies(session)
        assert changed is not first
        assert changed.lookup(*key).resolution == timedelta(seconds=120)
        with pytest.raises(LookupError):
            async with session.begin_nested():
                policy = await session.scalar(select(DeadlinePolicy))
                policy.resolution_seconds = 240
                await session.flush()
                assert (await load_policies(session)).lookup(*key).resolution.seconds == 240
                raise LookupError("roll the savepoint back")
        # The rolled-back value is not kept.
        assert (await load_policies(session)).lookup(*key).resolution.seconds == 120
    async with session_factory() as session:
        book = await load_policies(session)
        assert book.lookup(*key).resolution == timedelta(seconds=120)
