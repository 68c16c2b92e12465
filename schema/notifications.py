"""GraphQL for notifications and Web Push: the caller's notifications, marking them read, the
VAPID key and device registration, and (admins) the state of push deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry import relay

from api.errors import DomainError, invalid
from api.i18n import _
from api.members.models import Member
from api.notifications import service as notifications
from api.notifications.models import Notification, NotificationKind
from schema.context import Context, Info
from schema.errors import UserError, coded_error, forbidden
from sync.devices import DeliveryView, list_deliveries
from sync.push_endpoints import EndpointPolicy
from sync.push_models import DeliveryStatus, PushSubscription
from sync.subscriptions import register_subscription, resolve_endpoint, unregister_subscription
from sync.webpush import public_key_from_private

NotificationKindEnum = strawberry.enum(NotificationKind, name="NotificationKind")
PushDeliveryStatusEnum = strawberry.enum(DeliveryStatus, name="PushDeliveryStatus")


@strawberry.type(name="Notification", description="Something the caller was told about.")
class NotificationType(relay.Node):
    id: relay.NodeID[str]
    uuid: strawberry.ID = strawberry.field(description="The record's UUID, as used by sync.")
    kind: NotificationKindEnum  # type: ignore[valid-type]
    title: str
    body: str
    ticket_id: strawberry.ID | None
    enterprise_id: strawberry.ID | None
    grid_id: strawberry.ID | None
    created_at: datetime
    read_at: datetime | None
    version: int

    @classmethod
    def from_row(cls, row: Notification) -> NotificationType:
        def ident(value: uuid.UUID | None) -> strawberry.ID | None:
            return strawberry.ID(str(value)) if value is not None else None

        return cls(
            id=str(row.id),
            uuid=strawberry.ID(str(row.id)),
            kind=row.kind,
            title=row.title,
            body=row.body,
            ticket_id=ident(row.ticket_id),
            enterprise_id=ident(row.enterprise_id),
            grid_id=ident(row.grid_id),
            created_at=row.created_at,
            read_at=row.read_at,
            version=row.version,
        )


@strawberry.type(description="A page of the caller's notifications, newest first.")
class NotificationPage:
    nodes: list[NotificationType]
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page.")
    has_next_page: bool
    unread_count: int = strawberry.field(description="All of the caller's unread notifications.")


@strawberry.type(name="PushSubscription", description="A device registered for Web Push.")
class PushSubscriptionType:
    id: strawberry.ID
    endpoint: str
    user_agent: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: PushSubscription) -> PushSubscriptionType:
        return cls(
            id=strawberry.ID(str(row.id)),
            endpoint=row.endpoint,
            user_agent=row.user_agent,
            created_at=row.created_at,
        )


@strawberry.type(name="PushDelivery", description="Sending one notification to one device.")
class PushDeliveryType:
    id: strawberry.ID
    status: PushDeliveryStatusEnum  # type: ignore[valid-type]
    attempts: int
    next_attempt_at: datetime = strawberry.field(
        description="When it is tried next (PENDING), or when its worker's claim ends (SENDING)."
    )
    last_error: str | None
    last_status_code: int | None = strawberry.field(
        description="The push service's last HTTP status; null when none answered."
    )
    delivered_at: datetime | None
    updated_at: datetime
    notification_id: strawberry.ID
    notification_kind: NotificationKindEnum  # type: ignore[valid-type]
    recipient_id: strawberry.ID
    subscription_id: strawberry.ID | None = strawberry.field(
        description="Null once the device's subscription is gone."
    )
    push_service: str | None = strawberry.field(
        description="The push service's origin (never the device's own endpoint URL)."
    )

    @classmethod
    def from_view(cls, view: DeliveryView) -> PushDeliveryType:
        return cls(
            id=strawberry.ID(str(view.id)),
            status=view.status,
            attempts=view.attempts,
            next_attempt_at=view.next_attempt_at,
            last_error=view.last_error,
            last_status_code=view.last_status_code,
            delivered_at=view.delivered_at,
            updated_at=view.updated_at,
            notification_id=strawberry.ID(str(view.notification_id)),
            notification_kind=view.notification_kind,
            recipient_id=strawberry.ID(str(view.recipient_id)),
            subscription_id=(
                strawberry.ID(str(view.subscription_id)) if view.subscription_id else None
            ),
            push_service=view.push_service,
        )


@strawberry.input(description="A browser's PushSubscription.toJSON(), flattened.")
class RegisterPushSubscriptionInput:
    endpoint: str
    p256dh: str = strawberry.field(description="keys.p256dh, base64url")
    auth: str = strawberry.field(description="keys.auth, base64url")
    user_agent: str | None = None


@strawberry.type
class RegisterPushSubscriptionPayload:
    subscription: PushSubscriptionType | None
    errors: list[UserError]


@strawberry.type
class UnregisterPushSubscriptionPayload:
    removed: bool = strawberry.field(description="False when the caller had no such device.")
    errors: list[UserError]


@strawberry.type
class MarkNotificationsReadPayload:
    notifications: list[NotificationType]
    unread_count: int | None = strawberry.field(description="Null when refused.")
    errors: list[UserError]


def _writer(context: Context) -> Member:
    member = context.require_member()
    if context.scope.read_only:
        raise forbidden(_("this token is read-only"))
    return member


def _page_size(context: Context, first: int) -> int:
    if first < 1:
        raise coded_error(_("first must be at least 1"), "INVALID")
    return min(first, context.settings.max_page_size)


def _notification_id(raw: str) -> uuid.UUID:
    """A notification's UUID, or its Relay global id."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        pass
    try:
        global_id = relay.GlobalID.from_id(raw)
        if global_id.type_name == "Notification":
            return uuid.UUID(global_id.node_id)
    except (ValueError, TypeError):
        pass
    raise invalid("ids", _("{raw!r} is not a notification id", raw=raw))


@strawberry.type
class NotificationQuery:
    @strawberry.field(
        description="The VAPID public key (applicationServerKey for pushManager.subscribe); "
        "null when this server does not send Web Push."
    )
    def vapid_public_key(self, info: Info) -> str | None:
        info.context.require_member()
        key = info.context.settings.vapid_private_key
        return public_key_from_private(key) if key else None

    @strawberry.field(description="The caller's own notifications, newest first.")
    async def notifications(
        self,
        info: Info,
        unread_only: bool = False,
        first: int = 20,
        after: str | None = None,
    ) -> NotificationPage:
        ctx = info.context
        member = ctx.require_member()
        size = _page_size(ctx, first)
        async with ctx.sessions() as session:
            try:
                page = await notifications.list_notifications(
                    session,
                    recipient_id=member.id,
                    visible=ctx.scope.visible(Notification),
                    unread_only=unread_only,
                    first=size,
                    after=after,
                )
            except DomainError as error:
                raise coded_error(f"{error.field}: {error.message}", error.code) from None
            unread = await notifications.unread_count(
                session, recipient_id=member.id, visible=ctx.scope.visible(Notification)
            )
        return NotificationPage(
            nodes=[NotificationType.from_row(n) for n in page.items],
            end_cursor=page.end_cursor,
            has_next_page=page.has_next_page,
            unread_count=unread,
        )

    @strawberry.field(description="Admins: Web Push deliveries, newest first.")
    async def push_deliveries(
        self,
        info: Info,
        status: PushDeliveryStatusEnum | None = None,  # type: ignore[valid-type]
        first: int = 50,
    ) -> list[PushDeliveryType]:
        ctx = info.context
        ctx.require_member()
        if not ctx.scope.is_admin:
            raise forbidden(_("only admins may see push deliveries"))
        size = _page_size(ctx, first)
        async with ctx.sessions() as session:
            views = await list_deliveries(session, status=status, first=size)
        return [PushDeliveryType.from_view(v) for v in views]


@strawberry.type
class NotificationMutation:
    @strawberry.mutation(description="Register this device for Web Push (idempotent by endpoint).")
    async def register_push_subscription(
        self, info: Info, input: RegisterPushSubscriptionInput
    ) -> RegisterPushSubscriptionPayload:
        ctx = info.context
        member = _writer(ctx)
        if not ctx.settings.vapid_private_key:
            error = UserError(
                field=None,
                message=_("this server does not send Web Push (no VAPID key is configured)"),
                code="UNAVAILABLE",
            )
            return RegisterPushSubscriptionPayload(subscription=None, errors=[error])
        policy = EndpointPolicy.from_settings(ctx.settings)
        try:
            await resolve_endpoint(input.endpoint, policy)
            async with ctx.sessions() as session, session.begin():
                row = await register_subscription(
                    session,
                    member_id=member.id,
                    endpoint=input.endpoint,
                    p256dh=input.p256dh,
                    auth=input.auth,
                    user_agent=input.user_agent,
                    policy=policy,
                )
        except DomainError as error:
            return RegisterPushSubscriptionPayload(
                subscription=None, errors=[UserError.from_domain(error)]
            )
        return RegisterPushSubscriptionPayload(
            subscription=PushSubscriptionType.from_row(row), errors=[]
        )

    @strawberry.mutation(description="Stop Web Push to one of the caller's devices.")
    async def unregister_push_subscription(
        self, info: Info, endpoint: str
    ) -> UnregisterPushSubscriptionPayload:
        member = _writer(info.context)
        async with info.context.sessions() as session, session.begin():
            removed = await unregister_subscription(session, member_id=member.id, endpoint=endpoint)
        return UnregisterPushSubscriptionPayload(removed=removed, errors=[])

    @strawberry.mutation(description="Mark some of the caller's notifications read.")
    async def mark_notifications_read(
        self, info: Info, ids: list[strawberry.ID]
    ) -> MarkNotificationsReadPayload:
        member = _writer(info.context)
        try:
            wanted = [_notification_id(raw) for raw in ids]
            async with info.context.sessions() as session, session.begin():
                rows = await notifications.mark_read(session, recipient_id=member.id, ids=wanted)
                unread = await notifications.unread_count(session, recipient_id=member.id)
        except DomainError as error:
            return MarkNotificationsReadPayload(
                notifications=[], unread_count=None, errors=[UserError.from_domain(error)]
            )
        return MarkNotificationsReadPayload(
            notifications=[NotificationType.from_row(n) for n in rows],
            unread_count=unread,
            errors=[],
        )
