"""The on-demand "small stove" coaching: an enterprise union asks for on-site coaching, station
staff answer with the visit made (a held activity linked to the request)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.scope import Scope
from api.enterprises.models import Enterprise
from api.errors import DomainError, forbidden, invalid, not_found
from api.i18n import _
from api.members.models import Member, Role
from api.records import utcnow
from api.stations.access import load_station, runs_station, staff_station
from api.stations.activities import add_activity
from api.stations.inputs import MAX_TITLE, clean_text
from api.stations.models import (
    ActivityKind,
    ActivityStatus,
    CoachingRequest,
    CoachingStatus,
    StationActivity,
)
from api.times import parse_time


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
        raise forbidden(_("sign in to ask for coaching"))
    station = await load_station(session, station_id)
    me = await session.get(Member, scope.member_id)
    if not runs_station(scope, station):
        own = me.enterprise_id if me is not None and me.has_role(Role.CHAIR) else None
        if own is None:
            raise forbidden(_("a union chair or the station's staff may ask for coaching"))
        if enterprise_id not in (None, own):
            raise forbidden(_("a chair asks for coaching for its own enterprise"), "enterpriseId")
        enterprise_id = own
    if enterprise_id is not None and await session.get(Enterprise, enterprise_id) is None:
        raise not_found("enterpriseId", _("the enterprise"))
    if not isinstance(topic, str) or not topic.strip():
        raise invalid("topic", _("say what the coaching is about"))
    if len(topic.strip()) > MAX_TITLE:
        raise invalid("topic", _("a topic has at most {MAX_TITLE} characters", MAX_TITLE=MAX_TITLE))
    if request_id is not None and await session.get(CoachingRequest, request_id) is not None:
        raise DomainError("DUPLICATE_ID", _("a coaching request with this id already exists"), "id")
    request = CoachingRequest(
        id=request_id or uuid.uuid4(),
        station_id=station.id,
        enterprise_id=enterprise_id,
        requested_by_id=scope.member_id,
        topic=topic.strip(),
        description=clean_text("description", description),
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
        raise not_found("requestId", _("the coaching request"))
    station = await staff_station(session, scope, request.station_id)
    if request.status == CoachingStatus.VISITED:
        raise DomainError(
            "ALREADY_VISITED", _("this request was already answered with a visit"), "requestId"
        )
    if request.status == CoachingStatus.CANCELLED:
        raise DomainError("ILLEGAL_TRANSITION", _("this request was cancelled"), "requestId")
    visited = parse_time(visited_at, "visitedAt")
    if visited > now:
        raise invalid("visitedAt", _("record a visit once it has been made"))
    if visited < request.requested_at:
        raise invalid("visitedAt", _("the visit cannot come before the request"))
    text = clean_text("note", note)
    if not text:
        raise invalid("note", _("say what the coaching covered"))
    activity = await add_activity(
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
