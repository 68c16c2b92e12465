"""Relay connections with keyset cursors.

A cursor is opaque to clients: base64 of JSON ``[order, sort value, id]``. Paging adds
``(sort, id) > (value, id)`` (or ``<``) to the WHERE clause and reads one row more than asked to
learn whether there is a next page, so a page costs the same at row 10 and row 100 000 and
never skips or repeats a row when others are inserted meanwhile. ``totalCount`` runs a COUNT
only when the query selects it."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
import strawberry

from api.errors import DomainError, invalid
from api.i18n import _
from schema.arguments import storable
from schema.errors import query_error

NodeT = TypeVar("NodeT")
# A page's size when neither first nor last is given (at most the cap).
DEFAULT_PAGE_SIZE = 20


@strawberry.enum(description="Sort direction.")
class OrderDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.type(description="Where a page lies in the whole list (Relay).")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(description="One item of a page, with the cursor to continue after it.")
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type(description="A page of a list (Relay connection).")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    nodes: list[NodeT] = strawberry.field(description="The page's items, without cursors.")
    page_info: PageInfo

    @strawberry.field(description="How many items the whole list has (counted when asked for).")
    async def total_count(self) -> int:
        return await self._count()  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SortKey:
    """A sort order: its name in cursors and the SQL expression sorted on (with id last)."""

    name: str
    expression: sa.ColumnElement[Any]
    kind: type = str


@dataclass(frozen=True)
class PageArgs:
    first: int | None
    after: str | None
    last: int | None
    before: str | None


def page_args(
    first: int | None, after: str | None, last: int | None, before: str | None, maximum: int
) -> PageArgs:
    """Check the Relay arguments; the page size is capped by settings.max_page_size."""
    if first is not None and last is not None:
        raise query_error(invalid("first", _("give first or last, not both")))
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= maximum:
            raise query_error(
                DomainError(
                    "PAGE_SIZE_EXCEEDED",
                    _("{name} must be between 0 and {maximum}", name=name, maximum=maximum),
                    name,
                )
            )
    if first is None and last is None:
        first = min(DEFAULT_PAGE_SIZE, maximum)
    return PageArgs(first, after, last, before)


def encode_cursor(order: str, value: Any, record_id: uuid.UUID) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    elif isinstance(value, Enum):
        value = value.value
    raw = json.dumps([order, value, str(record_id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str, key: SortKey, field: str) -> tuple[Any, uuid.UUID]:
    """The sort value and id of a cursor. A cursor is the client's to send back, so anything
    may come: every part is checked for the type its order sorts on before it reaches SQL."""
    try:
        order, value, raw_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(raw_id, str):
            raise TypeError(raw_id)
        record_id = uuid.UUID(raw_id)
        value = _sort_value(value, key.kind)
    except (ValueError, TypeError, OverflowError, binascii.Error) as error:
        raise query_error(invalid(field, _("the cursor is not one this API gave out"))) from error
    if order != key.name:
        raise query_error(
            invalid(field, _("the cursor belongs to another order; page with the same orderBy"))
        )
    return value, record_id


def _sort_value(value: Any, kind: type) -> Any:
    """A cursor's sort value as the column's type: an aware time (in UTC), a 64-bit whole
    number, or text PostgreSQL can store; ValueError/TypeError/OverflowError otherwise."""
    if value is None:
        return None
    if kind is datetime:
        if not isinstance(value, str):
            raise TypeError(value)
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("a time without offset")
        return parsed.astimezone(UTC)
    if kind is int:
        if not isinstance(value, int) or isinstance(value, bool) or not -(2**63) <= value < 2**63:
            raise TypeError(value)
        return value
    if not isinstance(value, str) or not storable(value):
        raise TypeError(value)
    return value


def _after(
    key: SortKey, id_column: Any, value: Any, record_id: uuid.UUID, ascending: bool
) -> sa.ColumnElement[bool]:
    left = sa.tuple_(key.expression, id_column)
    right = sa.tuple_(
        sa.literal(value, type_=key.expression.type), sa.literal(record_id, type_=id_column.type)
    )
    return left > right if ascending else left < right


@dataclass
class Page:
    """The SELECT of one page and how to turn its rows into a connection."""

    statement: sa.Select[Any]
    reverse: bool
    size: int
    args: PageArgs
    key: SortKey


def paginate(
    statement: sa.Select[Any],
    *,
    key: SortKey,
    id_column: Any,
    ascending: bool,
    args: PageArgs,
) -> Page:
    """Add order, cursor condition and limit; the sort value is the statement's last column."""
    reverse = args.last is not None
    forward = ascending != reverse
    if args.after is not None:
        value, record_id = decode_cursor(args.after, key, "after")
        statement = statement.where(_after(key, id_column, value, record_id, ascending))
    if args.before is not None:
        value, record_id = decode_cursor(args.before, key, "before")
        statement = statement.where(_after(key, id_column, value, record_id, not ascending))
    order = (
        (key.expression.asc(), id_column.asc())
        if forward
        else (key.expression.desc(), id_column.desc())
    )
    size = args.last if reverse else args.first
    assert size is not None
    statement = statement.order_by(*order).limit(size + 1)
    return Page(statement, reverse, size, args, key)


def connection(
    page: Page,
    rows: Sequence[Any],
    objects: list[Any],
    count: Callable[[], Awaitable[int]],
    *,
    with_edges: bool = True,
) -> Connection[Any]:
    """The connection of a page; ``rows[i][-1]`` is the sort value of ``objects[i]``. Edges
    (a cursor per row) are only made when the query selects them."""
    more = len(objects) > page.size
    pairs = list(zip(rows[: page.size], objects[: page.size], strict=False))
    if page.reverse:
        pairs.reverse()
    key_name = page.key.name
    edges = []
    new = object.__new__
    if with_edges:
        for row, obj in pairs:
            edge = new(Edge)
            edge.__dict__.update(cursor=encode_cursor(key_name, row[-1], obj.id), node=obj)
            edges.append(edge)
    first = encode_cursor(key_name, pairs[0][0][-1], pairs[0][1].id) if pairs else None
    last = encode_cursor(key_name, pairs[-1][0][-1], pairs[-1][1].id) if pairs else None
    info = PageInfo(
        has_next_page=more if not page.reverse else page.args.before is not None,
        has_previous_page=more if page.reverse else page.args.after is not None,
        start_cursor=first,
        end_cursor=last,
    )
    result = new(Connection)
    result.__dict__.update(
        edges=edges, nodes=[obj for _key, obj in pairs], page_info=info, _count=count
    )
    return result
