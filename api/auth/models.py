"""Bearer tokens: sign-in sessions and long-lived API tokens, stored hashed."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from api.records import enum_column, time_column, utcnow


class TokenKind(StrEnum):
    SESSION = "SESSION"
    API = "API"


class AuthToken(SQLModel, table=True):
    __tablename__ = "auth_token"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    member_id: uuid.UUID = Field(foreign_key="member.id", index=True)
    # sha256 of the token: a stolen database does not yield usable tokens.
    token_hash: str = Field(max_length=64, unique=True, index=True)
    kind: TokenKind = enum_column(TokenKind)
    name: str = Field(default="", max_length=100)
    # For API tokens: what it was issued for, e.g. {"grids": [...], "readOnly": true}.
    grants: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    created_at: datetime = time_column(nullable=False, default_factory=utcnow)
    expires_at: datetime | None = time_column()
    revoked_at: datetime | None = time_column()
    last_used_at: datetime | None = time_column()


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins per phone and per client address (api/auth/throttle.py), shared by
    every server process; Redis holds the same when GRIDLINK_REDIS_URL is set."""

    __tablename__ = "login_throttle"

    # "phone:<sha256>" or "addr:<ip>".
    key: str = Field(primary_key=True, max_length=80)
    failures: int = Field(default=0, nullable=False)
    # Unix seconds: no attempt before this; when the last attempt was made.
    blocked_until: int = Field(default=0, sa_type=sa.BigInteger, nullable=False)
    updated_at: int = Field(default=0, sa_type=sa.BigInteger, nullable=False)
