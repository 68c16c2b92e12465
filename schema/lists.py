"""Root list fields: one scoped SELECT per page (to-one references joined), keyset paging."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from api.errors import invalid
from api.i18n import _
from schema.context import Context, Info
from schema.errors import query_error
from schema.pagination import (
    Connection,
    Page,
    PageArgs,
    SortKey,
    connection,
    page_args,
    paginate,
)
from schema.selection import Selection, selection_of
from schema.views import Plan, View, plan, select_for


def merged(*selections: Selection) -> Selection:
    result = Selection()
    for selection in selections:
        for name, child in selection.items():
            result[name] = merged(result.get(name, Selection()), child)
    return result


def relay_args(
    info: Info, first: int | None, after: str | None, last: int | None, before: str | None
) -> PageArgs:
    return page_args(first, after, last, before, info.context.settings.max_page_size)


def _frozen(selection: Selection) -> tuple[Any, ...]:
    return tuple((name, _frozen(child)) for name, child in selection.items())


# (view, selection, sort key, scope shape) -> the plan and its SELECT within the scope.
_LISTED: dict[tuple[Any, ...], tuple[Plan, sa.Select[Any]]] = {}
_LISTED_SIZE = 512


def _listed(
    view: View, nodes: Selection, key: SortKey, context: Context
) -> tuple[Plan, Any, tuple[Any, ...] | None]:
    """The plan of a list level and its SELECT limited to the caller's scope, built once per
    shape: building them costs more Python than the database takes to answer. The scope's
    values are parameters (``Scope.parameters()``), given when the statement runs. Computed
    columns (read at the request's clock) make a plan of the request's own. Also the cache
    key (None: not cached)."""
    scope = context.scope
    cache_key = None
    if not view.computed_keys(nodes):
        cache_key = (view.name, _frozen(nodes), key.name, key.expression, scope.shape)
        found = _LISTED.get(cache_key)
        if found is not None:
            return (*found, cache_key)
    p = plan(view, nodes, context, extra=[key.expression.label("sort_key")])
    p.scoped = True
    found = (p, select_for(p).where(view.visible(scope), view.live()))
    if cache_key is not None:
        p.compile()
        if len(_LISTED) >= _LISTED_SIZE:
            _LISTED.clear()
        _LISTED[cache_key] = found
    return (*found, cache_key)


# (the listed key, the conditions with their values, page arguments, order) -> the page.
_PAGES: dict[tuple[Any, ...], Page] = {}
_PAGES_SIZE = 1024


def _values_key(clause: sa.ColumnElement[bool]) -> tuple[Any, ...] | None:
    """A condition's structure and bound values as a hashable key; None when it has none."""
    found = clause._generate_cache_key()
    if found is None:
        return None
    values = []
    for parameter in found.bindparams:
        value = parameter.effective_value
        if isinstance(value, list | tuple):
            value = tuple(value)
        try:
            hash(value)
        except TypeError:
            return None
        values.append((type(value), value))
    return (found.key, tuple(values))


def _page(
    listed: Any,
    listed_key: tuple[Any, ...] | None,
    view: View,
    where: Sequence[sa.ColumnElement[bool]],
    key: SortKey,
    ascending: bool,
    args: PageArgs,
) -> Page:
    """The page's SELECT, made once per distinct request shape and values: SQLAlchemy keys
    its compiled-statement cache by a traversal of the whole statement (every selected
    column and join), which costs more than the rest of a list request; it remembers that
    key per statement object, so the same object for the same page skips it. The caller's
    scope values are parameters of the statement, not part of it (``Scope.parameters()``)."""
    cache_key: tuple[Any, ...] | None = None
    if listed_key is not None:
        conditions = tuple(_values_key(clause) for clause in where)
        if None not in conditions:
            cache_key = (listed_key, conditions, args, ascending)
            found = _PAGES.get(cache_key)
            if found is not None:
                return found
    page = paginate(
        listed.where(*where), key=key, id_column=view.table.c.id, ascending=ascending, args=args
    )
    if cache_key is not None:
        if len(_PAGES) >= _PAGES_SIZE:
            _PAGES.clear()
        _PAGES[cache_key] = page
    return page


async def list_connection(
    info: Info,
    view: View,
    *,
    where: Sequence[sa.ColumnElement[bool]],
    key: SortKey,
    ascending: bool,
    args: PageArgs,
) -> Connection[Any]:
    """A page of ``view`` within the caller's scope, reading the selected columns only."""
    context = info.context
    selection = selection_of(info)
    nodes = merged(selection.at("edges", "node"), selection.at("nodes"))
    p, listed, listed_key = _listed(view, nodes, key, context)
    page = _page(listed, listed_key, view, where, key, ascending, args)
    rows = await context.reader.rows(
        page.statement, context.scope.parameters(), reused=listed_key is not None
    )

    async def count() -> int:
        conditions = [view.visible(context.scope), view.live(), *where]
        statement = sa.select(sa.func.count()).select_from(view.table).where(*conditions)
        return int(await context.reader.scalar(statement))

    return connection(page, rows, p.rows_to_objects(rows), count, with_edges="edges" in selection)


def nested_connection_loader(
    info: Info,
    view: View,
    *,
    parent_column: str,
    where: Sequence[sa.ColumnElement[bool]],
    key: SortKey,
    ascending: bool,
    args: PageArgs,
    signature: Any,
) -> Any:
    """A DataLoader of pages of ``view`` per parent id (e.g. each enterprise's tickets): one
    windowed SELECT for all parents of a list level, one grouped COUNT when totalCount is
    asked for. Only forward paging (first/after) is offered on nested lists."""
    context = info.context
    selection = selection_of(info)
    if args.last is not None or args.before is not None:
        raise query_error(invalid("last", _("nested lists page forward only: use first/after")))
    name = ("nested", view.name, parent_column, signature, args, repr(selection))

    async def load(parent_ids: list[Any]) -> list[Connection[Any]]:
        table = view.table
        parent = table.c[parent_column]
        nodes = merged(selection.at("edges", "node"), selection.at("nodes"))
        conditions = [parent.in_(parent_ids), view.visible(context.scope), view.live(), *where]
        p = plan(
            view,
            nodes,
            context,
            extra=[parent.label("parent_key"), key.expression.label("sort_key")],
        )
        p.scoped = True
        page = paginate(
            select_for(p).where(*conditions),
            key=key,
            id_column=table.c.id,
            ascending=ascending,
            args=args,
        )
        id_column = table.c.id
        order = (
            (key.expression.asc(), id_column.asc())
            if ascending
            else (key.expression.desc(), id_column.desc())
        )
        rank = sa.func.row_number().over(partition_by=parent, order_by=order)
        inner = page.statement.order_by(None).limit(None).add_columns(rank.label("rank"))
        ranked = inner.subquery()
        outer = (
            sa.select(*list(ranked.c)[:-1])
            .where(ranked.c.rank <= page.size + 1)
            .order_by(ranked.c.parent_key, ranked.c.rank)
        )
        rows = await context.reader.rows(outer)
        objects = p.rows_to_objects(rows)
        grouped: dict[Any, tuple[list[Any], list[Any]]] = {}
        for row, obj in zip(rows, objects, strict=True):
            pair = grouped.setdefault(row[-2], ([], []))
            pair[0].append(row)
            pair[1].append(obj)
        counter = context.loaders.custom(
            ("count",) + name[1:], _count_loader(info, view, parent, where)
        )
        result = []
        for parent_id in parent_ids:
            group_rows, group_objects = grouped.get(parent_id, ([], []))

            async def count(parent_id: Any = parent_id) -> int:
                return await counter.load(parent_id)

            result.append(
                connection(page, group_rows, group_objects, count, with_edges="edges" in selection)
            )
        return result

    return context.loaders.custom(name, load)


def _count_loader(
    info: Info, view: View, parent: Any, where: Sequence[sa.ColumnElement[bool]]
) -> Any:
    context = info.context

    async def load(parent_ids: list[Any]) -> list[int]:
        statement = (
            sa.select(parent, sa.func.count())
            .where(parent.in_(parent_ids), view.visible(context.scope), view.live(), *where)
            .group_by(parent)
        )
        counts = {row[0]: row[1] for row in await context.reader.rows(statement)}
        return [int(counts.get(p, 0)) for p in parent_ids]

    return load
