"""Creating and updating members, with the grids and stations they serve."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.passwords import hash_password
from api.enterprises.codes import normalize_phone
from api.enterprises.models import Enterprise
from api.errors import invalid, not_found
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
) -> Member:
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
) -> Member:
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
