"""Who runs a station, and the lookups every station rule starts from (a deleted station or
activity is not found; with `lock`, PostgreSQL queues writers of the same row)."""

from __future__ import annotations

import uuid
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.scope import Scope
from api.errors import forbidden, not_found
from api.i18n import _
from api.members.models import Role
from api.stations.models import Station, StationActivity

Record = TypeVar("Record", Station, StationActivity)


def runs_station(scope: Scope, station: Station) -> bool:
    """Station staff: members of the station, the town staff of its town, county-wide roles."""
    if scope.read_only:
        return False
    if scope.everything or station.id in scope.station_ids:
        return True
    return scope.has_role(Role.TOWN_STAFF) and scope.sees_grid(station.grid_id)


async def _live(
    session: AsyncSession, model: type[Record], record_id: uuid.UUID, *, lock: bool
) -> Record | None:
    statement = select(model).where(model.id == record_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        # Writers of one row queue here (sign-ins of one activity: the capacity count cannot
        # be raced).
        statement = statement.with_for_update()
    record = await session.scalar(statement)
    return None if record is None or record.deleted else record


async def load_station(
    session: AsyncSession, station_id: uuid.UUID, *, lock: bool = False
) -> Station:
    station = await _live(session, Station, station_id, lock=lock)
    if station is None:
        raise not_found("stationId", _("the station"))
    return station


async def staff_station(
    session: AsyncSession, scope: Scope, station_id: uuid.UUID, *, lock: bool = False
) -> Station:
    station = await load_station(session, station_id, lock=lock)
    if not runs_station(scope, station):
        raise forbidden(_("only the station's staff or the town union may do this"), "stationId")
    return station


async def load_activity(
    session: AsyncSession, activity_id: uuid.UUID, *, lock: bool = False
) -> StationActivity:
    activity = await _live(session, StationActivity, activity_id, lock=lock)
    if activity is None:
        raise not_found("activityId", _("the activity"))
    return activity
