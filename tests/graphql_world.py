"""A small county for GraphQL tests, built through the domain services: two towns, three
grids with enterprises, people of every role with tokens, tickets inside and across scopes,
and a guidance station with an activity, a sign-in and an evaluation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.models import TokenKind
from api.auth.scope import scope_for
from api.auth.tokens import issue_token
from api.enterprises.service import register_enterprise
from api.grids.models import GridKind
from api.grids.service import create_grid
from api.members.service import create_member
from api.records import utcnow
from api.stations.models import (
    ActivityKind,
    ActivityStatus,
    Attendance,
    Evaluation,
    EvaluatorKind,
    Room,
    RoomKind,
    Station,
    StationActivity,
)
from api.tickets import lifecycle
from api.tickets.models import Severity, Ticket, TicketSource
from schema.ids import to_global_id
from tests.factories import credit_code


@dataclass
class World:
    ids: dict[str, uuid.UUID] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def gid(self, type_name: str, key: str) -> str:
        return to_global_id(type_name, self.ids[key])

    def __getitem__(self, key: str) -> uuid.UUID:
        return self.ids[key]


ROLES = ("admin", "county", "town1", "liaison1", "liaison2", "chair", "member", "api")


async def build_world(sessions: async_sessionmaker[AsyncSession]) -> World:
    world = World()
    ids = world.ids
    async with sessions() as session, session.begin():
        county = await create_grid(
            session, code="SY", name="Sheyang County", kind=GridKind.COUNTY, parent_id=None
        )
        town1 = await create_grid(
            session, code="SY-T01", name="Hede Town", kind=GridKind.TOWN, parent_id=county.id
        )
        town2 = await create_grid(
            session, code="SY-T02", name="Linhai Town", kind=GridKind.TOWN, parent_id=county.id
        )
        ids.update(g_county=county.id, g_town1=town1.id, g_town2=town2.id)
        for key, name, staff, town in (
            ("e1", "Tengfei Garments", 80, town1),
            ("e2", "Tiqiao Textile", 450, town1),
            ("e3", "Linhai Garments", 60, town2),
        ):
            placed = await register_enterprise(
                session,
                name=name,
                credit_code=credit_code(),
                headcount=staff,
                industry="Garments",
                town_id=town.id,
                has_union=True,
            )
            ids[key] = placed.enterprise.id
            ids[f"grid_{key}"] = placed.placement.grid.id
        people = {
            "admin": (["ADMIN"], [], None),
            "county": (["COUNTY_STAFF"], [], None),
            "town1": (["TOWN_STAFF"], [town1.id], None),
            "liaison1": (["LIAISON"], [ids["grid_e1"]], None),
            "liaison2": (["LIAISON"], [ids["grid_e3"]], None),
            "chair": (["CHAIR"], [], ids["e3"]),
            "member": (["MEMBER"], [], ids["e1"]),
        }
        members = {}
        for index, (key, (roles, grids, enterprise)) in enumerate(people.items()):
            member = await create_member(
                session,
                name=f"{key.title()} Person",
                phone=f"1390000{index:04d}",
                roles=roles,
                grid_ids=grids,
                enterprise_id=enterprise,
            )
            members[key] = member
            ids[key] = member.id
            issued = await issue_token(
                session, member=member, kind=TokenKind.SESSION, lifetime=timedelta(days=1)
            )
            world.tokens[key] = issued.token
        # An API token of the county staff member, issued for Linhai Town only, read-only.
        issued = await issue_token(
            session,
            member=members["county"],
            kind=TokenKind.API,
            lifetime=None,
            name="linhai dashboard",
            grants={"grids": [str(town2.id)], "readOnly": True},
        )
        world.tokens["api"] = issued.token
        ids["api"] = members["county"].id

        station = Station(name="Linhai guidance station", town_name="Linhai Town", grid_id=town2.id)
        session.add(station)
        await session.flush()
        room = Room(station_id=station.id, kind=RoomKind.RIGHTS_PROTECTION, name="Rights room")
        session.add(room)
        await session.flush()
        activity = StationActivity(
            station_id=station.id,
            room_id=room.id,
            kind=ActivityKind.LEGAL_AID,
            title="Legal aid for migrant workers",
            starts_at=utcnow() - timedelta(days=3),
            status=ActivityStatus.HELD,
        )
        session.add(activity)
        await session.flush()
        attendance = Attendance(
            activity_id=activity.id,
            station_id=station.id,
            member_id=members["chair"].id,
            attendee_name=members["chair"].name,
        )
        evaluation = Evaluation(
            chair_id=members["chair"].id,
            evaluator_id=members["county"].id,
            evaluator_kind=EvaluatorKind.TOWN_UNION,
            station_id=station.id,
            period="2026",
            scores={"organisation": 4},
            total=4.0,
        )
        session.add_all([attendance, evaluation])
        await session.flush()
        ids.update(
            station=station.id,
            room=room.id,
            activity=activity.id,
            attendance=attendance.id,
            evaluation=evaluation.id,
        )

    admin = await _scope(sessions, ids["admin"])
    async with sessions() as session, session.begin():
        specs: list[tuple[str, dict[str, Any], str | None]] = [
            ("t1", {"enterprise_id": ids["e1"], "severity": Severity.HIGH}, "liaison1"),
            ("t2", {"enterprise_id": ids["e2"]}, None),
            ("t3", {"enterprise_id": ids["e3"]}, "liaison2"),
            # In Linhai's grid but assigned to the Hede liaison (as when a ticket moves grid
            # with its enterprise): the liaison sees this one too.
            ("t4", {"grid_id": ids["grid_e3"]}, "liaison2"),
        ]
        for key, where, assignee in specs:
            ticket = await lifecycle.create_ticket(
                session,
                scope=admin,
                title=f"Wages unpaid ({key})",
                source=TicketSource.WORKER_REQUEST,
                **where,
            )
            ids[key] = ticket.id
            if assignee:
                await lifecycle.assign_ticket(
                    session, scope=admin, ticket_id=ticket.id, assignee_id=ids[assignee]
                )
        moved = await session.get(Ticket, ids["t4"])
        assert moved is not None
        moved.assignee_id = ids["liaison1"]
        comment = await lifecycle.add_comment(
            session, scope=admin, ticket_id=ids["t1"], body="Called the owner."
        )
        ids["comment"] = comment.id
    return world


async def _scope(sessions: async_sessionmaker[AsyncSession], member_id: uuid.UUID) -> Any:
    from api.members.models import Member

    async with sessions() as session:
        member = await session.get(Member, member_id)
        assert member is not None
        return await scope_for(session, member)
