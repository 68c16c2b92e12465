"""The guidance station's rules: activities and their sign-ins, the two evaluations of
chairs, the quarterly "big pot" training and the on-demand "small stove" coaching."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.scope import Scope
from api.enterprises.models import Enterprise
from api.errors import DomainError, forbidden, invalid, not_found
from api.i18n import BEIJING
from api.members.models import Member, Role
from api.records import utcnow
from api.stations.criteria import CRITERIA, SCALE_MAX, SCALE_MIN
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
from api.times import parse_time

# Station times are local: the quarterly lesson is set at 09:00 Beijing time.
MAX_ACTIVITY_LENGTH = timedelta(days=7)
MAX_TITLE = 200
MAX_TEXT = 5_000
PERIOD = re.compile(r"^(?P<year>\d{4})(?:-Q(?P<quarter>[1-4]))?$")
ACTIVITY_MOVES: dict[ActivityStatus, frozenset[ActivityStatus]] = {
    ActivityStatus.PLANNED: frozenset({ActivityStatus.HELD, ActivityStatus.CANCELLED}),
    ActivityStatus.CANCELLED: frozenset({ActivityStatus.PLANNED}),
    ActivityStatus.HELD: frozenset(),
}


# --- who may ------------------------------------------------------------------------------


def runs_station(scope: Scope, station: Station) -> bool:
    """Station staff: members of the station, the town staff of its town, county-wide roles."""
    if scope.read_only:
        return False
    if scope.everything or station.id in scope.station_ids:
        return True
    return scope.has_role(Role.TOWN_STAFF) and scope.sees_grid(station.grid_id)


async def _station(session: AsyncSession, station_id: uuid.UUID, *, lock: bool = False) -> Station:
    statement = select(Station).where(Station.id == station_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    station = await session.scalar(statement)
    if station is None or station.deleted:
        raise not_found("stationId", "the station")
    return station


async def _staff_station(
    session: AsyncSession, scope: Scope, station_id: uuid.UUID, *, lock: bool = False
) -> Station:
    station = await _station(session, station_id, lock=lock)
    if not runs_station(scope, station):
        raise forbidden("only the station's staff or the town union may do this", "stationId")
    return station


async def _activity(
    session: AsyncSession, activity_id: uuid.UUID, *, lock: bool = False
) -> StationActivity:
    statement = select(StationActivity).where(StationActivity.id == activity_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        # Sign-ins of one activity queue here, so the capacity count cannot be raced.
        statement = statement.with_for_update()
    activity = await session.scalar(statement)
    if activity is None or activity.deleted:
        raise not_found("activityId", "the activity")
    return activity


# --- checks shared by create and update ---------------------------------------------------


def _title(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid("title", "an activity needs a title")
    if len(value.strip()) > MAX_TITLE:
        raise invalid("title", f"a title has at most {MAX_TITLE} characters")
    return value.strip()


def _text(field: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid(field, f"{field} must be text")
    if len(value) > MAX_TEXT:
        raise invalid(field, f"{field} has at most {MAX_TEXT} characters")
    return value.strip()


def _check_times(starts_at: datetime, ends_at: datetime | None) -> None:
    if ends_at is None:
        return
    if ends_at <= starts_at:
        raise invalid("endsAt", "an activity must end after it starts")
    if ends_at - starts_at > MAX_ACTIVITY_LENGTH:
        raise invalid("endsAt", "an activity lasts at most 7 days; plan longer ones in parts")


def _capacity(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise invalid("capacity", "capacity is a whole number of places, at least 1")
    return value


async def _room_of(session: AsyncSession, station: Station, room_id: Any) -> uuid.UUID | None:
    if room_id is None:
        return None
    try:
        room_uuid = room_id if isinstance(room_id, uuid.UUID) else uuid.UUID(str(room_id))
    except ValueError:
        raise invalid("roomId", "roomId is not an id") from None
    room = await session.get(Room, room_uuid)
    if room is None or room.deleted:
        raise not_found("roomId", "the room")
    if room.station_id != station.id:
        raise invalid("roomId", f"{room.name} belongs to another station")
    return room.id


async def _signed_in(session: AsyncSession, activity_id: uuid.UUID) -> int:
    return await session.scalar(
        select(func.count())
        .select_from(Attendance)
        .where(Attendance.activity_id == activity_id, Attendance.deleted_at.is_(None))
    )


# --- activities ---------------------------------------------------------------------------


async def create_activity(
    session: AsyncSession,
    *,
    scope: Scope,
    station_id: uuid.UUID,
    kind: ActivityKind,
    title: str,
    starts_at: datetime,
    ends_at: datetime | None = None,
    room_id: uuid.UUID | None = None,
    capacity: int | None = None,
    allow_overbooking: bool = False,
    description: str = "",
    activity_id: uuid.UUID | None = None,
) -> StationActivity:
    """Plan an activity at a station, in one of its rooms or on site."""
    station = await _staff_station(session, scope, station_id)
    return await _add_activity(
        session,
        station=station,
        kind=kind,
        title=title,
        starts_at=starts_at,
        ends_at=ends_at,
        room_id=room_id,
        capacity=capacity,
        allow_overbooking=allow_overbooking,
        description=description,
        activity_id=activity_id,
    )


async def _add_activity(
    session: AsyncSession,
    *,
    station: Station,
    kind: ActivityKind,
    title: str,
    starts_at: datetime,
    ends_at: datetime | None = None,
    room_id: uuid.UUID | None = None,
    capacity: int | None = None,
    allow_overbooking: bool = False,
    description: str = "",
    activity_id: uuid.UUID | None = None,
    status: ActivityStatus = ActivityStatus.PLANNED,
    outcome: str | None = None,
    coaching_request_id: uuid.UUID | None = None,
) -> StationActivity:
    starts = parse_time(starts_at, "startsAt")
    ends = parse_time(ends_at, "endsAt") if ends_at is not None else None
    _check_times(starts, ends)
    if activity_id is not None and await session.get(StationActivity, activity_id) is not None:
        raise DomainError("DUPLICATE_ID", "an activity with this id already exists", "id")
    activity = StationActivity(
        id=activity_id or uuid.uuid4(),
        station_id=station.id,
        room_id=await _room_of(session, station, room_id),
        kind=ActivityKind(kind),
        title=_title(title),
        description=_text("description", description),
        starts_at=starts,
        ends_at=ends,
        capacity=_capacity(capacity),
        allow_overbooking=bool(allow_overbooking),
        status=status,
        outcome=outcome,
        coaching_request_id=coaching_request_id,
    )
    session.add(activity)
    await session.flush()
    return activity


async def update_activity(
    session: AsyncSession, *, scope: Scope, activity_id: uuid.UUID, changes: Mapping[str, Any]
) -> StationActivity:
    """Change an activity's details (camelCase keys as clients send them). Capacity cannot
    drop below the sign-ins already taken unless overbooking is allowed; a held activity
    keeps its time; a cancelled one can be planned again."""
    activity = await _activity(session, activity_id, lock=True)
    station = await _staff_station(session, scope, activity.station_id)
    allowed = {
        "title",
        "description",
        "startsAt",
        "endsAt",
        "roomId",
        "capacity",
        "allowOverbooking",
        "status",
        "outcome",
        "loansIssuedYuan",
    }
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise invalid(unknown[0], f"{unknown[0]} cannot be changed this way")
    starts = parse_time(changes["startsAt"], "startsAt") if "startsAt" in changes else None
    ends = activity.ends_at
    if "endsAt" in changes:
        ends = parse_time(changes["endsAt"], "endsAt") if changes["endsAt"] is not None else None
    if activity.status == ActivityStatus.HELD and (starts or "endsAt" in changes):
        raise invalid("startsAt", "a held activity keeps its time")
    _check_times(starts or activity.starts_at, ends)
    if "title" in changes:
        activity.title = _title(changes["title"])
    if "description" in changes:
        activity.description = _text("description", changes["description"])
    if "outcome" in changes:
        activity.outcome = _text("outcome", changes["outcome"]) or None
    if "roomId" in changes:
        activity.room_id = await _room_of(session, station, changes["roomId"])
    if "loansIssuedYuan" in changes:
        loans = changes["loansIssuedYuan"]
        if loans is not None and (type(loans) is not int or loans < 0):
            raise invalid("loansIssuedYuan", "loans issued is a whole number of yuan, 0 or more")
        activity.loans_issued_yuan = loans
    if "allowOverbooking" in changes:
        activity.allow_overbooking = bool(changes["allowOverbooking"])
    if "capacity" in changes:
        capacity = _capacity(changes["capacity"])
        taken = await _signed_in(session, activity.id)
        if capacity is not None and capacity < taken and not activity.allow_overbooking:
            raise invalid(
                "capacity", f"{taken} people have already signed in; capacity cannot be lower"
            )
        activity.capacity = capacity
    if "status" in changes:
        try:
            status = ActivityStatus(changes["status"])
        except ValueError:
            raise invalid("status", "status is PLANNED, HELD or CANCELLED") from None
        if status != activity.status:
            if status not in ACTIVITY_MOVES[activity.status]:
                raise DomainError(
                    "ILLEGAL_TRANSITION",
                    f"a {activity.status.value} activity cannot become {status.value}",
                    "status",
                )
            activity.status = status
    if starts is not None:
        activity.starts_at = starts
    activity.ends_at = ends
    await session.flush()
    return activity


# --- sign-ins -----------------------------------------------------------------------------


async def record_attendance(
    session: AsyncSession,
    *,
    scope: Scope,
    activity_id: uuid.UUID,
    member_id: uuid.UUID | None = None,
    attendee_name: str | None = None,
    enterprise_id: uuid.UUID | None = None,
    signed_in_at: datetime | None = None,
    attendance_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Attendance:
    """Sign one person in to an activity: a member signs itself in, station staff sign in
    anyone (also people who are not members, by name). A member signs in once per activity;
    the activity's capacity holds unless it allows overbooking."""
    now = now or utcnow()
    if scope.read_only:
        raise forbidden("this token is read-only")
    activity = await _activity(session, activity_id, lock=True)
    station = await _station(session, activity.station_id)
    is_self = member_id is not None and member_id == scope.member_id
    if not (is_self or runs_station(scope, station)):
        raise forbidden("members sign themselves in; station staff sign in others", "memberId")
    if activity.status == ActivityStatus.CANCELLED:
        raise DomainError("ACTIVITY_CANCELLED", "the activity was cancelled", "activityId")
    name = (attendee_name or "").strip()
    member = None
    if member_id is not None:
        member = await session.get(Member, member_id)
        if member is None or member.deleted:
            raise not_found("memberId", "the member")
        name = name or member.name
        already = await session.scalar(
            select(Attendance.id).where(
                Attendance.activity_id == activity.id,
                Attendance.member_id == member.id,
                Attendance.deleted_at.is_(None),
            )
        )
        if already is not None:
            raise DomainError(
                "ALREADY_SIGNED_IN", f"{member.name} has already signed in", "memberId"
            )
    if not name:
        raise invalid("attendeeName", "give the attendee's name")
    if len(name) > 100:
        raise invalid("attendeeName", "a name has at most 100 characters")
    when = parse_time(signed_in_at, "signedInAt") if signed_in_at is not None else now
    if activity.capacity is not None and not activity.allow_overbooking:
        taken = await _signed_in(session, activity.id)
        if taken >= activity.capacity:
            raise DomainError(
                "CAPACITY_REACHED",
                f"the activity is full: all {activity.capacity} places are taken",
                "activityId",
            )
    if enterprise_id is None and member is not None:
        enterprise_id = member.enterprise_id
    elif enterprise_id is not None and await session.get(Enterprise, enterprise_id) is None:
        raise not_found("enterpriseId", "the enterprise")
    attendance = Attendance(
        id=attendance_id or uuid.uuid4(),
        activity_id=activity.id,
        station_id=activity.station_id,
        member_id=member.id if member else None,
        attendee_name=name,
        enterprise_id=enterprise_id,
        recorded_by_id=scope.member_id,
        signed_in_at=when,
    )
    try:
        async with session.begin_nested():
            session.add(attendance)
            await session.flush()
    except IntegrityError:
        # Only a sign-in racing past the checks lands here (SQLite has no row lock to wait on).
        raise DomainError(
            "ALREADY_SIGNED_IN", f"{name} has already signed in", "memberId"
        ) from None
    return attendance


# --- evaluations of chairs ---------------------------------------------------------------


def _period_bounds(period: str) -> tuple[int, int | None]:
    match = PERIOD.match(period or "")
    if match is None:
        raise invalid("period", "a period is a year such as 2026 or a quarter such as 2026-Q3")
    quarter = match.group("quarter")
    return int(match.group("year")), int(quarter) if quarter else None


def _quarter_start(year: int, quarter: int) -> datetime:
    return datetime(year, 3 * quarter - 2, 1, tzinfo=BEIJING)


def _periods_overlap(a: str, b: str) -> bool:
    (year_a, quarter_a), (year_b, quarter_b) = _period_bounds(a), _period_bounds(b)
    return year_a == year_b and (quarter_a is None or quarter_b is None or quarter_a == quarter_b)


def _scores(kind: EvaluatorKind, scores: Mapping[str, Any]) -> dict[str, int]:
    criteria = CRITERIA[kind]
    if not isinstance(scores, Mapping):
        raise invalid("scores", "scores are given per criterion")
    unknown = sorted(set(scores) - set(criteria))
    if unknown:
        raise invalid(
            f"scores.{unknown[0]}",
            f"{unknown[0]} is not a criterion of this evaluation; the criteria are "
            + ", ".join(criteria),
        )
    clean: dict[str, int] = {}
    for code in criteria:
        if code not in scores:
            raise invalid(f"scores.{code}", f"score every criterion; {code} is missing")
        value = scores[code]
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid(f"scores.{code}", f"{code} needs a whole number")
        if not SCALE_MIN <= value <= SCALE_MAX:
            raise invalid(
                f"scores.{code}", f"{code} is scored from {SCALE_MIN} to {SCALE_MAX}, got {value}"
            )
        clean[code] = value
    return clean


async def submit_evaluation(
    session: AsyncSession,
    *,
    scope: Scope,
    chair_id: uuid.UUID,
    evaluator_kind: EvaluatorKind,
    period: str,
    scores: Mapping[str, Any],
    station_id: uuid.UUID | None = None,
    comment: str | None = None,
    evaluation_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Evaluation:
    """The caller rates a chair for a period: as the town union (town or county staff) against
    the standardisation criteria, or as a member of the chair's enterprise against the "model
    workers' home" criteria. Once per evaluator, chair and period (a year and a quarter of it
    overlap); a period that has not begun cannot be rated."""
    now = now or utcnow()
    if scope.read_only or scope.member_id is None:
        raise forbidden("sign in as the evaluator to submit an evaluation")
    kind = EvaluatorKind(evaluator_kind)
    year, quarter = _period_bounds(period)
    if _quarter_start(year, quarter or 1) > now:
        raise invalid("period", f"{period} has not begun; it cannot be rated yet")
    chair = await session.get(Member, chair_id)
    if chair is None or chair.deleted or not chair.has_role(Role.CHAIR):
        raise not_found("chairId", "the union chair")
    if chair.id == scope.member_id:
        raise invalid("chairId", "a chair cannot rate itself")
    enterprise = await session.get(Enterprise, chair.enterprise_id) if chair.enterprise_id else None
    if kind == EvaluatorKind.TOWN_UNION:
        staff = scope.has_role(Role.TOWN_STAFF, Role.COUNTY_STAFF, Role.ADMIN)
        sees = scope.everything or (enterprise is not None and scope.sees_grid(enterprise.grid_id))
        if not (staff and sees):
            raise forbidden("the town union of the chair's town rates it", "evaluatorKind")
    else:
        evaluator = await session.get(Member, scope.member_id)
        if evaluator is None or enterprise is None or evaluator.enterprise_id != enterprise.id:
            raise forbidden("members rate the chair of their own enterprise", "evaluatorKind")
    if station_id is not None:
        await _station(session, station_id)
    clean = _scores(kind, scores)
    if comment is not None and len(comment) > 1000:
        raise invalid("comment", "a comment has at most 1000 characters")
    earlier = await session.scalars(
        select(Evaluation.period).where(
            Evaluation.chair_id == chair.id,
            Evaluation.evaluator_id == scope.member_id,
            Evaluation.evaluator_kind == kind,
            Evaluation.deleted_at.is_(None),
        )
    )
    for other in earlier:
        if _periods_overlap(other, period):
            raise DomainError(
                "ALREADY_EVALUATED",
                f"you have already rated {chair.name} for {other}",
                "period",
            )
    evaluation = Evaluation(
        id=evaluation_id or uuid.uuid4(),
        chair_id=chair.id,
        evaluator_id=scope.member_id,
        evaluator_kind=kind,
        station_id=station_id,
        period=period,
        scores=clean,
        total=round(sum(clean.values()) / len(clean), 2),
        comment=comment.strip() if comment else None,
    )
    try:
        async with session.begin_nested():
            session.add(evaluation)
            await session.flush()
    except IntegrityError:
        raise DomainError(
            "ALREADY_EVALUATED", f"you have already rated {chair.name} for {period}", "period"
        ) from None
    return evaluation


@dataclass(frozen=True)
class StandingPart:
    """One side's evaluations of a chair: how many, the mean score, the mean per criterion."""

    evaluations: int
    average: float | None
    criteria: dict[str, float]


@dataclass(frozen=True)
class ChairStanding:
    chair_id: uuid.UUID
    period: str | None
    town_union: StandingPart
    members: StandingPart


def _part(evaluations: list[Evaluation], kind: EvaluatorKind) -> StandingPart:
    if not evaluations:
        return StandingPart(0, None, {})
    criteria = {
        code: round(sum(e.scores.get(code, 0) for e in evaluations) / len(evaluations), 2)
        for code in CRITERIA[kind]
    }
    average = round(sum(e.total for e in evaluations) / len(evaluations), 2)
    return StandingPart(len(evaluations), average, criteria)


async def chair_standing(
    session: AsyncSession, *, chair_id: uuid.UUID, period: str | None = None
) -> ChairStanding:
    """The town union's and the members' evaluations of a chair, aggregated separately (a
    year includes its quarters)."""
    if period is not None:
        _period_bounds(period)
    rows = list(
        await session.scalars(
            select(Evaluation).where(
                Evaluation.chair_id == chair_id, Evaluation.deleted_at.is_(None)
            )
        )
    )
    if period is not None:
        rows = [e for e in rows if e.period == period or e.period.startswith(f"{period}-")]
    return ChairStanding(
        chair_id=chair_id,
        period=period,
        town_union=_part(
            [e for e in rows if e.evaluator_kind == EvaluatorKind.TOWN_UNION],
            EvaluatorKind.TOWN_UNION,
        ),
        members=_part(
            [e for e in rows if e.evaluator_kind == EvaluatorKind.MEMBER], EvaluatorKind.MEMBER
        ),
    )


# --- big pot and small stove --------------------------------------------------------------


async def schedule_big_pot_trainings(
    session: AsyncSession, *, scope: Scope, station_id: uuid.UUID, year: int
) -> list[StationActivity]:
    """One "big pot" lesson per quarter of the year, on the 15th of the quarter's middle month
    at 09:00 (Beijing time) in the technology-training room. Idempotent: a quarter that has a
    big-pot training already (planned, held or cancelled) gets none; returns the four, in
    quarter order."""
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise invalid("year", "give a year such as 2026")
    # Locked so that two schedulers of one station queue instead of both adding a quarter.
    station = await _staff_station(session, scope, station_id, lock=True)
    room = await session.scalar(
        select(Room.id).where(
            Room.station_id == station.id,
            Room.kind == RoomKind.TECH_TRAINING,
            Room.deleted_at.is_(None),
        )
    )
    existing = list(
        await session.scalars(
            select(StationActivity)
            .where(
                StationActivity.station_id == station.id,
                StationActivity.kind == ActivityKind.BIG_POT_TRAINING,
                StationActivity.starts_at >= _quarter_start(year, 1),
                StationActivity.starts_at < datetime(year + 1, 1, 1, tzinfo=BEIJING),
                StationActivity.deleted_at.is_(None),
            )
            .order_by(StationActivity.starts_at)
        )
    )
    quarters: list[StationActivity] = []
    for quarter in range(1, 5):
        start, end = _quarter_start(year, quarter), _quarter_end(year, quarter)
        held = next((a for a in existing if start <= a.starts_at < end), None)
        if held is None:
            lesson = datetime(year, 3 * quarter - 1, 15, 9, tzinfo=BEIJING)
            held = await _add_activity(
                session,
                station=station,
                kind=ActivityKind.BIG_POT_TRAINING,
                title=f"{year} Q{quarter} big-pot training: common problems from enterprises",
                starts_at=lesson,
                ends_at=lesson + timedelta(hours=2),
                room_id=room,
            )
        quarters.append(held)
    return quarters


def _quarter_end(year: int, quarter: int) -> datetime:
    return _quarter_start(year + 1, 1) if quarter == 4 else _quarter_start(year, quarter + 1)


async def request_coaching(
    session: AsyncSession,
    *,
    scope: Scope,
    station_id: uuid.UUID,
    topic: str,
    enterprise_id: uuid.UUID | None = None,
    description: str = "",
    requested_at: datetime | None = None,
    request_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> CoachingRequest:
    """A "small stove" request: any enterprise union may ask for on-site coaching at any time
    (a chair for its own enterprise, or station staff on a union's behalf)."""
    now = now or utcnow()
    if scope.read_only or scope.member_id is None:
        raise forbidden("sign in to ask for coaching")
    station = await _station(session, station_id)
    me = await session.get(Member, scope.member_id)
    if not runs_station(scope, station):
        own = me.enterprise_id if me is not None and me.has_role(Role.CHAIR) else None
        if own is None:
            raise forbidden("a union chair or the station's staff may ask for coaching")
        if enterprise_id not in (None, own):
            raise forbidden("a chair asks for coaching for its own enterprise", "enterpriseId")
        enterprise_id = own
    if enterprise_id is not None and await session.get(Enterprise, enterprise_id) is None:
        raise not_found("enterpriseId", "the enterprise")
    if not isinstance(topic, str) or not topic.strip():
        raise invalid("topic", "say what the coaching is about")
    if len(topic.strip()) > MAX_TITLE:
        raise invalid("topic", f"a topic has at most {MAX_TITLE} characters")
    if request_id is not None and await session.get(CoachingRequest, request_id) is not None:
        raise DomainError("DUPLICATE_ID", "a coaching request with this id already exists", "id")
    request = CoachingRequest(
        id=request_id or uuid.uuid4(),
        station_id=station.id,
        enterprise_id=enterprise_id,
        requested_by_id=scope.member_id,
        topic=topic.strip(),
        description=_text("description", description),
        requested_at=parse_time(requested_at, "requestedAt") if requested_at else now,
    )
    session.add(request)
    await session.flush()
    return request


async def record_coaching_visit(
    session: AsyncSession,
    *,
    scope: Scope,
    request_id: uuid.UUID,
    visited_at: datetime,
    note: str,
    ends_at: datetime | None = None,
    title: str | None = None,
    activity_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> StationActivity:
    """Answer a coaching request with the visit that was made: a held SMALL_STOVE_COACHING
    activity linked to the request, and the request marked VISITED."""
    now = now or utcnow()
    statement = select(CoachingRequest).where(CoachingRequest.id == request_id)
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    request = await session.scalar(statement)
    if request is None or request.deleted:
        raise not_found("requestId", "the coaching request")
    station = await _staff_station(session, scope, request.station_id)
    if request.status == CoachingStatus.VISITED:
        raise DomainError(
            "ALREADY_VISITED", "this request was already answered with a visit", "requestId"
        )
    if request.status == CoachingStatus.CANCELLED:
        raise DomainError("ILLEGAL_TRANSITION", "this request was cancelled", "requestId")
    visited = parse_time(visited_at, "visitedAt")
    if visited > now:
        raise invalid("visitedAt", "record a visit once it has been made")
    if visited < request.requested_at:
        raise invalid("visitedAt", "the visit cannot come before the request")
    text = _text("note", note)
    if not text:
        raise invalid("note", "say what the coaching covered")
    activity = await _add_activity(
        session,
        station=station,
        kind=ActivityKind.SMALL_STOVE_COACHING,
        title=title or f"Small-stove coaching: {request.topic}"[:MAX_TITLE],
        starts_at=visited,
        ends_at=ends_at,
        status=ActivityStatus.HELD,
        outcome=text,
        coaching_request_id=request.id,
        activity_id=activity_id,
    )
    request.status = CoachingStatus.VISITED
    request.visited_at = visited
    request.visit_note = text
    await session.flush()
    return activity
