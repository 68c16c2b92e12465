"""The dashboard of a grid, a town or the county: what is open, late and closed, how the
stations in it are used, and how their chairs are rated. Every figure counts only what the
caller's scope sees."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.scope import Scope
from api.errors import not_found
from api.grids.models import Grid
from api.grids.service import descendants, grid_tree
from api.i18n import _
from api.records import utcnow
from api.stations.models import (
    ActivityStatus,
    Attendance,
    Evaluation,
    EvaluatorKind,
    Station,
    StationActivity,
)
from api.tickets.models import Severity, Ticket, TicketStatus
from api.tickets.queries import open_condition, overdue_condition
from api.tickets.satisfaction import Satisfaction, satisfaction


@dataclass(frozen=True)
class ChairStanding:
    chair_id: uuid.UUID
    evaluator_kind: EvaluatorKind
    evaluations: int
    average_total: float


@dataclass
class Dashboard:
    grid_id: uuid.UUID
    grid_ids: list[uuid.UUID]
    since: datetime | None
    open_by_status: dict[TicketStatus, int] = field(default_factory=dict)
    open_by_severity: dict[Severity, int] = field(default_factory=dict)
    overdue: int = 0
    closed: int = 0
    satisfaction: Satisfaction = field(default_factory=lambda: Satisfaction(0, 0, None, 0))
    activities_held: int = 0
    attendances: int = 0
    chairs: list[ChairStanding] = field(default_factory=list)

    @property
    def open_total(self) -> int:
        return sum(self.open_by_status.values())


async def dashboard(
    session: AsyncSession,
    *,
    scope: Scope,
    grid_id: uuid.UUID,
    since: datetime | None = None,
    now: datetime | None = None,
    until: datetime | None = None,
) -> Dashboard:
    """Figures for the grid and every grid below it; ``since`` (and ``until``, exclusive)
    limit closures, ratings and activities to a period (open tickets are always counted as
    they are now). The monthly report (api/reports) reads its figures here."""
    now = now or utcnow()
    grid = await session.get(Grid, grid_id)
    if grid is None or grid.deleted or not scope.sees(grid):
        raise not_found("gridId", _("the grid"))
    grid_ids = sorted(descendants(await grid_tree(session), {grid_id}))
    board = Dashboard(grid_id=grid_id, grid_ids=grid_ids, since=since)
    t = Ticket.__table__.c
    tickets = [t.grid_id.in_(grid_ids), t.deleted_at.is_(None), scope.visible(Ticket)]

    rows = await session.execute(
        sa.select(t.status, t.severity, sa.func.count())
        .where(*tickets, open_condition())
        .group_by(t.status, t.severity)
    )
    for status, severity, count in rows:
        board.open_by_status[status] = board.open_by_status.get(status, 0) + count
        board.open_by_severity[severity] = board.open_by_severity.get(severity, 0) + count

    closed_since = [*([t.closed_at >= since] if since else []), *_before(t.closed_at, until)]
    late = sa.func.count().filter(overdue_condition(now))
    closed = sa.func.count().filter(sa.and_(t.status == TicketStatus.CLOSED, *closed_since))
    figures = (await session.execute(sa.select(late, closed).where(*tickets))).one()
    board.overdue, board.closed = (int(v or 0) for v in figures)
    # The grid is one the caller sees, and so is every grid below it.
    board.satisfaction = await satisfaction(session, grid_ids=grid_ids, since=since, until=until)

    s = Station.__table__.c
    a = StationActivity.__table__.c
    stations = sa.select(s.id).where(
        s.grid_id.in_(grid_ids), s.deleted_at.is_(None), scope.visible(Station)
    )
    held = [
        a.station_id.in_(stations),
        a.status == ActivityStatus.HELD,
        a.deleted_at.is_(None),
        *([a.starts_at >= since] if since else []),
        *_before(a.starts_at, until),
    ]
    board.activities_held = int(
        await session.scalar(sa.select(sa.func.count()).select_from(StationActivity).where(*held))
        or 0
    )
    at = Attendance.__table__.c
    board.attendances = int(
        await session.scalar(
            sa.select(sa.func.count()).where(
                at.activity_id.in_(sa.select(a.id).where(*held)), at.deleted_at.is_(None)
            )
        )
        or 0
    )

    e = Evaluation.__table__.c
    rows = await session.execute(
        sa.select(e.chair_id, e.evaluator_kind, sa.func.count(), sa.func.avg(e.total))
        .where(
            e.station_id.in_(stations),
            e.deleted_at.is_(None),
            scope.visible(Evaluation),
            *([e.created_at >= since] if since else []),
            *_before(e.created_at, until),
        )
        .group_by(e.chair_id, e.evaluator_kind)
        .order_by(e.chair_id, e.evaluator_kind)
    )
    board.chairs = [
        ChairStanding(chair_id, kind, int(count), round(float(average or 0), 2))
        for chair_id, kind, count, average in rows
    ]
    return board


def _before(
    column: sa.ColumnElement[datetime], until: datetime | None
) -> list[sa.ColumnElement[bool]]:
    return [column < until] if until else []
