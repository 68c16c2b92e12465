"""GraphQL doors of offline sync: syncPull, syncPush, syncConflicts, resolveSyncConflict,
syncClients. Thin: check the caller and the protocol version, call sync/, map the result."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from api.errors import DomainError
from api.i18n import _
from api.ops import metrics
from schema.context import Info
from schema.errors import UserError, coded_error, forbidden, query_error
from schema.ids import parse_optional_id
from sync import ledger, protocol
from sync.conflicts import MAX_CONFLICTS, list_conflicts
from sync.ledger import MAX_CLIENTS
from sync.models import ConflictStatus
from sync.models import SyncClient as SyncClientRow
from sync.models import SyncConflict as SyncConflictRow
from sync.pull import MAX_LIMIT, pull
from sync.push import MutationInput, push
from sync.resolve import resolve_conflict


@strawberry.enum(description="What a sync mutation does to its record.")
class SyncOp(Enum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"


@strawberry.enum(description="The one outcome of a pushed mutation (docs/sync-protocol.md).")
class SyncStatus(Enum):
    APPLIED = "APPLIED"
    MERGED = "MERGED"
    CONFLICT = "CONFLICT"
    REJECTED = "REJECTED"


@strawberry.enum
class SyncConflictStatus(Enum):
    OPEN = "OPEN"
    RESOLVED = "RESOLVED"


@strawberry.enum(description="Which value a resolved conflict leaves on the record.")
class SyncConflictChoice(Enum):
    KEEP_SERVER = "KEEP_SERVER"
    TAKE_CLIENT = "TAKE_CLIENT"
    CUSTOM = "CUSTOM"


@strawberry.type
class SyncChange:
    collection: str
    id: strawberry.ID = strawberry.field(description="The record's UUID (not a Relay id).")
    deleted: bool = strawberry.field(
        description="True for a deletion and for a record that left the caller's scope."
    )
    version: int
    data: JSON | None = strawberry.field(
        description="The whole record, camelCase; null if deleted."
    )


@strawberry.type
class SyncPull:
    changes: list[SyncChange]
    checkpoint: str = strawberry.field(description="Opaque; send it back on the next pull.")
    has_more: bool = strawberry.field(description="Pull again at once with the new checkpoint.")
    reset_required: bool = strawberry.field(
        description="The checkpoint is older than the kept history or made for another scope: "
        "drop local data (push the outbox first) and pull from null."
    )


@strawberry.input
class SyncMutationInput:
    mutation_id: str
    collection: str
    id: strawberry.ID
    op: SyncOp
    base_version: int | None = None
    fields: JSON | None = None


@strawberry.type
class SyncError:
    code: str
    message: str
    field: str | None


@strawberry.type(name="SyncConflict", description="A value that lost a merge, kept until resolved.")
class SyncConflictType:
    id: strawberry.ID
    collection: str
    record_id: strawberry.ID
    field: str
    client_value: JSON | None
    server_value: JSON | None
    base_version: int | None
    server_version: int | None
    rule: str = strawberry.field(description="The field rule that decided (see the protocol doc).")
    winner: str = strawberry.field(description="SERVER or CLIENT: whose value is stored now.")
    message: str
    client_id: str
    mutation_id: str
    member_id: strawberry.ID
    status: SyncConflictStatus
    resolution: str | None
    resolved_value: JSON | None
    created_at: datetime
    resolved_at: datetime | None
    version: int

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> SyncConflictType:
        return cls(
            id=strawberry.ID(data["id"]),
            collection=data["collection"],
            record_id=strawberry.ID(data["recordId"]),
            field=data["field"],
            client_value=data["clientValue"],
            server_value=data["serverValue"],
            base_version=data["baseVersion"],
            server_version=data["serverVersion"],
            rule=data["rule"],
            winner=data["winner"],
            message=data["message"],
            client_id=data["clientId"],
            mutation_id=data["mutationId"],
            member_id=strawberry.ID(data["memberId"]),
            status=SyncConflictStatus(data["status"]),
            resolution=data["resolution"],
            resolved_value=data["resolvedValue"],
            created_at=datetime.fromisoformat(data["createdAt"]),
            resolved_at=datetime.fromisoformat(data["resolvedAt"]) if data["resolvedAt"] else None,
            version=data["version"],
        )

    @classmethod
    def from_row(cls, row: SyncConflictRow) -> SyncConflictType:
        from sync.collections import record_data

        return cls.from_wire(record_data(row))


@strawberry.type
class SyncMutationResult:
    mutation_id: str
    status: SyncStatus
    version: int | None
    data: JSON | None
    conflict: SyncConflictType | None = strawberry.field(
        description="Set when status is CONFLICT (the first; all are in `conflicts`)."
    )
    conflicts: list[SyncConflictType]
    error: SyncError | None


@strawberry.type
class SyncPush:
    results: list[SyncMutationResult]


@strawberry.type(name="SyncClient", description="What the server knows of one syncing device.")
class SyncClientType:
    client_id: str
    member_id: strawberry.ID
    protocol_version: int | None
    last_checkpoint: str | None
    last_pulled_at: datetime | None
    last_mutation_id: str | None
    last_pushed_at: datetime | None
    mutations_pushed: int
    first_seen_at: datetime
    last_seen_at: datetime

    @classmethod
    def from_row(cls, row: SyncClientRow) -> SyncClientType:
        return cls(
            client_id=row.client_id,
            member_id=strawberry.ID(str(row.member_id)),
            protocol_version=row.protocol_version,
            last_checkpoint=row.last_checkpoint,
            last_pulled_at=row.last_pulled_at,
            last_mutation_id=row.last_mutation_id,
            last_pushed_at=row.last_pushed_at,
            mutations_pushed=row.mutations_pushed,
            first_seen_at=row.first_seen_at,
            last_seen_at=row.last_seen_at,
        )


@strawberry.type
class ResolveSyncConflictPayload:
    conflict: SyncConflictType | None
    errors: list[UserError]


def _result(data: dict[str, Any]) -> SyncMutationResult:
    error = data.get("error")
    conflicts = [SyncConflictType.from_wire(c) for c in data.get("conflicts") or []]
    return SyncMutationResult(
        mutation_id=data["mutationId"],
        status=SyncStatus(data["status"]),
        version=data["version"],
        data=data["data"],
        conflict=conflicts[0] if conflicts else None,
        conflicts=conflicts,
        error=SyncError(**error) if error else None,
    )


def _protocol(info: Info, argument: int | None) -> int:
    sent = argument if argument is not None else info.context.request.headers.get(protocol.HEADER)
    try:
        return protocol.check_version(sent)
    except DomainError as error:
        raise coded_error(error.message, error.code) from None


def _limit(limit: int, maximum: int) -> int:
    """A list's `limit`: at least 1 (on SQLite a negative LIMIT means no limit at all), larger
    than ``maximum`` is capped."""
    if limit < 1:
        raise query_error(
            DomainError(
                "INVALID",
                _("limit is between 1 and {maximum} (larger is capped)", maximum=maximum),
                "limit",
            )
        )
    return min(limit, maximum)


ProtocolArg = Annotated[
    int | None,
    strawberry.argument(
        description=f"Sync protocol version (else the {protocol.HEADER} header; default current)."
    ),
]


@strawberry.type
class SyncQuery:
    @strawberry.field(description="Changes in the caller's scope after `checkpoint`, oldest first.")
    async def sync_pull(
        self,
        info: Info,
        checkpoint: str | None = None,
        limit: int | None = 500,
        client_id: str | None = None,
        protocol_version: ProtocolArg = None,
    ) -> SyncPull:
        ctx = info.context
        member = ctx.require_member()
        version = _protocol(info, protocol_version)
        size = _limit(limit if limit is not None else 500, MAX_LIMIT)
        async with ctx.sessions() as session, session.begin():
            page = await pull(session, scope=ctx.scope, checkpoint=checkpoint, limit=size)
        metrics.count_pull(changes=len(page.changes), reset=page.reset_required)
        if client_id:
            try:
                async with ctx.sessions() as session, session.begin():
                    await ledger.pulled(
                        session,
                        client_id=client_id,
                        member_id=member.id,
                        checkpoint=page.checkpoint,
                        protocol_version=version,
                    )
            except DomainError as error:
                raise coded_error(error.message, error.code) from None
        return SyncPull(
            changes=[
                SyncChange(
                    collection=c["collection"],
                    id=strawberry.ID(c["id"]),
                    deleted=c["deleted"],
                    version=c["version"],
                    data=c["data"],
                )
                for c in page.changes
            ],
            checkpoint=page.checkpoint,
            has_more=page.has_more,
            reset_required=page.reset_required,
        )

    @strawberry.field(description="Conflicts of the caller's pushes (admins: everyone's).")
    async def sync_conflicts(
        self,
        info: Info,
        status: SyncConflictStatus | None = SyncConflictStatus.OPEN,
        limit: int = 100,
    ) -> list[SyncConflictType]:
        ctx = info.context
        ctx.require_member()
        size = _limit(limit, MAX_CONFLICTS)
        async with ctx.sessions() as session:
            rows = await list_conflicts(
                session,
                scope=ctx.scope,
                status=ConflictStatus(status.value) if status else None,
                limit=size,
            )
        return [SyncConflictType.from_row(r) for r in rows]

    @strawberry.field(description="The sync ledger: each device, its member, last pull and push.")
    async def sync_clients(
        self, info: Info, member_id: strawberry.ID | None = None, limit: int = 200
    ) -> list[SyncClientType]:
        ctx = info.context
        ctx.require_member()
        if not ctx.scope.is_admin:
            raise forbidden(_("only admins may read the sync ledger"))
        size = _limit(limit, MAX_CLIENTS)
        try:
            member = parse_optional_id(member_id, "memberId", ["Member"])
        except DomainError as error:
            raise query_error(error) from None
        async with ctx.sessions() as session:
            rows = await ledger.list_clients(session, member_id=member, limit=size)
        return [SyncClientType.from_row(r) for r in rows]


@strawberry.type
class SyncMutation:
    @strawberry.mutation(description="Push offline changes; one result per mutation, in order.")
    async def sync_push(
        self,
        info: Info,
        client_id: str,
        mutations: list[SyncMutationInput],
        protocol_version: ProtocolArg = None,
    ) -> SyncPush:
        ctx = info.context
        ctx.require_member()
        _protocol(info, protocol_version)
        inputs = [
            MutationInput(
                mutation_id=m.mutation_id,
                collection=m.collection,
                id=str(m.id),
                op=m.op.value,
                base_version=m.base_version,
                fields=m.fields,
            )
            for m in mutations
        ]
        try:
            results = await push(
                ctx.sessions,
                scope=ctx.scope,
                client_id=client_id,
                mutations=inputs,
                max_attachment_bytes=ctx.settings.max_attachment_bytes,
            )
        except DomainError as error:
            metrics.count_push(None)
            raise coded_error(error.message, error.code) from None
        metrics.count_push(r["status"] for r in results)
        return SyncPush(results=[_result(r) for r in results])

    @strawberry.mutation(
        description="Decide a conflict: keep the server's value, take the "
        "client's, or write a CUSTOM value; applied like a push."
    )
    async def resolve_sync_conflict(
        self, info: Info, id: strawberry.ID, choice: SyncConflictChoice, value: JSON | None = None
    ) -> ResolveSyncConflictPayload:
        ctx = info.context
        ctx.require_member()
        try:
            conflict_id = uuid.UUID(str(id))
            async with ctx.sessions() as session, session.begin():
                row = await resolve_conflict(
                    session,
                    scope=ctx.scope,
                    conflict_id=conflict_id,
                    choice=choice.value,
                    value=value,
                )
                result = SyncConflictType.from_row(row)
        except ValueError:
            error = UserError(field="id", message=_("id must be a conflict's UUID"), code="INVALID")
            return ResolveSyncConflictPayload(conflict=None, errors=[error])
        except DomainError as error:
            return ResolveSyncConflictPayload(conflict=None, errors=[UserError.from_domain(error)])
        return ResolveSyncConflictPayload(conflict=result, errors=[])
