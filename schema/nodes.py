"""The Relay Node interface and the root fields node(id) / nodes(ids): a global id names its
type, the type's view loads it within the caller's scope; a bare UUID (the sync layer's form) is
looked up in every node type; a foreign or unknown id is null."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import strawberry
from strawberry import relay

from api.errors import DomainError, invalid
from api.i18n import _
from schema.context import Info
from schema.errors import query_error
from schema.ids import split_global_id
from schema.views import VIEWS


class Node(relay.Node):
    """Strawberry's own Relay interface, so that every area's node types share one `Node`.
    Instances keep the record's UUID under ``id``; the field's resolver is replaced by a plain
    one that makes the global id (schema.views.install_fast_resolvers)."""

    @classmethod
    def resolve_id_attr(cls) -> str:
        return "id"


def _load(info: Info, value: str) -> Any:
    """An awaitable of the object an id names, or None when it names nothing of ours."""
    if info.context.member is None:
        return None
    try:
        record_id = uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        parsed = split_global_id(value)
        if parsed is None or parsed[0] not in VIEWS:
            return None
        type_name, record_id = parsed
        return info.context.loaders.visible(type_name).load(record_id)
    # A bare UUID names no type: look in every node type (one batched SELECT each), started
    # now so that nodes(ids) batches its UUIDs like its global ids.
    return asyncio.ensure_future(_by_uuid(info, record_id))


async def _by_uuid(info: Info, record_id: uuid.UUID) -> Any:
    loads = [info.context.loaders.visible(name).load(record_id) for name in VIEWS]
    found = [obj for obj in await asyncio.gather(*loads) if obj is not None]
    if len(found) > 1:
        # Only a client-chosen id can repeat another table's; the global id says which.
        raise query_error(
            invalid(
                "id",
                _("{record_id} names several records: give the global id", record_id=record_id),
            )
        )
    return found[0] if found else None


@strawberry.type
class NodeQuery:
    @strawberry.field(
        description="Any object by its global id or its UUID; null when unknown or not yours."
    )
    async def node(self, info: Info, id: strawberry.ID) -> relay.Node | None:
        loading = _load(info, id)
        return None if loading is None else await loading

    @strawberry.field(
        description="Objects by global ids or UUIDs, in the order asked; null for each "
        "id that is unknown or not yours."
    )
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[relay.Node | None]:
        if len(ids) > info.context.settings.max_page_size:
            raise query_error(
                DomainError(
                    "PAGE_SIZE_EXCEEDED",
                    _(
                        "ask for at most {max_page_size} ids at once",
                        max_page_size=info.context.settings.max_page_size,
                    ),
                    "ids",
                )
            )
        # Start every load before awaiting one, so that each type costs one batched SELECT.
        results = [_load(info, global_id) for global_id in ids]
        return [None if r is None else await r for r in results]
