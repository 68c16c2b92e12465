"""The early warning at its edges: each threshold, the reasons, repeated requests and recent
hazards inside and outside their windows, grids, and the notification once per rise."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from api.config import Settings
from api.db import create_engine
from api.db import session_factory as make_session_factory
from api.i18n import EN, ZH_CN, Message, use_language
from api.notifications.models import Notification, NotificationKind
from api.tickets import lifecycle
from api.tickets.models import Severity, TicketSource, TicketStatus, Tier
from api.warnings.models import RiskLevel, RiskLevelRecord, RiskSubject
from api.warnings.rules import DEFAULT_RULES, TicketFacts, assess, level_for
from api.warnings.service import (
    refresh_all_risk_levels,
    refresh_risk_after_change,
    refresh_risk_levels,
    risk_for_enterprise,
    risk_for_grid,
    riskiest_enterprises,
    stored_risk_levels,
)
from tests.factories import TownWorld, town_world

NOW = datetime.fromisoformat("2026-06-01T00:00:00+00:00")
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
ENTERPRISE = uuid.uuid4()
GRID = uuid.uuid4()
S = TicketStatus


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """The reasons' wording is checked in English (the Chinese: tests/test_i18n.py)."""
    with use_language(EN):
        yield


def rise(name: str, level: RiskLevel) -> str:
    """A rise notification's title, as its recipient (Chinese by default) reads it."""
    return Message("{name} is now {level}", None, name=name, level=level).render(ZH_CN)


def fact(
    *,
    source: TicketSource = TicketSource.WORKER_REQUEST,
    severity: Severity = Severity.LOW,
    category: str = "OTHER",
    status: TicketStatus = S.IN_PROGRESS,
    reported_at: datetime = NOW - 200 * DAY,
    resolution_due_at: datetime | None = None,
    enterprise_id: uuid.UUID | None = ENTERPRISE,
) -> TicketFacts:
    return TicketFacts(
        id=uuid.uuid4(),
        enterprise_id=enterprise_id,
        grid_id=GRID,
        source=source,
        severity=severity,
        category=category,
        status=status,
        tier=Tier.GRID,
        assignee_id=uuid.uuid4(),
        first_response_due_at=None,
        resolution_due_at=resolution_due_at,
        paused_seconds=0,
        reported_at=reported_at,
    )


# --- the rule, without a database ----------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "level"),
    [
        (0, RiskLevel.GREEN),
        (2, RiskLevel.GREEN),
        (3, RiskLevel.YELLOW),
        (7, RiskLevel.YELLOW),
        (8, RiskLevel.ORANGE),
        (14, RiskLevel.ORANGE),
        (15, RiskLevel.RED),
        (40, RiskLevel.RED),
    ],
)
def test_enterprise_thresholds_at_each_boundary(score: int, level: RiskLevel) -> None:
    # Old, open, low requests: one point each, nothing else counts.
    assessment = assess([fact() for _ in range(score)], NOW)
    assert (assessment.score, assessment.level) == (score, level)


@pytest.mark.parametrize(
    ("score", "level"),
    [(5, RiskLevel.GREEN), (6, RiskLevel.YELLOW), (15, RiskLevel.YELLOW), (16, RiskLevel.ORANGE)]
    + [(29, RiskLevel.ORANGE), (30, RiskLevel.RED)],
)
def test_grid_thresholds_at_each_boundary(score: int, level: RiskLevel) -> None:
    assert level_for(score, DEFAULT_RULES.grid_thresholds) == level


def test_the_documented_example() -> None:
    """Three open wage-arrears requests reported this month, one past its deadline."""
    tickets = [
        fact(
            severity=Severity.MEDIUM,
            category="WAGE_ARREARS",
            reported_at=NOW - 20 * DAY,
            resolution_due_at=NOW - DAY if i == 0 else NOW + DAY,
        )
        for i in range(3)
    ]
    assessment = assess(tickets, NOW)
    assert [(r.text, r.points) for r in assessment.reasons] == [
        ("3 open wage-arrears requests, 1 overdue", 9),
        ("3 worker requests in the last 90 days", 4),
    ]
    assert (assessment.score, assessment.level) == (13, RiskLevel.ORANGE)


def test_weights_are_configurable() -> None:
    rules = replace(DEFAULT_RULES, overdue_points=10, repeat_threshold=99)
    late = fact(resolution_due_at=NOW)  # due exactly now: overdue
    assert assess([late], NOW, rules).score == 11
    assert assess([late], NOW - timedelta(seconds=1), rules).score == 1


def test_repeated_requests_at_the_window_and_threshold_edges() -> None:
    closed = S.CLOSED  # repeated requests count whether open or not
    two = [fact(status=closed, reported_at=NOW - DAY) for _ in range(2)]
    assert assess(two, NOW).score == 0
    third_on_the_edge = fact(status=closed, reported_at=NOW - 90 * DAY)  # outside (90 days ago)
    assert assess([*two, third_on_the_edge], NOW).score == 0
    third_inside = fact(status=closed, reported_at=NOW - 90 * DAY + timedelta(seconds=1))
    assessment = assess([*two, third_inside], NOW)
    assert assessment.score == 4
    assert assessment.reasons[0].text == "3 worker requests in the last 90 days"
    hotline = fact(status=closed, source=TicketSource.HOTLINE_12351, reported_at=NOW - DAY)
    assert assess([*two, hotline], NOW).score == 4  # a 12351 call is a worker's request too


def test_recent_hazards_and_the_critical_floor() -> None:
    old = fact(source=TicketSource.RISK_HAZARD, status=S.CLOSED, reported_at=NOW - 30 * DAY)
    recent = fact(source=TicketSource.DIRECT_REPORT, status=S.CLOSED, reported_at=NOW - DAY)
    assessment = assess([old, recent], NOW)
    assert [(r.text, r.points) for r in assessment.reasons] == [
        ("1 direct report in the last 30 days", 2)
    ]
    hazard = fact(source=TicketSource.RISK_HAZARD, status=S.CLOSED, reported_at=NOW - 2 * DAY)
    assert [(r.text, r.points) for r in assess([old, recent, hazard, hazard], NOW).reasons] == [
        ("2 risk hazards and 1 direct report in the last 30 days", 6)
    ]
    critical = fact(source=TicketSource.RISK_HAZARD, severity=Severity.CRITICAL, category="FIRE")
    hazard = assess([critical], NOW)
    assert (hazard.score, hazard.level) == (10, RiskLevel.ORANGE)
    assert [r.text for r in hazard.reasons] == ["1 open fire risk hazard (1 critical)"]
    # With a critical ticket worth little, the floor lifts the level and says so.
    cheap = replace(
        DEFAULT_RULES,
        severity_points={
            Severity.LOW: 1,
            Severity.MEDIUM: 1,
            Severity.HIGH: 1,
            Severity.CRITICAL: 1,
        },
    )
    request = fact(severity=Severity.CRITICAL)
    floored = assess([request], NOW, cheap)
    assert (floored.score, floored.level) == (1, RiskLevel.ORANGE)
    assert floored.reasons[-1].text == "an open critical ticket keeps the level at orange or above"
    assert assess([request], NOW, replace(cheap, critical_floor=RiskLevel.GREEN)).level == (
        RiskLevel.GREEN
    )
    # The floor only lifts: a critical ticket with enough points is RED.
    red = assess([critical, fact(severity=Severity.HIGH), fact(severity=Severity.HIGH)], NOW)
    assert red.level == RiskLevel.RED


def test_waiting_tickets_are_not_overdue() -> None:
    waiting = fact(status=S.WAITING_ON_WORKER, resolution_due_at=NOW - DAY)
    assert assess([waiting], NOW).reasons[0].text == "1 open request"


# --- from the database --------------------------------------------------------------------


@pytest.fixture
async def world(session_factory) -> TownWorld:
    async with session_factory() as session, session.begin():
        return await town_world(session)


async def _report(session_factory, world: TownWorld, n: int, **kwargs) -> list:
    made = []
    async with session_factory() as session, session.begin():
        for _ in range(n):
            defaults = {
                "title": "Wages two months late",
                "source": TicketSource.WORKER_REQUEST,
                "severity": Severity.MEDIUM,
                "category": "WAGE_ARREARS",
                "enterprise_id": world.enterprise.id,
                "now": NOW - 10 * DAY,
            }
            made.append(
                await lifecycle.create_ticket(
                    session, scope=world.county_staff, **(defaults | kwargs)
                )
            )
    return made


async def _risk_notes(session_factory) -> list[tuple[uuid.UUID, str]]:
    async with session_factory() as session:
        rows = await session.execute(
            select(Notification.recipient_id, Notification.title)
            .where(Notification.kind == NotificationKind.RISK_RAISED)
            .order_by(Notification.created_at)
        )
        return [(r.recipient_id, r.title) for r in rows]


async def test_levels_for_enterprise_grid_and_the_riskiest(session_factory, world) -> None:
    await _report(session_factory, world, 3)
    await _report(
        session_factory,
        world,
        1,
        enterprise_id=world.other_enterprise.id,
        severity=Severity.LOW,
        category="OTHER",
    )
    async with session_factory() as session:
        enterprise = await risk_for_enterprise(session, world.enterprise.id, NOW)
        # 3 medium requests (6) + 3 requests in 90 days (4); the 10-day-old ones are overdue
        # (medium at the grid: 10 days to resolve): 3 × 3.
        assert enterprise.reasons[0].text == "3 open wage-arrears requests, 3 overdue"
        assert (enterprise.score, enterprise.level) == (19, RiskLevel.RED)
        grid = await risk_for_grid(session, world.grid.id, NOW)
        assert grid.level == RiskLevel.RED  # the grid is as high as its riskiest enterprise
        assert grid.reasons[0].text == "Hede Foods is red"
        town = await risk_for_grid(session, world.town.id, NOW)
        assert town.score == 19 + 1 + 3  # both enterprises' tickets, the grids below included
        ranked = await riskiest_enterprises(session, [world.grid.id, world.town.id], 5, NOW)
        assert [r.name for r in ranked] == ["Hede Foods", "Hede Garments"]
        assert ranked[1].assessment.level == RiskLevel.YELLOW
        assert await riskiest_enterprises(session, [world.grid.id, world.town.id], 1, NOW) == [
            ranked[0]
        ]
        assert await riskiest_enterprises(session, [], 5, NOW) == []
        quiet = await risk_for_enterprise(session, uuid.uuid4(), NOW)
        assert (quiet.level, quiet.reasons) == (RiskLevel.GREEN, ())


async def test_a_rise_notifies_once_per_rise(session_factory, world) -> None:
    early = NOW - 10 * DAY
    tickets = await _report(session_factory, world, 2, severity=Severity.HIGH)  # 8 points
    async with session_factory() as session, session.begin():
        assert await refresh_all_risk_levels(session, now=early) > 0
    recipients = {world.liaison.member_id, world.town_staff.member_id}
    notes = await _risk_notes(session_factory)
    told = {}
    for recipient, title in notes:
        told.setdefault(title, set()).add(recipient)
    # The enterprise and its grid rose to ORANGE: the grid's liaison and the town staff hear
    # of both; the town's rise goes to its staff, the county's to the county staff.
    assert told == {
        rise("Hede Foods", RiskLevel.ORANGE): recipients,
        rise(world.grid.name, RiskLevel.ORANGE): recipients,
        rise("Hede Town", RiskLevel.ORANGE): {world.town_staff.member_id},
        rise("Sheyang County", RiskLevel.ORANGE): {world.county_staff.member_id},
    }

    count = len(notes)
    async with session_factory() as session, session.begin():
        assert await refresh_all_risk_levels(session, now=early + 1 * HOUR) == 0  # nothing changed
    assert len(await _risk_notes(session_factory)) == count

    # A third high request: RED, a rise, told again.
    more = await _report(session_factory, world, 1, severity=Severity.HIGH)
    async with session_factory() as session, session.begin():
        await refresh_all_risk_levels(session, now=early + 2 * HOUR)
    reds = [
        n for n in await _risk_notes(session_factory) if n[1] == rise("Hede Foods", RiskLevel.RED)
    ]
    assert sorted(r for r, _ in reds) == sorted(recipients)

    # All three withdrawn: YELLOW (the repeated requests still count); a fall tells nobody.
    for ticket in [*tickets, *more]:
        async with session_factory() as session, session.begin():
            await lifecycle.transition_ticket(
                session, scope=world.town_staff, ticket_id=ticket.id, to_status=S.WITHDRAWN
            )
    before = len(await _risk_notes(session_factory))
    async with session_factory() as session, session.begin():
        await refresh_all_risk_levels(session, now=early + 3 * HOUR)
        stored = await stored_risk_levels(session, RiskSubject.ENTERPRISE, [world.enterprise.id])
    assert stored[world.enterprise.id].level == RiskLevel.YELLOW
    assert len(await _risk_notes(session_factory)) == before

    # And up to ORANGE again: a new rise, told again.
    await _report(session_factory, world, 1, severity=Severity.HIGH)
    async with session_factory() as session, session.begin():
        await refresh_all_risk_levels(session, now=early + 4 * HOUR)
    oranges = [
        n
        for n in await _risk_notes(session_factory)
        if n[1] == rise("Hede Foods", RiskLevel.ORANGE)
    ]
    assert len(oranges) == 2 * len(recipients)


async def test_refresh_after_one_change_and_the_job(session_factory, world) -> None:
    (ticket,) = await _report(session_factory, world, 1, severity=Severity.CRITICAL)
    async with session_factory() as session, session.begin():
        computed = await refresh_risk_after_change(
            session, enterprise_id=ticket.enterprise_id, grid_id=ticket.grid_id, now=NOW
        )
    assert computed[world.enterprise.id].level == RiskLevel.ORANGE  # 8 + 3 overdue
    assert set(computed) == {world.enterprise.id, world.grid.id, world.town.id, world.county.id}
    async with session_factory() as session:
        records = await session.scalars(select(RiskLevelRecord))
        stored = {r.subject_id: r for r in records}
    assert stored[world.enterprise.id].reasons[0]["text"].startswith("1 open wage-arrears")
    assert stored[world.enterprise.id].raised_at == NOW
    told = len(await _risk_notes(session_factory))
    assert told > 0
    # The timed job finds nothing new to say.
    await refresh_risk_levels(session_factory, NOW)
    assert len(await _risk_notes(session_factory)) == told


@pytest.mark.postgres_only
async def test_two_workers_storing_one_rise_notify_once(
    session_factory, world, settings: Settings
) -> None:
    await _report(session_factory, world, 3, severity=Severity.HIGH)
    engines = [create_engine(settings) for _ in range(2)]
    try:
        # Clocks a second apart, as two machines' are: the notifications' dedup keys differ,
        # so only the stored level's compare-and-set keeps the rise to one notification.
        await asyncio.gather(
            *(
                refresh_risk_levels(make_session_factory(e), NOW + i * timedelta(seconds=1))
                for i, e in enumerate(engines)
            )
        )
    finally:
        for engine in engines:
            await engine.dispose()
    notes = await _risk_notes(session_factory)
    assert len(notes) == len(set(notes))
    assert sorted(r for r, t in notes if t == rise("Hede Foods", RiskLevel.RED)) == sorted(
        [world.liaison.member_id, world.town_staff.member_id]
    )
