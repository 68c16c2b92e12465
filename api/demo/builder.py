"""Loading the demo county: the grid tree, the enterprises (placed by the grid rule), the people;
then the station's life (api.demo.station) and the tickets (api.demo.tickets).

It writes through the domain services where they carry rules (grids, the grid rule, the demo
accounts, every ticket move) and adds plain rows directly where only speed matters (a thousand
people whose data is known to be valid, attendance sheets)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.passwords import hash_password
from api.demo.accounts import DEMO_PASSWORD
from api.demo.plan import DEMO_SEED, EnterpriseSpec, park_town, plan_enterprises
from api.demo.records import County, county, people, tickets
from api.demo.summary import DemoSummary, demo_summary
from api.enterprises.models import Enterprise
from api.enterprises.service import register_enterprise
from api.grids.models import Grid, GridKind
from api.grids.service import create_grid
from api.members.models import Member, MemberGrid, MemberStation, Role
from api.members.service import create_member
from api.records import utcnow
from api.stations.models import Station
from api.warnings.service import refresh_all_risk_levels

# Activities and tickets happen in local working hours (China Standard Time, no DST).
CST = timezone(timedelta(hours=8), "CST")


async def load_demo(session: AsyncSession, *, now: datetime | None = None) -> DemoSummary:
    """Load the demo county into an empty database; the caller commits.

    If the county grid SY exists, writes nothing and returns the summary of what is there.
    `now` is the reference time: ticket and activity times lie around it."""
    if await session.scalar(select(Grid.id).where(Grid.code == county().code)) is not None:
        return await demo_summary(session, created=False)
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("give now as an aware datetime")
    # Imported here: both build on this module's Build.
    from api.demo.station import add_station, station_life
    from api.demo.tickets import build_tickets

    build = Build(session, now.astimezone(UTC))
    # One argon2 hash for all demo accounts: it is slow on purpose, and they share it.
    build.password_hash = hash_password(DEMO_PASSWORD)
    await build.grids_and_enterprises()
    station, rooms = await add_station(build)
    await build.people(station)
    await station_life(build, station, rooms)
    await build_tickets(build)
    await session.flush()
    # Today's risk levels, stored: a rise to ORANGE or RED tells the grid's liaison now.
    await refresh_all_risk_levels(session, now=build.now)
    return await demo_summary(session, created=True)


class Build:
    """One load: what later steps need (grids by code, each grid's liaison, ...)."""

    def __init__(self, session: AsyncSession, now: datetime) -> None:
        self.session = session
        self.now = now
        self.data: County = county()
        self.park_town = park_town(self.data)
        # Separate streams, so that a change in the schedule does not rename everyone: people
        # and what they report come from one, times and scores from the other.
        self.rng = random.Random(DEMO_SEED + 1)
        self.clock = random.Random(DEMO_SEED + 2)
        self.phones: set[str] = {account.phone for account in people().accounts}
        self.grids: dict[str, Grid] = {}
        self.area_of: dict[uuid.UUID, str] = {}  # enterprise id → town or park code
        self.sheyang: list[Enterprise] = []
        self.nanhe: list[Enterprise] = []
        self.by_grid: dict[uuid.UUID, list[Enterprise]] = {}  # grid id → its enterprises
        self.grid_of: dict[uuid.UUID, Grid] = {}  # enterprise id → its grid
        self.joint: dict[tuple[str, str], Grid] = {}
        self.big: dict[str, Enterprise] = {}
        self.liaison: dict[uuid.UUID, Member] = {}  # grid id → its liaison
        self.town_staff: dict[uuid.UUID, Member] = {}  # town id → who handles TOWN tier
        self.chair: dict[uuid.UUID, Member] = {}  # enterprise id → union chair
        self.members_of: dict[uuid.UUID, list[Member]] = {}  # Nanhe enterprise id → members
        self.accounts: dict[Role, Member] = {}
        self.county_staff: list[Member] = []
        self.heads: list[Member] = []
        self._links: list[MemberGrid | MemberStation] = []
        self.password_hash = ""

    def local(self, days_ago: float, hour: int, minute: int = 0) -> datetime:
        """A local (CST) clock time on the day `days_ago` before now, as UTC."""
        day = (self.now.astimezone(CST) - timedelta(days=days_ago)).date()
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CST).astimezone(UTC)

    # -- grids and enterprises ---------------------------------------------------------------

    async def _grid(self, code: str, name: str, kind: GridKind, parent: str | None = None) -> Grid:
        grid = await create_grid(
            self.session,
            code=code,
            name=name,
            kind=kind,
            parent_id=self.grids[parent].id if parent else None,
        )
        self.grids[code] = grid
        return grid

    async def grids_and_enterprises(self) -> None:
        data = self.data
        await self._grid(data.code, data.name, GridKind.COUNTY)
        for town in data.towns:
            await self._grid(town.code, town.name, GridKind.TOWN, data.code)
        for park in data.parks:
            await self._grid(park.code, park.name, GridKind.PARK, park.town)
        await self._grid(data.xiangshui_code, data.xiangshui_name, GridKind.COUNTY)
        await self._grid(data.nanhe_code, data.nanhe_name, GridKind.TOWN, data.xiangshui_code)
        sheyang, nanhe = plan_enterprises()
        await self._register(sheyang, self.sheyang)
        await self._register(nanhe, self.nanhe)

    async def _register(self, plan: Sequence[EnterpriseSpec], into: list[Enterprise]) -> None:
        for spec in plan:
            park = self.grids[spec.area] if spec.area in self.park_town else None
            town = self.grids[self.park_town.get(spec.area, spec.area)]
            placed = await register_enterprise(
                self.session,
                name=spec.name,
                credit_code=spec.credit_code,
                headcount=spec.headcount,
                industry=spec.industry,
                town_id=town.id,
                park_id=park.id if park else None,
                address=spec.address,
                has_union=spec.has_union,
                is_direct_report_point=spec.direct_report,
            )
            enterprise, grid = placed.enterprise, placed.placement.grid
            into.append(enterprise)
            self.area_of[enterprise.id] = spec.area
            self.grids[grid.code] = grid
            self.by_grid.setdefault(grid.id, []).append(enterprise)
            self.grid_of[enterprise.id] = grid
            if grid.kind == GridKind.JOINT:
                self.joint[(spec.area, spec.industry)] = grid
            else:
                self.big[enterprise.name] = enterprise

    # -- people ------------------------------------------------------------------------------

    def name(self) -> str:
        names = people()
        given = self.rng.choice(names.given)
        if self.rng.random() < 0.7:
            given += self.rng.choice(names.given)
        return self.rng.choice(names.surnames) + given

    def phone(self) -> str:
        prefixes = people().phone_prefixes
        while True:
            phone = self.rng.choice(prefixes) + f"{self.rng.randrange(10**8):08d}"
            if phone not in self.phones:
                self.phones.add(phone)
                return phone

    def person(
        self,
        role: Role,
        *,
        name: str | None = None,
        enterprise: Enterprise | None = None,
        grids: Iterable[Grid] = (),
        station: Station | None = None,
    ) -> Member:
        """A person without a password, added as rows (create_member's checks cost a few
        queries each, too slow for a thousand people whose data is known to be valid)."""
        member = Member(
            id=uuid.uuid4(),
            name=name or self.name(),
            phone=self.phone(),
            roles=[role.value],
            enterprise_id=enterprise.id if enterprise else None,
        )
        self.session.add(member)
        self._links.extend(MemberGrid(member_id=member.id, grid_id=g.id) for g in grids)
        if station is not None:
            self._links.append(MemberStation(member_id=member.id, station_id=station.id))
        return member

    async def _account(
        self,
        role: Role,
        *,
        enterprise: Enterprise | None = None,
        grids: Iterable[Grid] = (),
        station: Station | None = None,
    ) -> Member:
        """A demo account, through the service like an admin would make it."""
        spec = next(a for a in people().accounts if a.role == role.value)
        member = await create_member(
            self.session,
            name=spec.name,
            phone=spec.phone,
            roles=[role.value],
            enterprise_id=enterprise.id if enterprise else None,
            grid_ids=[g.id for g in grids],
            station_ids=[station.id] if station else [],
        )
        member.password_hash = self.password_hash
        self.accounts[role] = member
        return member

    async def people(self, station: Station) -> None:
        data, names = self.data, people()
        county_grid, hede = self.grids[data.code], self.grids["SY-T01"]
        demo_grid = self.joint[tickets().demo_liaison_grid]
        dadi_jiufeng = self.nanhe[0]
        await self._account(Role.ADMIN)
        self.county_staff.append(await self._account(Role.COUNTY_STAFF, grids=[county_grid]))
        self.town_staff[hede.id] = await self._account(Role.TOWN_STAFF, grids=[hede])
        self.liaison[demo_grid.id] = await self._account(Role.LIAISON, grids=[demo_grid])
        self.chair[dadi_jiufeng.id] = await self._account(
            Role.CHAIR, enterprise=dadi_jiufeng, station=station
        )
        demo_member = await self._account(Role.MEMBER, enterprise=dadi_jiufeng, station=station)

        self.county_staff += [self.person(Role.COUNTY_STAFF, grids=[county_grid]) for _ in range(3)]
        for town_record in data.towns:
            town = self.grids[town_record.code]
            staff = [self.person(Role.TOWN_STAFF, grids=[town]) for _ in range(2)]
            self.town_staff.setdefault(town.id, staff[0])
        nanhe_town = self.grids[data.nanhe_code]
        self.heads = [
            self.person(Role.TOWN_STAFF, name=name, grids=[nanhe_town], station=station)
            for name in names.station_heads
        ]
        self.town_staff[nanhe_town.id] = self.heads[1]
        for grid in self.grids.values():
            served = grid.kind in {GridKind.PARK, GridKind.INDEPENDENT, GridKind.JOINT}
            if served and grid.id not in self.liaison:
                self.liaison[grid.id] = self.person(Role.LIAISON, grids=[grid])
        for enterprise in self.sheyang:
            if enterprise.has_union:
                self.chair[enterprise.id] = self.person(Role.CHAIR, enterprise=enterprise)
        for enterprise, record in zip(self.nanhe, data.nanhe, strict=True):
            if enterprise.id not in self.chair:
                self.chair[enterprise.id] = self.person(
                    Role.CHAIR, enterprise=enterprise, station=station
                )
            staff = self.members_of.setdefault(enterprise.id, [])
            if enterprise is dadi_jiufeng:
                staff.append(demo_member)
                staff.append(
                    self.person(
                        Role.MEMBER,
                        name=names.model_worker,
                        enterprise=enterprise,
                        station=station,
                    )
                )
            while len(staff) < record.union_members:
                staff.append(self.person(Role.MEMBER, enterprise=enterprise, station=station))
        # Link rows after their members exist: no relationship() tells the flush the order.
        await self.session.flush()
        self.session.add_all(self._links)
        await self.session.flush()
