"""Registering and updating enterprises; the grid rule decides their grid."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.scope import Scope
from api.enterprises.classify import Placement, place_enterprise
from api.enterprises.codes import normalize_credit_code
from api.enterprises.models import Enterprise, GridMove
from api.errors import forbidden, invalid, not_found
from api.grids.models import Grid, GridKind
from api.grids.service import get_grid
from api.i18n import _
from api.records import utcnow
from api.tickets.models import OPEN_STATUSES, Ticket


@dataclass(frozen=True)
class EnterprisePlacement:
    enterprise: Enterprise
    placement: Placement
    moved: bool


async def _town_and_park(
    session: AsyncSession, town_id: uuid.UUID, park_id: uuid.UUID | None
) -> tuple[Grid, Grid | None]:
    town = await get_grid(session, town_id, field="townId")
    if town.kind != GridKind.TOWN:
        raise invalid(
            "townId", _("{name} is a {kind} grid, not a town", name=town.name, kind=town.kind)
        )
    park = None
    if park_id is not None:
        park = await get_grid(session, park_id, field="parkId")
        if park.kind != GridKind.PARK:
            raise invalid(
                "parkId", _("{name} is a {kind} grid, not a park", name=park.name, kind=park.kind)
            )
        if park.town_id != town.id:
            raise invalid(
                "parkId", _("the park {name} is not in {name2}", name=park.name, name2=town.name)
            )
    return town, park


def _check_basics(name: str, headcount: int, industry: str) -> None:
    if not name.strip():
        raise invalid("name", _("an enterprise needs a name"))
    if headcount < 0:
        raise invalid("headcount", _("headcount cannot be negative"))
    if headcount > 1_000_000:
        raise invalid("headcount", _("headcount above 1,000,000 is not believable"))
    if not industry.strip():
        raise invalid("industry", _("an enterprise needs an industry"))


async def _may_change(
    session: AsyncSession, scope: Scope, enterprise_id: uuid.UUID, town_id: uuid.UUID | None
) -> None:
    current = await session.scalar(
        select(Enterprise).where(
            Enterprise.id == enterprise_id,
            Enterprise.deleted_at.is_(None),
            scope.visible(Enterprise),
        )
    )
    if current is None:
        raise not_found("id", _("the enterprise"))
    if not scope.manages_grid(current.town_id) or (
        town_id is not None and not scope.manages_grid(town_id)
    ):
        raise forbidden(_("you may change enterprises in your own town only"))


async def register_enterprise(
    session: AsyncSession,
    *,
    name: str,
    credit_code: str,
    headcount: int,
    industry: str,
    town_id: uuid.UUID,
    park_id: uuid.UUID | None = None,
    address: str = "",
    has_union: bool = False,
    is_direct_report_point: bool = False,
    actor_id: uuid.UUID | None = None,
    enterprise_id: uuid.UUID | None = None,
    scope: Scope | None = None,
) -> EnterprisePlacement:
    """A new enterprise, placed by the grid rule. ``scope``: the caller's (staff register in
    the towns they manage; the caller is the mover on record); None only on an operator's path
    (CLI, import, demo) whose own door checked it."""
    if scope is not None:
        if not scope.manages_grid(town_id):
            raise forbidden(_("you may register enterprises in your own town only"), "townId")
        actor_id = scope.member_id
    _check_basics(name, headcount, industry)
    code = normalize_credit_code(credit_code)
    if await session.scalar(select(Enterprise.id).where(Enterprise.credit_code == code)):
        raise invalid(
            "creditCode",
            _("an enterprise with credit code {code} is already registered", code=code),
        )
    town, park = await _town_and_park(session, town_id, park_id)
    placement = await place_enterprise(
        session,
        name=name.strip(),
        credit_code=code,
        headcount=headcount,
        industry=industry.strip(),
        town=town,
        park=park,
    )
    enterprise = Enterprise(
        id=enterprise_id or uuid.uuid4(),
        name=name.strip(),
        credit_code=code,
        headcount=headcount,
        industry=industry.strip(),
        town_id=town.id,
        park_id=park.id if park else None,
        address=address.strip(),
        has_union=has_union,
        is_direct_report_point=is_direct_report_point,
        grid_id=placement.grid.id,
        grid_reason=placement.reason,
    )
    session.add(enterprise)
    await session.flush()
    session.add(_arrival(enterprise, None, placement.reason, actor_id))
    await session.flush()
    return EnterprisePlacement(enterprise, placement, moved=False)


async def update_enterprise(
    session: AsyncSession,
    *,
    enterprise_id: uuid.UUID,
    actor_id: uuid.UUID | None = None,
    name: str | None = None,
    headcount: int | None = None,
    industry: str | None = None,
    town_id: uuid.UUID | None = None,
    park_id: uuid.UUID | None = None,
    clear_park: bool = False,
    address: str | None = None,
    has_union: bool | None = None,
    is_direct_report_point: bool | None = None,
    scope: Scope | None = None,
) -> EnterprisePlacement:
    """Apply changes; a change that crosses 200 staff (or of area or industry) moves grids.
    ``scope`` as for register_enterprise: the caller must see the enterprise (else NOT_FOUND)
    and manage its town and the town it moves to."""
    if scope is not None:
        await _may_change(session, scope, enterprise_id, town_id)
        actor_id = scope.member_id
    enterprise = await session.get(Enterprise, enterprise_id)
    if enterprise is None or enterprise.deleted:
        raise not_found("id", _("the enterprise"))
    new_name = name if name is not None else enterprise.name
    new_headcount = headcount if headcount is not None else enterprise.headcount
    new_industry = industry if industry is not None else enterprise.industry
    _check_basics(new_name, new_headcount, new_industry)
    new_town_id = town_id or enterprise.town_id
    new_park_id = None if clear_park else (park_id or enterprise.park_id)
    if town_id and town_id != enterprise.town_id and not park_id:
        new_park_id = None  # a park belongs to one town
    town, park = await _town_and_park(session, new_town_id, new_park_id)

    enterprise.name = new_name.strip()
    enterprise.headcount = new_headcount
    enterprise.industry = new_industry.strip()
    enterprise.town_id = town.id
    enterprise.park_id = park.id if park else None
    if address is not None:
        enterprise.address = address.strip()
    if has_union is not None:
        enterprise.has_union = has_union
    if is_direct_report_point is not None:
        enterprise.is_direct_report_point = is_direct_report_point

    placement = await place_enterprise(
        session,
        name=enterprise.name,
        credit_code=enterprise.credit_code,
        headcount=enterprise.headcount,
        industry=enterprise.industry,
        town=town,
        park=park,
    )
    moved = placement.grid.id != enterprise.grid_id
    if moved:
        await _move(session, enterprise, placement, actor_id)
    enterprise.grid_reason = placement.reason
    await session.flush()
    return EnterprisePlacement(enterprise, placement, moved=moved)


def grid_move(
    *,
    enterprise_id: uuid.UUID,
    from_grid_id: uuid.UUID | None,
    to_grid_id: uuid.UUID,
    reason: str,
    headcount: int,
    actor_id: uuid.UUID | None,
) -> dict[str, Any]:
    """The history row of an enterprise entering a grid (every column: an import writes
    thousands in one INSERT)."""
    return {
        "id": uuid.uuid4(),
        "enterprise_id": enterprise_id,
        "from_grid_id": from_grid_id,
        "to_grid_id": to_grid_id,
        "reason": reason,
        "headcount": headcount,
        "moved_by_id": actor_id,
        "moved_at": utcnow(),
    }


def _arrival(
    enterprise: Enterprise, from_grid_id: uuid.UUID | None, reason: str, actor_id: uuid.UUID | None
) -> GridMove:
    return GridMove(
        **grid_move(
            enterprise_id=enterprise.id,
            from_grid_id=from_grid_id,
            to_grid_id=enterprise.grid_id,
            reason=reason,
            headcount=enterprise.headcount,
            actor_id=actor_id,
        )
    )


async def _move(
    session: AsyncSession, enterprise: Enterprise, placement: Placement, actor_id: uuid.UUID | None
) -> None:
    old_grid_id = enterprise.grid_id
    enterprise.grid_id = placement.grid.id
    session.add(_arrival(enterprise, old_grid_id, placement.reason, actor_id))
    await after_moves(session, {enterprise.id: (old_grid_id, enterprise.grid_id)})


async def after_moves(
    session: AsyncSession, moves: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID]]
) -> None:
    """What follows enterprises that changed grid ({enterprise id: (old grid, new grid)}, in
    statements per batch, not per enterprise — an import moves thousands)."""
    if not moves:
        return
    ids = list(moves)
    # Open tickets follow the enterprise so the new grid's liaison sees them; closed ones stay
    # where they were handled. Loaded as objects so versions bump and the sync log sees them.
    open_tickets = await session.scalars(
        select(Ticket).where(Ticket.enterprise_id.in_(ids), Ticket.status.in_(OPEN_STATUSES))
    )
    for ticket in open_tickets:
        old_grid_id, new_grid_id = moves[ticket.enterprise_id]
        if ticket.grid_id == old_grid_id:
            ticket.grid_id = new_grid_id
    await session.flush()
    # An independent grid exists for its one enterprise; retire it when left, keep its history.
    left = await session.scalars(
        select(Grid).where(
            Grid.id.in_({old for old, _new in moves.values()}),
            Grid.kind == GridKind.INDEPENDENT,
            Grid.deleted_at.is_(None),
        )
    )
    empty = {grid.id: grid for grid in left}
    if not empty:
        return
    still_used = await session.scalars(
        select(Enterprise.grid_id)
        .where(Enterprise.grid_id.in_(list(empty)), Enterprise.deleted_at.is_(None))
        .distinct()
    )
    for grid_id in still_used:
        empty.pop(grid_id, None)
    now = utcnow()
    for grid in empty.values():
        grid.deleted_at = now


__all__ = [
    "EnterprisePlacement",
    "after_moves",
    "grid_move",
    "register_enterprise",
    "update_enterprise",
]
