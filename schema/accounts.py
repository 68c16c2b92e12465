"""GraphQL for running accounts: deactivate and reactivate, one-time sign-in codes, a member's
tokens and devices, roles and grids, the account log; signInWithCode for the member."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import strawberry
from strawberry.scalars import JSON

from api.accounts import service
from api.accounts.models import CodePurpose
from api.auth import tokens
from api.auth.models import TokenKind
from api.errors import DomainError
from api.members.models import Member as MemberRow
from api.members.service import check_may_give, managed_member
from schema.auth import LoginPayload
from schema.context import Info
from schema.enums import Role
from schema.errors import UserError, query_error
from schema.ids import parse_id
from schema.members import MemberType
from schema.mutations import reload, run_mutation
from sync.devices import deactivate_account, member_devices, revoke_device

if TYPE_CHECKING:
    from schema.tickets import TicketType

R = TypeVar("R")
T = TypeVar("T")


def _actor(info: Info) -> service.Actor:
    member = info.context.require_member()
    return service.Actor(member.id)


async def _managed_member(session: Any, info: Info, raw_id: strawberry.ID) -> MemberRow:
    """The member, if the caller may run this account (the createMember/updateMember rule)."""
    member_id = parse_id(raw_id, "memberId", ["Member"])
    return await managed_member(session, info.context.scope, member_id, field="memberId")


@strawberry.type(description="An API or sign-in token of a member (never the token itself).")
class MemberToken:
    id: strawberry.ID
    kind: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


@strawberry.type(description="A phone that syncs, or a browser registered for Web Push.")
class MemberDevice:
    id: strawberry.ID
    kind: str = strawberry.field(description="SYNC_CLIENT or PUSH_SUBSCRIPTION.")
    label: str
    first_seen_at: datetime | None
    last_seen_at: datetime | None


@strawberry.type(description="One change to an account and who made it.")
class AccountEventType:
    action: str
    actor_id: strawberry.ID | None
    actor_label: str
    detail: JSON
    at: datetime


@strawberry.type
class DeactivateMemberPayload:
    member: MemberType | None
    tokens_revoked: int
    push_subscriptions_removed: int
    open_tickets: list[Annotated[TicketType, strawberry.lazy("schema.tickets")]] = strawberry.field(
        description="Open tickets assigned to the member: reassign them."
    )
    errors: list[UserError]


@strawberry.type
class SignInCodePayload:
    code: str | None = strawberry.field(description="Shown once; give it to the member.")
    expires_at: datetime | None
    purpose: str | None
    errors: list[UserError]


@strawberry.type
class AccountPayload:
    member: MemberType | None
    errors: list[UserError]


async def _of_managed_member(
    info: Info,
    member_id: strawberry.ID,
    read: Callable[[Any, uuid.UUID], Awaitable[Iterable[R]]],
    shown: Callable[[R], T],
) -> list[T]:
    """What ``read`` lists of a member whose account the caller may run, each row as ``shown``
    makes it (inside the transaction, while the rows are loaded)."""
    info.context.require_member()
    try:
        async with info.context.sessions() as session, session.begin():
            member = await _managed_member(session, info, member_id)
            return [shown(row) for row in await read(session, member.id)]
    except DomainError as error:
        raise query_error(error) from error


@strawberry.type
class AccountQuery:
    @strawberry.field(description="A member's tokens (staff who may run the account).")
    async def member_tokens(self, info: Info, member_id: strawberry.ID) -> list[MemberToken]:
        return await _of_managed_member(
            info,
            member_id,
            service.member_tokens,
            lambda t: MemberToken(
                id=strawberry.ID(str(t.id)),
                kind=t.kind.value,
                name=t.name,
                created_at=t.created_at,
                expires_at=t.expires_at,
                revoked_at=t.revoked_at,
                last_used_at=t.last_used_at,
            ),
        )

    @strawberry.field(description="A member's syncing phones and push-registered browsers.")
    async def member_devices(self, info: Info, member_id: strawberry.ID) -> list[MemberDevice]:
        return await _of_managed_member(
            info,
            member_id,
            member_devices,
            lambda d: MemberDevice(
                id=strawberry.ID(d.id),
                kind=d.kind,
                label=d.label,
                first_seen_at=d.first_seen_at,
                last_seen_at=d.last_seen_at,
            ),
        )

    @strawberry.field(description="The account log of a member, newest first.")
    async def account_events(self, info: Info, member_id: strawberry.ID) -> list[AccountEventType]:
        return await _of_managed_member(
            info,
            member_id,
            service.account_events,
            lambda e: AccountEventType(
                action=e.action.value,
                actor_id=strawberry.ID(str(e.actor_id)) if e.actor_id else None,
                actor_label=e.actor_label,
                detail=e.detail,
                at=e.at,
            ),
        )


@strawberry.type
class AccountMutation:
    @strawberry.mutation(
        description="Deactivate an account: its tokens are revoked, pushes stop, and its open "
        "tickets are listed for reassignment."
    )
    async def deactivate_member(
        self, info: Info, member_id: strawberry.ID
    ) -> DeactivateMemberPayload:
        async def work(session: Any) -> tuple[uuid.UUID, int, int, list[uuid.UUID]]:
            member = await _managed_member(session, info, member_id)
            done, pushes = await deactivate_account(session, member.id, _actor(info))
            return member.id, done.tokens_revoked, pushes, [t.id for t in done.open_tickets]

        result, errors = await run_mutation(info, work)
        if result is None:
            return DeactivateMemberPayload(
                member=None, tokens_revoked=0, push_subscriptions_removed=0, open_tickets=[],
                errors=errors,
            )  # fmt: skip
        found, revoked, pushes, ticket_ids = result
        tickets = await info.context.loaders.record("Ticket").load_many(ticket_ids)
        return DeactivateMemberPayload(
            member=await reload(info, "Member", found),
            tokens_revoked=revoked,
            push_subscriptions_removed=pushes,
            open_tickets=[t for t in tickets if t is not None],
            errors=[],
        )

    @strawberry.mutation(description="Reactivate a deactivated account.")
    async def reactivate_member(self, info: Info, member_id: strawberry.ID) -> AccountPayload:
        async def work(session: Any) -> uuid.UUID:
            member = await _managed_member(session, info, member_id)
            return (await service.reactivate(session, member.id, _actor(info))).id

        found, errors = await run_mutation(info, work)
        return AccountPayload(member=await reload(info, "Member", found), errors=errors)

    @strawberry.mutation(
        description="A one-time sign-in code for a member: a new member's first sign-in, or a "
        "password reset. Earlier unused codes stop working."
    )
    async def issue_sign_in_code(self, info: Info, member_id: strawberry.ID) -> SignInCodePayload:
        async def work(session: Any) -> service.IssuedCode:
            member = await _managed_member(session, info, member_id)
            self_purpose = (
                CodePurpose.PASSWORD_RESET if member.password_hash else CodePurpose.NEW_MEMBER
            )
            issued = await service.issue_code(session, member, self_purpose, _actor(info))
            return issued, self_purpose

        result, errors = await run_mutation(info, work)
        if result is None:
            return SignInCodePayload(code=None, expires_at=None, purpose=None, errors=errors)
        issued, purpose = result
        return SignInCodePayload(
            code=issued.code, expires_at=issued.expires_at, purpose=purpose.value, errors=[]
        )

    @strawberry.mutation(description="Revoke one of a member's tokens.")
    async def revoke_member_token(
        self, info: Info, member_id: strawberry.ID, token_id: strawberry.ID
    ) -> AccountPayload:
        async def work(session: Any) -> uuid.UUID:
            member = await _managed_member(session, info, member_id)
            token = parse_id(token_id, "tokenId", [])
            await service.revoke_member_token(session, member.id, token, _actor(info))
            return member.id

        found, errors = await run_mutation(info, work)
        return AccountPayload(member=await reload(info, "Member", found), errors=errors)

    @strawberry.mutation(description="Remove a member's device (push subscription or sync client).")
    async def revoke_member_device(
        self, info: Info, member_id: strawberry.ID, device_id: strawberry.ID
    ) -> AccountPayload:
        async def work(session: Any) -> uuid.UUID:
            member = await _managed_member(session, info, member_id)
            await revoke_device(session, member.id, str(device_id), _actor(info))
            return member.id

        found, errors = await run_mutation(info, work)
        return AccountPayload(member=await reload(info, "Member", found), errors=errors)

    @strawberry.mutation(description="Change a member's roles and/or grids (logged).")
    async def change_member_access(
        self,
        info: Info,
        member_id: strawberry.ID,
        roles: list[Role] | None = None,
        grid_ids: list[strawberry.ID] | None = None,
    ) -> AccountPayload:
        async def work(session: Any) -> uuid.UUID:
            member = await _managed_member(session, info, member_id)
            new_roles = [r.value for r in roles] if roles is not None else None
            grids = (
                [parse_id(g, "gridIds", ["Grid"]) for g in grid_ids]
                if grid_ids is not None
                else None
            )
            check_may_give(info.context.scope, member, new_roles, grids)
            await service.change_access(
                session, member.id, _actor(info), roles=new_roles, grid_ids=grids
            )
            return member.id

        found, errors = await run_mutation(info, work)
        return AccountPayload(member=await reload(info, "Member", found), errors=errors)

    @strawberry.mutation(
        description="Set a password with a one-time code from an admin; signs in (returns a "
        "token). Other sessions of the account are revoked."
    )
    async def sign_in_with_code(
        self, info: Info, phone: str, code: str, new_password: str
    ) -> LoginPayload:
        ctx = info.context
        lifetime = timedelta(seconds=ctx.settings.token_lifetime_seconds)
        try:
            async with ctx.sessions() as session, session.begin():
                member = await service.redeem_code(
                    session, phone=phone, code=code, new_password=new_password
                )
                issued = await tokens.issue_token(
                    session, member=member, kind=TokenKind.SESSION, lifetime=lifetime,
                    name="sign-in",
                )  # fmt: skip
        except DomainError as error:
            return LoginPayload(
                token=None, expires_at=None, member=None, errors=[UserError.from_domain(error)]
            )
        return LoginPayload(
            token=issued.token,
            expires_at=issued.record.expires_at,
            member=MemberType.from_row(member),
            errors=[],
        )
