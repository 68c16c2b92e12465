"""Sign-ins to station activities: members sign themselves in, station staff sign in anyone,
once per member and activity, within the activity's capacity."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.scope import Scope
from api.enterprises.models import Enterprise
from api.errors import DomainError, forbidden, invalid, not_found
from api.i18n import _
from api.members.models import Member
from api.records import add_unless_taken, utcnow
from api.stations.access import load_activity, load_station, runs_station
from api.stations.activities import signed_in_count
from api.stations.models import ActivityStatus, Attendance
from api.times import parse_time


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
        raise forbidden(_("this token is read-only"))
    activity = await load_activity(session, activity_id, lock=True)
    station = await load_station(session, activity.station_id)
    is_self = member_id is not None and member_id == scope.member_id
    if not (is_self or runs_station(scope, station)):
        raise forbidden(_("members sign themselves in; station staff sign in others"), "memberId")
    if activity.status == ActivityStatus.CANCELLED:
        raise DomainError("ACTIVITY_CANCELLED", _("the activity was cancelled"), "activityId")
    name = (attendee_name or "").strip()
    member = None
    if member_id is not None:
        member = await session.get(Member, member_id)
        if member is None or member.deleted:
            raise not_found("memberId", _("the member"))
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
                "ALREADY_SIGNED_IN", _("{name} has already signed in", name=member.name), "memberId"
            )
    if not name:
        raise invalid("attendeeName", _("give the attendee's name"))
    if len(name) > 100:
        raise invalid("attendeeName", _("a name has at most 100 characters"))
    when = parse_time(signed_in_at, "signedInAt") if signed_in_at is not None else now
    if activity.capacity is not None and not activity.allow_overbooking:
        taken = await signed_in_count(session, activity.id)
        if taken >= activity.capacity:
            raise DomainError(
                "CAPACITY_REACHED",
                _(
                    "the activity is full: all {capacity} places are taken",
                    capacity=activity.capacity,
                ),
                "activityId",
            )
    if enterprise_id is None and member is not None:
        enterprise_id = member.enterprise_id
    elif enterprise_id is not None and await session.get(Enterprise, enterprise_id) is None:
        raise not_found("enterpriseId", _("the enterprise"))
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
    # Only a sign-in racing past the checks is refused here (SQLite has no row lock to wait on).
    await add_unless_taken(
        session,
        attendance,
        lambda: DomainError(
            "ALREADY_SIGNED_IN", _("{name} has already signed in", name=name), "memberId"
        ),
    )
    return attendance
