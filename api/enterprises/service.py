"""Registering and updating enterprises; the grid rule decides their grid."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.enterprises.classify import Placement, place_enterprise
from api.enterprises.codes import normalize_credit_code
from api.enterprises.models import Enterprise, GridMove
from api.errors import invalid, not_found
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
) -> EnterprisePlacement:
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
    session.add(
        GridMove(
            enterprise_id=enterprise.id,
            from_grid_id=None,
            to_grid_id=placement.grid.id,
            reason=placement.reason,
            headcount=headcount,
            moved_by_id=actor_id,
        )
    )
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
) -> EnterprisePlacement:
    """Apply changes; a change that crosses 200 staff (or of area or industry) moves grids."""
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


async def _move(
    session: AsyncSession, enterprise: Enterprise, placement: Placement, actor_id: uuid.UUID | None
) -> None:
    old_grid_id = enterprise.grid_id
    session.add(
        GridMove(
            enterprise_id=enterprise.id,
            from_grid_id=old_grid_id,
            to_grid_id=placement.grid.id,
            reason=placement.reason,
            headcount=enterprise.headcount,
            moved_by_id=actor_id,
        )
    )
    enterprise.grid_id = placement.grid.id
    # Open tickets follow the enterprise so the new grid's liaison sees them; closed ones stay
    # where they were handled. Loaded as objects so versions bump and the sync log sees them.
    open_tickets = await session.scalars(
        select(Ticket).where(
            Ticket.enterprise_id == enterprise.id,
            Ticket.grid_id == old_grid_id,
            Ticket.status.in_(OPEN_STATUSES),
        )
    )
    for ticket in open_tickets:
        ticket.grid_id = placement.grid.id
    await session.flush()
    old_grid = await session.get(Grid, old_grid_id)
    if old_grid is not None and old_grid.kind == GridKind.INDEPENDENT:
        others = await session.scalar(
            select(func.count())
            .select_from(Enterprise)
            .where(Enterprise.grid_id == old_grid_id, Enterprise.deleted_at.is_(None))
        )
        if not others:
            # An independent grid exists for its one enterprise; retire it, keep its history.
            old_grid.deleted_at = utcnow()


__all__ = ["EnterprisePlacement", "register_enterprise", "update_enterprise"]
