"""Durable conflicts: a value that lost a merge is kept here until a person decides
(docs/sync-protocol.md). Resolving one goes through the same merge path as a push."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.scope import Scope
from api.errors import DomainError, forbidden, invalid, not_found
from api.i18n import N_, Lazy, _
from api.records import utcnow
from sync.models import ConflictStatus, ConflictWinner, SyncConflict

# The documented field rules (docs/sync-protocol.md, "Merge rules").
RULE_SERVER_WINS = "SERVER_WINS"  # free text and other fields edited on both sides
RULE_STATUS_FURTHER_ALONG = "STATUS_FURTHER_ALONG"  # both moved the status: further along wins
RULE_STATUS_LIFECYCLE = "STATUS_LIFECYCLE"  # the client's move is illegal from the server's state
RULE_DISPATCH = "DISPATCH_SERVER_WINS"  # both changed the assignee or grid
RULE_LEFT_SCOPE = "LEFT_SCOPE"  # the record left the caller's scope before the edit synced
RULE_SERVER_CHANGED_FIRST = "SERVER_CHANGED_FIRST"  # a server change made the edit impossible
RULE_DELETED = "RECORD_DELETED"  # edited offline, deleted on the server
RULE_DELETE_OF_CHANGED = "DELETE_OF_CHANGED"  # deleted offline, changed on the server
# What a person reads about a kept conflict when the merge gave no sentence of its own.
RULE_MESSAGES: dict[str, Lazy] = {
    RULE_SERVER_WINS: N_(
        "the field was changed on the server too: the server's value was kept "
        "and yours is kept in this conflict for a person to decide"
    ),
    RULE_DISPATCH: N_(
        "the assignee or grid was changed on the server too: the server's dispatch was kept"
    ),
    RULE_LEFT_SCOPE: N_("the record left your grids before your change arrived"),
    RULE_SERVER_CHANGED_FIRST: N_("a change on the server made your edit impossible"),
    RULE_DELETED: N_("the record was deleted on the server; your edit is kept in this conflict"),
    RULE_DELETE_OF_CHANGED: N_(
        "the record was changed on the server after you deleted it: it was kept"
    ),
    RULE_STATUS_FURTHER_ALONG: N_("both sides moved the status: the one further along was kept"),
    RULE_STATUS_LIFECYCLE: N_("your status move is not allowed from the server's status"),
}


@dataclass(frozen=True)
class Origin:
    """Who pushed the losing value."""

    client_id: str
    mutation_id: str
    member_id: uuid.UUID


def keep_conflict(
    session: AsyncSession,
    *,
    origin: Origin,
    collection: str,
    record_id: uuid.UUID,
    field: str,
    client_value: Any,
    server_value: Any,
    rule: str,
    winner: ConflictWinner = ConflictWinner.SERVER,
    message: str = "",
    base_version: int | None = None,
    server_version: int | None = None,
) -> SyncConflict:
    conflict = SyncConflict(
        collection=collection,
        record_id=record_id,
        field=field,
        client_value=client_value,
        server_value=server_value,
        base_version=base_version,
        server_version=server_version,
        rule=rule,
        winner=winner,
        message=(message or str(RULE_MESSAGES.get(rule, rule)))[:500],
        client_id=origin.client_id,
        mutation_id=origin.mutation_id,
        member_id=origin.member_id,
    )
    session.add(conflict)
    return conflict


# The most conflicts one syncConflicts call lists.
MAX_CONFLICTS = 500


async def list_conflicts(
    session: AsyncSession,
    *,
    scope: Scope,
    status: ConflictStatus | None = ConflictStatus.OPEN,
    limit: int = 100,
    after: datetime | None = None,
) -> list[SyncConflict]:
    """The caller's own conflicts; admins see everyone's (api.auth.visibility)."""
    query = select(SyncConflict).where(
        SyncConflict.deleted_at.is_(None), scope.visible(SyncConflict)
    )
    if status is not None:
        query = query.where(SyncConflict.status == status)
    if after is not None:
        query = query.where(SyncConflict.created_at > after)
    query = query.order_by(SyncConflict.created_at, SyncConflict.id).limit(
        max(1, min(limit, MAX_CONFLICTS))
    )
    return list(await session.scalars(query))


async def get_conflict_for_resolution(
    session: AsyncSession, *, scope: Scope, conflict_id: uuid.UUID
) -> SyncConflict:
    conflict = await session.scalar(
        select(SyncConflict).where(SyncConflict.id == conflict_id, scope.visible(SyncConflict))
    )
    # Another member's conflict is answered as one that does not exist.
    if conflict is None or conflict.deleted:
        raise not_found("id", _("the conflict"))
    if scope.read_only:
        raise forbidden(_("this token is read-only"))
    if conflict.status == ConflictStatus.RESOLVED:
        raise DomainError("ALREADY_RESOLVED", _("this conflict has already been resolved"), "id")
    return conflict


def chosen_value(conflict: SyncConflict, choice: str, value: Any) -> Any:
    if choice == "KEEP_SERVER":
        return conflict.server_value
    if choice == "TAKE_CLIENT":
        return conflict.client_value
    if choice == "CUSTOM":
        return value
    raise invalid("choice", _("choose KEEP_SERVER, TAKE_CLIENT or CUSTOM (with a value)"))


def mark_resolved(
    conflict: SyncConflict,
    *,
    scope: Scope,
    choice: str,
    value: Any,
    now: datetime | None = None,
) -> None:
    conflict.status = ConflictStatus.RESOLVED
    conflict.resolution = choice
    conflict.resolved_value = value
    conflict.resolved_by_id = scope.member_id
    conflict.resolved_at = now or utcnow()
