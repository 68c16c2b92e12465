"""Sign-in: login, logout, me."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import strawberry
from graphql import GraphQLError

from api.auth import throttle, tokens
from api.auth.models import TokenKind
from api.errors import DomainError
from schema.context import Context, Info
from schema.errors import UserError
from schema.members import MemberType


def throttled_error(ctx: Context, refused: throttle.Throttled) -> GraphQLError:
    """A refused sign-in attempt: when to try again, in the error and in Retry-After."""
    retry_at = datetime.now(UTC) + timedelta(seconds=refused.retry_after)
    headers = getattr(ctx.response, "headers", None)
    if headers is not None:
        headers["Retry-After"] = str(refused.retry_after)
    return GraphQLError(
        refused.message,
        extensions={
            "code": refused.code,
            "field": "phone",
            "retryAfter": refused.retry_after,
            "retryAt": retry_at.isoformat(timespec="seconds"),
        },
    )


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
    @strawberry.mutation(
        description="Sign in with phone and password; returns a bearer token. Repeated "
        "failures per phone and per address are throttled (TOO_MANY_ATTEMPTS, retryAfter)."
    )
    async def login(self, info: Info, phone: str, password: str) -> LoginPayload:
        ctx = info.context
        lifetime = timedelta(seconds=ctx.settings.token_lifetime_seconds)
        client = ctx.request.client
        keys = [
            (throttle.phone_key(phone), throttle.PHONE),
            (throttle.address_key(client.host if client else None), throttle.ADDRESS),
        ]
        store = throttle.store_for(ctx.settings.redis_url, ctx.sessions)
        now = throttle.now_seconds()
        try:
            await store.attempt(keys, now)
        except throttle.Throttled as refused:
            raise throttled_error(ctx, refused) from None
        try:
            async with ctx.reader.session() as session:
                found = await tokens.member_for_login(session, phone)
            # The pooled connection goes back before the hash, which may queue behind others
            # in a burst: sign-ins must not hold the connections other requests need.
            await ctx.reader.close()
            member = await tokens.check_password(found, password)
        except DomainError as error:
            return LoginPayload(
                token=None, expires_at=None, member=None, errors=[UserError.from_domain(error)]
            )
        await store.succeeded(keys, now)
        async with ctx.sessions() as session, session.begin():
            issued = await tokens.issue_token(
                session, member=member, kind=TokenKind.SESSION, lifetime=lifetime, name="sign-in"
            )
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
