"""The quarterly "big pot" training: one lesson per quarter at each station, scheduled a year
at a time."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.scope import Scope
from api.errors import invalid
from api.i18n import BEIJING, _
from api.stations.access import staff_station
from api.stations.activities import add_activity
from api.stations.models import ActivityKind, Room, RoomKind, StationActivity
from api.stations.periods import quarter_end, quarter_start


async def schedule_big_pot_trainings(
    session: AsyncSession, *, scope: Scope, station_id: uuid.UUID, year: int
) -> list[StationActivity]:
    """One "big pot" lesson per quarter of the year, on the 15th of the quarter's middle month
    at 09:00 (Beijing time) in the technology-training room. Idempotent: a quarter that has a
    big-pot training already (planned, held or cancelled) gets none; returns the four, in
    quarter order."""
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise invalid("year", _("give a year such as 2026"))
    # Locked so that two schedulers of one station queue instead of both adding a quarter.
    station = await staff_station(session, scope, station_id, lock=True)
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
                StationActivity.starts_at >= quarter_start(year, 1),
                StationActivity.starts_at < datetime(year + 1, 1, 1, tzinfo=BEIJING),
                StationActivity.deleted_at.is_(None),
            )
            .order_by(StationActivity.starts_at)
        )
    )
    quarters: list[StationActivity] = []
    for quarter in range(1, 5):
        start, end = quarter_start(year, quarter), quarter_end(year, quarter)
        held = next((a for a in existing if start <= a.starts_at < end), None)
        if held is None:
            lesson = datetime(year, 3 * quarter - 1, 15, 9, tzinfo=BEIJING)
            held = await add_activity(
                session,
                station=station,
                kind=ActivityKind.BIG_POT_TRAINING,
                title=_(
                    "{year} Q{quarter} big-pot training: common problems from enterprises",
                    year=year,
                    quarter=quarter,
                ),
                starts_at=lesson,
                ends_at=lesson + timedelta(hours=2),
                room_id=room,
            )
        quarters.append(held)
    return quarters
