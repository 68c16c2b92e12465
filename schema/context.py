"""The per-request GraphQL context: settings, sessions, the caller and its scope."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection
from strawberry.types import Info as StrawberryInfo

from api.auth.models import AuthToken
from api.auth.scope import ANONYMOUS, Scope
from api.config import Settings
from api.members.models import Member
from schema.errors import unauthenticated


@dataclass
class Context:
    request: HTTPConnection
    response: Any
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    member: Member | None = None
    token: AuthToken | None = None
    scope: Scope = ANONYMOUS
    # Why a presented token was refused, so that the error says so instead of "sign in".
    auth_error: str | None = None
    # Per-request caches (DataLoaders and the like), created on first use.
    cache: dict[str, Any] = field(default_factory=dict)

    def require_member(self) -> Member:
        if self.member is None:
            raise unauthenticated(self.auth_error)
        return self.member


Info = StrawberryInfo[Context, None]
