"""What the demo database holds, counted the same way whether just loaded or not."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.demo.records import county
from api.enterprises.models import Enterprise
from api.grids.models import Grid, GridKind
from api.i18n import Message, _
from api.members.models import Member, Role
from api.stations.models import Room, Station, StationActivity
from api.tickets.models import OPEN_STATUSES, Ticket, TicketStatus


@dataclass(frozen=True)
class DemoSummary:
    """What the demo database holds. Grid, enterprise and ticket counts are Sheyang's (under
    the county grid SY); the nanhe_* counts are the Xiangshui tree's; members counts every
    person with an account row, nanhe_members the union members of Nanhe's nine unions."""

    created: bool
    towns: int
    parks: int
    independent_grids: int
    joint_grids: int
    enterprises: int
    direct_report_points: int
    tickets_open: int
    tickets_closed: int
    members: int
    stations: int
    rooms: int
    activities: int
    loans_yuan: int
    nanhe_enterprises: int
    nanhe_grids: int
    nanhe_members: int

    def lines(self) -> list[Message]:
        data = county()
        return [
            _("Loaded the demo county.")
            if self.created
            else _("The demo county is already loaded; nothing was written."),
            _(
                "{county}: {towns} towns, {parks} parks, {independent} independent and {joint} "
                "joint grids, {enterprises} enterprises ({points} direct report points)",
                county=data.name,
                towns=self.towns,
                parks=self.parks,
                independent=self.independent_grids,
                joint=self.joint_grids,
                enterprises=self.enterprises,
                points=self.direct_report_points,
            ),
            _(
                "Tickets: {open} open, {closed} closed",
                open=self.tickets_open,
                closed=self.tickets_closed,
            ),
            _(
                "{town}: {stations} station(s), {rooms} rooms, {activities} activities, "
                "{loans:,} yuan of loans, {enterprises} enterprises in {grids} grids, "
                "{members} union members",
                town=data.nanhe_name,
                stations=self.stations,
                rooms=self.rooms,
                activities=self.activities,
                loans=self.loans_yuan,
                enterprises=self.nanhe_enterprises,
                grids=self.nanhe_grids,
                members=self.nanhe_members,
            ),
            _("People with an account row: {count}", count=self.members),
        ]


async def _count(session: AsyncSession, model: type, *where: object) -> int:
    stmt = select(func.count()).select_from(model).where(model.deleted_at.is_(None), *where)
    return int(await session.scalar(stmt) or 0)


async def demo_summary(session: AsyncSession, *, created: bool = False) -> DemoSummary:
    """Counts of what is in the database now, read the same way whether just loaded or not."""
    data = county()
    county_towns = {}
    for code in (data.code, data.xiangshui_code):
        county_id = await session.scalar(select(Grid.id).where(Grid.code == code))
        county_towns[code] = (
            select(Grid.id).where(Grid.parent_id == county_id, Grid.kind == GridKind.TOWN)
            if county_id
            else select(Grid.id).where(Grid.id.is_(None))
        )
    sy_towns, xs_towns = county_towns[data.code], county_towns[data.xiangshui_code]
    sy_county = select(Grid.id).where(Grid.code == data.code)
    sy_grids = select(Grid.id).where(
        Grid.id.in_(sy_towns) | Grid.town_id.in_(sy_towns) | Grid.id.in_(sy_county)
    )
    nanhe_enterprises = select(Enterprise.id).where(Enterprise.town_id.in_(xs_towns))
    nanhe_roles = await session.scalars(
        select(Member.roles).where(
            Member.enterprise_id.in_(nanhe_enterprises), Member.deleted_at.is_(None)
        )
    )
    loans = await session.scalar(
        select(func.coalesce(func.sum(StationActivity.loans_issued_yuan), 0)).where(
            StationActivity.deleted_at.is_(None)
        )
    )
    return DemoSummary(
        created=created,
        towns=await _count(session, Grid, Grid.id.in_(sy_towns)),
        parks=await _count(session, Grid, Grid.kind == GridKind.PARK, Grid.town_id.in_(sy_towns)),
        independent_grids=await _count(
            session, Grid, Grid.kind == GridKind.INDEPENDENT, Grid.town_id.in_(sy_towns)
        ),
        joint_grids=await _count(
            session, Grid, Grid.kind == GridKind.JOINT, Grid.town_id.in_(sy_towns)
        ),
        enterprises=await _count(session, Enterprise, Enterprise.town_id.in_(sy_towns)),
        direct_report_points=await _count(
            session,
            Enterprise,
            Enterprise.town_id.in_(sy_towns),
            Enterprise.is_direct_report_point.is_(True),
        ),
        tickets_open=await _count(
            session, Ticket, Ticket.grid_id.in_(sy_grids), Ticket.status.in_(sorted(OPEN_STATUSES))
        ),
        tickets_closed=await _count(
            session, Ticket, Ticket.grid_id.in_(sy_grids), Ticket.status == TicketStatus.CLOSED
        ),
        members=await _count(session, Member),
        stations=await _count(session, Station),
        rooms=await _count(session, Room),
        activities=await _count(session, StationActivity),
        loans_yuan=int(loans or 0),
        nanhe_enterprises=await _count(session, Enterprise, Enterprise.town_id.in_(xs_towns)),
        nanhe_grids=await _count(
            session,
            Grid,
            Grid.kind.in_([GridKind.INDEPENDENT, GridKind.JOINT]),
            Grid.town_id.in_(xs_towns),
        ),
        nanhe_members=sum(Role.MEMBER.value in roles for roles in nanhe_roles),
    )
