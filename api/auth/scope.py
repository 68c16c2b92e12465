"""The one scope function: what a caller may see and change. Every resolver and the sync
layer ask it; nothing else decides visibility."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.models import AuthToken, TokenKind
from api.grids.service import descendants, grid_tree
from api.members.models import Member, MemberGrid, MemberStation, Role
from api.records import SyncedRecord

# Roles that see the whole county.
COUNTY_WIDE = frozenset({Role.ADMIN, Role.COUNTY_STAFF})
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

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles and not self.read_only

    def has_role(self, *roles: Role) -> bool:
        return any(r in self.roles for r in roles)

    @property
    def can_dispatch(self) -> bool:
        return not self.read_only and self.has_role(*DISPATCHERS)

    def keys(self) -> frozenset[str]:
        """Keys matched against SyncedRecord.scope_keys()."""
        if self.everything:
            return frozenset({"all"})
        keys = {f"grid:{g}" for g in self.grid_ids}
        keys.update(f"station:{s}" for s in self.station_ids)
        if self.member_id:
            keys.add(f"member:{self.member_id}")
        return frozenset(keys)

    def sees_keys(self, record_keys: set[str] | frozenset[str] | list[str]) -> bool:
        return self.everything or not self.keys().isdisjoint(record_keys)

    def sees(self, record: SyncedRecord) -> bool:
        return self.sees_keys(record.scope_keys())

    def sees_grid(self, grid_id: uuid.UUID | None) -> bool:
        return self.everything or (grid_id is not None and grid_id in self.grid_ids)

    def grid_clause(self, column: Any) -> sa.ColumnElement[bool]:
        """SQL condition: the grid column lies in this caller's grids."""
        if self.everything:
            return sa.true()
        if not self.grid_ids:
            return sa.false()
        return column.in_(list(self.grid_ids))


ANONYMOUS = Scope(member_id=None, roles=frozenset(), everything=False)


async def scope_for(session: AsyncSession, member: Member, token: AuthToken | None = None) -> Scope:
    """Compute the caller's scope from its roles, its grids and stations, and its token."""
    roles = frozenset(member.roles)
    grants: dict[str, Any] = token.grants if token is not None else {}
    read_only = bool(grants.get("readOnly"))
    served = frozenset(
        await session.scalars(select(MemberGrid.grid_id).where(MemberGrid.member_id == member.id))
    )
    stations = frozenset(
        await session.scalars(
            select(MemberStation.station_id).where(MemberStation.member_id == member.id)
        )
    )
    everything = bool(roles & COUNTY_WIDE)
    granted = {uuid.UUID(g) for g in grants.get("grids", [])}
    tree = await grid_tree(session) if (served and not everything) or granted else {}
    visible = frozenset(descendants(tree, set(served))) if not everything else frozenset()
    if granted:
        # An API token issued for some grids sees those only, never beyond its owner's scope.
        allowed = descendants(tree, granted)
        visible = frozenset(allowed if everything else allowed & visible)
        everything = False
    return Scope(
        member_id=member.id,
        roles=roles,
        everything=everything,
        served_grid_ids=served,
        grid_ids=visible,
        station_ids=stations,
        read_only=read_only,
        token_kind=token.kind if token is not None else None,
    )
