"""Short-lived download links: a GraphQL mutation checks what is asked and stores it; the link
(a random token, stored hashed like sign-in tokens) lets a browser fetch the file with a plain
GET for a few minutes. The file is made at download time, within the scope its creator has
then (through the same sign-in token, so that a revoked token's links die with it)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from api.auth.models import AuthToken
from api.errors import DomainError
from api.i18n import _
from api.members.models import Member
from api.records import time_column, utcnow

LINK_LIFETIME = timedelta(minutes=10)
PATH = "/downloads/"


class DownloadLink(SQLModel, table=True):
    __tablename__ = "download_link"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    member_id: uuid.UUID = Field(foreign_key="member.id", index=True)
    auth_token_id: uuid.UUID | None = Field(default=None, foreign_key="auth_token.id")
    # What to make: "report" or an export's key; its format; its parameters; its language.
    what: str = Field(max_length=32)
    format: str = Field(max_length=8)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    language: str = Field(max_length=16)
    created_at: datetime = time_column(nullable=False, default_factory=utcnow)
    expires_at: datetime = time_column(nullable=False, index=True)


@dataclass(frozen=True)
class IssuedLink:
    path: str
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_link(
    session: AsyncSession,
    *,
    member_id: uuid.UUID,
    auth_token_id: uuid.UUID | None,
    what: str,
    format: str,
    params: dict[str, Any],
    language: str,
    now: datetime | None = None,
) -> IssuedLink:
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    link = DownloadLink(
        token_hash=_hash(token),
        member_id=member_id,
        auth_token_id=auth_token_id,
        what=what,
        format=format,
        params=params,
        language=language,
        created_at=now,
        expires_at=now + LINK_LIFETIME,
    )
    session.add(link)
    # Expired links are of no use to anyone: cleared as new ones are made.
    await session.execute(sa.delete(DownloadLink).where(DownloadLink.expires_at < now))
    await session.flush()
    return IssuedLink(path=f"{PATH}{token}", expires_at=link.expires_at)


@dataclass(frozen=True)
class Redeemed:
    link: DownloadLink
    member: Member
    auth_token: AuthToken | None


async def redeem(session: AsyncSession, token: str, *, now: datetime | None = None) -> Redeemed:
    """The link behind a token, with its member and sign-in token, still valid; else a
    NOT_FOUND (an unknown, expired or revoked link all look the same)."""
    now = now or utcnow()
    gone = DomainError("NOT_FOUND", _("this download link is unknown or has expired"), "token")
    link = await session.scalar(select(DownloadLink).where(DownloadLink.token_hash == _hash(token)))
    if link is None or link.expires_at <= now:
        raise gone
    member = await session.get(Member, link.member_id)
    if member is None or member.deleted or not member.is_active:
        raise gone
    auth_token = None
    if link.auth_token_id is not None:
        auth_token = await session.get(AuthToken, link.auth_token_id)
        if (
            auth_token is None
            or auth_token.revoked_at is not None
            or (auth_token.expires_at is not None and auth_token.expires_at <= now)
        ):
            raise gone
    return Redeemed(link, member, auth_token)
