"""GraphQL view of enterprises: Enterprise, the enterprises list, register / update (the grid
rule places the enterprise and its explanation is returned)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import sqlalchemy as sa
import strawberry

from api.enterprises.models import Enterprise
from api.enterprises.service import EnterprisePlacement, register_enterprise, update_enterprise
from schema.context import Info
from schema.errors import UserError
from schema.grids import GridType, in_grid_subtree, visible_grid_id
from schema.ids import parse_id, parse_optional_id
from schema.lists import list_connection, nested_connection_loader, relay_args
from schema.mutations import reload, run_mutation
from schema.nodes import Node
from schema.pagination import Connection, OrderDirection, SortKey
from schema.views import ToOne, View, bind, register
from schema.warnings import RiskLevel, RiskType, enterprise_risk

if TYPE_CHECKING:
    from schema.tickets import TicketFilter, TicketOrder, TicketType

ENTERPRISE = register(
    View(
        name="Enterprise",
        model=Enterprise,
        to_one={
            "grid": ToOne("grid_id", "Grid"),
            "town": ToOne("town_id", "Grid"),
            "park": ToOne("park_id", "Grid"),
        },
    )
)


@bind("Enterprise")
@strawberry.type(name="Enterprise", description="An enterprise, placed in a grid by the rule.")
class EnterpriseType(Node):
    uuid: strawberry.ID = strawberry.field(description="The record's UUID, as used by sync.")
    name: str
    credit_code: str = strawberry.field(description="统一社会信用代码 (18 characters).")
    headcount: int
    industry: str
    address: str
    has_union: bool
    is_direct_report_point: bool = strawberry.field(
        description="Reports risk hazards straight to the county (直报点)."
    )
    grid: GridType = strawberry.field(description="The grid the rule placed it in.")
    grid_reason: str = strawberry.field(description="Why the rule chose that grid.")
    town: GridType
    park: GridType | None
    version: int
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="The early-warning level, from its open tickets and hazards.")
    def risk(self, info: Info) -> RiskType:
        return enterprise_risk(info, self.id)

    @strawberry.field(description="GREEN, YELLOW, ORANGE or RED; `risk` also gives the reasons.")
    async def risk_level(self, info: Info) -> RiskLevel:  # type: ignore[valid-type]
        return (await enterprise_risk(info, self.id)).level

    @strawberry.field(description="The enterprise's tickets you may see, newest first by default.")
    async def tickets(
        self,
        info: Info,
        filter: Annotated[TicketFilter, strawberry.lazy("schema.tickets")] | None = None,
        order_by: Annotated[TicketOrder, strawberry.lazy("schema.tickets")] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Annotated[TicketType, strawberry.lazy("schema.tickets")]]:
        from schema.tickets import TICKET, ticket_conditions, ticket_order

        where = await ticket_conditions(info, filter)
        key, ascending = ticket_order(order_by)
        loader = nested_connection_loader(
            info,
            TICKET,
            parent_column="enterprise_id",
            where=where,
            key=key,
            ascending=ascending,
            args=relay_args(info, first, after, None, None),
            signature=(repr(filter), repr(order_by)),
        )
        return await loader.load(self.id)


@strawberry.input(description="Which enterprises to list.")
class EnterpriseFilter:
    grid_id: strawberry.ID | None = strawberry.field(
        default=None, description="In this grid or any grid below it."
    )
    town_id: strawberry.ID | None = None
    industry: str | None = None
    has_union: bool | None = None
    is_direct_report_point: bool | None = None
    min_headcount: int | None = None
    search: str | None = strawberry.field(default=None, description="In name or credit code.")


@strawberry.enum(description="What enterprises are sorted by.")
class EnterpriseOrderField(Enum):
    NAME = "NAME"
    HEADCOUNT = "HEADCOUNT"
    UPDATED_AT = "UPDATED_AT"


@strawberry.input
class EnterpriseOrder:
    field: EnterpriseOrderField = EnterpriseOrderField.NAME
    direction: OrderDirection = OrderDirection.ASC


_c = Enterprise.__table__.c
ENTERPRISE_KEYS = {
    EnterpriseOrderField.NAME: SortKey("name", _c.name),
    EnterpriseOrderField.HEADCOUNT: SortKey("headcount", _c.headcount, int),
    EnterpriseOrderField.UPDATED_AT: SortKey("updatedAt", _c.updated_at, datetime),
}


@strawberry.type
class EnterpriseQuery:
    @strawberry.field(description="The enterprises you may see, a page at a time.")
    async def enterprises(
        self,
        info: Info,
        filter: EnterpriseFilter | None = None,
        order_by: EnterpriseOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[EnterpriseType]:
        info.context.require_member()
        args = relay_args(info, first, after, last, before)
        where: list[sa.ColumnElement[bool]] = []
        if filter is not None:
            if filter.grid_id is not None:
                where.append(await in_grid_subtree(info, _c.grid_id, filter.grid_id))
            if filter.town_id is not None:
                where.append(_c.town_id == await visible_grid_id(info, filter.town_id, "townId"))
            if filter.industry:
                where.append(_c.industry == filter.industry.strip())
            if filter.has_union is not None:
                where.append(_c.has_union.is_(filter.has_union))
            if filter.is_direct_report_point is not None:
                where.append(_c.is_direct_report_point.is_(filter.is_direct_report_point))
            if filter.min_headcount is not None:
                where.append(_c.headcount >= filter.min_headcount)
            if filter.search:
                term = filter.search.strip()
                where.append(
                    sa.or_(
                        _c.name.icontains(term, autoescape=True),
                        _c.credit_code.icontains(term, autoescape=True),
                    )
                )
        order = order_by or EnterpriseOrder()
        return await list_connection(
            info,
            ENTERPRISE,
            where=where,
            key=ENTERPRISE_KEYS[order.field],
            ascending=order.direction == OrderDirection.ASC,
            args=args,
        )


@strawberry.input(description="A new enterprise; the grid rule decides its grid.")
class RegisterEnterpriseInput:
    name: str
    credit_code: str
    headcount: int
    industry: str
    town_id: strawberry.ID
    park_id: strawberry.ID | None = None
    address: str = ""
    has_union: bool = False
    is_direct_report_point: bool = False
    client_mutation_id: str | None = None


@strawberry.input(
    description="Changes to an enterprise; a change of staff, area or industry "
    "may move it to another grid."
)
class UpdateEnterpriseInput:
    id: strawberry.ID
    name: str | None = None
    headcount: int | None = None
    industry: str | None = None
    town_id: strawberry.ID | None = None
    park_id: strawberry.ID | None = None
    clear_park: bool = False
    address: str | None = None
    has_union: bool | None = None
    is_direct_report_point: bool | None = None
    client_mutation_id: str | None = None


@strawberry.type(description="How the grid rule placed the enterprise.")
class GridPlacement:
    grid: GridType
    reason: str = strawberry.field(description="The rule's explanation, for people.")
    moved: bool = strawberry.field(description="True when the change moved it to another grid.")


@strawberry.type
class EnterprisePayload:
    enterprise: EnterpriseType | None
    placement: GridPlacement | None
    errors: list[UserError]
    client_mutation_id: str | None = None


async def _payload(
    info: Info, placed: EnterprisePlacement | None, errors: list[UserError], mutation_id: str | None
) -> EnterprisePayload:
    if placed is None:
        return EnterprisePayload(
            enterprise=None, placement=None, errors=errors, client_mutation_id=mutation_id
        )
    grid = await reload(info, "Grid", placed.placement.grid.id)
    return EnterprisePayload(
        enterprise=await reload(info, "Enterprise", placed.enterprise.id),
        placement=GridPlacement(grid=grid, reason=placed.placement.reason, moved=placed.moved),
        errors=errors,
        client_mutation_id=mutation_id,
    )


@strawberry.type
class EnterpriseMutation:
    @strawberry.mutation(description="Register an enterprise; the grid rule places it.")
    async def register_enterprise(
        self, info: Info, input: RegisterEnterpriseInput
    ) -> EnterprisePayload:
        async def work(session: Any) -> EnterprisePlacement:
            return await register_enterprise(
                session,
                scope=info.context.scope,
                name=input.name,
                credit_code=input.credit_code,
                headcount=input.headcount,
                industry=input.industry,
                town_id=parse_id(input.town_id, "townId", ["Grid"]),
                park_id=parse_optional_id(input.park_id, "parkId", ["Grid"]),
                address=input.address,
                has_union=input.has_union,
                is_direct_report_point=input.is_direct_report_point,
            )

        placed, errors = await run_mutation(info, work)
        return await _payload(info, placed, errors, input.client_mutation_id)

    @strawberry.mutation(description="Change an enterprise; the grid rule may move it.")
    async def update_enterprise(
        self, info: Info, input: UpdateEnterpriseInput
    ) -> EnterprisePayload:
        async def work(session: Any) -> EnterprisePlacement:
            return await update_enterprise(
                session,
                scope=info.context.scope,
                enterprise_id=parse_id(input.id, "id", ["Enterprise"]),
                name=input.name,
                headcount=input.headcount,
                industry=input.industry,
                town_id=parse_optional_id(input.town_id, "townId", ["Grid"]),
                park_id=parse_optional_id(input.park_id, "parkId", ["Grid"]),
                clear_park=input.clear_park,
                address=input.address,
                has_union=input.has_union,
                is_direct_report_point=input.is_direct_report_point,
            )

        placed, errors = await run_mutation(info, work)
        return await _payload(info, placed, errors, input.client_mutation_id)
