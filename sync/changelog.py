"""The change log: every change to a syncable record gets a row (and its scope keys) in the
same transaction, written by a session hook — so every write path (GraphQL, sync push, CLI,
worker) is logged without the domain knowing about sync. Records flushed from the session are
logged after the flush; rows written by an ORM bulk INSERT (``session.execute(insert(Model),
rows)``: an import's thousands of rows at a time) are logged after the statement.

Installed with the other session hooks by api/edge/session_hooks.py (the app factory, the CLI
and the worker call its install() at start)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import insert, inspect, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from api.auth import visibility
from api.members.models import Member, MemberGrid
from api.records import SyncedRecord, utcnow
from sync.collections import BY_TABLE, camel, columns
from sync.models import ChangeKey, ChangeRow

_TXID = "sync_txid"
# session.info key naming the sync client on whose behalf the session writes (sync.push).
ORIGIN = "sync_origin"
# session.info key: a function giving each record of a flush the place of the mutation that
# wrote it, when one flush writes several mutations (sync.push writes a run at once). The
# log rows then follow those places, each mutation's new records before its changed ones,
# as they would have had each mutation its own flush (the session's dirty set has no order).
LOG_ORDER = "sync_log_order"
# Bookkeeping columns: they change with every write and mean nothing to a merge.
_NOT_FIELDS = frozenset({"version", "updated_at", "created_at"})


@dataclass
class _Entry:
    record: SyncedRecord
    version: int
    deleted: bool
    keys_after: set[str]
    keys_before: set[str]
    fields: list[str] = field(default_factory=list)
    # The record before this flush (dirty records only).
    old: SimpleNamespace | None = None
    # The table, when ``record`` is a row of it and not an instance (bulk inserts).
    model: type[SyncedRecord] | None = None


def _old_state(record: SyncedRecord) -> tuple[SimpleNamespace, list[str]]:
    """The record as it was before this flush, and which columns changed."""
    state = inspect(record)
    old: dict[str, Any] = {}
    changed: list[str] = []
    for name in columns(type(record)):
        history = state.attrs[name].history
        if history.has_changes():
            old[name] = history.deleted[0] if history.deleted else None
            if name not in _NOT_FIELDS:
                changed.append(name)
        else:
            old[name] = getattr(record, name)
    return SimpleNamespace(**old), changed


def _txid(session: Session) -> int:
    """The writing transaction's id on PostgreSQL (0 on SQLite), fetched once per transaction."""
    if _TXID not in session.info:
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            session.info[_TXID] = connection.execute(
                sa.text("SELECT pg_current_xact_id()::text::bigint")
            ).scalar_one()
        else:
            session.info[_TXID] = 0
    return session.info[_TXID]


def new_transaction(session: Session, transaction: SessionTransaction, _conn: Any) -> None:
    # A savepoint is part of the same database transaction (same txid): a push of 500
    # mutations in 500 savepoints asks once, not 500 times.
    if not transaction.nested:
        session.info.pop(_TXID, None)


def grids_served_change_the_member(session: Session, _context: Any, _instances: Any) -> None:
    """A member's scope keys include the grids it serves (member_grid): a change there is a
    change of the member, so it gets a new version and a log row like any other."""
    touched = {
        link.member_id for link in (*session.new, *session.deleted) if isinstance(link, MemberGrid)
    }
    if not touched:
        return
    # The grids served before this flush, read while the database still holds them: a grid
    # that is left is in the member's keys before, so phones of that grid see it go.
    before = session.info.setdefault("sync_grids_before", {})
    for member_id, grid_id in session.connection().execute(
        select(MemberGrid.member_id, MemberGrid.grid_id).where(
            MemberGrid.member_id.in_(list(touched))
        )
    ):
        before.setdefault(member_id, []).append(grid_id)
    with session.no_autoflush:
        for member_id in touched:
            before.setdefault(member_id, [])
            member = session.get(Member, member_id)
            if member is None or member in session.new:
                continue
            if not session.is_modified(member, include_collections=False):
                member.version = (member.version or 0) + 1
                member.updated_at = utcnow()
            session.info.setdefault("sync_grids_changed", set()).add(member_id)


def log_changes(session: Session, _context: Any) -> None:
    entries: list[_Entry] = []
    grids_changed: set[uuid.UUID] = session.info.pop("sync_grids_changed", set())
    grids_before: dict[uuid.UUID, list[uuid.UUID]] = session.info.pop("sync_grids_before", {})
    for record in session.new:
        if isinstance(record, SyncedRecord):
            names = [n for n in columns(type(record)) if n not in _NOT_FIELDS]
            entries.append(_Entry(record, record.version, record.deleted, set(), set(), names))
    for record in session.dirty:
        if not isinstance(record, SyncedRecord) or not session.is_modified(
            record, include_collections=False
        ):
            continue
        old, changed = _old_state(record)
        if record.id in grids_changed:
            changed.append("grid_ids")
        entries.append(_Entry(record, record.version, record.deleted, set(), set(), changed, old))
    gone = []
    for record in session.deleted:
        if isinstance(record, SyncedRecord):
            gone.append(_Entry(record, record.version + 1, True, set(), set(), []))
    entries.extend(gone)
    if not entries:
        return
    if (place := session.info.get(LOG_ORDER)) is not None:
        entries.sort(key=lambda entry: place(entry.record))  # stable: new before changed
    _complete_keys(session, entries, {id(e) for e in gone}, grids_before)
    _write(session, entries)


# An execution option that leaves an ORM bulk INSERT out of the log (seeding a bench database).
UNLOGGED = "sync_unlogged"


def log_bulk_inserts(state: ORMExecuteState) -> Any:
    """A do_orm_execute hook (sync/session_hooks.py): logs the rows of an ORM bulk INSERT."""
    mapper = state.bind_mapper
    model = mapper.class_ if mapper is not None else None
    if (
        not state.is_insert
        or model is None
        or not issubclass(model, SyncedRecord)
        or state.execution_options.get(UNLOGGED)
    ):
        return None
    rows = state.parameters
    rows = [rows] if isinstance(rows, dict) else list(rows or ())
    if not rows:
        return None
    result = state.invoke_statement()
    session = state.session
    names = [n for n in columns(model) if n not in _NOT_FIELDS]
    entries = [
        _Entry(
            SimpleNamespace(**row, sync_collection=model.sync_collection),  # type: ignore[arg-type]
            row.get("version", 1),
            row.get("deleted_at") is not None,
            set(),
            set(),
            names,
            model=model,
        )
        for row in rows
    ]
    _complete_keys(session, entries, set(), {})
    _write(session, entries)
    return result


def _complete_keys(
    session: Session,
    entries: list[_Entry],
    gone: set[int],
    grids_before: dict[uuid.UUID, list[uuid.UUID]],
) -> None:
    """Each entry's keys before and after (api.auth.visibility.keys_of, batched per table);
    when a record's keys change, the records seen through it (a ticket's comments, an
    enterprise's staff) move with it."""
    connection = session.connection()
    by_model: dict[type[SyncedRecord], list[_Entry]] = {}
    for entry in entries:
        by_model.setdefault(entry.model or type(entry.record), []).append(entry)
    moved: list[tuple[type[SyncedRecord], _Entry]] = []
    for model, group in by_model.items():
        now = [e for e in group if id(e) not in gone]
        found = visibility.keys_of(connection, model, [e.record for e in now])
        for entry, keys in zip(now, found, strict=True):
            entry.keys_after = keys
        # What was seen before: the old values (and grids served) of a changed record, the
        # record itself when deleted.
        before = [e for e in group if e.old is not None or id(e) in gone]
        olds = [e.old if e.old is not None else e.record for e in before]
        served = {
            e.record.id: grids_before[e.record.id] for e in before if e.record.id in grids_before
        }
        found = visibility.keys_of(connection, model, olds, served=served)
        for entry, keys in zip(before, found, strict=True):
            entry.keys_before = keys
            if entry.old is not None and entry.keys_before != entry.keys_after:
                moved.append((model, entry))
    for model, entry in moved:
        _move_children(session, model, entry, entries)


def _move_children(
    session: Session, model: type[SyncedRecord], entry: _Entry, entries: list[_Entry]
) -> None:
    """The records seen through ``entry``'s record get a log row with its keys before/after."""
    parent = visibility.table_name(model)
    county = visibility.county_key(visibility.rule_of(parent).county)
    reach_before = entry.keys_before - {county}
    reach_after = entry.keys_after - {county}
    connection = session.connection()
    logged = {(type(e.record), e.record.id) for e in entries}
    for child, via in visibility.children_of(parent):
        child_model = BY_TABLE.get(child)
        if child_model is None:
            continue  # not on the sync wire
        table: Any = child_model.__table__  # type: ignore[attr-defined]
        rows = connection.execute(select(table).where(table.c[via.column] == entry.record.id)).all()
        rows = [r for r in rows if (child_model, r.id) not in logged]
        keys = visibility.keys_of(connection, child_model, rows)
        for row, after in zip(rows, keys, strict=True):
            before = (after - reach_after) | reach_before
            stand_in = SimpleNamespace(id=row.id, sync_collection=child_model.sync_collection)
            entries.append(
                _Entry(stand_in, row.version, row.deleted_at is not None, after, before, [])  # type: ignore[arg-type]
            )


def _write(session: Session, entries: list[_Entry]) -> None:
    txid = _txid(session)
    now = utcnow()
    table = ChangeRow.__table__  # type: ignore[attr-defined]
    params = [
        {
            "txid": txid,
            "collection": _collection(entry.record),
            "record_id": entry.record.id,
            "version": entry.version,
            "deleted": entry.deleted,
            "keys_after": sorted(entry.keys_after),
            "keys_before": sorted(entry.keys_before),
            "fields": [camel(n) for n in entry.fields],
            "client_id": session.info.get(ORIGIN),
            "at": now,
        }
        for entry in entries
    ]
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_WRITE_PG, _as_arrays(params, txid, session.info.get(ORIGIN), now))
        return
    result = connection.execute(
        insert(table).returning(table.c.seq, sort_by_parameter_order=True), params
    )
    keys = []
    for seq, entry in zip(result.scalars(), entries, strict=True):
        keys.extend(
            {"key": key, "txid": txid, "seq": seq} for key in entry.keys_after | entry.keys_before
        )
    if keys:
        connection.execute(insert(ChangeKey.__table__), keys)  # type: ignore[attr-defined]


# On PostgreSQL the log rows and their keys go in one statement (one round trip per flush,
# the same text whatever the number of rows: prepared once per connection). Each row's keys
# are read back from the row itself (keys after and before, once each); rows get their seq
# in the order given.
_WRITE_PG = sa.text(
    """
    WITH c AS (
        INSERT INTO sync_change (txid, collection, record_id, version, deleted, keys_after,
            keys_before, fields, client_id, at)
        SELECT :txid, u.collection, u.record_id, u.version, u.deleted, u.keys_after::json,
            u.keys_before::json, u.fields::json, :client_id, :at
        FROM unnest(:collections, :record_ids, :versions, :deleted, :keys_after, :keys_before,
            :fields) WITH ORDINALITY
            AS u(collection, record_id, version, deleted, keys_after, keys_before, fields, n)
        ORDER BY u.n
        RETURNING txid, seq, keys_after, keys_before
    )
    INSERT INTO sync_change_key (key, txid, seq)
    SELECT k.key, c.txid, c.seq FROM c, LATERAL (
        SELECT json_array_elements_text(c.keys_after)
        UNION SELECT json_array_elements_text(c.keys_before)
    ) AS k(key)
    """
).bindparams(
    sa.bindparam("txid", type_=sa.BigInteger()),
    sa.bindparam("client_id", type_=sa.String()),
    sa.bindparam("at", type_=sa.DateTime(timezone=True)),
    sa.bindparam("collections", type_=postgresql.ARRAY(sa.String())),
    sa.bindparam("record_ids", type_=postgresql.ARRAY(sa.Uuid())),
    sa.bindparam("versions", type_=postgresql.ARRAY(sa.Integer())),
    sa.bindparam("deleted", type_=postgresql.ARRAY(sa.Boolean())),
    sa.bindparam("keys_after", type_=postgresql.ARRAY(sa.String())),
    sa.bindparam("keys_before", type_=postgresql.ARRAY(sa.String())),
    sa.bindparam("fields", type_=postgresql.ARRAY(sa.String())),
)


def _as_arrays(
    params: list[dict[str, Any]], txid: int, client_id: str | None, at: Any
) -> dict[str, Any]:
    def text(name: str) -> list[str]:
        return [orjson.dumps(p[name]).decode() for p in params]

    return {
        "txid": txid,
        "client_id": client_id,
        "at": at,
        "collections": [p["collection"] for p in params],
        "record_ids": [p["record_id"] for p in params],
        "versions": [p["version"] for p in params],
        "deleted": [p["deleted"] for p in params],
        "keys_after": text("keys_after"),
        "keys_before": text("keys_before"),
        "fields": text("fields"),
    }


def _collection(record: Any) -> str:
    return record.sync_collection
