"""Subscriptions over graphql-transport-ws (authenticated at connection_init):
myAssignments and ticketEvents(gridId), fed by sync.broadcast so that they work across API
processes on PostgreSQL. Each event is read again within the subscriber's scope."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from datetime import datetime

import sqlalchemy as sa
import strawberry

from api.notifications.models import Notification, NotificationKind
from schema.context import Info
from schema.grids import subtree, visible_grid_id
from schema.notifications import NotificationKindEnum, NotificationType
from schema.tickets import TicketEventType, TicketType
from schema.views import View, bind, register
from sync.broadcast import Event, subscribe

# Notifications (typed in schema.notifications) answer node(id) within the caller's scope too.
register(View(name="Notification", model=Notification))
bind("Notification")(NotificationType)

ASSIGNMENT_KINDS = frozenset(
    {NotificationKind.ASSIGNED, NotificationKind.REASSIGNED, NotificationKind.ESCALATED}
)


@strawberry.type(description="A ticket was assigned, reassigned or escalated to you.")
class AssignmentEvent:
    notification_id: strawberry.ID = strawberry.field(description="The notification's UUID.")
    kind: NotificationKindEnum  # type: ignore[valid-type]
    title: str
    body: str
    created_at: datetime
    ticket: TicketType | None


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Tickets assigned, reassigned or escalated to you, as they happen."
    )
    async def my_assignments(self, info: Info) -> AsyncGenerator[AssignmentEvent, None]:
        context = info.context
        context.require_member()
        me = str(context.scope.member_id)
        kinds = {k.value for k in ASSIGNMENT_KINDS}

        def mine(item: Event) -> bool:
            return (
                item.get("type") == "notification"
                and item.get("recipientId") == me
                and item.get("kind") in kinds
            )

        async with subscribe(context.settings.database_url, mine) as queue:
            while True:
                item = await queue.get()
                context.fresh()
                n = Notification.__table__.c
                rows = await context.reader.rows(
                    sa.select(n.id, n.kind, n.title, n.body, n.created_at, n.ticket_id).where(
                        n.id == uuid.UUID(item["id"]), context.scope.visible(Notification)
                    )
                )
                if not rows:
                    continue
                row = rows[0]
                ticket = (
                    await context.loaders.visible("Ticket").load(row.ticket_id)
                    if row.ticket_id
                    else None
                )
                yield AssignmentEvent(
                    notification_id=strawberry.ID(str(row.id)),
                    kind=row.kind,
                    title=row.title,
                    body=row.body,
                    created_at=row.created_at,
                    ticket=ticket,
                )

    @strawberry.subscription(
        description="Every step recorded on the tickets of a grid and the grids below it."
    )
    async def ticket_events(
        self, info: Info, grid_id: strawberry.ID
    ) -> AsyncGenerator[TicketEventType, None]:
        context = info.context
        context.require_member()
        root = await visible_grid_id(info, grid_id, "gridId")
        grids = {str(g) for g in await subtree(context, root)}

        def in_grid(item: Event) -> bool:
            # The grid is known when the writer had the ticket at hand; else checked on read.
            return item.get("type") == "ticketEvent" and item.get("gridId") in (None, *grids)

        async with subscribe(context.settings.database_url, in_grid) as queue:
            while True:
                item = await queue.get()
                context.fresh()
                found = await context.loaders.visible("TicketEvent").load(uuid.UUID(item["id"]))
                if found is None:
                    continue
                ticket = await context.loaders.visible("Ticket").load(found.ticket_id)
                if ticket is None or str(ticket.grid_id) not in grids:
                    continue
                yield found
