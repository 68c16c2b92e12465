"""The one scope function: what a caller may see and change. Every resolver and the sync
layer ask it; nothing else decides visibility."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import tokens, visibility
from api.auth.models import AuthToken, TokenKind
from api.auth.visibility import COUNTY_WIDE
from api.grids.models import Grid
from api.members.models import Member, MemberGrid, MemberStation, Role
from api.stations.models import Station

# Roles that may dispatch (assign) tickets within their scope.
DISPATCHERS = frozenset({Role.ADMIN, Role.COUNTY_STAFF, Role.TOWN_STAFF})


@dataclass(frozen=True)
class Scope:
    member_id: uuid.UUID | None
    roles: frozenset[str]
    everything: bool
    # Grids served (directly), and those plus every grid below them (visible).
    served_grid_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)
    grid_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)
    station_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)
    read_only: bool = False
    token_kind: TokenKind | None = None
    # Whether the caller also sees what is its own wherever it is (tickets assigned to it or
    # reported by it, its notifications). An API token issued for some grids does not: it sees
    # those grids and nothing of its owner beyond them.
    personal: bool = True

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles and not self.read_only

    def has_role(self, *roles: Role) -> bool:
        return any(r in self.roles for r in roles)

    @property
    def can_dispatch(self) -> bool:
        return not self.read_only and self.has_role(*DISPATCHERS)

    def keys(self) -> frozenset[str]:
        """Keys matched against the keys of records (api.auth.visibility.keys_of)."""
        keys: set[str] = set()
        if self.everything:
            # The whole county: its county keys decide, not the grids it happens to serve.
            keys.update(
                key
                for roles in visibility.COUNTY_ROLES
                if self.roles & roles and (key := visibility.county_key(roles))
            )
        else:
            keys.update(f"grid:{g}" for g in self.grid_ids)
            keys.update(f"station:{s}" for s in self.station_ids)
        if self.member_id and self.personal:
            keys.add(f"member:{self.member_id}")
        return frozenset(keys)

    @functools.cached_property
    def _keys(self) -> frozenset[str]:
        # Asked once per record in a pull: built once per scope (the scope never changes).
        return self.keys()

    def sees_keys(self, record_keys: set[str] | frozenset[str] | list[str]) -> bool:
        return not self._keys.isdisjoint(record_keys)

    def sees(self, record: Any) -> bool:
        """For a record whose keys need no other row (a ticket, a grid, an activity)."""
        return self.sees_keys(visibility.record_keys(record))

    def sees_grid(self, grid_id: uuid.UUID | None) -> bool:
        return self.everything or (grid_id is not None and grid_id in self.grid_ids)

    # --- SQL visibility per table, derived from the one declaration (api.auth.visibility),
    # so that lists, node lookups, counts and sync pulls never load what the caller may not
    # see. The caller's values are named parameters (``scope_*``): a statement built for one
    # caller serves another of the same ``shape`` when run with that caller's ``parameters()``.

    @property
    def shape(self) -> tuple[Any, ...]:
        """What the visibility clauses' SQL depends on; the values are parameters()."""
        personal = self.member_id is not None and self.personal
        county = tuple(bool(self.roles & r) for r in visibility.COUNTY_ROLES)
        return self.everything, county, bool(self.grid_ids), bool(self.station_ids), personal

    def parameters(self) -> dict[str, Any]:
        """The values of the visibility clauses' parameters."""
        return {
            "scope_grids": list(self.grid_ids),
            "scope_stations": list(self.station_ids),
            "scope_member": self.member_id,
        }

    def visible(self, model: Any, table: sa.FromClause | None = None) -> sa.ColumnElement[bool]:
        """SQL condition: rows of ``model`` (or of ``table``, an alias of its table) seen."""
        return visibility.clause(self, model, table)

    # --- What a caller may change (the domain services check the finer rules).

    @property
    def can_write(self) -> bool:
        return self.member_id is not None and not self.read_only

    @property
    def manages_county(self) -> bool:
        """Admins and county staff: grids, members and enterprises anywhere."""
        return self.can_write and self.everything and self.has_role(*COUNTY_WIDE)

    def manages_grid(self, grid_id: uuid.UUID | None) -> bool:
        """Staff may shape the grids, enterprises and people of the grids they see."""
        if not self.can_write or not self.has_role(*DISPATCHERS):
            return False
        return self.everything or (grid_id is not None and grid_id in self.grid_ids)


ANONYMOUS = Scope(member_id=None, roles=frozenset(), everything=False)


async def sign_in(
    session: AsyncSession, token: str, *, now: datetime | None = None
) -> tuple[Member, AuthToken, Scope]:
    """``tokens.authenticate`` and ``scope_for`` in one statement: the token's row carries the
    scope rows of its member (found by the token's hash), so that a request signs in with one
    round trip. A token issued for some grids needs a second statement (``scope_for``)."""
    member, record, (packed,) = await tokens.authenticate_with(
        session, token, _sign_in_statement(), now=now
    )
    rows = []
    for item in packed.split(",") if packed else ():
        tag, _, value = item.partition(":")
        rows.append((tag, uuid.UUID(value)))
    return member, record, await scope_for(session, member, record, rows=rows)


async def scope_for(
    session: AsyncSession,
    member: Member,
    token: AuthToken | None = None,
    *,
    rows: list[tuple[str, uuid.UUID]] | None = None,
) -> Scope:
    """Compute the caller's scope from its roles, its grids and stations, and its token.

    Runs on every request, so it reads everything in one statement (two for a token issued for
    some grids): the grids and stations served, and the grids below them walked in SQL rather
    than by loading the whole grid tree. Remembered only while every change is heard
    (api/auth/sign_in_cache.py), so a changed grid or membership
    counts from the next request on, in every process. ``rows``: this member's rows of
    ``_scope_rows(walk=True, granted=False)``, read already (``sign_in``)."""
    roles = frozenset(member.roles)
    grants: dict[str, Any] = token.grants if token is not None else {}
    read_only = bool(grants.get("readOnly"))
    everything = bool(roles & COUNTY_WIDE)
    granted = {uuid.UUID(g) for g in grants.get("grids", [])}
    found: dict[str, set[uuid.UUID]] = {
        "served": set(),
        "station": set(),
        "visible": set(),
        "station_below": set(),
        "allowed": set(),
    }
    if rows is None or granted:
        statement = _scope_rows(walk=not everything, granted=bool(granted))
        parameters = {"member_id": member.id, "granted": sorted(granted)}
        rows = list(await session.execute(statement, parameters))  # type: ignore[arg-type]
    elif everything:
        # Read with the walk below the grids served, which the whole county makes moot.
        rows = [(tag, value) for tag, value in rows if tag in ("served", "station")]
    for tag, value in rows:
        found[tag].add(value)
    served = frozenset(found["served"])
    stations = found["station"] | found["station_below"]
    visible = frozenset(found["visible"])
    if granted:
        # An API token issued for some grids sees those only, never beyond its owner's scope.
        allowed = found["allowed"]
        visible = frozenset(allowed if everything else allowed & visible)
        everything = False
        # A token for some grids sees the stations in them, nothing else.
        stations = set(await session.scalars(_stations_in(visible))) if visible else set()
    return Scope(
        member_id=member.id,
        roles=roles,
        everything=everything,
        served_grid_ids=served,
        grid_ids=visible,
        station_ids=frozenset(stations),
        read_only=read_only,
        token_kind=token.kind if token is not None else None,
        personal=not granted,
    )


def _grids_below(roots: sa.Select[Any], name: str) -> sa.CTE:
    """The live grids ``roots`` selects (their ids) and every live grid below them."""
    child = Grid.__table__.alias(f"{name}_child")
    below = roots.cte(name, recursive=True)
    return below.union(
        select(child.c.id).where(child.c.parent_id == below.c.id, child.c.deleted_at.is_(None))
    )


def _stations_in(grids: Any) -> sa.Select[Any]:
    station = Station.__table__
    return select(station.c.id).where(station.c.grid_id.in_(grids))


@functools.cache
def _sign_in_statement() -> sa.Select[Any]:
    """The token with the hash ``:token_hash``, its member and, packed into one string of
    ``tag:id`` items, the scope rows of that member (``_scope_rows(walk=True)``)."""
    rows = _scope_rows(walk=True, granted=False, by_token=True).subquery()
    tag, value = list(rows.c)
    item = sa.cast(tag, sa.String).concat(":").concat(sa.cast(value, sa.String))
    # The separator as SQL text, not a literal bound at execution (which costs Python per run).
    comma: Any = sa.literal_column("','")
    packed = select(sa.func.aggregate_strings(item, comma)).scalar_subquery()
    return tokens.token_and_member(packed.label("scope_rows"))


@functools.cache
def _scope_rows(*, walk: bool, granted: bool, by_token: bool = False) -> sa.CompoundSelect:
    """(tag, id) rows for the member ``:member_id`` (``by_token``: the member of the token
    with the hash ``:token_hash``): the grids and stations served; with
    ``walk`` the grids below the served ones and (no grant) a station in any of them, which
    that grid's people serve too; with ``granted`` the grids below ``:granted``, those a token
    was issued for. Built once per shape: building a CTE costs more than running it. Plain
    table columns (not the ORM's) keep the ORM out of a statement run on every request."""
    grid, member_grid = Grid.__table__, MemberGrid.__table__
    member_station = MemberStation.__table__
    member_id: Any = sa.bindparam("member_id", type_=member_grid.c.member_id.type)
    if by_token:
        auth_token = AuthToken.__table__
        member_id = (
            select(auth_token.c.member_id)
            .where(auth_token.c.token_hash == sa.bindparam("token_hash"))
            .scalar_subquery()
        )
    parts = [
        select(sa.literal_column("'served'").label("tag"), member_grid.c.grid_id).where(
            member_grid.c.member_id == member_id
        ),
        select(sa.literal_column("'station'").label("tag"), member_station.c.station_id).where(
            member_station.c.member_id == member_id
        ),
    ]
    if walk:
        # The member's few grids first, materialised: whatever order the planner picks for
        # the join (without statistics it may scan every grid first), the other side is tiny.
        mine = (
            select(member_grid.c.grid_id)
            .where(member_grid.c.member_id == member_id)
            .cte("served")
            .prefix_with("MATERIALIZED", dialect="postgresql")
        )
        served = (
            select(grid.c.id)
            .join(mine, mine.c.grid_id == grid.c.id)
            .where(grid.c.deleted_at.is_(None))
        )
        visible = _grids_below(served, "visible")
        parts.append(select(sa.literal_column("'visible'").label("tag"), visible.c.id))
        if not granted:
            stations = _stations_in(select(visible.c.id)).subquery()
            parts.append(select(sa.literal_column("'station_below'").label("tag"), stations.c.id))
    if granted:
        roots = sa.bindparam("granted", expanding=True, type_=grid.c.id.type)
        allowed = _grids_below(
            select(grid.c.id).where(grid.c.id.in_(roots), grid.c.deleted_at.is_(None)), "allowed"
        )
        parts.append(select(sa.literal_column("'allowed'").label("tag"), allowed.c.id))
    return sa.union_all(*parts)
