"""The guidance station's rules at their edges: capacity, one sign-in per member, the two
evaluations, the quarterly big-pot training and the small-stove coaching visit."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from api.auth.scope import Scope, scope_for
from api.config import Settings
from api.db import create_engine
from api.db import session_factory as make_session_factory
from api.errors import DomainError
from api.members.service import create_member
from api.stations.activities import create_activity, update_activity
from api.stations.attendance import record_attendance
from api.stations.coaching import record_coaching_visit, request_coaching
from api.stations.criteria import CRITERIA
from api.stations.evaluations import chair_standing, submit_evaluation
from api.stations.models import (
    ActivityKind,
    ActivityStatus,
    Attendance,
    CoachingRequest,
    CoachingStatus,
    EvaluatorKind,
    Room,
    RoomKind,
    Station,
    StationActivity,
)
from api.stations.scheduling import schedule_big_pot_trainings
from tests.factories import TownWorld, phone, town_world

NOW = datetime.fromisoformat("2026-05-20T02:00:00+00:00")
H = timedelta(hours=1)
TOWN_SCORES = dict.fromkeys(CRITERIA[EvaluatorKind.TOWN_UNION], 4)
MEMBER_SCORES = dict.fromkeys(CRITERIA[EvaluatorKind.MEMBER], 5)


@dataclass
class StationWorld:
    world: TownWorld
    station: Station
    other_station: Station
    rooms: dict[RoomKind, Room]
    foreign_room: Room
    staff: Scope
    members: list[Scope]


@pytest.fixture
async def sw(session_factory) -> StationWorld:
    async with session_factory() as session, session.begin():
        world = await town_world(session)
        station = Station(name="Nanhe guidance station", town_name="Nanhe", grid_id=world.town.id)
        other = Station(name="Elsewhere station", town_name="Elsewhere")
        session.add_all([station, other])
        await session.flush()
        rooms = {kind: Room(station_id=station.id, kind=kind, name=kind.value) for kind in RoomKind}
        foreign = Room(station_id=other.id, kind=RoomKind.TECH_TRAINING, name="theirs")
        session.add_all([*rooms.values(), foreign])
        staff = await create_member(
            session, name="Station head", phone=phone(), roles=["MEMBER"], station_ids=[station.id]
        )
        members = [
            await create_member(
                session,
                name=f"Member {i}",
                phone=phone(),
                roles=["MEMBER"],
                enterprise_id=world.enterprise.id,
            )
            for i in range(3)
        ]
        return StationWorld(
            world=world,
            station=station,
            other_station=other,
            rooms=rooms,
            foreign_room=foreign,
            staff=await scope_for(session, staff),
            members=[await scope_for(session, m) for m in members],
        )


async def _do(session_factory, fn, **kwargs):
    async with session_factory() as session, session.begin():
        return await fn(session, **kwargs)


async def _refused(session_factory, fn, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await _do(session_factory, fn, **kwargs)
    return caught.value


async def _activity(session_factory, sw: StationWorld, **kwargs) -> StationActivity:
    values = {
        "scope": sw.staff,
        "station_id": sw.station.id,
        "kind": ActivityKind.LEGAL_AID,
        "title": "Legal aid for migrant workers",
        "starts_at": NOW + 24 * H,
        "ends_at": NOW + 26 * H,
        "room_id": sw.rooms[RoomKind.RIGHTS_PROTECTION].id,
        "capacity": 2,
    }
    return await _do(session_factory, create_activity, **(values | kwargs))


# --- activities and sign-ins ---------------------------------------------------------------


async def test_activity_times_and_rooms_are_checked(session_factory, sw) -> None:
    bad = [
        ({"ends_at": NOW + 24 * H}, "endsAt"),
        ({"ends_at": NOW + 23 * H}, "endsAt"),
        ({"ends_at": NOW + 24 * H + timedelta(days=8)}, "endsAt"),
        ({"starts_at": datetime(2026, 6, 1, 9)}, "startsAt"),
        ({"room_id": sw.foreign_room.id}, "roomId"),
        ({"capacity": 0}, "capacity"),
        ({"title": "  "}, "title"),
    ]
    for change, field in bad:
        assert (
            await _refused(session_factory, create_activity, **_args(sw, change))
        ).field == field
    outsider = sw.members[0]
    assert (
        await _refused(session_factory, create_activity, **_args(sw, {"scope": outsider}))
    ).code == "FORBIDDEN"
    activity = await _activity(session_factory, sw, ends_at=None, room_id=None)
    assert activity.room_id is None and activity.status == ActivityStatus.PLANNED


def _args(sw: StationWorld, change: dict) -> dict:
    return {
        "scope": sw.staff,
        "station_id": sw.station.id,
        "kind": ActivityKind.LEGAL_AID,
        "title": "Legal aid",
        "starts_at": NOW + 24 * H,
        "ends_at": NOW + 26 * H,
    } | change


async def test_capacity_at_and_over_and_overbooking(session_factory, sw) -> None:
    activity = await _activity(session_factory, sw, capacity=2)
    for member in sw.members[:2]:  # each signs itself in
        await _do(
            session_factory,
            record_attendance,
            scope=member,
            activity_id=activity.id,
            member_id=member.member_id,
        )
    full = await _refused(
        session_factory,
        record_attendance,
        scope=sw.members[2],
        activity_id=activity.id,
        member_id=sw.members[2].member_id,
    )
    assert (full.code, full.field) == ("CAPACITY_REACHED", "activityId")
    assert full.message.args["capacity"] == 2  # the message names the places there are
    # Capacity cannot drop below the sign-ins taken...
    lower = await _refused(
        session_factory,
        update_activity,
        scope=sw.staff,
        activity_id=activity.id,
        changes={"capacity": 1},
    )
    assert lower.field == "capacity"
    # ...but overbooking lets the third in.
    await _do(
        session_factory,
        update_activity,
        scope=sw.staff,
        activity_id=activity.id,
        changes={"allowOverbooking": True},
    )
    third = await _do(
        session_factory,
        record_attendance,
        scope=sw.staff,
        activity_id=activity.id,
        member_id=sw.members[2].member_id,
    )
    assert third.attendee_name == "Member 2" and third.enterprise_id == sw.world.enterprise.id
    async with session_factory() as session:
        count = await session.scalar(select(func.count()).select_from(Attendance))
    assert count == 3


async def test_a_member_signs_in_once(session_factory, sw) -> None:
    activity = await _activity(session_factory, sw, capacity=None)
    member = sw.members[0]
    kwargs = {"scope": member, "activity_id": activity.id, "member_id": member.member_id}
    await _do(session_factory, record_attendance, **kwargs)
    again = await _refused(session_factory, record_attendance, **kwargs)
    assert (again.code, again.field) == ("ALREADY_SIGNED_IN", "memberId")
    # Someone else may not sign a member in; staff sign in guests by name (twice is fine).
    other = await _refused(
        session_factory,
        record_attendance,
        scope=sw.members[1],
        activity_id=activity.id,
        member_id=sw.members[2].member_id,
    )
    assert other.code == "FORBIDDEN"
    for _ in range(2):
        guest = await _do(
            session_factory,
            record_attendance,
            scope=sw.staff,
            activity_id=activity.id,
            attendee_name="Wang Fang (bank)",
        )
        assert guest.member_id is None
    nameless = await _refused(
        session_factory, record_attendance, scope=sw.staff, activity_id=activity.id
    )
    assert nameless.field == "attendeeName"


async def test_cancelled_activities_take_no_sign_ins(session_factory, sw) -> None:
    activity = await _activity(session_factory, sw)
    await _do(
        session_factory,
        update_activity,
        scope=sw.staff,
        activity_id=activity.id,
        changes={"status": "CANCELLED"},
    )
    refused = await _refused(
        session_factory,
        record_attendance,
        scope=sw.staff,
        activity_id=activity.id,
        attendee_name="Li",
    )
    assert refused.code == "ACTIVITY_CANCELLED"
    held = await _refused(
        session_factory,
        update_activity,
        scope=sw.staff,
        activity_id=activity.id,
        changes={"status": "HELD"},
    )
    assert held.code == "ILLEGAL_TRANSITION"
    unknown = await _refused(
        session_factory,
        update_activity,
        scope=sw.staff,
        activity_id=activity.id,
        changes={"stationId": "x"},
    )
    assert unknown.field == "stationId"


@pytest.mark.postgres_only
async def test_two_sign_ins_for_the_last_place(session_factory, sw, settings: Settings) -> None:
    activity = await _activity(session_factory, sw, capacity=1)
    engines = [create_engine(settings) for _ in range(2)]
    try:
        results = await asyncio.gather(
            *(
                _do(
                    make_session_factory(engine),
                    record_attendance,
                    scope=sw.staff,
                    activity_id=activity.id,
                    member_id=member.member_id,
                )
                for engine, member in zip(engines, sw.members, strict=False)
            ),
            return_exceptions=True,
        )
    finally:
        for engine in engines:
            await engine.dispose()
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(refused) == 1 and refused[0].code == "CAPACITY_REACHED"


# --- evaluations ---------------------------------------------------------------------------


async def _evaluate(session_factory, sw: StationWorld, **kwargs):
    values = {
        "scope": sw.world.town_staff,
        "chair_id": sw.world.chair.member_id,
        "evaluator_kind": EvaluatorKind.TOWN_UNION,
        "period": "2026",
        "scores": TOWN_SCORES,
        "now": NOW,
    }
    return await _do(session_factory, submit_evaluation, **(values | kwargs))


async def test_scores_are_on_the_fixed_scale_of_the_fixed_criteria(session_factory, sw) -> None:
    first = next(iter(TOWN_SCORES))
    for scores, field in [
        (TOWN_SCORES | {first: 0}, f"scores.{first}"),
        (TOWN_SCORES | {first: 6}, f"scores.{first}"),
        (TOWN_SCORES | {first: 4.5}, f"scores.{first}"),
        (TOWN_SCORES | {first: True}, f"scores.{first}"),
        ({k: v for k, v in TOWN_SCORES.items() if k != first}, f"scores.{first}"),
        (TOWN_SCORES | {"CARE": 4}, "scores.CARE"),  # a members' criterion
    ]:
        with pytest.raises(DomainError) as caught:
            await _evaluate(session_factory, sw, scores=scores)
        assert caught.value.field == field, scores
    edges = TOWN_SCORES | {first: 1, "FUNDS": 5}
    evaluation = await _evaluate(session_factory, sw, scores=edges)
    assert evaluation.total == round((1 + 5 + 4 * 4) / 6, 2)


async def test_one_evaluation_per_evaluator_chair_and_period(session_factory, sw) -> None:
    await _evaluate(session_factory, sw, period="2026-Q1")
    for period in ["2026-Q1", "2026"]:  # the same quarter, or the year that contains it
        with pytest.raises(DomainError) as caught:
            await _evaluate(session_factory, sw, period=period)
        assert (caught.value.code, caught.value.field) == ("ALREADY_EVALUATED", "period")
    await _evaluate(session_factory, sw, period="2026-Q2")  # another quarter is fine
    await _evaluate(session_factory, sw, period="2025")  # and another year
    for period, field in [("2026-Q3", "period"), ("26", "period"), ("2026-Q5", "period")]:
        with pytest.raises(DomainError) as caught:
            await _evaluate(session_factory, sw, period=period)  # Q3 has not begun on 20 May
        assert caught.value.field == field


async def test_who_evaluates_and_the_standing(session_factory, sw) -> None:
    world = sw.world
    # Members of the chair's enterprise rate it as members; a town union rating needs staff.
    for member, score in zip(sw.members, [5, 4, 2], strict=True):
        await _evaluate(
            session_factory,
            sw,
            scope=member,
            evaluator_kind=EvaluatorKind.MEMBER,
            scores=dict.fromkeys(MEMBER_SCORES, score),
        )
    with pytest.raises(DomainError) as caught:
        await _evaluate(session_factory, sw, scope=sw.members[0], period="2025")
    assert caught.value.code == "FORBIDDEN"
    with pytest.raises(DomainError) as caught:
        await _evaluate(session_factory, sw, scope=world.chair)
    assert caught.value.field == "chairId"  # a chair cannot rate itself
    with pytest.raises(DomainError) as caught:
        await _evaluate(session_factory, sw, chair_id=world.liaison.member_id)
    assert caught.value.code == "NOT_FOUND"  # not a chair
    await _evaluate(session_factory, sw)
    await _evaluate(
        session_factory, sw, scope=world.county_staff, scores=TOWN_SCORES | {"FUNDS": 1}
    )
    async with session_factory() as session:
        standing = await chair_standing(session, chair_id=world.chair.member_id)
        other_year = await chair_standing(session, chair_id=world.chair.member_id, period="2025")
    assert standing.members.evaluations == 3
    assert standing.members.average == round((5 + 4 + 2) / 3, 2)
    assert standing.members.criteria["CARE"] == round(11 / 3, 2)
    assert standing.town_union.evaluations == 2
    assert standing.town_union.criteria["FUNDS"] == 2.5
    assert other_year.town_union.evaluations == 0 and other_year.town_union.average is None


# --- big pot and small stove ---------------------------------------------------------------


async def test_big_pot_trainings_one_per_quarter_idempotent(session_factory, sw) -> None:
    # A second-quarter lesson planned by hand already counts.
    by_hand = await _activity(
        session_factory,
        sw,
        kind=ActivityKind.BIG_POT_TRAINING,
        title="Wage consultation, common problems",
        starts_at=datetime.fromisoformat("2026-04-02T01:00:00+00:00"),
        ends_at=None,
        capacity=None,
    )
    kwargs = {"scope": sw.staff, "station_id": sw.station.id, "year": 2026}
    first = await _do(session_factory, schedule_big_pot_trainings, **kwargs)
    again = await _do(session_factory, schedule_big_pot_trainings, **kwargs)
    assert [a.id for a in first] == [a.id for a in again]
    assert first[1].id == by_hand.id
    assert [a.starts_at.month for a in first] == [2, 4, 8, 11]
    assert first[0].starts_at == datetime.fromisoformat("2026-02-15T09:00:00+08:00")
    assert first[0].room_id == sw.rooms[RoomKind.TECH_TRAINING].id
    async with session_factory() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(StationActivity)
            .where(StationActivity.kind == ActivityKind.BIG_POT_TRAINING)
        )
    assert count == 4
    for year in [1999, "2026"]:
        with pytest.raises(DomainError) as caught:
            await _do(session_factory, schedule_big_pot_trainings, **(kwargs | {"year": year}))
        assert caught.value.field == "year"


async def test_coaching_is_answered_with_a_visit(session_factory, sw) -> None:
    request = await _do(
        session_factory,
        request_coaching,
        scope=sw.world.chair,
        station_id=sw.station.id,
        topic="How to run the first workers' congress",
        now=NOW - 48 * H,
    )
    assert request.enterprise_id == sw.world.enterprise.id  # the chair's own enterprise
    assert request.status == CoachingStatus.OPEN
    visit = dict(scope=sw.staff, request_id=request.id, note="Walked through the agenda")
    for when, field in [(NOW + H, "visitedAt"), (NOW - 49 * H, "visitedAt")]:
        with pytest.raises(DomainError) as caught:
            await _do(session_factory, record_coaching_visit, visited_at=when, now=NOW, **visit)
        assert caught.value.field == field
    activity = await _do(
        session_factory, record_coaching_visit, visited_at=NOW - H, now=NOW, **visit
    )
    assert activity.kind == ActivityKind.SMALL_STOVE_COACHING
    assert activity.coaching_request_id == request.id
    assert activity.status == ActivityStatus.HELD
    assert activity.outcome == "Walked through the agenda"
    twice = await _refused(
        session_factory, record_coaching_visit, visited_at=NOW - H, now=NOW, **visit
    )
    assert twice.code == "ALREADY_VISITED"
    async with session_factory() as session:
        answered = await session.get(CoachingRequest, request.id)
    assert answered.status == CoachingStatus.VISITED and answered.visited_at == NOW - H
    # A member who is not a chair cannot ask; a chair cannot ask for another enterprise.
    with pytest.raises(DomainError):
        await _do(
            session_factory,
            request_coaching,
            scope=sw.members[0],
            station_id=sw.station.id,
            topic="x",
        )
    with pytest.raises(DomainError) as caught:
        await _do(
            session_factory,
            request_coaching,
            scope=sw.world.chair,
            station_id=sw.station.id,
            topic="x",
            enterprise_id=sw.world.other_enterprise.id,
        )
    assert caught.value.field == "enterpriseId"
