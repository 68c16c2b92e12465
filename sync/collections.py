"""The collections on the sync wire: their tables, how a record becomes `data`, and who may
see it — as keys (Python) and as an SQL condition (first sync of a scope)."""

from __future__ import annotations

import enum
import functools
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from api.attachments.models import TicketAttachment
from api.auth.scope import Scope
from api.enterprises.models import Enterprise
from api.grids.models import Grid
from api.members.models import Member, MemberGrid
from api.notifications.models import Notification
from api.records import SyncedRecord, UTCDateTime
from api.stations.models import (
    Attendance,
    CoachingRequest,
    Evaluation,
    Room,
    Station,
    StationActivity,
)
from api.tickets.models import Ticket, TicketComment
from sync.models import SyncConflict

# Wire order of a first sync: what a liaison needs to find its way first.
MODELS: tuple[type[SyncedRecord], ...] = (
    Grid,
    Enterprise,
    Member,
    Ticket,
    TicketComment,
    TicketAttachment,
    Station,
    Room,
    StationActivity,
    Attendance,
    Evaluation,
    CoachingRequest,
    Notification,
    SyncConflict,
)
BY_NAME: dict[str, type[SyncedRecord]] = {m.sync_collection: m for m in MODELS}
# Records seen exactly where their ticket is (their scope keys are their ticket's).
TICKET_CHILD_MODELS: tuple[type[SyncedRecord], ...] = (TicketComment, TicketAttachment)

# Never on the wire.
HIDDEN_COLUMNS = frozenset({"password_hash"})


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


@functools.cache
def wire_columns(model: type[SyncedRecord]) -> tuple[tuple[str, str], ...]:
    """THE mapping of a table's columns to wire names: (column, camelCase key), in table order,
    secrets left out. Every producer of wire data (ORM records, Core rows) goes through it."""
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    return tuple((c.name, camel(c.name)) for c in table.columns if c.name not in HIDDEN_COLUMNS)


def columns(model: type[SyncedRecord]) -> list[str]:
    return [name for name, _ in wire_columns(model)]


@functools.cache
def wire_select(model: type[SyncedRecord]) -> sa.Select[Any]:
    """A Core select of exactly the wire columns, in wire_columns order (see row_data)."""
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    return select(*(table.c[name] for name, _ in wire_columns(model)))


# Values the wire carries as they are; checked by exact type first, as most values are these.
_PLAIN: frozenset[type] = frozenset({str, int, bool, float, type(None), dict, list})


def wire_value(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is uuid.UUID:
        return str(value)
    if isinstance(value, datetime):
        # One spelling for one instant, whichever door the record came through.
        return _instant(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def record_data(record: Any, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The whole record (an ORM instance) as the wire carries it: camelCase keys, JSON values."""
    data = {key: wire_value(getattr(record, name)) for name, key in wire_columns(type(record))}
    if extra:
        data.update(extra)
    return data


# Column types whose values (as the database driver returns them) the wire carries as they are.
_AS_IS: tuple[type, ...] = (sa.String, sa.Integer, sa.Boolean, sa.Float, sa.JSON)


def _converter(column_type: sa.types.TypeEngine[Any]) -> Callable[[Any], Any] | None:
    """wire_value narrowed to what a column of this type holds (None: as it is)."""
    if isinstance(column_type, sa.Enum):
        return lambda value: value.value if isinstance(value, enum.Enum) else value
    if isinstance(column_type, _AS_IS):
        return None
    if isinstance(column_type, sa.Uuid) and column_type.as_uuid:
        return str
    if isinstance(column_type, UTCDateTime):
        return _instant
    return wire_value


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


@functools.cache
def _row_plan(model: type[SyncedRecord]) -> tuple[tuple[str, Callable[[Any], Any] | None], ...]:
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    return tuple((key, _converter(table.c[name].type)) for name, key in wire_columns(model))


def row_data(
    model: type[SyncedRecord], row: Sequence[Any], extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The same for a Core row of wire_select(model): no ORM instance on the read path
    (tests/test_sync_wire.py holds the two to the same output)."""
    data = {
        key: value if convert is None or value is None else convert(value)
        for (key, convert), value in zip(_row_plan(model), row, strict=True)
    }
    if extra:
        data.update(extra)
    return data


# --- scope keys beyond what a row knows of itself ------------------------------------------


def member_grid_ids_sync(
    session: Session, member_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list]:
    rows = session.connection().execute(
        select(MemberGrid.member_id, MemberGrid.grid_id).where(
            MemberGrid.member_id.in_(list(member_ids))
        )
    )
    found: dict[uuid.UUID, list[uuid.UUID]] = {m: [] for m in member_ids}
    for member_id, grid_id in rows:
        found[member_id].append(grid_id)
    for grids in found.values():
        grids.sort(key=str)
    return found


def member_keys(member: Any, grid_ids: Iterable[uuid.UUID]) -> set[str]:
    return Member.scope_keys(member) | {f"grid:{g}" for g in grid_ids}


def comment_keys(ticket: Any | None) -> set[str]:
    # A comment is seen by whoever sees its ticket.
    return Ticket.scope_keys(ticket) if ticket is not None else {"all"}


def ticket_keys_sync(
    session: Session, ticket_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, set[str]]:
    """The keys of each ticket's comments: only the columns Ticket.scope_keys reads."""
    ids = list(ticket_ids)
    if not ids:
        return {}
    rows = session.connection().execute(
        select(Ticket.id, Ticket.grid_id, Ticket.assignee_id, Ticket.reporter_id).where(
            Ticket.id.in_(ids)
        )
    )
    return {row.id: comment_keys(row) for row in rows}


View = tuple[set[str], dict[str, Any]]


async def current_views(
    session: AsyncSession, records: Sequence[Any], model: type[SyncedRecord] | None = None
) -> dict[uuid.UUID, View]:
    """For each record: its scope keys now and its wire data — batched per kind, O(records).
    `records` are ORM instances, or (with `model`) Core rows of wire_select(model)."""

    def kind(record: Any) -> type[SyncedRecord]:
        return model or type(record)

    def data(record: Any, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        return row_data(model, record, extra) if model else record_data(record, extra)

    members = [r.id for r in records if kind(r) is Member]
    ticket_ids = {r.ticket_id for r in records if kind(r) in TICKET_CHILD_MODELS}
    grids: dict[uuid.UUID, list] = {}
    if members:
        grids = await session.run_sync(lambda s: member_grid_ids_sync(s, members))
    tickets: dict[uuid.UUID, set[str]] = {}
    if ticket_ids:
        tickets = await session.run_sync(lambda s: ticket_keys_sync(s, ticket_ids))
    views: dict[uuid.UUID, View] = {}
    for record in records:
        of = kind(record)
        if of is Member:
            served = grids.get(record.id, [])
            views[record.id] = (
                member_keys(record, served),
                data(record, {"gridIds": [str(g) for g in served]}),
            )
        elif of in TICKET_CHILD_MODELS:
            views[record.id] = (tickets.get(record.ticket_id, {"all"}), data(record))
        else:
            views[record.id] = (of.scope_keys(record), data(record))
    return views


# --- the same visibility as an SQL condition, for the first sync of a scope ---------------


def _in(column: Any, ids: Iterable[uuid.UUID]) -> sa.ColumnElement[bool]:
    values = list(ids)
    return column.in_(values) if values else sa.false()


def _is(column: Any, value: uuid.UUID | None) -> sa.ColumnElement[bool]:
    return column == value if value is not None else sa.false()


def ticket_clause(scope: Scope) -> sa.ColumnElement[bool]:
    return sa.or_(
        _in(Ticket.grid_id, scope.grid_ids),
        _is(Ticket.assignee_id, scope.member_id),
        _is(Ticket.reporter_id, scope.member_id),
    )


def scope_clause(model: type[SyncedRecord], scope: Scope) -> sa.ColumnElement[bool]:
    """Rows of `model` the scope sees; must agree with scope.sees_keys(<keys of the row>)
    (tests/test_sync_scope.py checks the two against each other)."""
    if scope.everything:
        return sa.true()
    grids, stations, me = scope.grid_ids, scope.station_ids, scope.member_id
    m: Any = model
    if model is Grid:
        return sa.or_(_in(m.id, grids), _in(m.parent_id, grids), _in(m.town_id, grids))
    if model is Enterprise:
        return sa.or_(_in(m.grid_id, grids), _in(m.town_id, grids))
    if model is Member:
        served = select(MemberGrid.member_id).where(_in(MemberGrid.grid_id, grids))
        return sa.or_(_is(m.id, me), m.id.in_(served))
    if model is Ticket:
        return ticket_clause(scope)
    if model in TICKET_CHILD_MODELS:
        return m.ticket_id.in_(select(Ticket.id).where(ticket_clause(scope)))
    if model is Station:
        return sa.or_(_in(m.id, stations), _in(m.grid_id, grids))
    if model in (Room, StationActivity, Attendance, CoachingRequest):
        return _in(m.station_id, stations)
    if model is Evaluation:
        return sa.or_(_is(m.chair_id, me), _is(m.evaluator_id, me), _in(m.station_id, stations))
    if model in (Notification, SyncConflict):
        column = m.recipient_id if model is Notification else m.member_id
        return _is(column, me)
    raise AssertionError(f"no scope clause for {model.__name__}")
