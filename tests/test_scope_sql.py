"""scope_for walks the grid tree in SQL (one statement per request); it must give the very scope
the plain walk over the whole tree gives, for every kind of caller and token, with deleted
grids in the tree, and see a change of membership on the next call (nothing cached). sign_in,
which reads the scope within the token's own statement, must give the same scope."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from api.auth.scope import COUNTY_WIDE, Scope, scope_for, sign_in
from api.auth.tokens import authenticate
from api.grids.models import GridKind
from api.grids.service import create_grid, descendants, grid_tree
from api.members.models import MemberGrid, MemberStation
from api.records import utcnow
from api.stations.models import Station
from tests.graphql_world import build_world


async def _walked(session, member, token) -> tuple[bool, frozenset, frozenset]:  # noqa: ANN001
    """The reference: the whole tree read into memory and walked in Python."""
    served = set(
        await session.scalars(select(MemberGrid.grid_id).where(MemberGrid.member_id == member.id))
    )
    stations = set(
        await session.scalars(
            select(MemberStation.station_id).where(MemberStation.member_id == member.id)
        )
    )
    everything = bool(set(member.roles) & COUNTY_WIDE)
    tree = await grid_tree(session)
    visible = descendants(tree, served) if not everything else set()
    granted = {uuid.UUID(g) for g in (token.grants or {}).get("grids", [])}
    if granted:
        allowed = descendants(tree, granted)
        visible = allowed if everything else allowed & visible
        everything, stations = False, set()
    if visible and not everything:
        for station_id, grid_id in await session.execute(select(Station.id, Station.grid_id)):
            if grid_id in visible:
                stations.add(station_id)
    return everything, frozenset(visible), frozenset(stations)


def _summary(scope: Scope) -> tuple[bool, frozenset, frozenset]:
    return scope.everything, scope.grid_ids, scope.station_ids


async def test_sql_walk_matches_the_tree_walk(session_factory) -> None:
    world = await build_world(session_factory)
    async with session_factory() as session, session.begin():
        # A deleted grid between town 1 and a live grid: nothing below it is reached.
        gone = await create_grid(
            session, code="SY-T01-X", name="Gone", kind=GridKind.PARK, parent_id=world["g_town1"]
        )
        below = await create_grid(
            session, code="SY-T01-X-1", name="Below", kind=GridKind.INDEPENDENT, parent_id=gone.id
        )
        gone.deleted_at = utcnow()
        session.add(Station(name="Hede station", town_name="Hede Town", grid_id=below.id))
        session.add(MemberStation(member_id=world["chair"], station_id=world["station"]))
    for role, token in world.tokens.items():
        async with session_factory() as session:
            member, record = await authenticate(session, token)
            scope = await scope_for(session, member, record)
            assert _summary(scope) == await _walked(session, member, record), role
            # Sign-in reads the same scope within the token's own statement.
            signed_member, signed_record, signed = await sign_in(session, token)
            assert (signed_member.id, signed_record.id) == (member.id, record.id)
            assert signed == scope, role


async def test_a_new_grid_counts_at_once(session_factory) -> None:
    world = await build_world(session_factory)
    async with session_factory() as session:
        member, record = await authenticate(session, world.tokens["liaison1"])
        before = await scope_for(session, member, record)
    async with session_factory() as session, session.begin():
        session.add(MemberGrid(member_id=world["liaison1"], grid_id=world["g_town2"]))
    async with session_factory() as session:
        after = await scope_for(session, member, record)
    assert world["g_town2"] not in before.grid_ids
    assert {world["g_town2"], world["grid_e3"]} <= after.grid_ids
    assert world["station"] in after.station_ids
