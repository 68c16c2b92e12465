"""syncPull: the changes in a caller's scope after its checkpoint, oldest first, in pages."""

from __future__ import annotations

import contextlib
import functools
import operator
import uuid
import warnings
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import SAWarning
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from api.auth import visibility
from api.auth.scope import Scope
from api.db import DRIVER_LISTENERS
from api.records import SyncedRecord
from api.tickets.models import Ticket
from sync.checkpoint import BadCheckpoint, Checkpoint, scope_fingerprint
from sync.collections import (
    BY_NAME,
    MODELS,
    View,
    current_views,
    text_row_plan,
    wire_columns,
    wire_select,
    wire_select_raw,
    wire_select_text,
)
from sync.models import ChangeKey, ChangeRow, SyncState

MAX_LIMIT = 1000
HORIZON = "horizon"
# The oldest transaction still running at this snapshot — leaving out those positively seen
# running in another database of the server: they cannot write our log, and a long one there
# (a report, a migration of another app) must not hold every phone's pull back. A transaction
# that has finished since the snapshot is not in pg_stat_activity, so it is kept: the bound
# can only be lower than needed, never higher.
_BOUND = """
    WITH snap AS (SELECT pg_current_snapshot() AS s),
    elsewhere AS (
        SELECT backend_xid::text::bigint AS xid32 FROM pg_stat_activity
        WHERE backend_xid IS NOT NULL AND datname <> current_database()
    )
    SELECT coalesce(
        (SELECT min(x::text::bigint) FROM snap, pg_snapshot_xip(snap.s) AS x
         WHERE x::text::bigint % 4294967296 NOT IN (SELECT xid32 FROM elsewhere)),
        (SELECT pg_snapshot_xmax(s)::text::bigint FROM snap)
    )
"""


@dataclass
class PullPage:
    changes: list[dict[str, Any]]
    checkpoint: str
    has_more: bool
    reset_required: bool


async def log_bound(session: AsyncSession) -> int | None:
    """On PostgreSQL, the oldest transaction still running: every change row below it is
    committed for good, and every future row lies above it. None on SQLite (one writer)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    return await session.scalar(sa.text(_BOUND))


@dataclass(frozen=True)
class LogState:
    horizon: tuple[int, int]  # the log is pruned up to here
    bound: int | None  # see log_bound


async def log_state(session: AsyncSession) -> LogState:
    """The pruning horizon and the log bound in one round trip (a pull's fixed cost)."""
    columns: list[Any] = [
        select(SyncState.txid).where(SyncState.name == HORIZON).scalar_subquery(),
        select(SyncState.seq).where(SyncState.name == HORIZON).scalar_subquery(),
    ]
    if session.get_bind().dialect.name == "postgresql":
        columns.append(sa.literal_column(f"({_BOUND})"))
    row = (await session.execute(select(*columns))).one()
    horizon = (row[0], row[1]) if row[0] is not None else (0, 0)
    return LogState(horizon, row[2] if len(row) > 2 else None)


async def log_head(session: AsyncSession) -> tuple[int, int]:
    """Where a first sync continues once its snapshot is sent: every change before this
    position is in the records the snapshot reads."""
    state = await log_state(session)
    if state.bound is not None:
        head = (state.bound, 0)
    else:
        head = (0, await session.scalar(select(sa.func.coalesce(sa.func.max(ChangeRow.seq), 0))))
    return max(head, state.horizon)


async def horizon(session: AsyncSession) -> tuple[int, int]:
    return (await log_state(session)).horizon


async def _one_snapshot(session: AsyncSession) -> None:
    """On PostgreSQL a page is read in one snapshot (REPEATABLE READ; the pull only reads, so
    it never waits or fails for it): the log positions and the records they point at then
    agree — a record committed again between two statements is not sent at an old position
    with its new version and then again at the new one. Takes effect when pull() opens the
    transaction's connection, as syncPull does."""
    if session.get_bind().dialect.name != "postgresql":
        return
    with warnings.catch_warnings():
        # Already connected (a caller that read first): that transaction's level stands.
        warnings.simplefilter("ignore", SAWarning)
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def _reset(scope: Scope) -> PullPage:
    return PullPage([], "", False, True)


async def pull(
    session: AsyncSession, *, scope: Scope, checkpoint: str | None, limit: int
) -> PullPage:
    limit = max(1, min(limit, MAX_LIMIT))
    fingerprint = scope_fingerprint(scope)
    if checkpoint is None:
        await _one_snapshot(session)
        txid, seq = await log_head(session)
        start = Checkpoint(txid, seq, fingerprint, 0, None)
        return await _snapshot_page(session, scope, start, limit)
    try:
        position = Checkpoint.decode(checkpoint)
    except BadCheckpoint:
        return _reset(scope)
    if position.scope != fingerprint:
        return _reset(scope)
    if not position.in_snapshot and session.get_bind().dialect.name == "postgresql":
        async with _page_transaction(session) as connection:
            return await _log_page_pg(connection, session, scope, position, limit)
    await _one_snapshot(session)
    state = await log_state(session)
    if (position.txid, position.seq) < state.horizon:
        return _reset(scope)
    if position.in_snapshot:
        return await _snapshot_page(session, scope, position, limit)
    return await _log_page(session, scope, position, limit, state.bound)


# --- log phase ------------------------------------------------------------------------------


def among(session: AsyncSession, column: Any, values: Sequence[Any]) -> sa.ColumnElement[bool]:
    """``column IN values`` for a page's worth of ids. On PostgreSQL one array parameter
    (``= ANY($1)``): the statement's text is the same for every page, so asyncpg prepares it
    once per connection, instead of rendering, preparing and planning a statement of up to
    1 000 parameters on every pull."""
    if session.get_bind().dialect.name == "postgresql":
        return column == sa.any_(
            sa.bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        )
    return column.in_(list(values))


def positions_query(scope: Scope, position: Checkpoint, bound: int | None, limit: int) -> Any:
    """The next `limit` + 1 settled log positions in the caller's scope, with what changed —
    O(limit) index reads whatever the size of the log or how far behind the caller is.

    It reads sync_change_key once per key of the scope, each an ordered range of the primary key
    (key, txid, seq) stopped after `limit` + 1, and merges those: a single `key IN (...)`
    range cannot be read in (txid, seq) order, so the database would read and sort every
    change after the checkpoint before applying the limit (a phone a month behind would
    pay for the whole month on every page)."""
    after = (position.txid, position.seq)
    wanted = [ChangeRow.txid, ChangeRow.seq, ChangeRow.collection, ChangeRow.record_id]
    # A county-wide scope too: "all" is not every row (a notification is its recipient's).
    keys = sorted(scope.keys())
    if not keys:
        return select(*wanted).where(sa.false())
    branches = []
    for key in keys:
        where = [ChangeKey.key == key, sa.tuple_(ChangeKey.txid, ChangeKey.seq) > sa.tuple_(*after)]
        if bound is not None:
            where.append(ChangeKey.txid < bound)
        branch = (
            select(ChangeKey.txid, ChangeKey.seq)
            .where(*where)
            .order_by(ChangeKey.txid, ChangeKey.seq)
            .limit(limit + 1)
            .subquery()
        )
        # Wrapped, as SQLite takes no ORDER BY/LIMIT inside a UNION member.
        branches.append(select(branch.c.txid, branch.c.seq))
    merged = sa.union_all(*branches).subquery() if len(branches) > 1 else branches[0].subquery()
    found = (
        select(merged.c.txid, merged.c.seq)
        .distinct()
        .order_by(merged.c.txid, merged.c.seq)
        .limit(limit + 1)
        .subquery()
    )
    return (
        select(*wanted)
        .join(found, ChangeRow.seq == found.c.seq)
        .order_by(ChangeRow.txid, ChangeRow.seq)
    )


# A page whose positions were all superseded later in the log is refilled from further on,
# at most this many times (then it is sent short, with hasMore).
_REFILLS = 8


async def _log_page(
    session: AsyncSession, scope: Scope, position: Checkpoint, limit: int, bound: int | None
) -> PullPage:
    connection = await session.connection()
    changes: list[dict[str, Any]] = []
    at = position
    has_more = False
    for _ in range(_REFILLS):
        want = limit - len(changes)
        query = positions_query(scope, at, bound, want)
        found = (await connection.execute(query)).all()
        has_more = len(found) > want
        found = found[:want]
        if not found:
            break
        latest = await _latest_positions(session, scope, found)
        # A record is sent at its last position in the caller's log only: an earlier one
        # would send the same (record, version) twice (its data is the current record).
        fresh = [r for r in found if latest[r.record_id] == (r.txid, r.seq)]
        changes += await _current(session, scope, [(r.collection, r.record_id) for r in fresh])
        at = Checkpoint(found[-1].txid, found[-1].seq, position.scope)
        if len(changes) >= limit or not has_more:
            break
    if not has_more and bound is not None:
        # Committed changes held back behind a transaction still running: pull again soon.
        held = select(ChangeKey.seq).where(
            sa.tuple_(ChangeKey.txid, ChangeKey.seq) > sa.tuple_(at.txid, at.seq),
            ChangeKey.txid >= bound,
            ChangeKey.key.in_(sorted(scope.keys())),
        )
        has_more = (await session.scalar(held.limit(1))) is not None
    return PullPage(changes, at.encode(), has_more, False)


# The collection whose records a PostgreSQL log page reads in its own statement (the
# commonest on a phone, and one whose keys need no other row: visibility.record_keys). The
# other collections' records are read after the page, by _current.
_JOINED: type[SyncedRecord] = Ticket


def _joined_sql(model: type[SyncedRecord]) -> str:
    """The current record of a fresh position of `model`'s collection, as wire_select_text
    gives it (a LATERAL subquery of the page below; no row for other positions)."""
    rule = visibility.rule_of(model)
    assert not rule.via and not rule.served_grids, "its keys must come from its own columns"
    compiled = wire_select_text(model).compile(dialect=postgresql.dialect())
    assert not compiled.params, compiled.params  # constants only: the page's text stays fixed
    table = model.__table__.name  # type: ignore[attr-defined]
    where = (
        f" WHERE page.fresh AND page.collection = '{model.sync_collection}'"
        f" AND {table}.id = page.record_id"
    )
    # Its colons are the SQL's own (times' layouts, casts), not parameters of the text below.
    return (str(compiled) + where).replace(":", "\\:")


# PostgreSQL: a log page in one statement — the pruning horizon and the log bound
# (log_state), the next positions of each scope key merged (positions_query), whether each is
# its record's last position the caller reads (_latest_positions: a later row with one of the
# caller's keys, committed past the bound or not), whether committed changes wait behind the
# bound (_log_page), and the current record of each fresh ticket (_JOINED), its columns first.
# The same rules as the general path, which SQLite runs; tests/test_sync_*.py run both. One
# round trip instead of three or four: a phone's pull of a few changes costs little more than
# the changes themselves. The page's positions are ordered before the tickets are joined and
# always end in a row of their own (no position; the horizon and `held` come on every row,
# so an empty page still has them): the final ORDER BY is then met by the order of the
# positions, where sorting the joined rows (forty columns each) took ~0.9 ms of 6.8 for a
# page of 1000 (EXPLAIN ANALYZE, generic plan).
_PAGE_PG = sa.text(
    f"""
    WITH st AS (
        SELECT (SELECT txid FROM sync_state WHERE name = :horizon) AS htx,
            (SELECT seq FROM sync_state WHERE name = :horizon) AS hseq,
            ({_BOUND}) AS bound
    ),
    found AS (
        SELECT DISTINCT p.txid, p.seq
        FROM st, unnest(CAST(:keys AS text[])) AS k(key)
        CROSS JOIN LATERAL (
            SELECT ck.txid, ck.seq FROM sync_change_key AS ck
            WHERE ck.key = k.key AND (ck.txid, ck.seq) > (:txid, :seq) AND ck.txid < st.bound
            ORDER BY ck.txid, ck.seq LIMIT :wanted
        ) AS p
        ORDER BY p.txid, p.seq LIMIT :wanted
    ),
    page AS (
        SELECT c.txid, c.seq, c.collection, c.record_id,
            NOT EXISTS (
                SELECT 1 FROM sync_change AS later
                WHERE later.record_id = c.record_id AND (later.txid, later.seq) > (c.txid, c.seq)
                    AND (jsonb_exists_any(later.keys_after::jsonb, CAST(:keys AS text[]))
                        OR jsonb_exists_any(later.keys_before::jsonb, CAST(:keys AS text[])))
            ) AS fresh
        FROM found JOIN sync_change AS c ON c.seq = found.seq
        UNION ALL SELECT NULL, NULL, NULL, NULL, false  -- the last row: st and held, no position
    ),
    upto AS (
        SELECT coalesce((SELECT txid FROM found ORDER BY txid DESC, seq DESC LIMIT 1), :txid)
                AS txid,
            coalesce((SELECT seq FROM found ORDER BY txid DESC, seq DESC LIMIT 1), :seq) AS seq
    ),
    held AS (
        SELECT EXISTS (
            SELECT 1 FROM st, upto, unnest(CAST(:keys AS text[])) AS k(key)
            WHERE EXISTS (
                SELECT 1 FROM sync_change_key AS ck
                WHERE ck.key = k.key AND ck.txid >= st.bound
                    AND (ck.txid, ck.seq) > (upto.txid, upto.seq)
            )
        ) AS held
    )
    SELECT joined.*, st.htx, st.hseq, held.held,
        page.txid, page.seq, page.collection, page.record_id, page.fresh
    FROM (SELECT * FROM page ORDER BY txid, seq) AS page CROSS JOIN st CROSS JOIN held
        LEFT JOIN LATERAL ({_joined_sql(_JOINED)}) AS joined ON true
    ORDER BY page.txid, page.seq
    """
)


@functools.cache
def _page_pg_sql() -> tuple[str, tuple[str, ...]]:
    """_PAGE_PG for asyncpg itself: its SQL and the order of its parameters."""
    compiled = _PAGE_PG.compile(dialect=postgresql.asyncpg.dialect())
    return str(compiled), tuple(compiled.positiontup or ())


async def _page_rows(connection: Any, parameters: dict[str, Any]) -> list[Any]:
    """_PAGE_PG's rows as asyncpg gives them (the statement prepared and cached per
    connection by asyncpg): a thousand rows of forty columns would cost SQLAlchemy's result
    processing and Row objects a few milliseconds, for values that are the wire's already.
    Inside the page's transaction (_page_transaction), which ends it on a failure; a
    cancellation gives the connection up (its protocol state is unknown)."""
    sql, order = _page_pg_sql()
    for listener in DRIVER_LISTENERS:
        listener(sql)
    raw = await connection.get_raw_connection()
    try:
        return await raw.driver_connection.fetch(sql, *(parameters[name] for name in order))
    except BaseException as error:
        if not isinstance(error, asyncpg.PostgresError | asyncpg.InterfaceError):
            connection.sync_connection.invalidate()
        raise


# This page's statements (its positions, its records) plan alike whatever the values: one
# generic plan per connection instead of planning anew on every run (0.7 ms for the page
# statement), which the engine forces for the GraphQL lists (api/db.py). LOCAL: it ends with
# the transaction.
_GENERIC = "SET LOCAL plan_cache_mode = force_generic_plan"
# The page's transaction begun by the pull itself: one snapshot (see _one_snapshot) and the
# plan setting in one round trip (simple protocol, two statements, no parameters).
_BEGIN = f"BEGIN ISOLATION LEVEL REPEATABLE READ; {_GENERIC}"


@contextlib.asynccontextmanager
async def _page_transaction(session: AsyncSession) -> AsyncIterator[AsyncConnection]:
    """The connection for a PostgreSQL log page, in a REPEATABLE READ transaction with
    generic plans. On a session not yet connected (syncPull's own) the pull begins and ends
    that transaction on asyncpg itself: BEGIN and the plan setting in one round trip, where
    SQLAlchemy sends BEGIN before the first statement and the setting would be a statement of
    its own (three round trips for a page, as the hand-written SQL makes, instead of four).
    SQLAlchemy's connection is switched to AUTOCOMMIT for it, so that it sends no BEGIN or
    COMMIT of its own; its statements (_current's) run inside the transaction all the same.
    The transaction ends here, committed (it only read) or rolled back on an error; a
    cancellation, or a rollback that fails, gives the connection up: it never goes back to
    the pool inside a transaction. A session already connected (a caller that read first)
    keeps its transaction and its level: the setting is then a statement of its own."""
    with warnings.catch_warnings():
        # Already connected: the option is ignored, with a warning; checked below.
        warnings.simplefilter("ignore", SAWarning)
        connection = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    if connection.sync_connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        await connection.exec_driver_sql(_GENERIC)
        yield connection
        return
    driver = (await connection.get_raw_connection()).driver_connection
    for listener in DRIVER_LISTENERS:
        listener(_BEGIN)
    await driver.execute(_BEGIN)
    try:
        yield connection
    except Exception:
        try:
            await driver.execute("ROLLBACK")
        except Exception:
            connection.sync_connection.invalidate()  # the page's error is the one to see
        except BaseException:
            connection.sync_connection.invalidate()
            raise
        raise
    except BaseException:  # cancelled: where the protocol stands is unknown
        connection.sync_connection.invalidate()
        raise
    try:
        await driver.execute("COMMIT")
    except BaseException:
        connection.sync_connection.invalidate()
        raise


async def _log_page_pg(
    connection: AsyncConnection,
    session: AsyncSession,
    scope: Scope,
    position: Checkpoint,
    limit: int,
) -> PullPage:
    keys = sorted(scope.keys())
    width = len(wire_columns(_JOINED))
    htx, hseq, held_at, txid_at, seq_at = (width + i for i in range(5))
    changes: list[dict[str, Any]] = []
    at = position
    has_more = False
    held = False
    for _ in range(_REFILLS):
        want = limit - len(changes)
        parameters = {"horizon": HORIZON, "keys": keys, "txid": at.txid, "seq": at.seq}
        rows = await _page_rows(connection, {**parameters, "wanted": want + 1})
        first = rows[0]
        if at is position and (at.txid, at.seq) < (first[htx] or 0, first[hseq] or 0):
            return _reset(scope)
        found = [r for r in rows if r[seq_at] is not None]
        has_more = len(found) > want
        held = first[held_at]  # read after this statement's last position: `at` below
        found = found[:want]
        if not found:
            break
        changes += await _page_changes(session, scope, found, width)
        at = Checkpoint(found[-1][txid_at], found[-1][seq_at], position.scope)
        if len(changes) >= limit or not has_more:
            break
    # Committed changes held back behind a transaction still running: pull again soon.
    return PullPage(changes, at.encode(), has_more or held, False)


async def _page_changes(
    session: AsyncSession, scope: Scope, found: Sequence[Any], width: int
) -> list[dict[str, Any]]:
    """The changes of a PostgreSQL page's fresh positions, in order: the joined collection's
    from the page's own columns (the first `width`), by the same rules as _current (which
    tests/test_sync_pull_direct.py holds it to), the other collections' by _current."""
    collection_at, record_at, fresh_at = width + 5, width + 6, width + 7
    joined = _JOINED.sync_collection
    wire_keys, converted = text_row_plan(_JOINED)
    names = [name for name, _ in wire_columns(_JOINED)]
    version_at, deleted_at = names.index("version"), names.index("deleted_at")
    rule = visibility.rule_of(_JOINED)
    key_at = [(prefix, names.index(name)) for prefix, name in visibility.key_columns(rule)]
    county = visibility.county_key(rule.county)
    always = frozenset({county} if county else ())
    # Whether the caller sees a ticket depends only on its key columns' values: asked once
    # per distinct combination (a page's tickets mostly share a grid), not per ticket.
    key_values = operator.itemgetter(*(at for _, at in key_at))
    sees: dict[Any, bool] = {}
    changes: list[dict[str, Any] | None] = []
    others: list[tuple[str, uuid.UUID]] = []
    # Per ticket one dict(zip()) and one dictionary lookup: no Python call per value (a page
    # of a thousand tickets is forty thousand values).
    for row in found:
        if not row[fresh_at]:
            continue
        collection, record_id = row[collection_at], row[record_at]
        if collection != joined:
            others.append((collection, record_id))
            changes.append(None)
            continue
        if row[0] is None:  # gone
            changes.append(_deleted(collection, record_id, 0))
            continue
        values = key_values(row)
        visible = sees.get(values)
        if visible is None:
            seen = set(always)
            for prefix, at in key_at:
                if row[at] is not None:
                    seen.add(f"{prefix}:{row[at]}")
            visible = sees[values] = scope.sees_keys(seen)
        if row[deleted_at] is not None or not visible:
            changes.append(_deleted(collection, record_id, row[version_at]))
            continue
        data = dict(zip(wire_keys, row, strict=False))  # the record's columns come first
        for index, key, convert in converted:
            if row[index] is not None:
                data[key] = convert(row[index])
        # _whole's dict, its id the record's own (PostgreSQL's text of the same UUID).
        changes.append(
            {
                "collection": collection,
                "id": row[0],
                "deleted": False,
                "version": row[version_at],
                "data": data,
            }
        )
    if not others:
        return changes  # type: ignore[return-value]
    rest = iter(await _current(session, scope, others))
    return [change if change is not None else next(rest) for change in changes]


async def _latest_positions(
    session: AsyncSession, scope: Scope, found: Sequence[Any]
) -> dict[uuid.UUID, tuple[int, int]]:
    """For each record of the page, its last position in the log that the caller's pulls
    read (any key of the scope) — committed rows past the bound included, so that a record
    already changed again is sent once, at that later position."""
    first = (found[0].txid, found[0].seq)
    latest = {r.record_id: (r.txid, r.seq) for r in found}
    wanted: list[Any] = [
        ChangeRow.record_id,
        ChangeRow.txid,
        ChangeRow.seq,
        ChangeRow.keys_after,
        ChangeRow.keys_before,
    ]
    query = select(*wanted).where(
        among(session, ChangeRow.record_id, list(latest)),
        sa.tuple_(ChangeRow.txid, ChangeRow.seq) > sa.tuple_(*first),
    )
    keys = scope.keys()
    for row in (await session.execute(query)).all():
        # The row's keys are those its sync_change_key rows carry: the caller reads it iff
        # one of them is the caller's (checked here rather than joined, per row, in SQL).
        if not keys.isdisjoint(row.keys_after + row.keys_before):
            latest[row.record_id] = max(latest[row.record_id], (row.txid, row.seq))
    return latest


async def _current(
    session: AsyncSession, scope: Scope, refs: Sequence[tuple[str, uuid.UUID]]
) -> list[dict[str, Any]]:
    """Each changed record as the caller may see it now: whole, or deleted:true when it is gone
    or outside the caller's scope. A record changed twice in the page is sent once, at its
    last position (its data is the current record either way). One statement per collection
    (Core rows of the wire columns, no ORM instances), plus the extra keys of members and
    comments."""
    last: dict[tuple[str, uuid.UUID], int] = {}
    for index, ref in enumerate(refs):
        last[ref] = index
    ordered = sorted(last, key=last.__getitem__)
    by_collection: dict[str, list[uuid.UUID]] = {}
    for collection, record_id in ordered:
        by_collection.setdefault(collection, []).append(record_id)
    rows: dict[uuid.UUID, Any] = {}
    views: dict[uuid.UUID, View] = {}
    connection = await session.connection()
    for collection, ids in by_collection.items():
        model: Any = BY_NAME[collection]
        query = wire_query(session, model).where(among(session, model.__table__.c.id, ids))
        found = (await connection.execute(query)).all()
        rows.update((row.id, row) for row in found)
        views.update(await current_views(session, found, model, raw=_raw(session)))
    changes: list[dict[str, Any]] = []
    for collection, record_id in ordered:
        row = rows.get(record_id)
        view = views.get(record_id)
        if row is None or view is None:
            changes.append(_deleted(collection, record_id, 0))
        elif row.deleted_at is not None or not scope.sees_keys(view[0]):
            changes.append(_deleted(collection, record_id, row.version))
        else:
            changes.append(_whole(collection, record_id, row.version, view[1]))
    return changes


def _deleted(collection: str, record_id: uuid.UUID, version: int) -> dict[str, Any]:
    return {
        "collection": collection,
        "id": str(record_id),
        "deleted": True,
        "version": version,
        "data": None,
    }


def _whole(
    collection: str, record_id: uuid.UUID, version: int, data: dict[str, Any]
) -> dict[str, Any]:
    return {
        "collection": collection,
        "id": str(record_id),
        "deleted": False,
        "version": version,
        "data": data,
    }


def _raw(session: AsyncSession) -> bool:
    """Records read with the driver's own values (wire_select_raw): on PostgreSQL, whose
    driver returns UTC-aware datetimes; SQLite's need UTCDateTime's own conversion."""
    return session.get_bind().dialect.name == "postgresql"


def wire_query(session: AsyncSession, model: type[SyncedRecord]) -> sa.Select[Any]:
    return wire_select_raw(model) if _raw(session) else wire_select(model)


# --- snapshot phase (first sync) ------------------------------------------------------------


def _steps(scope: Scope) -> list[tuple[type[SyncedRecord], sa.ColumnElement[bool]]]:
    """Step 0: the caller's own assigned tickets, so that the work in hand arrives first;
    then every collection in wire order (tickets without those already sent)."""
    me = scope.member_id
    mine = Ticket.assignee_id == me if me is not None else sa.false()
    # Only those the scope sees (a token limited to some grids may not see its own).
    steps: list[tuple[type[SyncedRecord], sa.ColumnElement[bool]]] = [
        (Ticket, sa.and_(mine, scope.visible(Ticket)))
    ]
    for model in MODELS:
        clause = scope.visible(model)
        if model is Ticket:
            others = sa.or_(Ticket.assignee_id.is_(None), Ticket.assignee_id != me)
            clause = sa.and_(clause, others if me is not None else sa.true())
        steps.append((model, clause))
    return steps


async def _snapshot_page(
    session: AsyncSession, scope: Scope, position: Checkpoint, limit: int
) -> PullPage:
    steps = _steps(scope)
    connection = await session.connection()
    step = position.snapshot_step or 0
    after = position.after_id
    changes: list[dict[str, Any]] = []
    while step < len(steps) and len(changes) < limit:
        model, clause = steps[step]
        m: Any = model
        query = wire_query(session, model).where(clause, m.deleted_at.is_(None))
        if after is not None:
            query = query.where(m.id > after)
        want = limit - len(changes)
        records = (await connection.execute(query.order_by(m.id).limit(want))).all()
        views = await current_views(session, records, model, raw=_raw(session))
        collection = model.sync_collection
        changes.extend(_whole(collection, r.id, r.version, views[r.id][1]) for r in records)
        if len(records) == want:
            after = records[-1].id
            break
        step, after = step + 1, None
    if step >= len(steps):
        follow = Checkpoint(position.txid, position.seq, position.scope)
        # The log from the snapshot's start: pull again at once.
        return PullPage(changes, follow.encode(), True, False)
    resume = Checkpoint(position.txid, position.seq, position.scope, step, after)
    return PullPage(changes, resume.encode(), True, False)
