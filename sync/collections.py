"""The collections on the sync wire: their tables, how a record becomes `data`, and who may
see it — as keys (Python) and as an SQL condition (first sync of a scope)."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from api.auth.scope import Scope
from api.enterprises.models import Enterprise
from api.grids.models import Grid
from api.members.models import Member, MemberGrid
from api.notifications.models import Notification
from api.records import SyncedRecord
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

# Never on the wire.
HIDDEN_COLUMNS = frozenset({"password_hash"})


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def columns(model: type[SyncedRecord]) -> list[str]:
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    return [c.name for c in table.columns if c.name not in HIDDEN_COLUMNS]


def wire_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        # One spelling for one instant, whichever door the record came through.
        return value.astimezone(UTC).isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def record_data(record: SyncedRecord, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The whole record as the wire carries it: camelCase keys, JSON values."""
    data = {camel(name): wire_value(getattr(record, name)) for name in columns(type(record))}
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


async def current_views(
    session: AsyncSession, records: Sequence[SyncedRecord]
) -> dict[uuid.UUID, tuple[set[str], dict[str, Any]]]:
    """For each record: its scope keys now and its wire data — batched per kind, O(records)."""
    members = [r.id for r in records if isinstance(r, Member)]
    ticket_ids = {r.ticket_id for r in records if isinstance(r, TicketComment)}
    grids: dict[uuid.UUID, list] = {}
    if members:
        grids = await session.run_sync(lambda s: member_grid_ids_sync(s, members))
    tickets: dict[uuid.UUID, Ticket] = {}
    if ticket_ids:
        rows = await session.scalars(select(Ticket).where(Ticket.id.in_(list(ticket_ids))))
        tickets = {t.id: t for t in rows}
    views: dict[uuid.UUID, tuple[set[str], dict[str, Any]]] = {}
    for record in records:
        if isinstance(record, Member):
            served = grids.get(record.id, [])
            views[record.id] = (
                member_keys(record, served),
                record_data(record, {"gridIds": [str(g) for g in served]}),
            )
        elif isinstance(record, TicketComment):
            views[record.id] = (comment_keys(tickets.get(record.ticket_id)), record_data(record))
        else:
            views[record.id] = (record.scope_keys(), record_data(record))
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
    if model is TicketComment:
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
