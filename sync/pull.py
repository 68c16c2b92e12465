"""syncPull: the changes in a caller's scope after its checkpoint, oldest first, in pages."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.scope import Scope
from api.records import SyncedRecord
from api.tickets.models import Ticket
from sync.checkpoint import BadCheckpoint, Checkpoint, scope_fingerprint
from sync.collections import BY_NAME, MODELS, current_views, scope_clause
from sync.models import ChangeKey, ChangeRow, SyncState

MAX_LIMIT = 1000
HORIZON = "horizon"
# The oldest transaction still running at this snapshot — leaving out those positively seen
# running in another database of the server: they cannot write our log, and a long one there
# (a report, a migration of another app) must not hold every phone's pull back. A transaction
# that has finished since the snapshot is not in pg_stat_activity, so it is kept: the bound
# can only be lower than needed, never higher.
_BOUND = sa.text(
    """
    WITH snap AS (SELECT pg_current_snapshot() AS s),
    elsewhere AS (
        SELECT backend_xid::text::bigint AS xid32 FROM pg_stat_activity
        WHERE backend_xid IS NOT NULL AND datname <> current_database()
    )
    SELECT coalesce(
        (SELECT min(x::text::bigint) FROM snap, pg_snapshot_xip(snap.s) AS x
         WHERE x::text::bigint % 4294967296 NOT IN (SELECT xid32 FROM elsewhere)),
        (SELECT pg_snapshot_xmax(s)::text::bigint FROM snap)
    )
    """
)


@dataclass
class PullPage:
    changes: list[dict[str, Any]]
    checkpoint: str
    has_more: bool
    reset_required: bool


async def log_bound(session: AsyncSession) -> int | None:
    """On PostgreSQL, the oldest transaction still running: every change row below it is
    committed for good, and every future row lies above it. None on SQLite (one writer)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    return await session.scalar(_BOUND)


async def log_head(session: AsyncSession) -> tuple[int, int]:
    """Where a first sync continues once its snapshot is sent: every change before this
    position is in the records the snapshot reads."""
    bound = await log_bound(session)
    if bound is not None:
        head = (bound, 0)
    else:
        head = (0, await session.scalar(select(sa.func.coalesce(sa.func.max(ChangeRow.seq), 0))))
    return max(head, await horizon(session))


async def horizon(session: AsyncSession) -> tuple[int, int]:
    row = await session.get(SyncState, HORIZON)
    return (row.txid, row.seq) if row else (0, 0)


def _reset(scope: Scope) -> PullPage:
    return PullPage([], "", False, True)


async def pull(
    session: AsyncSession, *, scope: Scope, checkpoint: str | None, limit: int
) -> PullPage:
    limit = max(1, min(limit, MAX_LIMIT))
    fingerprint = scope_fingerprint(scope)
    if checkpoint is None:
        txid, seq = await log_head(session)
        start = Checkpoint(txid, seq, fingerprint, 0, None)
        return await _snapshot_page(session, scope, start, limit)
    try:
        position = Checkpoint.decode(checkpoint)
    except BadCheckpoint:
        return _reset(scope)
    if position.scope != fingerprint or (position.txid, position.seq) < await horizon(session):
        return _reset(scope)
    if position.in_snapshot:
        return await _snapshot_page(session, scope, position, limit)
    return await _log_page(session, scope, position, limit)


# --- log phase ------------------------------------------------------------------------------


async def _log_page(
    session: AsyncSession, scope: Scope, position: Checkpoint, limit: int
) -> PullPage:
    bound = await log_bound(session)
    if scope.everything:
        # Every row carries the key "all": read the log itself, in index order.
        table: Any = ChangeRow
        where = [sa.tuple_(ChangeRow.txid, ChangeRow.seq) > sa.tuple_(position.txid, position.seq)]
    else:
        table = ChangeKey
        where = [
            ChangeKey.key.in_(sorted(scope.keys())),
            sa.tuple_(ChangeKey.txid, ChangeKey.seq) > sa.tuple_(position.txid, position.seq),
        ]
    settled = [*where, table.txid < bound] if bound is not None else where
    positions = (
        select(table.txid, table.seq)
        .where(*settled)
        .distinct()
        .order_by(table.txid, table.seq)
        .limit(limit + 1)
    )
    found = (await session.execute(positions)).all()
    has_more = len(found) > limit
    found = found[:limit]
    if not has_more and bound is not None:
        # Committed changes held back behind a transaction still running: pull again soon.
        held = select(table.seq).where(*where, table.txid >= bound).limit(1)
        has_more = (await session.scalar(held)) is not None
    if not found:
        return PullPage([], position.encode(), has_more, False)
    seqs = [row.seq for row in found]
    rows = (
        await session.scalars(
            select(ChangeRow).where(ChangeRow.seq.in_(seqs)).order_by(ChangeRow.txid, ChangeRow.seq)
        )
    ).all()
    last = found[-1]
    changes = await _current(session, scope, [(r.collection, r.record_id) for r in rows])
    after = Checkpoint(last.txid, last.seq, position.scope)
    return PullPage(changes, after.encode(), has_more, False)


async def _current(
    session: AsyncSession, scope: Scope, refs: Sequence[tuple[str, uuid.UUID]]
) -> list[dict[str, Any]]:
    """Each changed record as the caller may see it now: whole, or deleted:true when it is gone
    or outside the caller's scope. A record changed twice in the page is sent once, at its
    last position (its data is the current record either way)."""
    last: dict[tuple[str, uuid.UUID], int] = {}
    for index, ref in enumerate(refs):
        last[ref] = index
    ordered = sorted(last, key=last.__getitem__)
    by_collection: dict[str, list[uuid.UUID]] = {}
    for collection, record_id in ordered:
        by_collection.setdefault(collection, []).append(record_id)
    records: dict[uuid.UUID, SyncedRecord] = {}
    for collection, ids in by_collection.items():
        model: Any = BY_NAME[collection]
        for record in await session.scalars(select(model).where(model.id.in_(ids))):
            records[record.id] = record
    views = await current_views(session, list(records.values()))
    changes: list[dict[str, Any]] = []
    for collection, record_id in ordered:
        record = records.get(record_id)
        view = views.get(record_id)
        if record is None or view is None or record.deleted or not scope.sees_keys(view[0]):
            version = record.version if record is not None else 0
            changes.append(_deleted(collection, record_id, version))
        else:
            changes.append(_whole(collection, record, view[1]))
    return changes


def _deleted(collection: str, record_id: uuid.UUID, version: int) -> dict[str, Any]:
    return {
        "collection": collection,
        "id": str(record_id),
        "deleted": True,
        "version": version,
        "data": None,
    }


def _whole(collection: str, record: SyncedRecord, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "collection": collection,
        "id": str(record.id),
        "deleted": False,
        "version": record.version,
        "data": data,
    }


# --- snapshot phase (first sync) ------------------------------------------------------------


def _steps(scope: Scope) -> list[tuple[type[SyncedRecord], sa.ColumnElement[bool]]]:
    """Step 0: the caller's own assigned tickets, so that the work in hand arrives first;
    then every collection in wire order (tickets without those already sent)."""
    me = scope.member_id
    mine = Ticket.assignee_id == me if me is not None else sa.false()
    steps: list[tuple[type[SyncedRecord], sa.ColumnElement[bool]]] = [(Ticket, mine)]
    for model in MODELS:
        clause = scope_clause(model, scope)
        if model is Ticket:
            others = sa.or_(Ticket.assignee_id.is_(None), Ticket.assignee_id != me)
            clause = sa.and_(clause, others if me is not None else sa.true())
        steps.append((model, clause))
    return steps


async def _snapshot_page(
    session: AsyncSession, scope: Scope, position: Checkpoint, limit: int
) -> PullPage:
    steps = _steps(scope)
    step = position.snapshot_step or 0
    after = position.after_id
    changes: list[dict[str, Any]] = []
    while step < len(steps) and len(changes) < limit:
        model, clause = steps[step]
        m: Any = model
        query = select(model).where(clause, m.deleted_at.is_(None))
        if after is not None:
            query = query.where(m.id > after)
        want = limit - len(changes)
        records = (await session.scalars(query.order_by(m.id).limit(want))).all()
        views = await current_views(session, records)
        changes.extend(_whole(model.sync_collection, r, views[r.id][1]) for r in records)
        if len(records) == want:
            after = records[-1].id
            break
        step, after = step + 1, None
    if step >= len(steps):
        follow = Checkpoint(position.txid, position.seq, position.scope)
        # The log from the snapshot's start: pull again at once.
        return PullPage(changes, follow.encode(), True, False)
    resume = Checkpoint(position.txid, position.seq, position.scope, step, after)
    return PullPage(changes, resume.encode(), True, False)
