"""The request's DataLoaders (Strawberry's): one SQL statement per kind of lookup per level,
whatever the number of parents. Created on first use and kept for the request."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from strawberry.dataloader import DataLoader

from schema.views import plan, select_for, view_of

if TYPE_CHECKING:
    from schema.context import Context


class Loaders:
    def __init__(self, context: Context) -> None:
        self.context = context
        self._loaders: dict[Hashable, DataLoader[Any, Any]] = {}

    def _get(self, key: Hashable, make: Callable[[], DataLoader[Any, Any]]) -> DataLoader[Any, Any]:
        loader = self._loaders.get(key)
        if loader is None:
            loader = self._loaders[key] = make()
        return loader

    def record(self, view_name: str) -> DataLoader[uuid.UUID, Any]:
        """By id, unscoped and including deleted records: the to-one reference of a record
        the caller already sees (a ticket's grid, an event's actor)."""
        return self._get(("record", view_name), lambda: self._by_id(view_name, scoped=False))

    def visible(self, view_name: str) -> DataLoader[uuid.UUID, Any]:
        """By id, within the caller's scope and live: node(id), mutation inputs."""
        return self._get(("visible", view_name), lambda: self._by_id(view_name, scoped=True))

    def _by_id(self, view_name: str, *, scoped: bool) -> DataLoader[uuid.UUID, Any]:
        context = self.context
        view = view_of(view_name)

        async def load(ids: list[uuid.UUID]) -> list[Any]:
            p = plan(view, None, context, join=False)
            statement = select_for(p).where(view.table.c.id.in_(ids))
            if scoped:
                p.scoped = True
                statement = statement.where(view.visible(context.scope), view.live())
            objects = p.rows_to_objects(await context.reader.rows(statement))
            found = {obj.id: obj for obj in objects}
            return [found.get(i) for i in ids]

        return DataLoader(load_fn=load)

    def children(
        self,
        name: str,
        view_name: str,
        parent_column: str,
        *,
        order_by: Sequence[str] = ("id",),
        where: Callable[[], sa.ColumnElement[bool]] | None = None,
        limit: int | None = None,
    ) -> DataLoader[uuid.UUID, list[Any]]:
        """The records whose ``parent_column`` is the key, within scope, in ``order_by`` order;
        at most ``limit`` per parent (one windowed SELECT for all parents). Every plain list
        is capped (by the page-size cap unless told less), so that the query cost
        (schema/cost.py) is a true bound on what a list can return."""
        context = self.context
        limit = context.settings.max_page_size if limit is None else limit
        view = view_of(view_name)

        async def load(parent_ids: list[uuid.UUID]) -> list[list[Any]]:
            table = view.table
            parent = table.c[parent_column]
            order = [table.c[c] for c in order_by]
            p = plan(view, None, context, join=False)
            p.scoped = True
            conditions = [parent.in_(parent_ids), view.visible(context.scope), view.live()]
            if where is not None:
                conditions.append(where())
            rank = sa.func.row_number().over(partition_by=parent, order_by=order)
            inner = select_for(p).add_columns(rank.label("rank")).where(*conditions)
            ranked = inner.subquery()
            statement = (
                sa.select(*[ranked.c[c.name] for c in inner.selected_columns][:-1])
                .where(ranked.c.rank <= limit)
                .order_by(*(ranked.c[c] for c in order_by))
            )
            rows = await context.reader.rows(statement)
            grouped: dict[uuid.UUID, list[Any]] = defaultdict(list)
            for obj in p.rows_to_objects(rows):
                grouped[getattr(obj, parent_column)].append(obj)
            return [grouped.get(i, []) for i in parent_ids]

        return self._get(("children", name), lambda: DataLoader(load_fn=load))

    def custom(self, name: Hashable, load: Callable[[list[Any]], Any]) -> DataLoader[Any, Any]:
        """A loader of the caller's own making, kept for the request under ``name``."""
        return self._get(("custom", name), lambda: DataLoader(load_fn=load))
