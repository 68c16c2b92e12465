"""GraphQL view of the grid tree: Grid, the grids list, createGrid."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import sqlalchemy as sa
import strawberry

from api.errors import DomainError
from api.grids.models import Grid
from api.grids.models import GridKind as GridKindValue
from api.grids.service import create_grid, descendants
from api.i18n import _
from api.members.models import Member, MemberGrid, Role
from schema.context import Context, Info
from schema.enums import GridKind
from schema.errors import UserError, query_error
from schema.ids import parse_id, parse_optional_id
from schema.lists import list_connection, relay_args
from schema.mutations import mutate
from schema.nodes import Node
from schema.pagination import Connection, OrderDirection, SortKey
from schema.views import ToOne, View, bind, plan, register, select_for, view_of
from schema.warnings import RiskLevel, RiskType, grid_risk

if TYPE_CHECKING:
    from schema.enterprises import EnterpriseType
    from schema.members import MemberType

GRID = register(
    View(
        name="Grid",
        model=Grid,
        to_one={"parent": ToOne("parent_id", "Grid"), "town": ToOne("town_id", "Grid")},
    )
)


async def subtree(context: Context, grid_id: uuid.UUID) -> list[uuid.UUID]:
    """The grid and every grid below it (the tree is read once per request)."""
    tree = context.cache.get("grid_tree")
    if tree is None:
        rows = await context.reader.rows(
            sa.select(Grid.id, Grid.parent_id).where(Grid.deleted_at.is_(None))
        )
        tree = context.cache["grid_tree"] = {row.id: row.parent_id for row in rows}
    return sorted(descendants(tree, {grid_id}))


async def visible_grid_id(info: Info, raw: str, field: str) -> uuid.UUID:
    """A grid id argument the caller may see, or a coded error naming the field."""
    try:
        grid_id = parse_id(raw, field, ["Grid"])
    except DomainError as error:
        raise query_error(error) from error
    if await info.context.loaders.visible("Grid").load(grid_id) is None:
        raise query_error(DomainError("NOT_FOUND", _("the grid was not found"), field))
    return grid_id


async def in_grid_subtree(
    info: Info, column: sa.ColumnElement[Any], raw: str, field: str = "gridId"
) -> sa.ColumnElement[bool]:
    """A list filter by grid: the grid named by ``raw`` (which the caller must see) and every
    grid below it, so that a town's filter takes in its grids' records too."""
    grid_id = await visible_grid_id(info, raw, field)
    return column.in_(await subtree(info.context, grid_id))


@bind("Grid")
@strawberry.type(name="Grid", description="A node of the county's grid tree.")
class GridType(Node):
    uuid: strawberry.ID = strawberry.field(description="The record's UUID, as used by sync.")
    code: str
    name: str
    kind: GridKind
    industry: str | None = strawberry.field(description="The industry a joint grid groups.")
    parent: GridType | None
    town: GridType | None = strawberry.field(description="The town the grid lies in.")
    version: int
    created_at: datetime
    updated_at: datetime

    @strawberry.field(
        description="The early-warning level over its own and its sub-grids' tickets."
    )
    def risk(self, info: Info) -> RiskType:
        return grid_risk(info, self.id)

    @strawberry.field(description="GREEN, YELLOW, ORANGE or RED; `risk` also gives the reasons.")
    async def risk_level(self, info: Info) -> RiskLevel:  # type: ignore[valid-type]
        return (await grid_risk(info, self.id)).level

    @strawberry.field(description="The grids directly below this one, by code.")
    def children(self, info: Info) -> list[GridType]:
        return info.context.loaders.children(
            "grid.children", "Grid", "parent_id", order_by=("code", "id")
        ).load(self.id)

    @strawberry.field(
        description="The enterprises placed in this grid, by name (at most "
        "max_page_size; page through `enterprises(filter: {gridId})` for more)."
    )
    def enterprises(
        self, info: Info
    ) -> list[Annotated[EnterpriseType, strawberry.lazy("schema.enterprises")]]:
        return info.context.loaders.children(
            "grid.enterprises",
            "Enterprise",
            "grid_id",
            order_by=("name", "id"),
            limit=info.context.settings.max_page_size,
        ).load(self.id)

    @strawberry.field(description="The liaisons who serve this grid.")
    def liaisons(
        self, info: Info
    ) -> list[Annotated[MemberType, strawberry.lazy("schema.members")]]:
        return info.context.loaders.custom("grid.liaisons", _liaisons_loader(info.context)).load(
            self.id
        )


def _liaisons_loader(context: Context) -> Any:
    async def load(grid_ids: list[uuid.UUID]) -> list[list[Any]]:
        members = view_of("Member")
        p = plan(members, None, context, join=False)
        statement = (
            select_for(p)
            .add_columns(MemberGrid.grid_id.label("served_grid"))
            .join(MemberGrid, MemberGrid.member_id == Member.id)
            .where(
                MemberGrid.grid_id.in_(grid_ids),
                members.live(),
                Member.is_active.is_(True),
            )
            .order_by(Member.name, Member.id)
        )
        rows = await context.reader.rows(statement)
        grouped: dict[uuid.UUID, list[Any]] = {}
        for row, member in zip(rows, p.rows_to_objects(rows), strict=True):
            if Role.LIAISON in member.roles:
                grouped.setdefault(row.served_grid, []).append(member)
        cap = context.settings.max_page_size  # plain lists are capped (schema/cost.py)
        return [grouped.get(g, [])[:cap] for g in grid_ids]

    return load


@strawberry.input(description="Which grids to list.")
class GridFilter:
    kind: list[GridKind] | None = None
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only the direct children of this grid."
    )
    town_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only the grids in this town (the town included)."
    )
    search: str | None = strawberry.field(default=None, description="In name or code.")


@strawberry.enum(description="What grids are sorted by.")
class GridOrderField(Enum):
    CODE = "CODE"
    NAME = "NAME"


@strawberry.input
class GridOrder:
    field: GridOrderField = GridOrderField.CODE
    direction: OrderDirection = OrderDirection.ASC


GRID_KEYS = {
    GridOrderField.CODE: SortKey("code", Grid.__table__.c.code),
    GridOrderField.NAME: SortKey("name", Grid.__table__.c.name),
}


@strawberry.type
class GridQuery:
    @strawberry.field(description="The grids you may see, a page at a time.")
    async def grids(
        self,
        info: Info,
        filter: GridFilter | None = None,
        order_by: GridOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[GridType]:
        info.context.require_member()
        args = relay_args(info, first, after, last, before)
        where: list[sa.ColumnElement[bool]] = []
        c = Grid.__table__.c
        if filter is not None:
            if filter.kind:
                where.append(c.kind.in_([k.value for k in filter.kind]))
            if filter.parent_id is not None:
                where.append(
                    c.parent_id == await visible_grid_id(info, filter.parent_id, "parentId")
                )
            if filter.town_id is not None:
                town = await visible_grid_id(info, filter.town_id, "townId")
                where.append(sa.or_(c.id == town, c.town_id == town))
            if filter.search:
                term = filter.search.strip()
                where.append(
                    sa.or_(
                        c.name.icontains(term, autoescape=True),
                        c.code.icontains(term, autoescape=True),
                    )
                )
        order = order_by or GridOrder()
        return await list_connection(
            info,
            GRID,
            where=where,
            key=GRID_KEYS[order.field],
            ascending=order.direction == OrderDirection.ASC,
            args=args,
        )


@strawberry.input(description="A new grid under a parent; joint grids name their industry.")
class CreateGridInput:
    code: str
    name: str
    kind: GridKind
    parent_id: strawberry.ID | None = None
    industry: str | None = None
    client_mutation_id: str | None = None


@strawberry.type
class CreateGridPayload:
    grid: GridType | None
    errors: list[UserError]
    client_mutation_id: str | None = None


@strawberry.type
class GridMutation:
    @strawberry.mutation(description="Add a grid to the tree (county or town staff).")
    async def create_grid(self, info: Info, input: CreateGridInput) -> CreateGridPayload:
        async def work(session: Any) -> uuid.UUID:
            grid = await create_grid(
                session,
                scope=info.context.scope,
                code=input.code,
                name=input.name,
                kind=GridKindValue(input.kind.value),
                parent_id=parse_optional_id(input.parent_id, "parentId", ["Grid"]),
                industry=input.industry,
            )
            return grid.id

        return await mutate(info, CreateGridPayload, work, input.client_mutation_id, grid="Grid")
