"""GraphQL view of tickets: Ticket, TicketEvent, TicketComment, the tickets list with its
filters, and the lifecycle mutations (the rules live in api.tickets.lifecycle)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import sqlalchemy as sa
import strawberry
from strawberry.scalars import JSON

from api.enterprises.models import Enterprise
from api.errors import DomainError
from api.i18n import _
from api.tickets import lifecycle
from api.tickets.models import Severity as SeverityValue
from api.tickets.models import Ticket, TicketComment, TicketEvent
from api.tickets.models import TicketSource as TicketSourceValue
from api.tickets.models import TicketStatus as TicketStatusValue
from api.tickets.queries import open_condition, overdue_column, overdue_condition
from api.times import with_offset
from schema.context import Info
from schema.enums import Severity, TicketSource, TicketStatus, Tier
from schema.errors import UserError, query_error
from schema.grids import GridType, in_grid_subtree
from schema.ids import parse_client_uuid, parse_id, parse_optional_id
from schema.lists import list_connection, relay_args
from schema.mutations import mutate
from schema.nodes import Node
from schema.pagination import Connection, OrderDirection, SortKey
from schema.views import ToOne, View, bind, register

if TYPE_CHECKING:
    from schema.enterprises import EnterpriseType
    from schema.members import MemberType

TICKET = register(
    View(
        name="Ticket",
        model=Ticket,
        to_one={
            "grid": ToOne("grid_id", "Grid"),
            "enterprise": ToOne("enterprise_id", "Enterprise"),
            "assignee": ToOne("assignee_id", "Member"),
            "reporter": ToOne("reporter_id", "Member"),
            "ratedBy": ToOne("rated_by_id", "Member"),
        },
        computed={"overdue": lambda context: overdue_column(context.now)},
        needs={"allowedMoves": ("status", "grid_id", "assignee_id", "reporter_id")},
    )
)
TICKET_EVENT = register(
    View(
        name="TicketEvent",
        model=TicketEvent,
        to_one={"ticket": ToOne("ticket_id", "Ticket"), "actor": ToOne("actor_id", "Member")},
        soft_delete=False,
    )
)
TICKET_COMMENT = register(
    View(
        name="TicketComment",
        model=TicketComment,
        to_one={"ticket": ToOne("ticket_id", "Ticket"), "author": ToOne("author_id", "Member")},
    )
)

Enterprise_ = Annotated["EnterpriseType", strawberry.lazy("schema.enterprises")]
Member_ = Annotated["MemberType", strawberry.lazy("schema.members")]


@bind("Ticket")
@strawberry.type(
    name="Ticket",
    description="A worker request, risk hazard, hotline call or direct report, and its handling.",
)
class TicketType(Node):
    uuid: strawberry.ID = strawberry.field(description="The record's UUID, as used by sync.")
    number: str = strawberry.field(description="The human number, e.g. SY-2026-000123.")
    title: str
    description: str
    source: TicketSource
    category: str
    severity: Severity
    status: TicketStatus
    tier: Tier
    overdue: bool = strawberry.field(
        description="Open, its clock running, and past a first-response or resolution time."
    )
    grid: GridType
    enterprise: Enterprise_ | None
    assignee: Member_ | None
    reporter: Member_ | None = strawberry.field(description="The reporting member, if any.")
    reporter_name: str | None = strawberry.field(description="A reporter not in the system.")
    reporter_phone: str | None
    reported_at: datetime = strawberry.field(description="When the reporter says it happened.")
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    first_responded_at: datetime | None
    assigned_at: datetime | None
    in_progress_at: datetime | None
    waiting_since: datetime | None
    mediating_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    reopened_at: datetime | None
    withdrawn_at: datetime | None
    resolution_note: str | None
    satisfaction_rating: int | None = strawberry.field(description="1–5, after closure.")
    satisfaction_comment: str | None
    rated_by: Member_ | None
    rated_on_behalf: bool
    rated_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime

    @strawberry.field(
        description="The statuses you may move this ticket to now, by the lifecycle "
        "(ticketRules has the same rule as data for offline clients)."
    )
    def allowed_moves(self, info: Info) -> list[TicketStatus]:
        moves = lifecycle.allowed_moves(info.context.scope, self)  # type: ignore[arg-type]
        return [TicketStatus(move.value) for move in moves]

    @strawberry.field(description="The audit trail, oldest first.")
    def events(self, info: Info) -> list[TicketEventType]:
        return info.context.loaders.children(
            "ticket.events", "TicketEvent", "ticket_id", order_by=("at", "id")
        ).load(self.id)

    @strawberry.field(description="Remarks on the ticket, oldest first.")
    def comments(self, info: Info) -> list[TicketCommentType]:
        return info.context.loaders.children(
            "ticket.comments", "TicketComment", "ticket_id", order_by=("occurred_at", "id")
        ).load(self.id)


@bind("TicketEvent")
@strawberry.type(name="TicketEvent", description="One step of a ticket's audit trail.")
class TicketEventType(Node):
    uuid: strawberry.ID
    kind: str = strawberry.field(description="REPORTED, ASSIGNED, STATUS, ESCALATED, RATED, ...")
    ticket: TicketType
    actor: Member_ | None
    before: JSON | None
    after: JSON | None
    note: str | None
    at: datetime


@bind("TicketComment")
@strawberry.type(name="TicketComment", description="A remark on a ticket (append-only).")
class TicketCommentType(Node):
    uuid: strawberry.ID
    ticket: TicketType
    author: Member_ | None
    body: str
    occurred_at: datetime = strawberry.field(description="When it was written (client time).")
    created_at: datetime
    version: int


# --- the tickets list -----------------------------------------------------------------


@strawberry.input(description="Which tickets to list; all conditions must hold.")
class TicketFilter:
    status: list[TicketStatus] | None = None
    open: bool | None = strawberry.field(default=None, description="Open (true) or not (false).")
    severity: list[Severity] | None = None
    source: list[TicketSource] | None = None
    tier: list[Tier] | None = None
    category: str | None = None
    grid_id: strawberry.ID | None = strawberry.field(
        default=None, description="In this grid or any grid below it."
    )
    enterprise_id: strawberry.ID | None = None
    assignee_id: strawberry.ID | None = None
    assigned_to_me: bool | None = None
    unassigned: bool | None = None
    overdue: bool | None = None
    updated_since: datetime | None = strawberry.field(
        default=None, description="Changed at or after this time."
    )
    search: str | None = strawberry.field(
        default=None, description="In number, title, description and reporter name."
    )


@strawberry.enum(description="What tickets are sorted by.")
class TicketOrderField(Enum):
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    REPORTED_AT = "REPORTED_AT"
    RESOLUTION_DUE_AT = "RESOLUTION_DUE_AT"
    NUMBER = "NUMBER"


@strawberry.input(description="Newest first unless told otherwise.")
class TicketOrder:
    field: TicketOrderField = TicketOrderField.CREATED_AT
    direction: OrderDirection = OrderDirection.DESC


_c = Ticket.__table__.c
# Tickets without a resolution time sort after every ticket that has one.

TICKET_KEYS = {
    TicketOrderField.CREATED_AT: SortKey("createdAt", _c.created_at, datetime),
    TicketOrderField.UPDATED_AT: SortKey("updatedAt", _c.updated_at, datetime),
    TicketOrderField.REPORTED_AT: SortKey("reportedAt", _c.reported_at, datetime),
    TicketOrderField.RESOLUTION_DUE_AT: SortKey(
        "resolutionDueAt",
        sa.func.coalesce(_c.resolution_due_at, sa.literal(datetime(9999, 12, 31, tzinfo=UTC))),
        datetime,
    ),
    TicketOrderField.NUMBER: SortKey("number", _c.number),
}


def ticket_order(order: TicketOrder | None) -> tuple[SortKey, bool]:
    order = order or TicketOrder()
    return TICKET_KEYS[order.field], order.direction == OrderDirection.ASC


async def ticket_conditions(info: Info, f: TicketFilter | None) -> list[sa.ColumnElement[bool]]:
    """The filter as SQL conditions on the ticket table (visibility is added by the list)."""
    context = info.context
    where: list[sa.ColumnElement[bool]] = []
    if f is None:
        return where
    try:
        if f.status:
            where.append(_c.status.in_([s.value for s in f.status]))
        if f.open is not None:
            where.append(open_condition() if f.open else sa.not_(open_condition()))
        if f.severity:
            where.append(_c.severity.in_([s.value for s in f.severity]))
        if f.source:
            where.append(_c.source.in_([s.value for s in f.source]))
        if f.tier:
            where.append(_c.tier.in_([t.value for t in f.tier]))
        if f.category:
            where.append(_c.category == f.category.strip().upper())
        if f.grid_id is not None:
            where.append(await in_grid_subtree(info, _c.grid_id, f.grid_id))
        if f.enterprise_id is not None:
            where.append(
                _c.enterprise_id == parse_id(f.enterprise_id, "enterpriseId", ["Enterprise"])
            )
        if f.assignee_id is not None:
            where.append(_c.assignee_id == parse_id(f.assignee_id, "assigneeId", ["Member"]))
    except DomainError as error:
        raise query_error(error) from error
    if f.assigned_to_me is not None:
        me = context.scope.member_id
        where.append(
            _c.assignee_id == me if f.assigned_to_me else _c.assignee_id.is_distinct_from(me)
        )
    if f.unassigned is not None:
        where.append(_c.assignee_id.is_(None) if f.unassigned else _c.assignee_id.is_not(None))
    if f.overdue is not None:
        late = overdue_condition(context.now)
        where.append(late if f.overdue else sa.not_(late))
    if f.updated_since is not None:
        try:
            with_offset(f.updated_since, "updatedSince")
        except DomainError as error:
            raise query_error(error) from error
        where.append(_c.updated_at >= f.updated_since)
    if f.search and f.search.strip():
        term = f.search.strip()
        where.append(
            sa.or_(
                _c.number.icontains(term, autoescape=True),
                _c.title.icontains(term, autoescape=True),
                _c.description.icontains(term, autoescape=True),
                _c.reporter_name.icontains(term, autoescape=True),
                _c.enterprise_id.in_(
                    sa.select(Enterprise.id).where(Enterprise.name.icontains(term, autoescape=True))
                ),
            )
        )
    return where


@strawberry.type
class TicketQuery:
    @strawberry.field(
        description="The ticket lifecycle as data, with your own facts: transitions, which "
        "standing (WORKER, REPORTER, GRID_LIAISON) grants which moves, and the facts each "
        "standing needs; offline clients compute Ticket.allowedMoves from it."
    )
    def ticket_rules(self, info: Info) -> JSON:
        return lifecycle.ticket_rules(info.context.scope)

    @strawberry.field(
        description="The tickets you may see: your grids', those assigned to you and those you "
        "reported; newest first unless orderBy says otherwise."
    )
    async def tickets(
        self,
        info: Info,
        filter: TicketFilter | None = None,
        order_by: TicketOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[TicketType]:
        info.context.require_member()
        args = relay_args(info, first, after, last, before)
        key, ascending = ticket_order(order_by)
        return await list_connection(
            info,
            TICKET,
            where=await ticket_conditions(info, filter),
            key=key,
            ascending=ascending,
            args=args,
        )


# --- mutations ------------------------------------------------------------------------


@strawberry.input(description="A new ticket. Give the grid or the enterprise it concerns.")
class CreateTicketInput:
    title: str
    source: TicketSource
    grid_id: strawberry.ID | None = None
    enterprise_id: strawberry.ID | None = None
    description: str = ""
    category: str = "OTHER"
    severity: Severity = SeverityValue.MEDIUM
    reporter_id: strawberry.ID | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    reported_at: datetime | None = None
    id: strawberry.ID | None = strawberry.field(
        default=None, description="A UUID chosen by the client (idempotency key)."
    )
    client_mutation_id: str | None = None


@strawberry.input(description="Changes to a ticket's details; omitted fields stay as they are.")
class UpdateTicketInput:
    id: strawberry.ID
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    category: str | None = strawberry.UNSET
    severity: Severity | None = strawberry.UNSET
    reporter_name: str | None = strawberry.UNSET
    reporter_phone: str | None = strawberry.UNSET
    client_mutation_id: str | None = None


@strawberry.input(description="Dispatch a ticket to a person.")
class AssignTicketInput:
    ticket_id: strawberry.ID
    assignee_id: strawberry.ID
    note: str | None = None
    client_mutation_id: str | None = None


@strawberry.input(description="Move a ticket to another status (the lifecycle rules apply).")
class TransitionTicketInput:
    ticket_id: strawberry.ID
    status: TicketStatus
    note: str | None = None
    resolution_note: str | None = strawberry.field(
        default=None, description="Required to resolve or close."
    )
    client_mutation_id: str | None = None


@strawberry.input(description="Move a ticket one tier up or down, saying why.")
class EscalateTicketInput:
    ticket_id: strawberry.ID
    reason: str
    assignee_id: strawberry.ID | None = None
    client_mutation_id: str | None = None


@strawberry.input(description="The worker's satisfaction with a closed ticket, 1–5.")
class RateTicketInput:
    ticket_id: strawberry.ID
    rating: int
    comment: str | None = None
    client_mutation_id: str | None = None


@strawberry.input(description="A remark on a ticket.")
class AddTicketCommentInput:
    ticket_id: strawberry.ID
    body: str
    occurred_at: datetime | None = None
    id: strawberry.ID | None = strawberry.field(
        default=None, description="A UUID chosen by the client (idempotency key)."
    )
    client_mutation_id: str | None = None


@strawberry.type
class TicketPayload:
    ticket: TicketType | None
    errors: list[UserError]
    client_mutation_id: str | None = None


@strawberry.type
class TicketCommentPayload:
    comment: TicketCommentType | None
    ticket: TicketType | None
    errors: list[UserError]
    client_mutation_id: str | None = None


def _ticket_id(raw: str) -> uuid.UUID:
    return parse_id(raw, "ticketId", ["Ticket"])


async def _change_tier(
    info: Info, input: EscalateTicketInput, move: Callable[..., Awaitable[Ticket]]
) -> TicketPayload:
    """escalateTicket and deescalateTicket: the same input, one tier up or down."""

    async def work(session: Any) -> Ticket:
        return await move(
            session,
            scope=info.context.scope,
            ticket_id=_ticket_id(input.ticket_id),
            reason=input.reason,
            assignee_id=parse_optional_id(input.assignee_id, "assigneeId", ["Member"]),
        )

    return await mutate(info, TicketPayload, work, input.client_mutation_id, ticket="Ticket")


@strawberry.type
class TicketMutation:
    @strawberry.mutation(description="Report a ticket in your scope.")
    async def create_ticket(self, info: Info, input: CreateTicketInput) -> TicketPayload:
        async def work(session: Any) -> Ticket:
            return await lifecycle.create_ticket(
                session,
                scope=info.context.scope,
                title=input.title,
                source=TicketSourceValue(input.source.value),
                grid_id=parse_optional_id(input.grid_id, "gridId", ["Grid"]),
                enterprise_id=parse_optional_id(
                    input.enterprise_id, "enterpriseId", ["Enterprise"]
                ),
                description=input.description,
                category=input.category,
                severity=SeverityValue(input.severity.value),
                reporter_id=parse_optional_id(input.reporter_id, "reporterId", ["Member"]),
                reporter_name=input.reporter_name,
                reporter_phone=input.reporter_phone,
                reported_at=input.reported_at,
                ticket_id=parse_client_uuid(input.id),
            )

        return await mutate(info, TicketPayload, work, input.client_mutation_id, ticket="Ticket")

    @strawberry.mutation(
        description="Edit a ticket's title, description, category, severity or reporter details."
    )
    async def update_ticket(self, info: Info, input: UpdateTicketInput) -> TicketPayload:
        async def work(session: Any) -> Ticket:
            changes: dict[str, Any] = {}
            for field, value in (
                ("title", input.title),
                ("description", input.description),
                ("category", input.category),
                ("severity", input.severity),
                ("reporterName", input.reporter_name),
                ("reporterPhone", input.reporter_phone),
            ):
                if value is strawberry.UNSET:
                    continue
                if value is None and field not in {"reporterName", "reporterPhone"}:
                    raise DomainError("INVALID", _("{field} cannot be null", field=field), field)
                changes[field] = value.value if isinstance(value, Enum) else value
            return await lifecycle.update_ticket(
                session,
                scope=info.context.scope,
                ticket_id=parse_id(input.id, "id", ["Ticket"]),
                changes=changes,
            )

        return await mutate(info, TicketPayload, work, input.client_mutation_id, ticket="Ticket")

    @strawberry.mutation(description="Dispatch a ticket to a person; the assignee is notified.")
    async def assign_ticket(self, info: Info, input: AssignTicketInput) -> TicketPayload:
        async def work(session: Any) -> Ticket:
            return await lifecycle.assign_ticket(
                session,
                scope=info.context.scope,
                ticket_id=_ticket_id(input.ticket_id),
                assignee_id=parse_id(input.assignee_id, "assigneeId", ["Member"]),
                note=input.note,
            )

        return await mutate(info, TicketPayload, work, input.client_mutation_id, ticket="Ticket")

    @strawberry.mutation(description="Move a ticket along its lifecycle.")
    async def transition_ticket(self, info: Info, input: TransitionTicketInput) -> TicketPayload:
        async def work(session: Any) -> Ticket:
            return await lifecycle.transition_ticket(
                session,
                scope=info.context.scope,
                ticket_id=_ticket_id(input.ticket_id),
                to_status=TicketStatusValue(input.status.value),
                note=input.note,
                resolution_note=input.resolution_note,
            )

        return await mutate(info, TicketPayload, work, input.client_mutation_id, ticket="Ticket")

    @strawberry.mutation(description="Up one tier: grid → town → county station → court.")
    async def escalate_ticket(self, info: Info, input: EscalateTicketInput) -> TicketPayload:
        return await _change_tier(info, input, lifecycle.escalate_ticket)

    @strawberry.mutation(description="Down one tier, e.g. a settled matter back to the grid.")
    async def deescalate_ticket(self, info: Info, input: EscalateTicketInput) -> TicketPayload:
        return await _change_tier(info, input, lifecycle.deescalate_ticket)

    @strawberry.mutation(description="Record the worker's satisfaction with a closed ticket.")
    async def rate_ticket(self, info: Info, input: RateTicketInput) -> TicketPayload:
        async def work(session: Any) -> Ticket:
            return await lifecycle.rate_ticket(
                session,
                scope=info.context.scope,
                ticket_id=_ticket_id(input.ticket_id),
                rating=input.rating,
                comment=input.comment,
            )

        return await mutate(info, TicketPayload, work, input.client_mutation_id, ticket="Ticket")

    @strawberry.mutation(description="Add a remark to a ticket you can see.")
    async def add_ticket_comment(
        self, info: Info, input: AddTicketCommentInput
    ) -> TicketCommentPayload:
        async def work(session: Any) -> tuple[TicketComment, uuid.UUID]:
            comment = await lifecycle.add_comment(
                session,
                scope=info.context.scope,
                ticket_id=_ticket_id(input.ticket_id),
                body=input.body,
                occurred_at=input.occurred_at,
                comment_id=parse_client_uuid(input.id),
            )
            return comment, comment.ticket_id

        return await mutate(
            info,
            TicketCommentPayload,
            work,
            input.client_mutation_id,
            comment="TicketComment",
            ticket="Ticket",
        )
