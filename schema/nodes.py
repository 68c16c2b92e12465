"""The Relay Node interface and the root fields node(id) / nodes(ids): a global id names its
type, the type's view loads it within the caller's scope; a foreign or unknown id is null."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry import relay

from api.errors import DomainError
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


def _load(info: Info, global_id: str) -> Any:
    parsed = split_global_id(global_id)
    if parsed is None or parsed[0] not in VIEWS or info.context.member is None:
        return None
    type_name, record_id = parsed
    return info.context.loaders.visible(type_name).load(record_id)


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global id; null when unknown or not yours.")
    async def node(self, info: Info, id: strawberry.ID) -> relay.Node | None:
        loading = _load(info, id)
        return None if loading is None else await loading

    @strawberry.field(
        description="Objects by global ids, in the order asked; null for each "
        "id that is unknown or not yours."
    )
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[relay.Node | None]:
        if len(ids) > info.context.settings.max_page_size:
            raise query_error(
                DomainError(
                    "PAGE_SIZE_EXCEEDED",
                    f"ask for at most {info.context.settings.max_page_size} ids at once",
                    "ids",
                )
            )
        # Start every load before awaiting one, so that each type costs one batched SELECT.
        results = [_load(info, global_id) for global_id in ids]
        return [None if r is None else await r for r in results]
