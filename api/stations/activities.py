"""Station activities: planning one (in one of the station's rooms or on site), changing it
within the moves of ACTIVITY_MOVES, and the capacity its sign-ins count against."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.scope import Scope
from api.errors import DomainError, invalid, not_found
from api.i18n import _
from api.stations.access import load_activity, staff_station
from api.stations.inputs import MAX_TITLE, clean_text
from api.stations.models import (
    ActivityKind,
    ActivityStatus,
    Attendance,
    Room,
    Station,
    StationActivity,
)
from api.times import parse_time

MAX_ACTIVITY_LENGTH = timedelta(days=7)
ACTIVITY_MOVES: dict[ActivityStatus, frozenset[ActivityStatus]] = {
    ActivityStatus.PLANNED: frozenset({ActivityStatus.HELD, ActivityStatus.CANCELLED}),
    ActivityStatus.CANCELLED: frozenset({ActivityStatus.PLANNED}),
    ActivityStatus.HELD: frozenset(),
}


def _title(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid("title", _("an activity needs a title"))
    if len(value.strip()) > MAX_TITLE:
        raise invalid("title", _("a title has at most {MAX_TITLE} characters", MAX_TITLE=MAX_TITLE))
    return value.strip()


def _check_times(starts_at: datetime, ends_at: datetime | None) -> None:
    if ends_at is None:
        return
    if ends_at <= starts_at:
        raise invalid("endsAt", _("an activity must end after it starts"))
    if ends_at - starts_at > MAX_ACTIVITY_LENGTH:
        raise invalid("endsAt", _("an activity lasts at most 7 days; plan longer ones in parts"))


def _capacity(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise invalid("capacity", _("capacity is a whole number of places, at least 1"))
    return value


async def _room_of(session: AsyncSession, station: Station, room_id: Any) -> uuid.UUID | None:
    if room_id is None:
        return None
    try:
        room_uuid = room_id if isinstance(room_id, uuid.UUID) else uuid.UUID(str(room_id))
    except ValueError:
        raise invalid("roomId", _("roomId is not an id")) from None
    room = await session.get(Room, room_uuid)
    if room is None or room.deleted:
        raise not_found("roomId", _("the room"))
    if room.station_id != station.id:
        raise invalid("roomId", _("{name} belongs to another station", name=room.name))
    return room.id


async def signed_in_count(session: AsyncSession, activity_id: uuid.UUID) -> int:
    return await session.scalar(
        select(func.count())
        .select_from(Attendance)
        .where(Attendance.activity_id == activity_id, Attendance.deleted_at.is_(None))
    )


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
    station = await staff_station(session, scope, station_id)
    return await add_activity(
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


async def add_activity(
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
        raise DomainError("DUPLICATE_ID", _("an activity with this id already exists"), "id")
    activity = StationActivity(
        id=activity_id or uuid.uuid4(),
        station_id=station.id,
        room_id=await _room_of(session, station, room_id),
        kind=ActivityKind(kind),
        title=_title(title),
        description=clean_text("description", description),
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
    activity = await load_activity(session, activity_id, lock=True)
    station = await staff_station(session, scope, activity.station_id)
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
        raise invalid(unknown[0], _("{unknown} cannot be changed this way", unknown=unknown[0]))
    starts = parse_time(changes["startsAt"], "startsAt") if "startsAt" in changes else None
    ends = activity.ends_at
    if "endsAt" in changes:
        ends = parse_time(changes["endsAt"], "endsAt") if changes["endsAt"] is not None else None
    if activity.status == ActivityStatus.HELD and (starts or "endsAt" in changes):
        raise invalid("startsAt", _("a held activity keeps its time"))
    _check_times(starts or activity.starts_at, ends)
    if "title" in changes:
        activity.title = _title(changes["title"])
    if "description" in changes:
        activity.description = clean_text("description", changes["description"])
    if "outcome" in changes:
        activity.outcome = clean_text("outcome", changes["outcome"]) or None
    if "roomId" in changes:
        activity.room_id = await _room_of(session, station, changes["roomId"])
    if "loansIssuedYuan" in changes:
        loans = changes["loansIssuedYuan"]
        if loans is not None and (type(loans) is not int or loans < 0):
            raise invalid("loansIssuedYuan", _("loans issued is a whole number of yuan, 0 or more"))
        activity.loans_issued_yuan = loans
    if "allowOverbooking" in changes:
        activity.allow_overbooking = bool(changes["allowOverbooking"])
    if "capacity" in changes:
        capacity = _capacity(changes["capacity"])
        taken = await signed_in_count(session, activity.id)
        if capacity is not None and capacity < taken and not activity.allow_overbooking:
            raise invalid(
                "capacity",
                _("{taken} people have already signed in; capacity cannot be lower", taken=taken),
            )
        activity.capacity = capacity
    if "status" in changes:
        try:
            status = ActivityStatus(changes["status"])
        except ValueError:
            raise invalid("status", _("status is PLANNED, HELD or CANCELLED")) from None
        if status != activity.status:
            if status not in ACTIVITY_MOVES[activity.status]:
                raise DomainError(
                    "ILLEGAL_TRANSITION",
                    _(
                        "a {status} activity cannot become {status2}",
                        status=activity.status,
                        status2=status,
                    ),
                    "status",
                )
            activity.status = status
    if starts is not None:
        activity.starts_at = starts
    activity.ends_at = ends
    await session.flush()
    return activity
