"""The ticket lifecycle and mediation tiers at their edges."""

from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from api.auth.scope import Scope, scope_for
from api.enterprises.service import register_enterprise
from api.errors import DomainError
from api.grids.models import Grid, GridKind
from api.grids.service import create_grid
from api.i18n import render
from api.members.models import Member
from api.members.service import create_member, update_member
from api.notifications.models import Notification, NotificationKind
from api.records import utcnow
from api.tickets import lifecycle
from api.tickets.models import Ticket, TicketEvent, TicketSource, TicketStatus, Tier
from tests.factories import county_with_town, credit_code
from tests.helpers import english

S = TicketStatus


@dataclass
class World:
    town: Grid
    other_town: Grid
    grid: Grid
    other_grid: Grid
    liaison: Scope
    other_liaison: Scope
    town_staff: Scope
    other_town_staff: Scope
    county: Scope
    reporter: Scope
    ticket_id: object
    foreign_ticket_id: object


async def _scope(session, member: Member) -> Scope:
    return await scope_for(session, member)


@pytest.fixture
async def world(session_factory) -> World:
    async with session_factory() as session, session.begin():
        county, town = await county_with_town(session)
        other_town = await create_grid(
            session, code="SY-T02", name="Linhai Town", kind=GridKind.TOWN, parent_id=county.id
        )
        placed = await register_enterprise(
            session,
            name="Hede Foods",
            credit_code=credit_code(),
            headcount=40,
            industry="Food",
            town_id=town.id,
        )
        elsewhere = await register_enterprise(
            session,
            name="Linhai Nets",
            credit_code=credit_code(),
            headcount=40,
            industry="Fishing gear",
            town_id=other_town.id,
        )
        grid, other_grid = placed.placement.grid, elsewhere.placement.grid
        members = {}
        for key, roles, grids, phone, enterprise in [
            ("liaison", ["LIAISON"], [grid.id], "13900000101", None),
            ("other_liaison", ["LIAISON"], [other_grid.id], "13900000102", None),
            ("town_staff", ["TOWN_STAFF"], [town.id], "13900000103", None),
            ("other_town_staff", ["TOWN_STAFF"], [other_town.id], "13900000104", None),
            ("county", ["COUNTY_STAFF"], [], "13900000105", None),
            ("reporter", ["MEMBER"], [], "13900000106", placed.enterprise.id),
        ]:
            members[key] = await create_member(
                session,
                name=key,
                phone=phone,
                roles=roles,
                grid_ids=grids,
                enterprise_id=enterprise,
            )
        scopes = {k: await _scope(session, m) for k, m in members.items()}
        ticket = await lifecycle.create_ticket(
            session,
            scope=scopes["reporter"],
            title="Wages three months late",
            source=TicketSource.WORKER_REQUEST,
            enterprise_id=placed.enterprise.id,
        )
        foreign = await lifecycle.create_ticket(
            session,
            scope=scopes["county"],
            title="Dormitory fire exit blocked",
            source=TicketSource.RISK_HAZARD,
            enterprise_id=elsewhere.enterprise.id,
        )
    return World(
        town=town,
        other_town=other_town,
        grid=grid,
        other_grid=other_grid,
        ticket_id=ticket.id,
        foreign_ticket_id=foreign.id,
        **scopes,
    )


async def _do(session_factory, fn, **kwargs):
    async with session_factory() as session, session.begin():
        return await fn(session, **kwargs)


async def test_the_whole_road_to_closed_and_rated(session_factory, world: World) -> None:
    t0 = utcnow()
    tid = world.ticket_id
    liaison_id = world.liaison.member_id
    ticket = await _do(
        session_factory,
        lifecycle.assign_ticket,
        scope=world.town_staff,
        ticket_id=tid,
        assignee_id=liaison_id,
        now=t0,
    )
    assert ticket.status == S.ASSIGNED and ticket.assigned_at == t0
    steps = [
        (S.IN_PROGRESS, None),
        (S.MEDIATING, None),
        (S.RESOLVED, "Employer paid the arrears on 3 March"),
        (S.CLOSED, None),
    ]
    for i, (status, note) in enumerate(steps, start=1):
        ticket = await _do(
            session_factory,
            lifecycle.transition_ticket,
            scope=world.liaison,
            ticket_id=tid,
            to_status=status,
            resolution_note=note,
            now=t0 + timedelta(hours=i),
        )
    assert ticket.status == S.CLOSED
    assert ticket.in_progress_at == t0 + timedelta(hours=1)
    assert ticket.first_responded_at == t0 + timedelta(hours=1)
    assert ticket.mediating_at == t0 + timedelta(hours=2)
    assert ticket.closed_at == t0 + timedelta(hours=4)
    rated = await _do(
        session_factory,
        lifecycle.rate_ticket,
        scope=world.reporter,
        ticket_id=tid,
        rating=5,
        comment="Quick and fair",
        now=t0 + timedelta(hours=5),
    )
    assert rated.satisfaction_rating == 5 and rated.rated_on_behalf is False
    with pytest.raises(DomainError) as caught:
        await _do(
            session_factory, lifecycle.rate_ticket, scope=world.liaison, ticket_id=tid, rating=4
        )
    assert "already been rated" in english(caught.value.args[0])
    async with session_factory() as session:
        kinds = list(
            await session.scalars(
                select(TicketEvent.kind)
                .where(TicketEvent.ticket_id == tid)
                .order_by(TicketEvent.at)
            )
        )
        assert kinds == ["REPORTED", "ASSIGNED", "STATUS", "STATUS", "STATUS", "STATUS", "RATED"]
        notes = list(await session.scalars(select(Notification)))
        assert [(n.recipient_id, n.kind) for n in notes] == [
            (liaison_id, NotificationKind.ASSIGNED)
        ]


async def test_illegal_moves_say_what_is_possible(session_factory, world: World) -> None:
    with pytest.raises(DomainError) as caught:
        await _do(
            session_factory,
            lifecycle.transition_ticket,
            scope=world.town_staff,
            ticket_id=world.ticket_id,
            to_status=S.CLOSED,
        )
    assert caught.value.code == "ILLEGAL_TRANSITION"
    # The message names the move and what is possible instead, by their labels.
    assert render(S.CLOSED) in caught.value.message
    assert render(S.IN_PROGRESS) in caught.value.message
    await _do(
        session_factory,
        lifecycle.transition_ticket,
        scope=world.town_staff,
        ticket_id=world.ticket_id,
        to_status=S.IN_PROGRESS,
    )
    with pytest.raises(DomainError) as caught:
        await _do(
            session_factory,
            lifecycle.transition_ticket,
            scope=world.town_staff,
            ticket_id=world.ticket_id,
            to_status=S.RESOLVED,
        )
    assert caught.value.field == "resolutionNote"


async def test_who_may_move(session_factory, world: World) -> None:
    tid = world.ticket_id
    # A liaison cannot dispatch to someone else, and another town cannot even see it.
    with pytest.raises(DomainError) as caught:
        await _do(
            session_factory,
            lifecycle.assign_ticket,
            scope=world.liaison,
            ticket_id=tid,
            assignee_id=world.town_staff.member_id,
        )
    assert caught.value.code == "FORBIDDEN"
    for foreign in (world.other_town_staff, world.other_liaison):
        with pytest.raises(DomainError) as caught:
            await _do(
                session_factory,
                lifecycle.transition_ticket,
                scope=foreign,
                ticket_id=tid,
                to_status=S.IN_PROGRESS,
            )
        assert caught.value.code == "NOT_FOUND"
    # Town staff cannot hand it to a liaison of another grid.
    with pytest.raises(DomainError) as caught:
        await _do(
            session_factory,
            lifecycle.assign_ticket,
            scope=world.town_staff,
            ticket_id=tid,
            assignee_id=world.other_liaison.member_id,
        )
    assert caught.value.field == "assigneeId" and caught.value.code == "INVALID"
    # The grid's liaison takes the unassigned ticket by starting work on it.
    taken = await _do(
        session_factory,
        lifecycle.transition_ticket,
        scope=world.liaison,
        ticket_id=tid,
        to_status=S.IN_PROGRESS,
    )
    assert taken.assignee_id == world.liaison.member_id
    # The reporter may not work it, but may withdraw it.
    with pytest.raises(DomainError) as caught:
        await _do(
            session_factory,
            lifecycle.transition_ticket,
            scope=world.reporter,
            ticket_id=tid,
            to_status=S.WAITING_ON_WORKER,
        )
    assert "only the assignee" in english(caught.value.args[0])
    withdrawn = await _do(
        session_factory,
        lifecycle.transition_ticket,
        scope=world.reporter,
        ticket_id=tid,
        to_status=S.WITHDRAWN,
    )
    assert withdrawn.status == S.WITHDRAWN and withdrawn.withdrawn_at is not None
    read_only = replace(world.county, read_only=True)
    with pytest.raises(DomainError) as caught:
        await _do(
            session_factory,
            lifecycle.add_comment,
            scope=read_only,
            ticket_id=world.foreign_ticket_id,
            body="x",
        )
    assert "read-only" in english(caught.value.args[0])


async def test_escalation_through_every_tier_and_back(session_factory, world: World) -> None:
    tid = world.ticket_id
    await _do(
        session_factory,
        lifecycle.assign_ticket,
        scope=world.town_staff,
        ticket_id=tid,
        assignee_id=world.liaison.member_id,
    )
    with pytest.raises(DomainError) as caught:
        await _do(
            session_factory,
            lifecycle.escalate_ticket,
            scope=world.liaison,
            ticket_id=tid,
            reason="  ",
        )
    assert caught.value.field == "reason"
    ticket = await _do(
        session_factory,
        lifecycle.escalate_ticket,
        scope=world.liaison,
        ticket_id=tid,
        reason="Employer refuses grid mediation",
    )
    assert ticket.tier == Tier.TOWN and ticket.assignee_id is None
    assert ticket.status == S.REPORTED  # back in the town's queue
    # The liaison no longer holds it; the town staff are told.
    async with session_factory() as session:
        notes = list(await session.scalars(select(Notification).order_by(Notification.created_at)))
        kinds = {(n.recipient_id, n.kind) for n in notes}
        assert (world.town_staff.member_id, NotificationKind.ESCALATED) in kinds
        assert (world.liaison.member_id, NotificationKind.REASSIGNED) in kinds
    for tier in (Tier.COUNTY_STATION, Tier.COURT_MEDIATION):
        ticket = await _do(
            session_factory,
            lifecycle.escalate_ticket,
            scope=world.county,
            ticket_id=tid,
            reason="Needs the next tier",
            assignee_id=world.county.member_id,
        )
        assert ticket.tier == tier and ticket.status == S.ASSIGNED
    with pytest.raises(DomainError) as caught:
        await _do(
            session_factory,
            lifecycle.escalate_ticket,
            scope=world.county,
            ticket_id=tid,
            reason="again",
        )
    assert "highest tier" in english(caught.value.args[0])
    with pytest.raises(DomainError) as caught:
        await _do(
            session_factory,
            lifecycle.deescalate_ticket,
            scope=world.liaison,
            ticket_id=tid,
            reason="settled",
        )
    assert caught.value.code in {"FORBIDDEN", "NOT_FOUND"}
    back = await _do(
        session_factory,
        lifecycle.deescalate_ticket,
        scope=world.county,
        ticket_id=tid,
        reason="Parties agreed to mediate at the station",
    )
    assert back.tier == Tier.COUNTY_STATION
    async with session_factory() as session:
        kinds = list(
            await session.scalars(
                select(TicketEvent.kind)
                .where(TicketEvent.ticket_id == tid)
                .order_by(TicketEvent.at)
            )
        )
    assert kinds[-4:] == ["ESCALATED", "ESCALATED", "ESCALATED", "DEESCALATED"]


async def test_waiting_on_the_worker_pauses_the_clocks(session_factory, world: World) -> None:
    tid = world.ticket_id
    t0 = utcnow()
    async with session_factory() as session, session.begin():
        ticket = await session.get(Ticket, tid)
        ticket.resolution_due_at = t0 + timedelta(days=5)
    await _do(
        session_factory,
        lifecycle.transition_ticket,
        scope=world.town_staff,
        ticket_id=tid,
        to_status=S.IN_PROGRESS,
        now=t0,
    )
    await _do(
        session_factory,
        lifecycle.transition_ticket,
        scope=world.town_staff,
        ticket_id=tid,
        to_status=S.WAITING_ON_WORKER,
        now=t0 + timedelta(hours=1),
    )
    resumed = await _do(
        session_factory,
        lifecycle.transition_ticket,
        scope=world.town_staff,
        ticket_id=tid,
        to_status=S.IN_PROGRESS,
        now=t0 + timedelta(hours=4),
    )
    assert resumed.paused_seconds == 3 * 3600
    assert resumed.resolution_due_at == t0 + timedelta(days=5, hours=3)
    assert resumed.waiting_since is None


async def test_moving_a_ticket_to_another_grid(session_factory, world: World) -> None:
    tid = world.ticket_id
    await _do(
        session_factory,
        lifecycle.assign_ticket,
        scope=world.town_staff,
        ticket_id=tid,
        assignee_id=world.liaison.member_id,
    )
    with pytest.raises(DomainError) as caught:  # the town cannot move it out of its town
        await _do(
            session_factory,
            lifecycle.reassign_to_grid,
            scope=world.town_staff,
            ticket_id=tid,
            grid_id=world.other_grid.id,
        )
    assert caught.value.field == "gridId"
    moved = await _do(
        session_factory,
        lifecycle.reassign_to_grid,
        scope=world.county,
        ticket_id=tid,
        grid_id=world.other_grid.id,
    )
    assert moved.grid_id == world.other_grid.id and moved.assignee_id is None
    assert moved.status == S.REPORTED
    assert not world.liaison.sees(moved) and world.other_liaison.sees(moved)


async def test_bad_edits_and_comments(session_factory, world: World) -> None:
    tid = world.ticket_id
    with pytest.raises(DomainError) as caught:
        await _do(
            session_factory,
            lifecycle.update_ticket,
            scope=world.town_staff,
            ticket_id=tid,
            changes={"status": "CLOSED"},
        )
    assert caught.value.field == "status"
    with pytest.raises(DomainError) as caught:
        await _do(
            session_factory,
            lifecycle.update_ticket,
            scope=world.town_staff,
            ticket_id=tid,
            changes={"severity": "APOCALYPTIC"},
        )
    assert caught.value.field == "severity"
    edited = await _do(
        session_factory,
        lifecycle.update_ticket,
        scope=world.town_staff,
        ticket_id=tid,
        changes={"severity": "HIGH", "title": " Wages late "},
    )
    assert edited.title == "Wages late" and edited.version == 2
    with pytest.raises(DomainError) as caught:
        await _do(
            session_factory, lifecycle.add_comment, scope=world.liaison, ticket_id=tid, body="   "
        )
    assert caught.value.field == "body"
    comment = await _do(
        session_factory,
        lifecycle.add_comment,
        scope=world.liaison,
        ticket_id=tid,
        body="Visited the workshop",
    )
    assert comment.author_id == world.liaison.member_id


async def test_a_ticket_moved_to_another_grid_gets_fresh_clocks(session_factory, world) -> None:
    t0 = utcnow()
    later = t0 + timedelta(days=2)
    async with session_factory() as session:
        before = await session.get(Ticket, world.ticket_id)
        assert before is not None and before.first_response_due_at is not None
        old_due = before.first_response_due_at
    moved = await _do(
        session_factory,
        lifecycle.reassign_to_grid,
        scope=world.county,
        ticket_id=world.ticket_id,
        grid_id=world.other_grid.id,
        now=later,
    )
    assert moved.first_response_due_at is not None
    assert moved.first_response_due_at > later > old_due


# --- one rule per input and per permission (issue 15: where two copies disagreed) ----------


async def test_only_union_staff_or_the_filer_delete_a_ticket(session_factory, world) -> None:
    # docs/sync-protocol.md (tickets DELETE): union staff whose area holds it, or whoever filed
    # it while REPORTED. The worker it was filed for (reporterId) withdraws it instead; the old
    # sync copy let it delete too.
    async def report(scope: Scope, **extra) -> Ticket:
        return await _do(
            session_factory,
            lifecycle.create_ticket,
            scope=scope,
            title="Reported",
            source=TicketSource.WORKER_REQUEST,
            grid_id=world.grid.id,
            **extra,
        )

    filed_for = await report(world.town_staff, reporter_id=world.reporter.member_id)

    async def delete(scope: Scope, ticket_id) -> Ticket:
        async def work(session, **_kw):
            ticket = await lifecycle.get_visible_ticket(session, scope, ticket_id)
            return await lifecycle.delete_ticket(session, scope=scope, ticket=ticket, now=utcnow())

        return await _do(session_factory, work)

    with pytest.raises(DomainError) as refused:
        await delete(world.reporter, filed_for.id)
    assert refused.value.code == "FORBIDDEN"
    own = await report(world.liaison)
    assert (await delete(world.liaison, own.id)).deleted_at is not None
    assert (await delete(world.town_staff, filed_for.id)).deleted_at is not None


@pytest.mark.parametrize(
    ("field", "value"),
    [("category", "X" * 65), ("reporterPhone", "1" * 21), ("reporterName", "N" * 101)],
)
async def test_create_and_edit_share_each_fields_limit(
    session_factory, world, field: str, value: str
) -> None:
    # Create checked no category or reporter limit (SQLite stored it, PostgreSQL failed); edit
    # checked the category and cut reporter details at 100. One validator now, INVALID both ways.
    arg = {"category": "category", "reporterPhone": "reporter_phone"}.get(field, "reporter_name")
    created = await _refusal(
        session_factory,
        lifecycle.create_ticket,
        scope=world.liaison,
        title="Too long",
        source=TicketSource.RISK_HAZARD,
        grid_id=world.grid.id,
        **{arg: value},
    )
    edited = await _refusal(
        session_factory,
        lifecycle.update_ticket,
        scope=world.town_staff,
        ticket_id=world.ticket_id,
        changes={field: value},
    )
    assert created == edited == ("INVALID", field)


async def _refusal(session_factory, fn, **kwargs) -> tuple[str, str | None]:
    with pytest.raises(DomainError) as caught:
        await _do(session_factory, fn, **kwargs)
    return caught.value.code, caught.value.field


async def test_town_staff_cannot_demote_a_fellow_staff_member(session_factory, world) -> None:
    # docs/operations.md: town staff run the liaisons, chairs and members of their town. The
    # account admin checked the member as it is; updateMember only the roles it was given, so
    # town staff could turn a colleague into a MEMBER. One check now (api/members/service.py).
    colleague = await _do(
        session_factory,
        create_member,
        name="colleague",
        phone="13900000107",
        roles=["TOWN_STAFF"],
        grid_ids=[world.town.id],
    )
    refused = await _refusal(
        session_factory,
        update_member,
        scope=world.town_staff,
        member_id=colleague.id,
        roles=["MEMBER"],
    )
    assert refused == ("FORBIDDEN", "id")
