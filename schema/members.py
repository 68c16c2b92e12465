"""GraphQL view of members: Member, the members list, createMember / updateMember."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import sqlalchemy as sa
import strawberry

from api.errors import DomainError
from api.members.models import Member as MemberRow
from api.members.models import MemberGrid
from api.members.models import Role as RoleValue
from api.members.service import create_member, update_member
from schema.context import Context, Info
from schema.enums import Role
from schema.errors import UserError, query_error
from schema.ids import parse_id, parse_optional_id
from schema.lists import list_connection, relay_args
from schema.mutations import mutate
from schema.nodes import Node
from schema.pagination import Connection, OrderDirection, SortKey
from schema.views import IN_SCOPE, ToOne, View, bind, register

if TYPE_CHECKING:
    from schema.enterprises import EnterpriseType
    from schema.grids import GridType
    from schema.stations import EvaluationType

MEMBER = register(
    View(
        name="Member",
        model=MemberRow,
        to_one={"enterprise": ToOne("enterprise_id", "Enterprise")},
        hidden=frozenset({"password_hash"}),
        guarded=frozenset({"phone", "roles"}),
    )
)


@bind("Member")
@strawberry.type(name="Member", description="A person: liaison, staff, union chair or member.")
class MemberType(Node):
    uuid: strawberry.ID = strawberry.field(description="The record's UUID, as used by sync.")
    name: str
    phone: str | None = strawberry.field(
        description="Null unless the member is in your scope (yourself, the people of your "
        "grids and enterprises)."
    )
    roles: list[Role] | None = strawberry.field(
        description="Null unless the member is in your scope."
    )
    is_active: bool
    enterprise: Annotated[EnterpriseType, strawberry.lazy("schema.enterprises")] | None = (
        strawberry.field(description="The enterprise the member works at.")
    )
    version: int
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="The grids this member serves (liaisons, town staff).")
    def grids(self, info: Info) -> list[Annotated[GridType, strawberry.lazy("schema.grids")]]:
        return info.context.loaders.custom("member.grids", _served_grids(info.context)).load(
            self.id
        )

    @strawberry.field(description="The evaluations of this member as a union chair.")
    def evaluations(
        self, info: Info
    ) -> list[Annotated[EvaluationType, strawberry.lazy("schema.stations")]]:
        return info.context.loaders.children(
            "member.evaluations", "Evaluation", "chair_id", order_by=("period", "id")
        ).load(self.id)

    @classmethod
    def from_row(cls, row: MemberRow, *, in_scope: bool = False) -> MemberType:
        """``in_scope``: the caller is known to see this member (itself, one it manages)."""
        values = {key: getattr(row, key) for key in MEMBER.column_keys(None)}
        if in_scope:
            values[IN_SCOPE] = True
        return MEMBER.make(values)


def _served_grids(context: Context) -> Any:
    async def load(member_ids: list[uuid.UUID]) -> list[list[Any]]:
        rows = await context.reader.rows(
            sa.select(MemberGrid.member_id, MemberGrid.grid_id).where(
                MemberGrid.member_id.in_(member_ids)
            )
        )
        loader = context.loaders.record("Grid")
        found = await loader.load_many([row.grid_id for row in rows])
        by_member: dict[uuid.UUID, list[Any]] = {}
        for row, grid in zip(rows, found, strict=True):
            if grid is not None and grid.deleted_at is None:
                by_member.setdefault(row.member_id, []).append(grid)
        cap = context.settings.max_page_size  # plain lists are capped (schema/cost.py)
        return [sorted(by_member.get(m, []), key=lambda g: g.code)[:cap] for m in member_ids]

    return load


@strawberry.input(description="Which members to list.")
class MemberFilter:
    role: Role | None = None
    grid_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only those who serve this grid."
    )
    enterprise_id: strawberry.ID | None = None
    search: str | None = strawberry.field(default=None, description="In name or phone.")


@strawberry.enum(description="What members are sorted by.")
class MemberOrderField(Enum):
    NAME = "NAME"
    UPDATED_AT = "UPDATED_AT"


@strawberry.input
class MemberOrder:
    field: MemberOrderField = MemberOrderField.NAME
    direction: OrderDirection = OrderDirection.ASC


_c = MemberRow.__table__.c
MEMBER_KEYS = {
    MemberOrderField.NAME: SortKey("name", _c.name),
    MemberOrderField.UPDATED_AT: SortKey("updatedAt", _c.updated_at, datetime),
}


@strawberry.type
class MemberQuery:
    @strawberry.field(description="The members you may see, a page at a time.")
    async def members(
        self,
        info: Info,
        filter: MemberFilter | None = None,
        order_by: MemberOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[MemberType]:
        info.context.require_member()
        args = relay_args(info, first, after, last, before)
        where: list[sa.ColumnElement[bool]] = []
        if filter is not None:
            try:
                if filter.role is not None:
                    # Roles are a JSON list; its text holds each role in quotes on both databases.
                    where.append(
                        sa.cast(_c.roles, sa.String).like(f'%"{RoleValue(filter.role.value)}"%')
                    )
                if filter.grid_id is not None:
                    grid_id = parse_id(filter.grid_id, "gridId", ["Grid"])
                    where.append(
                        _c.id.in_(
                            sa.select(MemberGrid.member_id).where(MemberGrid.grid_id == grid_id)
                        )
                    )
                if filter.enterprise_id is not None:
                    where.append(
                        _c.enterprise_id
                        == parse_id(filter.enterprise_id, "enterpriseId", ["Enterprise"])
                    )
            except DomainError as error:
                raise query_error(error) from error
            if filter.search:
                term = filter.search.strip()
                where.append(
                    sa.or_(
                        _c.name.icontains(term, autoescape=True),
                        _c.phone.contains(term.replace(" ", ""), autoescape=True),
                    )
                )
        order = order_by or MemberOrder()
        return await list_connection(
            info,
            MEMBER,
            where=where,
            key=MEMBER_KEYS[order.field],
            ascending=order.direction == OrderDirection.ASC,
            args=args,
        )


@strawberry.input(description="A new member; give a password for those who sign in.")
class CreateMemberInput:
    name: str
    phone: str
    roles: list[Role]
    enterprise_id: strawberry.ID | None = None
    grid_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    station_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    password: str | None = None
    client_mutation_id: str | None = None


@strawberry.input(description="Changes to a member; omitted fields stay as they are.")
class UpdateMemberInput:
    id: strawberry.ID
    name: str | None = None
    phone: str | None = None
    roles: list[Role] | None = None
    enterprise_id: strawberry.ID | None = None
    grid_ids: list[strawberry.ID] | None = None
    station_ids: list[strawberry.ID] | None = None
    password: str | None = None
    is_active: bool | None = None
    client_mutation_id: str | None = None


@strawberry.type
class MemberPayload:
    member: MemberType | None
    errors: list[UserError]
    client_mutation_id: str | None = None


def _ids(values: list[strawberry.ID] | None, field: str, type_name: str) -> list[uuid.UUID] | None:
    if values is None:
        return None
    return [parse_id(v, field, [type_name]) for v in values]


@strawberry.type
class MemberMutation:
    @strawberry.mutation(description="Register a member (county staff; town staff in their town).")
    async def create_member(self, info: Info, input: CreateMemberInput) -> MemberPayload:
        async def work(session: Any) -> uuid.UUID:
            member = await create_member(
                session,
                scope=info.context.scope,
                name=input.name,
                phone=input.phone,
                roles=[r.value for r in input.roles],
                enterprise_id=parse_optional_id(
                    input.enterprise_id, "enterpriseId", ["Enterprise"]
                ),
                grid_ids=_ids(input.grid_ids, "gridIds", "Grid") or [],
                station_ids=_ids(input.station_ids, "stationIds", "Station") or [],
                password=input.password,
            )
            return member.id

        return await mutate(info, MemberPayload, work, input.client_mutation_id, member="Member")

    @strawberry.mutation(description="Change a member (county staff; town staff in their town).")
    async def update_member(self, info: Info, input: UpdateMemberInput) -> MemberPayload:
        async def work(session: Any) -> uuid.UUID:
            member = await update_member(
                session,
                scope=info.context.scope,
                member_id=parse_id(input.id, "id", ["Member"]),
                name=input.name,
                phone=input.phone,
                roles=[r.value for r in input.roles] if input.roles is not None else None,
                enterprise_id=parse_optional_id(
                    input.enterprise_id, "enterpriseId", ["Enterprise"]
                ),
                grid_ids=_ids(input.grid_ids, "gridIds", "Grid"),
                station_ids=_ids(input.station_ids, "stationIds", "Station"),
                password=input.password,
                is_active=input.is_active,
            )
            return member.id

        return await mutate(info, MemberPayload, work, input.client_mutation_id, member="Member")
