"""The monthly report of the county, a town (any grid) or a station: what union officers take
to their meetings. Ticket, satisfaction, activity and rating figures are the dashboard's for
the same period (api.dashboard, with since/until) — the report adds the breakdowns.

Everything counts only what the caller's scope sees; texts are in the current language."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.scope import Scope
from api.dashboard.service import Dashboard, dashboard
from api.errors import invalid, not_found
from api.grids.models import Grid, GridKind
from api.i18n import _, render
from api.members.models import Member, MemberStation
from api.records import utcnow
from api.reports.period import Month
from api.reports.tables import Column, Document, Kind, Table, sum_column
from api.stations.models import (
    ActivityStatus,
    Attendance,
    CoachingRequest,
    Station,
    StationActivity,
)
from api.tickets.models import Severity, Ticket, TicketEvent, TicketSource, TicketStatus, Tier
from api.warnings.models import RiskLevel
from api.warnings.rules import DEFAULT_RULES, RiskRules
from api.warnings.service import riskiest_enterprises

# The levels an officer must act on: listed with their reasons.
LISTED_LEVELS = (RiskLevel.RED, RiskLevel.ORANGE)
MAX_LISTED_ENTERPRISES = 500


@dataclass(frozen=True)
class Subject:
    """What a report covers: a grid (the county, a town...) or one station."""

    name: str
    grid_id: uuid.UUID
    station_id: uuid.UUID | None = None


async def find_subject(
    session: AsyncSession,
    scope: Scope,
    *,
    town: str | None = None,
    grid: str | None = None,
    station: str | None = None,
) -> Subject:
    """The county (nothing named), a town by name or code, a grid by code or id, or a station
    by name or id — one the caller sees."""
    if station:
        found = await _one(session, Station, station, Station.name)
        if found is None or not scope.sees(found) or found.grid_id is None:
            raise not_found("stationId", _("the station {name}", name=station))
        return Subject(found.name, found.grid_id, found.id)
    if town:
        found_grid = await session.scalar(
            select(Grid).where(
                Grid.kind == GridKind.TOWN,
                Grid.deleted_at.is_(None),
                sa.or_(Grid.name == town.strip(), Grid.code == town.strip()),
            )
        )
        if found_grid is None or not scope.sees(found_grid):
            raise not_found("town", _("the town {name}", name=town))
        return Subject(found_grid.name, found_grid.id)
    if grid:
        found_grid = await _one(session, Grid, grid, Grid.code)
        if found_grid is None or found_grid.deleted or not scope.sees(found_grid):
            raise not_found("gridId", _("the grid {name}", name=grid))
        return Subject(found_grid.name, found_grid.id)
    counties = [
        county
        for county in await session.scalars(
            select(Grid)
            .where(Grid.kind == GridKind.COUNTY, Grid.deleted_at.is_(None))
            .order_by(Grid.code)
        )
        if scope.sees(county)
    ]
    if len(counties) != 1:
        raise invalid(
            "gridId",
            _(
                "name the grid of the report (the counties you see: {codes})",
                codes=[c.code for c in counties],
            ),
        )
    return Subject(counties[0].name, counties[0].id)


async def _one(session: AsyncSession, model: type, ref: str, by: sa.ColumnElement) -> object:
    try:
        return await session.get(model, uuid.UUID(ref))
    except ValueError:
        return await session.scalar(
            select(model).where(by == ref.strip(), model.deleted_at.is_(None))  # type: ignore[attr-defined]
        )


async def monthly_report(
    session: AsyncSession,
    *,
    scope: Scope,
    subject: Subject,
    month: Month,
    now: datetime | None = None,
    rules: RiskRules = DEFAULT_RULES,
    author: str | None = None,
) -> Document:
    now = now or utcnow()
    if month.start > now:
        raise invalid("month", _("the month {month} has not begun", month=str(month)))
    until = min(month.end, now)
    board = await dashboard(
        session, scope=scope, grid_id=subject.grid_id, since=month.start, until=until, now=now
    )
    stations = await _stations(session, scope, board, subject)
    tables: list[Table] = []
    station_table = await _station_table(session, scope, stations, month.start, until)
    chair_table = await _chair_table(session, board, subject)
    if subject.station_id is None:
        received = await _received_table(session, scope, board, month.start, until)
        closed = await _closed_table(session, scope, board, month.start, until)
        escalations = await _escalation_table(session, scope, board, month.start, until)
        risky = await _risk_table(session, board, now, rules)
        tables += [
            _summary_table(board, received, closed, station_table, risky, with_tickets=True),
            received,
            closed,
            escalations,
            _satisfaction_table(board),
            risky,
        ]
    else:
        tables.append(_summary_table(board, None, None, station_table, None, with_tickets=False))
    tables += [station_table, chair_table]
    subtitle = [
        _("Period: {start} to {end} (Beijing time)", start=month.start, end=until),
        _("Made {when} (Beijing time)", when=now),
    ]
    if author:
        subtitle.append(_("Made by {name}", name=author))
    return Document(
        title=_("{subject} monthly report, {month}", subject=subject.name, month=month.label()),
        subtitle=subtitle,
        tables=tables,
    )


# --- sections ------------------------------------------------------------------------------


def _summary_table(
    board: Dashboard,
    received: Table | None,
    closed: Table | None,
    stations: Table,
    risky: Table | None,
    *,
    with_tickets: bool,
) -> Table:
    s = board.satisfaction
    rows: list[list[object]] = []
    if with_tickets and received is not None and closed is not None and risky is not None:
        assert received.totals is not None and closed.totals is not None
        rows += [
            [_("Tickets received"), received.totals[-1], Kind.COUNT],
            [_("Tickets closed"), board.closed, Kind.COUNT],
            [_("Closed within the time limit"), closed.totals[2], Kind.COUNT],
            [_("Closed past the time limit"), closed.totals[3], Kind.COUNT],
            [_("Open now"), board.open_total, Kind.COUNT],
            [_("Open and past a time limit now"), board.overdue, Kind.COUNT],
            [_("Tickets rated by the worker"), s.rated, Kind.COUNT],
            [_("Rated satisfied (4 or 5)"), s.satisfied, Kind.COUNT],
            [_("Satisfaction rate"), s.rate, Kind.RATE],
            [_("Ratings recorded on the worker's behalf"), s.on_behalf, Kind.COUNT],
            [_("Enterprises at orange or red"), len(risky.rows), Kind.COUNT],
        ]
    assert stations.totals is not None
    # A grid's figures are the dashboard's; a station's, its own row.
    held, attended = (
        (board.activities_held, board.attendances)
        if with_tickets
        else (stations.totals[1], stations.totals[2])
    )
    rows += [
        [_("Station activities held"), held, Kind.COUNT],
        [_("Attendances"), attended, Kind.COUNT],
        [_("Coaching requests"), stations.totals[3], Kind.COUNT],
        [_("Loans issued (yuan)"), stations.totals[4], Kind.YUAN],
    ]
    return Table(
        key="summary",
        title=_("Summary"),
        columns=[Column(_("Figure"), width=36), Column(_("Value"), Kind.NUMBER, 14)],
        rows=[[label, value] for label, value, _kind in rows],
        row_kinds=[kind for _label, _value, kind in rows],
    )


def _tickets(scope: Scope, board: Dashboard) -> list[sa.ColumnElement[bool]]:
    t = Ticket.__table__.c
    return [t.grid_id.in_(board.grid_ids), t.deleted_at.is_(None), scope.visible(Ticket)]


async def _received_table(
    session: AsyncSession, scope: Scope, board: Dashboard, start: datetime, until: datetime
) -> Table:
    """Tickets reported in the month, by source (rows) and severity (columns)."""
    t = Ticket.__table__.c
    counts: dict[tuple[str, str], int] = {}
    rows = await session.execute(
        select(t.source, t.severity, sa.func.count())
        .where(*_tickets(scope, board), t.reported_at >= start, t.reported_at < until)
        .group_by(t.source, t.severity)
    )
    for source, severity, count in rows:
        counts[(TicketSource(source), Severity(severity))] = int(count)
    columns = [
        Column(_("Source"), width=16),
        *(Column(render(s), Kind.COUNT, 8) for s in Severity),
        Column(_("Total"), Kind.COUNT, 8),
    ]
    body = []
    for source in TicketSource:
        cells = [counts.get((source, severity), 0) for severity in Severity]
        body.append([render(source), *cells, sum(cells)])
    totals = [_("Total"), *(sum_column(body, i) for i in range(1, len(columns)))]
    return Table("received", _("Tickets received"), columns, body, totals)


async def _closed_table(
    session: AsyncSession, scope: Scope, board: Dashboard, start: datetime, until: datetime
) -> Table:
    """Tickets closed in the month (the dashboard's count), by severity, within or past the
    resolution time limit in force for them."""
    t = Ticket.__table__.c
    finished = sa.func.coalesce(t.resolved_at, t.closed_at)
    within = sa.or_(t.resolution_due_at.is_(None), finished <= t.resolution_due_at)
    rows = await session.execute(
        select(
            t.severity,
            sa.func.count(),
            sa.func.count().filter(within),
        )
        .where(
            *_tickets(scope, board),
            t.status == TicketStatus.CLOSED,
            t.closed_at >= start,
            t.closed_at < until,
        )
        .group_by(t.severity)
    )
    found = {Severity(severity): (int(n), int(ok or 0)) for severity, n, ok in rows}
    body = []
    for severity in Severity:
        closed, ok = found.get(severity, (0, 0))
        body.append([render(severity), closed, ok, closed - ok])
    columns = [
        Column(_("Severity"), width=12),
        Column(_("Closed"), Kind.COUNT, 10),
        Column(_("Within the time limit"), Kind.COUNT, 14),
        Column(_("Past the time limit"), Kind.COUNT, 14),
    ]
    totals = [_("Total"), *(sum_column(body, i) for i in range(1, 4))]
    return Table("closed", _("Tickets closed and time limits"), columns, body, totals)


async def _escalation_table(
    session: AsyncSession, scope: Scope, board: Dashboard, start: datetime, until: datetime
) -> Table:
    """Escalations in the month, by the tier the ticket went up to."""
    e = TicketEvent.__table__.c
    tier = TicketEvent.after["tier"].as_string()
    rows = await session.execute(
        select(tier, sa.func.count())
        .where(
            e.kind == "ESCALATED",
            e.at >= start,
            e.at < until,
            e.ticket_id.in_(select(Ticket.id).where(*_tickets(scope, board))),
        )
        .group_by(tier)
    )
    found = {value: int(count) for value, count in rows}
    body = [[render(t), found.get(t.value, 0)] for t in Tier if t != Tier.GRID]
    return Table(
        "escalations",
        _("Escalations by tier"),
        [Column(_("Escalated to"), width=16), Column(_("Escalations"), Kind.COUNT, 12)],
        body,
        [_("Total"), sum_column(body, 1)],
    )


def _satisfaction_table(board: Dashboard) -> Table:
    s = board.satisfaction
    return Table(
        "satisfaction",
        _("Worker satisfaction"),
        [
            Column(_("Rated"), Kind.COUNT, 10),
            Column(_("Satisfied (4 or 5)"), Kind.COUNT, 14),
            Column(_("Satisfaction rate"), Kind.RATE, 12),
            Column(_("Rated on the worker's behalf"), Kind.COUNT, 18),
        ],
        [[s.rated, s.satisfied, s.rate, s.on_behalf]],
        note=_("Closed tickets rated in the month; satisfied means a rating of 4 or 5."),
    )


async def _risk_table(
    session: AsyncSession, board: Dashboard, now: datetime, rules: RiskRules
) -> Table:
    ranked = await riskiest_enterprises(
        session, board.grid_ids, MAX_LISTED_ENTERPRISES, now, rules=rules
    )
    grids = dict((await session.execute(select(Grid.id, Grid.name))).all())
    body = [
        [
            r.name,
            grids.get(r.grid_id, ""),
            render(r.assessment.level),
            r.assessment.score,
            "；".join(render(reason.text) for reason in r.assessment.reasons),
        ]
        for r in ranked
        if r.assessment.level in LISTED_LEVELS
    ]
    return Table(
        "risk",
        _("Enterprises at orange and red"),
        [
            Column(_("Enterprise"), width=28),
            Column(_("Grid"), width=24),
            Column(_("Level"), width=8),
            Column(_("Points"), Kind.COUNT, 8),
            Column(_("Reasons"), width=60),
        ],
        body,
        note=_("As assessed when the report was made."),
    )


async def _stations(
    session: AsyncSession, scope: Scope, board: Dashboard, subject: Subject
) -> list[tuple[uuid.UUID, str]]:
    s = Station.__table__.c
    where = [s.deleted_at.is_(None), scope.visible(Station)]
    if subject.station_id is not None:
        where.append(s.id == subject.station_id)
    else:
        where.append(s.grid_id.in_(board.grid_ids))
    rows = await session.execute(select(s.id, s.name).where(*where).order_by(s.name))
    return [(row.id, row.name) for row in rows]


async def _station_table(
    session: AsyncSession,
    scope: Scope,
    stations: list[tuple[uuid.UUID, str]],
    start: datetime,
    until: datetime,
) -> Table:
    """Per station: activities held in the month (the dashboard's count), their attendances,
    coaching requests received, loans issued at the activities."""
    a = StationActivity.__table__.c
    at = Attendance.__table__.c
    c = CoachingRequest.__table__.c
    ids = [station_id for station_id, _name in stations]
    held = [
        a.station_id.in_(ids),
        a.status == ActivityStatus.HELD,
        a.deleted_at.is_(None),
        a.starts_at >= start,
        a.starts_at < until,
    ]
    activities = {
        sid: (int(n), int(loans or 0))
        for sid, n, loans in await session.execute(
            select(a.station_id, sa.func.count(), sa.func.sum(a.loans_issued_yuan))
            .where(*held)
            .group_by(a.station_id)
        )
    }
    attendances = dict(
        (
            await session.execute(
                select(a.station_id, sa.func.count())
                .select_from(Attendance)
                .join(StationActivity, StationActivity.id == at.activity_id)
                .where(*held, at.deleted_at.is_(None))
                .group_by(a.station_id)
            )
        ).all()
    )
    coaching = dict(
        (
            await session.execute(
                select(c.station_id, sa.func.count())
                .where(
                    c.station_id.in_(ids),
                    c.deleted_at.is_(None),
                    c.requested_at >= start,
                    c.requested_at < until,
                )
                .group_by(c.station_id)
            )
        ).all()
    )
    body = []
    for station_id, name in stations:
        count, loans = activities.get(station_id, (0, 0))
        body.append(
            [
                name,
                count,
                int(attendances.get(station_id, 0)),
                int(coaching.get(station_id, 0)),
                loans,
            ]
        )
    return Table(
        "stations",
        _("Station activities"),
        [
            Column(_("Station"), width=30),
            Column(_("Activities held"), Kind.COUNT, 12),
            Column(_("Attendances"), Kind.COUNT, 12),
            Column(_("Coaching requests"), Kind.COUNT, 12),
            Column(_("Loans issued (yuan)"), Kind.YUAN, 16),
        ],
        body,
        [_("Total"), *(sum_column(body, i) for i in range(1, 5))],
    )


async def _chair_table(session: AsyncSession, board: Dashboard, subject: Subject) -> Table:
    """Evaluations of the chairs in the month (the dashboard's), by evaluator kind."""
    names = dict(
        (
            await session.execute(
                select(Member.id, Member.name).where(
                    Member.id.in_([c.chair_id for c in board.chairs])
                )
            )
        ).all()
    )
    chairs = board.chairs
    if subject.station_id is not None:
        # A station's report: the chairs who serve that station.
        serving = set(
            await session.scalars(
                select(MemberStation.member_id).where(
                    MemberStation.station_id == subject.station_id
                )
            )
        )
        chairs = [c for c in chairs if c.chair_id in serving]
    body = [
        [names.get(c.chair_id, ""), render(c.evaluator_kind), c.evaluations, c.average_total]
        for c in chairs
    ]
    return Table(
        "chairs",
        _("Evaluations of the chairs"),
        [
            Column(_("Chair"), width=16),
            Column(_("Evaluated by"), width=14),
            Column(_("Evaluations"), Kind.COUNT, 10),
            Column(_("Average score"), Kind.NUMBER, 12),
        ],
        body,
        [_("Total"), None, sum_column(body, 2), None],
    )
