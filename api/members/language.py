"""A member's language: what their notifications and push messages are written in.

Kept beside the member, not on it: it is a preference of the person, not part of the record a
phone syncs. No row means the default language (zh-CN)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from api.errors import invalid
from api.i18n import DEFAULT_LANGUAGE, LANGUAGES, _, supported
from api.records import time_column, utcnow


class MemberLanguage(SQLModel, table=True):
    __tablename__ = "member_language"

    member_id: uuid.UUID = Field(foreign_key="member.id", primary_key=True)
    language: str = Field(max_length=16)
    updated_at: datetime = time_column(nullable=False, default_factory=utcnow)


async def language_of(session: AsyncSession, member_id: uuid.UUID) -> str:
    stored = await session.scalar(
        select(MemberLanguage.language).where(MemberLanguage.member_id == member_id)
    )
    return stored or DEFAULT_LANGUAGE


async def choose_language(session: AsyncSession, member_id: uuid.UUID, language: str) -> str:
    """Store the member's language (``zh-CN``, ``en``; ``zh``/``en-GB`` are read as those)."""
    chosen = supported(language)
    if chosen is None:
        raise invalid(
            "language",
            _("choose one of {languages}", languages=", ".join(LANGUAGES)),
        )
    row = await session.get(MemberLanguage, member_id)
    if row is None:
        session.add(MemberLanguage(member_id=member_id, language=chosen))
    else:
        row.language = chosen
        row.updated_at = utcnow()
    await session.flush()
    return chosen
