"""resolveSyncConflict: the chosen value is applied as an UPDATE from the record's current
version, through the same handlers (and so the same domain rules) as a push."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.scope import Scope
from api.errors import DomainError
from api.i18n import _
from api.records import utcnow
from sync import conflicts as c
from sync.changelog import ORIGIN
from sync.collections import BY_NAME, record_data
from sync.handlers import DELETE, UPDATE, Caller, Mutation, handler_for
from sync.models import SyncConflict

RESOLVER_CLIENT = "resolveSyncConflict"


async def resolve_conflict(
    session: AsyncSession,
    *,
    scope: Scope,
    conflict_id: uuid.UUID,
    choice: str,
    value: Any = None,
    now: datetime | None = None,
) -> SyncConflict:
    now = now or utcnow()
    conflict = await c.get_conflict_for_resolution(session, scope=scope, conflict_id=conflict_id)
    wanted = c.chosen_value(conflict, choice, value)
    model: Any = BY_NAME[conflict.collection]
    record = await session.get(model, conflict.record_id)
    if record is not None and not _already(record, conflict.field, wanted):
        op = UPDATE
        fields: dict[str, Any] = {conflict.field: wanted}
        if conflict.field == "deleted":
            op, fields = DELETE, {}
            if wanted is not True:
                op = ""  # keeping a record that a phone deleted: nothing to write
        if op:
            caller = Caller(scope, c.Origin(RESOLVER_CLIENT, str(conflict.id), _member(scope)), now)
            mutation = Mutation(
                str(conflict.id), conflict.collection, record.id, op, record.version, fields
            )
            session.info[ORIGIN] = RESOLVER_CLIENT
            try:
                async with session.begin_nested():
                    handler = handler_for(conflict.collection, op)
                    outcome = await handler(session, caller, mutation)
                    if outcome.status == "CONFLICT":
                        raise DomainError(
                            "FORBIDDEN",
                            _(
                                "the record is outside your scope now; an admin can apply this "
                                "value"
                            ),
                            "id",
                        )
            finally:
                session.info.pop(ORIGIN, None)
    c.mark_resolved(conflict, scope=scope, choice=choice, value=wanted, now=now)
    await session.flush()
    return conflict


def _already(record: Any, field: str, value: Any) -> bool:
    if field == "deleted":
        return bool(record.deleted) == bool(value)
    return record_data(record).get(field) == value


def _member(scope: Scope) -> uuid.UUID:
    assert scope.member_id is not None
    return scope.member_id
