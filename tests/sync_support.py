"""A small county for sync tests: two grids in one town, one in another, a liaison for each
grid, a town dispatcher, an admin, a station with an activity; tokens to call the API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from api.auth.models import TokenKind
from api.auth.scope import Scope, scope_for
from api.auth.tokens import issue_token
from api.enterprises.service import register_enterprise
from api.grids.models import Grid, GridKind
from api.grids.service import create_grid
from api.members.models import Member
from api.members.service import create_member
from api.records import utcnow
from api.stations.models import ActivityKind, Station, StationActivity
from api.tickets import lifecycle
from api.tickets.models import TicketSource
from sync.client import SyncClient
from tests.factories import county_with_town, credit_code

PULL = """query($checkpoint: String, $limit: Int) {
  syncPull(checkpoint: $checkpoint, limit: $limit) {
    changes { collection id deleted version data } checkpoint hasMore resetRequired
  }
}"""
PUSH = """mutation($clientId: String!, $mutations: [SyncMutationInput!]!) {
  syncPush(clientId: $clientId, mutations: $mutations) {
    results { mutationId status version data error { code message field }
      conflict { id field clientValue serverValue rule winner } }
  }
}"""


@dataclass
class Person:
    member: Member
    token: str
    scope: Scope


@dataclass
class County:
    town: Grid
    other_town: Grid
    grid_a: Grid
    grid_b: Grid
    grid_c: Grid
    liaison_a: Person
    liaison_a2: Person
    liaison_b: Person
    liaison_c: Person
    dispatcher: Person
    admin: Person
    station: Station
    activity: StationActivity
    enterprise_id: uuid.UUID


async def build_county(session_factory: Any, world: int = 0) -> County:
    """`world` > 0 makes another county beside the first (codes and phones of its own)."""
    w = f"W{world}" if world else ""
    async with session_factory() as session, session.begin():
        if world:
            county = await create_grid(
                session, code=f"SY{w}", name="County", kind=GridKind.COUNTY, parent_id=None
            )
            town = await create_grid(
                session, code=f"SY{w}-T01", name="Hede", kind=GridKind.TOWN, parent_id=county.id
            )
        else:
            county, town = await county_with_town(session)
        other_town = await create_grid(
            session, code=f"SY{w}-T02", name="Linhai Town", kind=GridKind.TOWN, parent_id=county.id
        )
        grids = [
            await create_grid(
                session, code=code, name=code, kind=GridKind.INDEPENDENT, parent_id=parent.id
            )
            for code, parent in [
                (f"SY{w}-T01-A", town),
                (f"SY{w}-T01-B", town),
                (f"SY{w}-T02-C", other_town),
            ]
        ]
        placed = await register_enterprise(
            session,
            name=f"Hede Foods {world}",
            credit_code=credit_code(),
            headcount=40,
            industry="Food",
            town_id=town.id,
        )
        station = Station(name="Hede station", town_name="Hede", grid_id=town.id)
        session.add(station)
        await session.flush()
        activity = StationActivity(
            station_id=station.id,
            kind=ActivityKind.BIG_POT_TRAINING,
            title="Labour law basics",
            starts_at=utcnow() + timedelta(days=1),
        )
        session.add(activity)
        await session.flush()
        people: dict[str, Person] = {}
        for index, (key, roles, grid_ids, stations) in enumerate(
            [
                ("liaison_a", ["LIAISON"], [grids[0].id], [station.id]),
                ("liaison_a2", ["LIAISON"], [grids[0].id], []),
                ("liaison_b", ["LIAISON"], [grids[1].id], []),
                ("liaison_c", ["LIAISON"], [grids[2].id], []),
                ("dispatcher", ["TOWN_STAFF"], [town.id], []),
                ("admin", ["ADMIN"], [], []),
            ]
        ):
            member = await create_member(
                session,
                name=key,
                phone=f"139{world:04d}{index:04d}",
                roles=roles,
                grid_ids=grid_ids,
                station_ids=stations,
            )
            issued = await issue_token(
                session, member=member, kind=TokenKind.SESSION, lifetime=timedelta(days=1)
            )
            people[key] = Person(member, issued.token, await scope_for(session, member))
    return County(
        town=town,
        other_town=other_town,
        grid_a=grids[0],
        grid_b=grids[1],
        grid_c=grids[2],
        station=station,
        activity=activity,
        enterprise_id=placed.enterprise.id,
        **people,
    )


async def server_ticket(
    session_factory: Any, who: Person, grid: Grid, title: str, now: datetime | None = None
) -> uuid.UUID:
    async with session_factory() as session, session.begin():
        ticket = await lifecycle.create_ticket(
            session,
            scope=who.scope,
            title=title,
            source=TicketSource.RISK_HAZARD,
            grid_id=grid.id,
            now=now,
        )
    return ticket.id


def logged_as(row: Any, place: Any) -> tuple[Any, ...]:
    """A change-log row as two runs of the same batch can compare it: its record named by
    ``place`` (the record's place in the batch), without its seq, txid and time."""
    return (
        place,
        row.version,
        row.deleted,
        row.collection,
        sorted(row.fields),
        sorted(row.keys_after),
        sorted(row.keys_before),
        row.client_id,
    )


async def do(session_factory: Any, fn: Any, **kwargs: Any) -> Any:
    async with session_factory() as session, session.begin():
        return await fn(session, **kwargs)


def phone(http: httpx.AsyncClient, person: Person, name: str) -> SyncClient:
    return SyncClient(http, token=person.token, client_id=f"{name}-{uuid.uuid4().hex[:6]}")


async def server_view(http: httpx.AsyncClient, person: Person) -> dict[tuple[str, str], Any]:
    """What the server says the person's scope holds: a first sync from scratch."""
    fresh = phone(http, person, "fresh")
    await fresh.pull()
    return fresh.snapshot()


def as_compared(value: Any, named: dict[str, str]) -> Any:
    """A push's results (or any value) as two runs of the same batch can compare them: the
    strings in ``named`` (ids, numbers: new in each run) by their name, no mutation ids and
    no flush times (createdAt, updatedAt: each flush's own clock)."""
    if isinstance(value, dict):
        skip = {"mutationId", "createdAt", "updatedAt"}
        return {k: as_compared(v, named) for k, v in value.items() if k not in skip}
    if isinstance(value, list):
        return [as_compared(v, named) for v in value]
    if isinstance(value, uuid.UUID):
        value = str(value)
    return named.get(value, value) if isinstance(value, str) else value
