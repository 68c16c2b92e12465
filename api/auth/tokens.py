"""Opaque bearer tokens: sign-in sessions and API tokens, stored as sha256, expiring, revocable."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.models import AuthToken, TokenKind
from api.auth.passwords import verify_password_off_loop
from api.enterprises.codes import normalize_phone
from api.errors import DomainError
from api.i18n import _
from api.members.models import Member
from api.records import utcnow

TOKEN_PREFIX = "glk_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: str
    record: AuthToken


async def issue_token(
    session: AsyncSession,
    *,
    member: Member,
    kind: TokenKind,
    lifetime: timedelta | None,
    name: str = "",
    grants: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> IssuedToken:
    now = now or utcnow()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = AuthToken(
        member_id=member.id,
        token_hash=hash_token(token),
        kind=kind,
        name=name,
        grants=grants or {},
        created_at=now,
        expires_at=now + lifetime if lifetime else None,
    )
    session.add(record)
    await session.flush()
    return IssuedToken(token, record)


def invalid_credentials() -> DomainError:
    # One message for an unknown phone and a wrong password: no account enumeration.
    return DomainError("INVALID_CREDENTIALS", _("the phone number or password is wrong"))


async def member_for_login(session: AsyncSession, phone: str) -> Member | None:
    """The active member a sign-in names, or None (a malformed or unknown phone)."""
    try:
        normalized = normalize_phone(phone)
    except DomainError:
        return None
    member = await session.scalar(select(Member).where(Member.phone == normalized))
    return member if member is not None and member.is_active and not member.deleted else None


async def check_password(member: Member | None, password: str) -> Member:
    """The member when the password is theirs, else INVALID_CREDENTIALS. argon2 runs in the
    hashing pool: a burst of sign-ins must not stall the other requests on the event loop."""
    hashed = member.password_hash if member is not None else None
    if not await verify_password_off_loop(hashed, password):
        raise invalid_credentials()
    assert member is not None
    return member


class TokenRejected(Exception):
    """The bearer token is unknown, expired or revoked; the reason is safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def token_and_member(*columns: Any) -> Select[Any]:
    """The token with the hash ``:token_hash``, its member, and ``columns``."""
    return (
        select(AuthToken, Member, *columns)
        .outerjoin(Member, Member.id == AuthToken.member_id)  # type: ignore[arg-type]
        .where(AuthToken.token_hash == bindparam("token_hash"))
    )


# Built once (a bound parameter, not the hash): a statement made per request costs more
# Python than the database takes to answer it.
_TOKEN_AND_MEMBER = token_and_member()


async def authenticate(
    session: AsyncSession, token: str, *, now: datetime | None = None
) -> tuple[Member, AuthToken]:
    member, record, _row = await authenticate_with(session, token, _TOKEN_AND_MEMBER, now=now)
    return member, record


async def authenticate_with(
    session: AsyncSession, token: str, statement: Select[Any], *, now: datetime | None = None
) -> tuple[Member, AuthToken, tuple[Any, ...]]:
    """authenticate, reading the token by ``statement`` (``token_and_member(...)``); also the
    values of the statement's further columns."""
    now = now or utcnow()
    if not token.startswith(TOKEN_PREFIX):
        raise TokenRejected(_("the token is not a gridlink token"))
    # Token and member in one statement. The HTTP endpoint remembers sign-ins only while it
    # hears every access change (api/auth/sign_in_cache.py), so a revocation or a disabled
    # account counts from the next request on, in every process.
    found = (await session.execute(statement, {"token_hash": hash_token(token)})).first()
    if found is None:
        raise TokenRejected(_("the token is unknown"))
    record, member, *more = found
    if record.revoked_at is not None:
        raise TokenRejected(_("the token was revoked; sign in again"))
    if record.expires_at is not None and record.expires_at <= now:
        raise TokenRejected(_("the token has expired; sign in again"))
    if member is None or not member.is_active or member.deleted:
        raise TokenRejected(_("the account behind the token is disabled"))
    return member, record, tuple(more)


async def revoke(
    session: AsyncSession, token_id: uuid.UUID, *, now: datetime | None = None
) -> None:
    record = await session.get(AuthToken, token_id)
    if record is not None and record.revoked_at is None:
        record.revoked_at = now or utcnow()
        await session.flush()
