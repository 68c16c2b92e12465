"""The demo's guidance station (Nanhe, 一站六室): rooms, "big pot" lessons, "small stove"
coaching visits, the other activities, attendance sheets and the two evaluations (双评价)."""

from __future__ import annotations

import statistics
from datetime import timedelta

from api.demo.builder import CST, Build
from api.demo.records import ActivitySpec, CoachingSpec, station
from api.enterprises.models import Enterprise
from api.members.models import Member, Role
from api.stations.criteria import CRITERIA
from api.stations.models import (
    ActivityKind,
    ActivityStatus,
    Attendance,
    CoachingRequest,
    CoachingStatus,
    Evaluation,
    EvaluatorKind,
    Room,
    RoomKind,
    Station,
    StationActivity,
)

ACTIVITY_HOURS = {
    ActivityKind.BIG_POT_TRAINING: 1.0,  # one lesson-hour (一课时)
    ActivityKind.SMALL_STOVE_COACHING: 1.5,
    ActivityKind.LOANS: 3.0,
    ActivityKind.JOB_FAIR: 3.0,
    ActivityKind.READING: 3.0,
}


async def add_station(build: Build) -> tuple[Station, dict[RoomKind, Room]]:
    record = station()
    nanhe = build.grids[build.data.nanhe_code]
    added = Station(
        name=record.name,
        town_name=record.town_name,
        grid_id=nanhe.id,
        address=record.address,
        area_m2=record.area_m2,
        host_enterprise_id=build.nanhe[0].id,
        founded_on=record.founded_on,
    )
    build.session.add(added)
    await build.session.flush()
    rooms = {kind: Room(station_id=added.id, kind=kind, name=name) for kind, name in record.rooms}
    build.session.add_all(rooms.values())
    await build.session.flush()
    return added, rooms


def _planned(
    build: Build, visits: list[tuple[CoachingRequest, CoachingSpec, int]]
) -> list[tuple[ActivitySpec, CoachingRequest | None, Enterprise | None]]:
    """Every activity of the station: a big-pot lesson a quarter (the last one planned), the
    others of the record, and a small-stove activity for each coaching visit."""
    record = station()
    topics = record.big_pot_topics
    first = record.big_pot_first_days_ago
    planned: list[tuple[ActivitySpec, CoachingRequest | None, Enterprise | None]] = []
    for quarter, (room, topic, outcome) in enumerate(topics):
        days_ago = first + record.quarter_days * (len(topics) - 2 - quarter)
        spec = ActivitySpec(
            days_ago if quarter < len(topics) - 1 else -first,
            ActivityKind.BIG_POT_TRAINING,
            room,
            record.big_pot_title.format(topic=topic),
            40,
            outcome or None,
        )
        planned.append((spec, None, None))
    planned += [(spec, None, None) for spec in record.activities]
    for request, coaching, visit_days_ago in visits:
        spec = ActivitySpec(
            visit_days_ago,
            ActivityKind.SMALL_STOVE_COACHING,
            RoomKind.GRID_SERVICE,
            record.small_stove_title.format(topic=coaching.topic),
            12,
            coaching.visit_note,
        )
        planned.append((spec, request, build.nanhe[coaching.enterprise]))
    planned.sort(key=lambda item: -item[0].days_ago)
    return planned


async def station_life(build: Build, at: Station, rooms: dict[RoomKind, Room]) -> None:
    record = station()
    session, clock = build.session, build.clock
    chairs = [build.chair[e.id] for e in build.nanhe]
    all_members = [m for e in build.nanhe for m in build.members_of[e.id]]
    recorder = build.heads[1]

    # Small-stove requests first: their visits are activities that point back to them.
    visits: list[tuple[CoachingRequest, CoachingSpec, int]] = []
    for spec in record.coaching_requests:
        enterprise = build.nanhe[spec.enterprise]
        request = CoachingRequest(
            station_id=at.id,
            enterprise_id=enterprise.id,
            requested_by_id=build.chair[enterprise.id].id,
            topic=spec.topic,
            description=spec.description,
            status=spec.status,
            requested_at=build.local(spec.requested_days_ago, clock.randint(8, 17)),
        )
        if spec.status == CoachingStatus.VISITED and spec.visit_days_ago is not None:
            request.visited_at = build.local(spec.visit_days_ago, 14, 30)
            request.visit_note = spec.visit_note
        session.add(request)
        if spec.visit_days_ago is not None:
            visits.append((request, spec, spec.visit_days_ago))
    await session.flush()

    activities: list[tuple[StationActivity, ActivitySpec, Enterprise | None]] = []
    for spec, request, enterprise in _planned(build, visits):
        if spec.kind == ActivityKind.SMALL_STOVE_COACHING:
            starts = build.local(spec.days_ago, 14, 30)
        else:
            starts = build.local(spec.days_ago, clock.choice((9, 14)), clock.choice((0, 30)))
        status = ActivityStatus.PLANNED if spec.days_ago < 0 else ActivityStatus.HELD
        if spec.cancelled:
            status = ActivityStatus.CANCELLED
        activity = StationActivity(
            station_id=at.id,
            room_id=rooms[spec.room].id,
            kind=spec.kind,
            title=spec.title,
            description=request.description if request else "",
            starts_at=starts,
            ends_at=starts + timedelta(hours=ACTIVITY_HOURS.get(spec.kind, 2.0)),
            capacity=spec.capacity,
            status=status,
            outcome=spec.outcome if status == ActivityStatus.HELD else None,
            loans_issued_yuan=spec.loans_yuan,
            coaching_request_id=request.id if request else None,
        )
        if spec.cancelled:
            activity.description = record.cancelled_note
        session.add(activity)
        activities.append((activity, spec, enterprise))
    await session.flush()

    demo_member = build.accounts[Role.MEMBER]
    for activity, spec, enterprise in activities:
        if activity.status != ActivityStatus.HELD:
            continue
        size = round(spec.capacity * clock.uniform(0.6, 0.95))
        if spec.kind == ActivityKind.BIG_POT_TRAINING:
            attending = chairs + clock.sample(all_members, size - len(chairs))
        elif enterprise is not None:
            staff = build.members_of[enterprise.id]
            attending = [build.chair[enterprise.id], *clock.sample(staff, min(size, len(staff)))]
        else:
            attending = clock.sample(all_members, size)
            # The demo member has a history to look at.
            if demo_member not in attending and clock.random() < 0.4:
                attending[-1] = demo_member
        session.add_all(
            Attendance(
                activity_id=activity.id,
                station_id=at.id,
                member_id=person.id,
                attendee_name=person.name,
                enterprise_id=person.enterprise_id,
                recorded_by_id=recorder.id,
                signed_in_at=activity.starts_at - timedelta(minutes=clock.uniform(0, 20)),
            )
            for person in attending
        )

    # Two evaluations (双评价): the town union's of every chair (last year and this), and a
    # few members' of their own chair.
    year = build.now.astimezone(CST).year
    for enterprise, chair in zip(build.nanhe, chairs, strict=True):
        base = clock.uniform(3.6, 4.7)
        for period in (str(year - 1), str(year)):
            _evaluation(build, chair, recorder, EvaluatorKind.TOWN_UNION, at, period, base)
        staff = build.members_of[enterprise.id]
        evaluators = clock.sample(staff, record.member_evaluations_per_chair)
        if enterprise is build.nanhe[0] and demo_member not in evaluators:
            evaluators[0] = demo_member
        for evaluator in evaluators:
            _evaluation(build, chair, evaluator, EvaluatorKind.MEMBER, at, str(year), base)
    await session.flush()


def _evaluation(
    build: Build,
    chair: Member,
    evaluator: Member,
    kind: EvaluatorKind,
    at: Station,
    period: str,
    base: float,
) -> None:
    criteria = CRITERIA[kind]
    scores = {c: max(1, min(5, round(build.clock.gauss(base, 0.6)))) for c in criteria}
    build.session.add(
        Evaluation(
            chair_id=chair.id,
            evaluator_id=evaluator.id,
            evaluator_kind=kind,
            station_id=at.id,
            period=period,
            scores=scores,
            total=round(statistics.fmean(scores.values()), 2),
            comment=build.clock.choice(station().evaluation_comments),
        )
    )
