"""Sign-in: login, logout, me."""

from __future__ import annotations

from datetime import datetime, timedelta

import strawberry

from api.auth import tokens
from api.errors import DomainError
from schema.context import Info
from schema.errors import UserError
from schema.members import MemberType


@strawberry.type
class LoginPayload:
    token: str | None = strawberry.field(
        description="Bearer token for the Authorization header; null when refused."
    )
    expires_at: datetime | None
    member: MemberType | None
    errors: list[UserError]


@strawberry.type
class LogoutPayload:
    ok: bool
    errors: list[UserError]


@strawberry.type
class AuthQuery:
    @strawberry.field(description="The signed-in member, or null for an anonymous caller.")
    def me(self, info: Info) -> MemberType | None:
        member = info.context.member
        return MemberType.from_row(member, in_scope=True) if member else None


@strawberry.type
class AuthMutation:
    @strawberry.mutation(description="Sign in with phone and password; returns a bearer token.")
    async def login(self, info: Info, phone: str, password: str) -> LoginPayload:
        ctx = info.context
        lifetime = timedelta(seconds=ctx.settings.token_lifetime_seconds)
        try:
            async with ctx.sessions() as session, session.begin():
                issued = await tokens.login(
                    session, phone=phone, password=password, lifetime=lifetime
                )
                member = await session.get(tokens.Member, issued.record.member_id)
        except DomainError as error:
            return LoginPayload(
                token=None, expires_at=None, member=None, errors=[UserError.from_domain(error)]
            )
        assert member is not None
        return LoginPayload(
            token=issued.token,
            expires_at=issued.record.expires_at,
            member=MemberType.from_row(member, in_scope=True),
            errors=[],
        )

    @strawberry.mutation(description="Revoke the token this request was made with.")
    async def logout(self, info: Info) -> LogoutPayload:
        ctx = info.context
        ctx.require_member()
        assert ctx.token is not None
        async with ctx.sessions() as session, session.begin():
            await tokens.revoke(session, ctx.token.id)
        return LogoutPayload(ok=True, errors=[])
