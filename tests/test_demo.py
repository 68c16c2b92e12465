"""The demo county holds the article's figures, loads once, and is the same on every machine."""

from __future__ import annotations

import statistics
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.passwords import verify_password
from api.demo import DEMO_PASSWORD, demo_accounts, load_demo, plan_enterprises
from api.enterprises.codes import normalize_credit_code, normalize_phone
from api.enterprises.models import Enterprise
from api.grids.models import Grid, GridKind
from api.members.models import Member, MemberGrid, Role
from api.records import utcnow
from api.stations.criteria import CRITERIA
from api.stations.models import (
    ActivityStatus,
    Evaluation,
    EvaluatorKind,
    Room,
    RoomKind,
    Station,
    StationActivity,
)
from api.tables import metadata
from api.tickets.deadlines import is_overdue
from api.tickets.models import OPEN_STATUSES, Ticket, TicketEvent, TicketSource, TicketStatus, Tier
from api.warnings.models import RiskLevel, RiskLevelRecord, RiskSubject

# The first enterprises of the plan: a change here renames the demo county for everyone.
EXPECTED_FIRST = [
    ("上海题桥江苏纺织有限公司", "91320924CNEUCAKJXN"),
    ("江苏恒润印染有限公司", "91320924R3L9TNHNGD"),
    ("盐城华信纺织科技有限公司", "913209247XX5L06B2H"),
]
EXPECTED_FIRST_SMALL = ("盐城和信纱线有限公司", "91320924645XRNDARF")


def _towns_of(county_code: str) -> sa.Select:
    county = select(Grid.id).where(Grid.code == county_code).scalar_subquery()
    return select(Grid.id).where(Grid.parent_id == county, Grid.kind == GridKind.TOWN)


async def _count(session: AsyncSession, stmt: sa.Select) -> int:
    return int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


async def _table_fingerprint(session: AsyncSession) -> dict[str, tuple[int, int]]:
    """Rows and the sum of versions per table: a write of any kind changes one of them."""
    result = {}
    for table in metadata.sorted_tables:
        versions = func.sum(table.c.version) if "version" in table.c else sa.literal(0)
        rows, total = (
            await session.execute(select(func.count(), versions).select_from(table))
        ).one()
        result[table.name] = (rows, int(total or 0))
    return result


def test_plan_is_deterministic() -> None:
    sheyang, nanhe = plan_enterprises()
    again = plan_enterprises()
    assert (sheyang, nanhe) == again
    assert [(e.name, e.credit_code) for e in sheyang[:3]] == EXPECTED_FIRST
    assert (sheyang[29].name, sheyang[29].credit_code) == EXPECTED_FIRST_SMALL
    assert len(sheyang) == 539 and len(nanhe) == 9
    # 29 with 200+ staff; the other 510 fall into 62 (area, industry) joint grids.
    assert sum(e.headcount >= 200 for e in sheyang) == 29
    assert len({(e.area, e.industry) for e in sheyang if e.headcount < 200}) == 62
    codes = [e.credit_code for e in sheyang + nanhe]
    assert len(set(codes)) == len(codes)
    assert all(normalize_credit_code(code) == code for code in codes)
    assert sum(e.union_members for e in nanhe) == 821


def test_demo_accounts_cover_every_role() -> None:
    accounts = demo_accounts()
    assert {a.role for a in accounts} == set(Role)
    assert [a.phone for a in accounts] == [f"1380000000{i}" for i in range(6)]
    assert all(a.password == DEMO_PASSWORD and a.sees for a in accounts)


async def test_demo_county_has_the_articles_figures(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        summary = await load_demo(session)
    assert summary.created
    assert (summary.towns, summary.independent_grids, summary.joint_grids) == (15, 29, 62)
    assert (summary.enterprises, summary.direct_report_points) == (539, 18)
    assert (summary.nanhe_enterprises, summary.nanhe_members) == (9, 821)
    assert summary.tickets_closed == 53 and summary.loans_yuan == 1_800_000

    async with session_factory() as session:
        sy_towns = _towns_of("SY")
        assert await _count(session, sy_towns) == 15
        sy_grids = select(Grid).where(Grid.town_id.in_(sy_towns))
        assert await _count(session, sy_grids.where(Grid.kind == GridKind.INDEPENDENT)) == 29
        assert await _count(session, sy_grids.where(Grid.kind == GridKind.JOINT)) == 62
        assert await _count(session, sy_grids.where(Grid.kind == GridKind.PARK)) >= 4

        # The grid rule placed every enterprise: 200+ alone, the others in joint grids.
        rows = (
            await session.execute(
                select(Enterprise.name, Enterprise.credit_code, Enterprise.headcount, Grid.kind)
                .join(Grid, Grid.id == Enterprise.grid_id)
                .where(Enterprise.town_id.in_(sy_towns))
            )
        ).all()
        assert len(rows) == 539
        assert all((r.headcount >= 200) == (r.kind == GridKind.INDEPENDENT) for r in rows)
        # Determinism: the database holds exactly the plan, whichever database it is.
        sheyang, _ = plan_enterprises()
        assert {(r.name, r.credit_code) for r in rows} == {(e.name, e.credit_code) for e in sheyang}

        # Every grid under SY has its liaison.
        # (Only liaisons serve grids of these kinds; town staff serve towns.)
        unserved = sy_grids.where(
            Grid.kind.in_([GridKind.PARK, GridKind.INDEPENDENT, GridKind.JOINT]),
            Grid.id.not_in(select(MemberGrid.grid_id)),
        )
        assert await _count(session, unserved) == 0

        # 53 worker requests closed over two years, everyone satisfied.
        now = utcnow()
        closed = (
            await session.scalars(
                select(Ticket).where(
                    Ticket.source == TicketSource.WORKER_REQUEST,
                    Ticket.status == TicketStatus.CLOSED,
                )
            )
        ).all()
        assert len(closed) == 53
        for ticket in closed:
            assert ticket.satisfaction_rating in {4, 5}
            assert ticket.resolution_note
            assert ticket.resolved_at and ticket.rated_at and ticket.closed_at
            assert ticket.reported_at <= ticket.resolved_at <= ticket.closed_at <= ticket.rated_at
            assert now - timedelta(days=731) < ticket.reported_at and ticket.rated_at < now

        # Open tickets of every source, in several states and at every tier.
        open_rows = (
            await session.execute(
                select(Ticket.source, Ticket.status, Ticket.tier).where(
                    Ticket.status.in_(sorted(OPEN_STATUSES))
                )
            )
        ).all()
        assert {r.source for r in open_rows} == set(TicketSource)
        assert {r.tier for r in open_rows} == set(Tier)
        assert {
            TicketStatus.REPORTED,
            TicketStatus.ASSIGNED,
            TicketStatus.IN_PROGRESS,
            TicketStatus.MEDIATING,
        } <= {r.status for r in open_rows}
        # An assigned grid-tier ticket is with a liaison of its grid.
        assigned = (
            await session.execute(
                select(Ticket.assignee_id, Ticket.grid_id).where(
                    Ticket.status == TicketStatus.ASSIGNED, Ticket.tier == Tier.GRID
                )
            )
        ).all()
        assert assigned
        links = set((await session.execute(select(MemberGrid.member_id, MemberGrid.grid_id))).all())
        assert all((a.assignee_id, a.grid_id) in links for a in assigned)
        # Every move is in the audit trail.
        events = await _count(session, select(TicketEvent))
        assert events >= 53 * 6 + len(open_rows)

        # Nanhe: 821 members of nine unions, one station with six rooms.
        nanhe = select(Enterprise.id).where(Enterprise.town_id.in_(_towns_of("XS")))
        people = (
            await session.execute(
                select(Member.id, Member.roles, Member.phone).where(Member.enterprise_id.in_(nanhe))
            )
        ).all()
        assert sum(Role.MEMBER.value in p.roles for p in people) == 821
        chairs = [p.id for p in people if Role.CHAIR.value in p.roles]
        assert len(chairs) == 9
        station = await session.scalar(select(Station))
        assert station is not None and station.area_m2 == 300 and station.founded_on == "2022-04"
        kinds = set(await session.scalars(select(Room.kind).where(Room.station_id == station.id)))
        assert kinds == set(RoomKind)

        activities = (await session.scalars(select(StationActivity))).all()
        assert len(activities) >= 50
        assert sum(a.status == ActivityStatus.HELD for a in activities) >= 50
        assert sum(a.loans_issued_yuan or 0 for a in activities) == 1_800_000

        # Each chair is rated by the town union; totals are the mean of the scores.
        evaluations = (await session.scalars(select(Evaluation))).all()
        rated = {e.chair_id for e in evaluations if e.evaluator_kind == EvaluatorKind.TOWN_UNION}
        assert set(chairs) <= rated
        assert any(e.evaluator_kind == EvaluatorKind.MEMBER for e in evaluations)
        for e in evaluations:
            assert all(1 <= s <= 5 for s in e.scores.values())
            assert e.total == round(statistics.fmean(e.scores.values()), 2)

        # Phones are valid and unique; the demo accounts sign in with the demo password.
        phones = list(await session.scalars(select(Member.phone)))
        assert len(phones) == len(set(phones))
        assert all(normalize_phone(p) == p for p in phones)
        for account in demo_accounts():
            member = await session.scalar(select(Member).where(Member.phone == account.phone))
            assert member is not None and member.roles == [account.role.value]
            assert verify_password(member.password_hash, DEMO_PASSWORD)

        # The rules at work: every status, a few overdue, enterprises at every risk level, both
        # evaluations of each of the nine chairs on the fixed criteria.
        tickets = (await session.scalars(select(Ticket))).all()
        assert {t.status for t in tickets} == set(TicketStatus)
        assert all(t.resolution_due_at and t.first_response_due_at for t in tickets)
        overdue = [t for t in tickets if is_overdue(t, utcnow())]
        assert 3 <= len(overdue) <= 15
        stored = await session.scalars(
            select(RiskLevelRecord.level).where(
                RiskLevelRecord.subject_kind == RiskSubject.ENTERPRISE
            )
        )
        assert set(stored) == set(RiskLevel)
        for kind in EvaluatorKind:
            of_kind = [e for e in evaluations if e.evaluator_kind == kind]
            assert {e.chair_id for e in of_kind} == set(chairs)
            assert all(set(e.scores) == set(CRITERIA[kind]) for e in of_kind)


async def test_second_load_writes_nothing(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        first = await load_demo(session)
    async with session_factory() as session:
        before = await _table_fingerprint(session)
    async with session_factory() as session, session.begin():
        second = await load_demo(session)
    async with session_factory() as session:
        after = await _table_fingerprint(session)
    assert first.created and not second.created
    assert {**vars(second), "created": True} == vars(first)
    assert after == before
