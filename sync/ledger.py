"""The per-client sync ledger: "my phone says it synced but the data is missing" answered from
the server's side — which member a clientId belongs to, what it last pulled and pushed."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import DomainError
from api.i18n import _
from api.records import utcnow
from sync.models import SyncClient


async def touch(
    session: AsyncSession,
    *,
    client_id: str,
    member_id: uuid.UUID,
    protocol_version: int | None = None,
    now: datetime | None = None,
) -> SyncClient:
    now = now or utcnow()
    client = await session.get(SyncClient, client_id)
    if client is None:
        client = SyncClient(client_id=client_id, member_id=member_id, first_seen_at=now)
        session.add(client)
    elif client.member_id != member_id:
        # A device id is one person's: another member signing in on it gets a new clientId.
        raise DomainError(
            "CLIENT_ID_TAKEN",
            _("this clientId belongs to another member; make a new clientId after signing in"),
            "clientId",
        )
    client.last_seen_at = now
    if protocol_version is not None:
        client.protocol_version = protocol_version
    return client


async def pulled(
    session: AsyncSession,
    *,
    client_id: str,
    member_id: uuid.UUID,
    checkpoint: str,
    protocol_version: int | None,
    now: datetime | None = None,
) -> None:
    now = now or utcnow()
    client = await touch(
        session,
        client_id=client_id,
        member_id=member_id,
        protocol_version=protocol_version,
        now=now,
    )
    client.last_checkpoint = checkpoint[:300]
    client.last_pulled_at = now


async def pushed(
    session: AsyncSession,
    *,
    client_id: str,
    last_mutation_id: str,
    count: int,
    now: datetime | None = None,
) -> None:
    client = await session.get(SyncClient, client_id)
    if client is None:
        return
    client.last_mutation_id = last_mutation_id
    client.last_pushed_at = now or utcnow()
    client.mutations_pushed += count


# The most devices one syncClients call lists.
MAX_CLIENTS = 1000


async def list_clients(
    session: AsyncSession, *, member_id: uuid.UUID | None = None, limit: int = 200
) -> list[SyncClient]:
    query = (
        select(SyncClient)
        .order_by(SyncClient.last_seen_at.desc())
        .limit(max(1, min(limit, MAX_CLIENTS)))
    )
    if member_id is not None:
        query = query.where(SyncClient.member_id == member_id)
    return list(await session.scalars(query))
