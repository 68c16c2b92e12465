"""Bounded history (docs/sync-protocol.md): the change log and tombstones older than the
retention are removed; a client whose checkpoint lies before the horizon gets resetRequired.

Stored push results are kept: they are what makes a replay after a long time harmless."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.attachments.service import purge_files
from api.attachments.storage import Store
from api.records import utcnow
from sync.collections import MODELS
from sync.models import ChangeKey, ChangeRow, SyncState
from sync.pull import HORIZON, log_bound


@dataclass(frozen=True)
class Pruned:
    changes: int
    tombstones: int
    horizon: tuple[int, int]


async def prune(
    session: AsyncSession,
    *,
    older_than: timedelta,
    now: datetime | None = None,
    media: Store | None = None,
) -> Pruned:
    """`media`: the attachment store, whose files of attachments deleted before the horizon
    go first (their tombstones go below)."""
    cutoff = (now or utcnow()) - older_than
    if media is not None:
        await purge_files(session, media, older_than=older_than, now=now)
    bound = await log_bound(session)
    old = select(ChangeRow.txid, ChangeRow.seq).where(ChangeRow.at < cutoff)
    if bound is not None:
        old = old.where(ChangeRow.txid < bound)
    last = (
        await session.execute(old.order_by(ChangeRow.txid.desc(), ChangeRow.seq.desc()).limit(1))
    ).first()
    state = await session.get(SyncState, HORIZON)
    removed = 0
    if last is not None:
        upto = sa.tuple_(last.txid, last.seq)
        await session.execute(
            delete(ChangeKey).where(sa.tuple_(ChangeKey.txid, ChangeKey.seq) <= upto)
        )
        result = await session.execute(
            delete(ChangeRow).where(sa.tuple_(ChangeRow.txid, ChangeRow.seq) <= upto)
        )
        removed = result.rowcount or 0  # type: ignore[attr-defined]
        if state is None:
            state = SyncState(name=HORIZON)
            session.add(state)
        if (last.txid, last.seq) > (state.txid or 0, state.seq or 0):
            state.txid, state.seq, state.at = last.txid, last.seq, utcnow()
    tombstones = 0
    # Children before parents; a tombstone something still points at stays until that goes.
    for model in reversed(MODELS):
        m: Any = model
        try:
            async with session.begin_nested():
                result = await session.execute(
                    delete(model).where(m.deleted_at.is_not(None), m.deleted_at < cutoff)
                )
                tombstones += result.rowcount or 0  # type: ignore[attr-defined]
        except IntegrityError:
            continue
    horizon = (state.txid, state.seq) if state is not None else (0, 0)
    return Pruned(removed, tombstones, horizon)


async def prune_job(
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
    *,
    retention_seconds: int,
    media: Store | None = None,
) -> int:
    async with sessions() as session, session.begin():
        pruned = await prune(
            session, older_than=timedelta(seconds=retention_seconds), now=now, media=media
        )
    return pruned.changes + pruned.tombstones
