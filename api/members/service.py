"""Creating and updating members, with the grids and stations they serve."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.passwords import hash_password
from api.auth.scope import Scope
from api.enterprises.codes import normalize_phone
from api.enterprises.models import Enterprise
from api.errors import forbidden, invalid, not_found
from api.grids.models import Grid
from api.i18n import _
from api.members.models import Member, MemberGrid, MemberStation, Role
from api.stations.models import Station


def parse_roles(raw: Iterable[str], field: str = "roles") -> list[str]:
    roles: list[str] = []
    for value in raw:
        name = value.strip().upper()
        if name not in Role.__members__:
            allowed = ", ".join(Role.__members__)
            raise invalid(
                field,
                _("unknown role {value!r}; roles are {allowed}", value=value, allowed=allowed),
            )
        if name not in roles:
            roles.append(name)
    if not roles:
        raise invalid(field, _("a member needs at least one role"))
    return roles


async def _check_ids(
    session: AsyncSession, model: type, ids: Iterable[uuid.UUID], field: str, what: str
) -> list[uuid.UUID]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    found = set(
        await session.scalars(
            select(model.id).where(model.id.in_(wanted), model.deleted_at.is_(None))
        )
    )
    missing = [str(i) for i in wanted if i not in found]
    if missing:
        raise invalid(field, _("unknown {what}: {value}", what=what, value=", ".join(missing)))
    return wanted


async def set_grids(session: AsyncSession, member_id: uuid.UUID, grid_ids: list[uuid.UUID]) -> None:
    """Replace the grids a member serves, as ORM adds and deletes so that the session's hooks
    (the sync change log) see the change, including a removal of every grid."""
    links = await session.scalars(select(MemberGrid).where(MemberGrid.member_id == member_id))
    await _replace_links(session, list(links), "grid_id", grid_ids, MemberGrid, member_id)


async def set_stations(
    session: AsyncSession, member_id: uuid.UUID, station_ids: list[uuid.UUID]
) -> None:
    links = await session.scalars(select(MemberStation).where(MemberStation.member_id == member_id))
    await _replace_links(session, list(links), "station_id", station_ids, MemberStation, member_id)


async def _replace_links(
    session: AsyncSession,
    links: list[Any],
    column: str,
    wanted: list[uuid.UUID],
    model: type[MemberGrid] | type[MemberStation],
    member_id: uuid.UUID,
) -> None:
    have = {getattr(link, column): link for link in links}
    for target, link in have.items():
        if target not in wanted:
            await session.delete(link)
    session.add_all(
        model(member_id=member_id, **{column: target}) for target in wanted if target not in have
    )


# Roles only county staff may give or take.
STAFF_ROLES = frozenset({Role.ADMIN, Role.COUNTY_STAFF, Role.TOWN_STAFF})


def may_manage_people(scope: Scope, roles: list[str] | None, grid_ids: list[uuid.UUID]) -> bool:
    """County staff manage anyone (admins only by admins); town staff the liaisons, chairs and
    members of their town. The one rule for GraphQL, account admin and imports."""
    if scope.manages_county:
        return Role.ADMIN not in (roles or []) or scope.is_admin
    if roles is not None and STAFF_ROLES & set(roles):
        return False
    return scope.has_role(Role.TOWN_STAFF) and all(scope.manages_grid(g) for g in grid_ids)


async def served_grids(session: AsyncSession, member_id: uuid.UUID) -> set[uuid.UUID]:
    return set(
        await session.scalars(select(MemberGrid.grid_id).where(MemberGrid.member_id == member_id))
    )


async def managed_member(
    session: AsyncSession, scope: Scope, member_id: uuid.UUID, *, field: str = "id"
) -> Member:
    """The member, if the caller may manage it as it is now (docs/operations.md: county staff
    anyone but admins, town staff the liaisons, chairs and members of their town): it sees it
    (else NOT_FOUND) and manages its roles and the grids it serves (else FORBIDDEN)."""
    member = await session.scalar(
        select(Member).where(
            Member.id == member_id, Member.deleted_at.is_(None), scope.visible(Member)
        )
    )
    if member is None:
        raise not_found(field, _("the member"))
    if not may_manage_people(
        scope, list(member.roles), list(await served_grids(session, member_id))
    ):
        raise forbidden(_("you may not change this member"), field)
    return member


def check_may_give(
    scope: Scope,
    member: Member,
    roles: list[str] | None,
    grid_ids: Iterable[uuid.UUID] | None,
) -> None:
    """The caller may give a member it manages these roles (or keep its own) and grids."""
    if not may_manage_people(scope, roles or list(member.roles), list(grid_ids or [])):
        raise forbidden(_("you may not give these roles or grids"), "roles")


async def create_member(
    session: AsyncSession,
    *,
    name: str,
    phone: str,
    roles: Iterable[str],
    enterprise_id: uuid.UUID | None = None,
    grid_ids: Iterable[uuid.UUID] = (),
    station_ids: Iterable[uuid.UUID] = (),
    password: str | None = None,
    member_id: uuid.UUID | None = None,
    scope: Scope | None = None,
) -> Member:
    """A new member. ``scope``: the caller's, whose permission is checked here; None only on an
    operator's path (CLI, import, demo) whose own door checked it."""
    if scope is not None:
        grid_ids = list(grid_ids)
        if not may_manage_people(scope, parse_roles(roles), grid_ids):
            raise forbidden(_("you may not register this member"), "roles")
    if not name.strip():
        raise invalid("name", _("a member needs a name"))
    normalized = normalize_phone(phone)
    if await session.scalar(select(Member.id).where(Member.phone == normalized)):
        raise invalid(
            "phone", _("the phone number {normalized} is already registered", normalized=normalized)
        )
    role_list = parse_roles(roles)
    if enterprise_id is not None:
        await _check_ids(session, Enterprise, [enterprise_id], "enterpriseId", "enterprise")
    grids = await _check_ids(session, Grid, grid_ids, "gridIds", "grids")
    stations = await _check_ids(session, Station, station_ids, "stationIds", "stations")
    member = Member(
        id=member_id or uuid.uuid4(),
        name=name.strip(),
        phone=normalized,
        roles=role_list,
        enterprise_id=enterprise_id,
        password_hash=hash_password(password) if password else None,
    )
    session.add(member)
    await session.flush()
    await set_grids(session, member.id, grids)
    await set_stations(session, member.id, stations)
    await session.flush()
    return member


async def update_member(
    session: AsyncSession,
    *,
    member_id: uuid.UUID,
    name: str | None = None,
    phone: str | None = None,
    roles: Iterable[str] | None = None,
    enterprise_id: uuid.UUID | None = None,
    grid_ids: Iterable[uuid.UUID] | None = None,
    station_ids: Iterable[uuid.UUID] | None = None,
    password: str | None = None,
    is_active: bool | None = None,
    scope: Scope | None = None,
) -> Member:
    """``scope`` as for create_member."""
    if scope is not None:
        grid_ids = list(grid_ids) if grid_ids is not None else None
        managed = await managed_member(session, scope, member_id)
        check_may_give(scope, managed, parse_roles(roles) if roles is not None else None, grid_ids)
    member = await session.get(Member, member_id)
    if member is None or member.deleted:
        raise not_found("id", _("the member"))
    if name is not None:
        if not name.strip():
            raise invalid("name", _("a member needs a name"))
        member.name = name.strip()
    if phone is not None:
        normalized = normalize_phone(phone)
        taken = await session.scalar(
            select(Member.id).where(Member.phone == normalized, Member.id != member_id)
        )
        if taken:
            raise invalid(
                "phone",
                _("the phone number {normalized} is already registered", normalized=normalized),
            )
        member.phone = normalized
    if roles is not None:
        member.roles = parse_roles(roles)
    if enterprise_id is not None:
        await _check_ids(session, Enterprise, [enterprise_id], "enterpriseId", "enterprise")
        member.enterprise_id = enterprise_id
    if grid_ids is not None:
        await set_grids(
            session, member.id, await _check_ids(session, Grid, grid_ids, "gridIds", "grids")
        )
    if station_ids is not None:
        await set_stations(
            session,
            member.id,
            await _check_ids(session, Station, station_ids, "stationIds", "stations"),
        )
    if password is not None:
        member.password_hash = hash_password(password)
    if is_active is not None:
        member.is_active = is_active
    await session.flush()
    return member


async def members_serving(
    session: AsyncSession, grid_ids: Iterable[uuid.UUID | None], roles: Iterable[Role]
) -> list[uuid.UUID]:
    """Active members serving any of these grids in one of these roles (a grid's liaisons, a
    town's staff), in a stable order."""
    ids = [g for g in grid_ids if g is not None]
    wanted = set(roles)
    if not ids:
        return []
    members = await session.scalars(
        select(Member)
        .join(MemberGrid, MemberGrid.member_id == Member.id)
        .where(MemberGrid.grid_id.in_(ids), Member.is_active.is_(True))
        .order_by(Member.id)
    )
    return list(dict.fromkeys(m.id for m in members if wanted.intersection(m.roles)))


async def members_with_role(session: AsyncSession, role: Role) -> list[uuid.UUID]:
    """Active members holding a role wherever they serve (the county staff)."""
    members = await session.scalars(
        select(Member).where(Member.is_active.is_(True)).order_by(Member.id)
    )
    return [m.id for m in members if role in m.roles]
