"""The collections on the sync wire: their tables, how a record becomes `data`, and who may
see it — as keys (Python) and as an SQL condition (first sync of a scope)."""

from __future__ import annotations

import enum
import functools
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from api.attachments.models import TicketAttachment
from api.auth import visibility
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
BY_TABLE: dict[str, type[SyncedRecord]] = {m.__table__.name: m for m in MODELS}  # type: ignore[attr-defined]

# Never on the wire.
HIDDEN_COLUMNS = frozenset({"password_hash"})


@functools.cache  # asked for every field of every change-log row
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


def _driver_value(column: sa.Column[Any]) -> bool:
    """A column whose SQLAlchemy type converts what the driver returns into a Python value
    that the wire then converts back (an enum's name into a member and back to the name, a
    UUID into uuid.UUID and then str, a UTC time made UTC twice): read as the driver gives it."""
    return isinstance(column.type, (UTCDateTime, sa.Enum, sa.Uuid))


@functools.cache
def wire_select_raw(model: type[SyncedRecord]) -> sa.Select[Any]:
    """wire_select for PostgreSQL, with the driver's own values for the columns
    _driver_value names (UUIDs, the stored enum names) and times formatted for the wire by
    the database; rows of it go through row_data(..., raw=True). Per record of a pull that
    spares ~20 conversions in SQLAlchemy's result processing and as many back in row_data."""
    return _driver_select(model, uuid_text=False)


@functools.cache
def wire_select_text(model: type[SyncedRecord]) -> sa.Select[Any]:
    """wire_select_raw for rows taken straight from asyncpg, past SQLAlchemy's result
    processing (a pull's log page reads its tickets with it: sync/pull.py): the UUIDs too come
    as PostgreSQL's text of them, which is str(uuid.UUID) to the character, so that every
    value is the wire's already but an enum stored by a name other than its value
    (text_row_plan). Only for tables whose other wire columns SQLAlchemy takes as asyncpg
    gives them (a JSON column would come as its text): AssertionError otherwise."""
    return _driver_select(model, uuid_text=True)


def _driver_select(model: type[SyncedRecord], *, uuid_text: bool) -> sa.Select[Any]:
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    wanted: list[Any] = []
    for name, _ in wire_columns(model):
        column = table.c[name]
        if isinstance(column.type, UTCDateTime):
            wanted.append(_instant_sql(column).label(name))
        elif uuid_text and isinstance(column.type, sa.Uuid):
            as_text = sa.cast(sa.type_coerce(column, sa.types.NullType()), sa.Text)
            wanted.append(sa.type_coerce(as_text, sa.types.NullType()).label(name))
        elif _driver_value(column):
            wanted.append(sa.type_coerce(column, sa.types.NullType()).label(name))
        else:
            assert not uuid_text or _as_driver_gives(column), (model, name, column.type)
            wanted.append(column)
    return select(*wanted)


def _as_driver_gives(column: sa.Column[Any]) -> bool:
    """A column whose value SQLAlchemy takes from asyncpg as it comes, and the wire too: no
    result processing, a str, int or bool (text, integers, booleans; not a time, which the
    wire spells its own way, nor JSON, which comes as its text)."""
    dialect = postgresql.asyncpg.dialect()
    processing = column.type.dialect_impl(dialect).result_processor(dialect, None)
    kind = column.type
    base = kind.impl_instance if isinstance(kind, sa.TypeDecorator) else kind
    return processing is None and isinstance(base, (sa.String, sa.Integer, sa.Boolean))


def _instant_sql(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """_instant done by PostgreSQL: datetime.isoformat() of the UTC time, to the character
    (no fraction when the microseconds are 0). A change of a ticket carries sixteen times: a
    1 000-change pull spared as many Python conversions per record. The constants are
    written into the SQL, not bound: three parameters per time column otherwise."""
    # Always with the six digits, then ".000000" dropped: it is there exactly when the
    # microseconds are 0 (one to_char and a replace cost PostgreSQL 40 % less than choosing
    # the layout by the microseconds per value).
    utc = sa.func.timezone(sa.literal_column("'UTC'"), column)
    spelled = sa.func.to_char(utc, sa.literal_column("""'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'"""))
    whole = sa.func.replace(spelled, sa.literal_column("'.000000+'"), sa.literal_column("'+'"))
    return sa.type_coerce(whole, sa.types.NullType())


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


def _raw_converter(column_type: sa.types.TypeEngine[Any]) -> Callable[[Any], Any] | None:
    """_converter for the driver's own value (wire_select_raw)."""
    if isinstance(column_type, sa.Enum):
        names = {m.name: m.value for m in column_type.enum_class or ()}
        if all(name == value for name, value in names.items()):
            return None  # stored by name, sent by value: the same strings
        return lambda value: names.get(value, value)
    if isinstance(column_type, sa.Uuid):
        return str
    if isinstance(column_type, UTCDateTime):
        return None  # formatted by the database (_instant_sql)
    return _converter(column_type)


def _text_converter(column_type: sa.types.TypeEngine[Any]) -> Callable[[Any], Any] | None:
    """_converter for a value of wire_select_text: the UUIDs are text already, and the
    other columns but enums are as they come (wire_select_text checks)."""
    return _raw_converter(column_type) if isinstance(column_type, sa.Enum) else None


RowPlan = tuple[tuple[str, ...], tuple[tuple[int, str, Callable[[Any], Any]], ...]]


@functools.cache
def _row_plan(model: type[SyncedRecord], raw: bool = False, text: bool = False) -> RowPlan:
    """The wire keys in column order, and (position, key, converter) of the columns whose
    values the wire does not carry as they are (``raw``: as the driver returns them;
    ``text``: a row of wire_select_text)."""
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    keys = tuple(key for _, key in wire_columns(model))
    convert_of = _text_converter if text else _raw_converter if raw else _converter
    converted = tuple(
        (index, key, convert)
        for index, (name, key) in enumerate(wire_columns(model))
        if (convert := convert_of(table.c[name].type)) is not None
    )
    return keys, converted


def text_row_plan(model: type[SyncedRecord]) -> RowPlan:
    """_row_plan of a row of wire_select_text(model), for a reader that makes the dicts
    itself (a pull's page: one dict(zip()) per record, then the converted columns)."""
    return _row_plan(model, text=True)


def row_data(
    model: type[SyncedRecord],
    row: Sequence[Any],
    extra: dict[str, Any] | None = None,
    *,
    raw: bool = False,
) -> dict[str, Any]:
    """The same for a Core row of wire_select(model): no ORM instance on the read path
    (tests/test_sync_wire.py holds the two to the same output). The dict is made in one C
    call and only the converted columns are touched in Python: a first sync sends a
    thousand of these per page. ``raw``: a row of wire_select_raw(model)."""
    keys, converted = _row_plan(model, raw)
    data = dict(zip(keys, row, strict=True))
    for index, key, convert in converted:
        value = row[index]
        if value is not None:
            data[key] = convert(value)
    if extra:
        data.update(extra)
    return data


# --- who sees each record now: its keys, derived from the one declaration ---------------------


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


View = tuple[set[str], dict[str, Any]]


async def current_views(
    session: AsyncSession,
    records: Sequence[Any],
    model: type[SyncedRecord] | None = None,
    *,
    raw: bool = False,
) -> dict[uuid.UUID, View]:
    """For each record: its scope keys now and its wire data — batched per kind, O(records).
    `records` are ORM instances, or (with `model`) Core rows of wire_select(model), or of
    wire_select_raw(model) with `raw`."""

    def kind(record: Any) -> type[SyncedRecord]:
        return model or type(record)

    def data(record: Any, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        return row_data(model, record, extra, raw=raw) if model else record_data(record, extra)

    by_kind: dict[type[SyncedRecord], list[Any]] = {}
    for record in records:
        by_kind.setdefault(kind(record), []).append(record)

    def read(s: Session) -> dict[uuid.UUID, View]:
        views: dict[uuid.UUID, View] = {}
        for of, group in by_kind.items():
            grids = member_grid_ids_sync(s, [r.id for r in group]) if of is Member else {}
            found = visibility.keys_of(s.connection(), of, group, served=grids or None)
            for record, keys in zip(group, found, strict=True):
                extra = None
                if of is Member:
                    extra = {"gridIds": [str(g) for g in grids.get(record.id, [])]}
                views[record.id] = (keys, data(record, extra))
        return views

    if not records:
        return {}
    return await session.run_sync(read)


async def current_keys(session: AsyncSession, record: Any) -> set[str]:
    """The scope keys of one record (an ORM instance) now: current_views without the wire
    data, for a check of who may touch it (each pushed edit asks once). A table whose keys
    come from the record's own columns (a ticket) needs no other row: no hop into the
    session's sync side for it."""
    rule = visibility.rule_of(type(record))
    if not rule.via and not rule.served_grids:
        return visibility.record_keys(record)

    def read(s: Session) -> set[str]:
        return visibility.keys_of(s.connection(), type(record), [record])[0]

    return await session.run_sync(read)
