"""Versions of the rule sets: the one in force, its history, and recording a change. Each
rule set (api/rules/deadlines.py, risk.py, criteria.py) gives its content as plain JSON; a
change is the next version number of its kind, with who, when and the fields that changed."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import DomainError
from api.i18n import _
from api.records import utcnow
from api.rules.models import RuleKind, RuleVersion

# The author of a version no person made (the seed at start-up).
SEED_AUTHOR = "gridlink"


@dataclass(frozen=True)
class Author:
    member_id: uuid.UUID | None
    label: str


def flatten(content: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}: the fields a change is listed by."""
    flat: dict[str, Any] = {}
    for key, value in content.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


def differences(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    old, new = flatten(before), flatten(after)
    return [
        {"field": key, "before": old.get(key), "after": new.get(key)}
        for key in sorted(old.keys() | new.keys())
        if old.get(key) != new.get(key)
    ]


async def latest(session: AsyncSession, kind: RuleKind) -> RuleVersion | None:
    return await session.scalar(
        select(RuleVersion)
        .where(RuleVersion.kind == kind)
        .order_by(RuleVersion.version.desc())
        .limit(1)
    )


async def history(session: AsyncSession, kind: RuleKind, limit: int = 50) -> list[RuleVersion]:
    """Newest first."""
    return list(
        await session.scalars(
            select(RuleVersion)
            .where(RuleVersion.kind == kind)
            .order_by(RuleVersion.version.desc())
            .limit(limit)
        )
    )


async def record_version(
    session: AsyncSession,
    kind: RuleKind,
    content: dict[str, Any],
    *,
    author: Author,
    note: str = "",
    now: datetime | None = None,
    seed: dict[str, Any] | None = None,
) -> RuleVersion:
    """Add the next version of ``kind`` in force from ``now``. ``seed`` is the content of the
    rules in force before the first recorded change: it becomes version 1 so that the history
    starts from what applied, not from nothing."""
    now = now or utcnow()
    current = await latest(session, kind)
    if current is None and seed is not None:
        current = await _insert(session, kind, 1, seed, [], Author(None, SEED_AUTHOR), "", now)
    before = current.content if current is not None else {}
    changes = differences(before, content)
    if not changes:
        raise DomainError("INVALID", _("nothing changes: the rules are already so"))
    number = (current.version if current is not None else 0) + 1
    return await _insert(session, kind, number, content, changes, author, note, now)


async def _insert(
    session: AsyncSession,
    kind: RuleKind,
    number: int,
    content: dict[str, Any],
    changes: list[dict[str, Any]],
    author: Author,
    note: str,
    now: datetime,
) -> RuleVersion:
    row = RuleVersion(
        kind=kind,
        version=number,
        content=content,
        changes=changes,
        author_id=author.member_id,
        author_label=author.label[:100],
        note=note[:500],
        effective_from=now,
    )
    session.add(row)
    try:
        async with session.begin_nested():
            await session.flush([row])
    except IntegrityError as clash:
        # Another change took this number first: the caller reads the rules again.
        raise DomainError(
            "CONFLICT",
            _("another change to these rules was saved at the same moment; read them again"),
        ) from clash
    return row


async def seed_version(
    session: AsyncSession, kind: RuleKind, content: dict[str, Any], now: datetime | None = None
) -> bool:
    """Version 1 from the rules in force, if the kind has no version yet; True if written."""
    if await latest(session, kind) is not None:
        return False
    try:
        await _insert(session, kind, 1, content, [], Author(None, SEED_AUTHOR), "", now or utcnow())
    except DomainError:
        return False  # another process seeded it first
    return True
