"""The pull's read path: Core rows give the same wire data as ORM records (one mapping, two
producers), and the positions query reads O(limit) index entries whatever the backlog."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from api.records import UTCDateTime
from api.tickets import lifecycle
from sync.checkpoint import Checkpoint, scope_fingerprint
from sync.collections import (
    MODELS,
    _instant_sql,
    current_views,
    record_data,
    row_data,
    wire_select,
    wire_select_raw,
)
from sync.pull import _PAGE_PG, log_bound, positions_query
from sync.push import MutationInput, push_in
from tests.sync_support import build_county, server_ticket


async def test_core_rows_and_orm_records_give_the_same_wire_data(session_factory) -> None:
    county = await build_county(session_factory)
    a, d = county.liaison_a, county.dispatcher
    ticket_id = await server_ticket(session_factory, d, county.grid_a, "Unpaid overtime")
    async with session_factory() as session, session.begin():
        # A notification (assignment) and a ticket with every kind of value set.
        await lifecycle.assign_ticket(
            session, scope=d.scope, ticket_id=ticket_id, assignee_id=a.member.id
        )
    comment_id, attendance_id = uuid.uuid4(), uuid.uuid4()
    async with session_factory() as session, session.begin():
        results = await push_in(
            session,
            scope=a.scope,
            client_id="wire",
            mutations=[
                MutationInput(
                    "1",
                    "ticketComments",
                    str(comment_id),
                    "CREATE",
                    None,
                    {"ticketId": str(ticket_id), "body": "called the foreman"},
                ),
                MutationInput(
                    "2",
                    "attendances",
                    str(attendance_id),
                    "CREATE",
                    None,
                    {"activityId": str(county.activity.id), "attendeeName": "Li Lei"},
                ),
                # An edit merged with the server's assignment.
                MutationInput(
                    "3", "tickets", str(ticket_id), "UPDATE", 1, {"title": "Overtime unpaid"}
                ),
            ],
        )
    assert [r["status"] for r in results][:2] == ["APPLIED", "APPLIED"], results
    compared: set[str] = set()
    async with session_factory() as session:
        for model in MODELS:
            m: Any = model
            records = {r.id: r for r in await session.scalars(select(model))}
            rows = (await session.execute(wire_select(model))).all()
            assert {row.id for row in rows} == set(records)
            by_orm = await current_views(session, list(records.values()))
            by_core = await current_views(session, rows, model)
            assert by_core == by_orm, m.__name__
            for row in rows:
                data = row_data(model, row)
                assert data == record_data(records[row.id])
                json.dumps(data)  # JSON leaves only
            if session.get_bind().dialect.name == "postgresql":
                # The driver's own values (a pull's fast read) make the very same views.
                raw = (await session.execute(wire_select_raw(model))).all()
                assert await current_views(session, raw, model, raw=True) == by_orm, m.__name__
            if rows:
                compared.add(model.sync_collection)
    assert {"grids", "members", "tickets", "ticketComments", "notifications"} <= compared
    assert {"attendances", "enterprises", "stations", "stationActivities"} <= compared


def _scans(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan] if "Relation Name" in plan else []
    for child in plan.get("Plans", []):
        found += _scans(child)
    return found


async def _backlog(engine: Any, key: str, backlog: int) -> None:
    """`backlog` changes of as many records, all under `key`, in one old transaction."""
    async with engine.begin() as connection:
        await connection.execute(
            sa.text(
                "INSERT INTO sync_change (txid, collection, record_id, version, deleted,"
                " keys_after, keys_before, fields, at)"
                " SELECT 1, 'tickets', md5('t' || n)::uuid, 1, false, :keys, '[]', '[]', now()"
                " FROM generate_series(1, :n) AS n ORDER BY n"
            ),
            {"n": backlog, "keys": json.dumps([key])},
        )
        await connection.execute(
            sa.text(
                "INSERT INTO sync_change_key (key, txid, seq)"
                " SELECT :key, 1, seq FROM sync_change WHERE txid = 1"
            ),
            {"key": key},
        )
        await connection.execute(sa.text("ANALYZE sync_change_key"))
        await connection.execute(sa.text("ANALYZE sync_change"))


@pytest.mark.postgres_only
async def test_the_positions_query_reads_only_a_page_of_the_index(engine, session_factory):
    """Invariant 7 on PostgreSQL's real plan: with a backlog of thousands of changes in the
    caller's grid, a page of 10 reads at most 11 index entries per key and scans no table."""
    county = await build_county(session_factory)
    scope = county.liaison_a.scope
    limit, backlog = 10, 5000
    await _backlog(engine, f"grid:{county.grid_a.id}", backlog)
    async with session_factory() as session:
        bound = await log_bound(session)
        position = Checkpoint(0, 0, scope_fingerprint(scope))
        query = positions_query(scope, position, bound, limit)
        sql = str(query.compile(engine.sync_engine, compile_kwargs={"literal_binds": True}))
        explained = await session.scalar(sa.text("EXPLAIN (ANALYZE, FORMAT JSON) " + sql))
        found = (await session.execute(query)).all()
    assert len(found) == limit + 1
    plan = (explained if isinstance(explained, list) else json.loads(explained))[0]["Plan"]
    scans = _scans(plan)
    assert scans and all("Index" in s["Node Type"] for s in scans), scans
    keyed = [s for s in scans if s["Relation Name"] == "sync_change_key"]
    assert len(keyed) == len(scope.keys())
    for scan in keyed:
        read = scan["Actual Rows"] + scan.get("Rows Removed by Filter", 0)
        assert read * scan["Actual Loops"] <= limit + 1, scan


@pytest.mark.postgres_only
async def test_a_log_page_on_postgresql_reads_only_indexes(engine, session_factory):
    """The same on PostgreSQL's one-statement page (sync/pull.py _PAGE_PG): the log positions,
    whether each is its record's last, and whether changes wait behind the bound all come
    from index reads, the key ranges stopped after the page."""
    county = await build_county(session_factory)
    scope = county.liaison_a.scope
    limit, backlog = 10, 5000
    await _backlog(engine, f"grid:{county.grid_a.id}", backlog)
    parameters = {
        "horizon": "horizon",
        "keys": sorted(scope.keys()),
        "txid": 0,
        "seq": 0,
        "wanted": limit + 1,
    }
    async with session_factory() as session:
        statement = sa.text("EXPLAIN (ANALYZE, FORMAT JSON) " + _PAGE_PG.text)
        explained = await session.scalar(statement, parameters)
        rows = (await session.execute(_PAGE_PG, parameters)).all()
    # The positions, in order, then the row that carries only the horizon and `held`.
    found, last = rows[:-1], rows[-1]
    assert len(found) == limit + 1 and all(row.fresh for row in found)
    assert [row.seq for row in found] == sorted(row.seq for row in found)
    assert last.seq is None and last.record_id is None
    plan = (explained if isinstance(explained, list) else json.loads(explained))[0]["Plan"]
    logged = [s for s in _scans(plan) if s["Relation Name"] in ("sync_change", "sync_change_key")]
    assert logged and all("Index" in s["Node Type"] for s in logged), logged
    for scan in logged:
        if scan["Relation Name"] == "sync_change_key":
            assert scan["Actual Rows"] <= limit + 1, scan


@pytest.mark.postgres_only
async def test_a_log_page_plan_made_without_its_values_reads_only_indexes(engine, session_factory):
    """A pull runs its page on a generic plan (sync/pull.py: plan_cache_mode inside the pull),
    made once per connection without the values: it too reads the log by index, the key
    ranges stopped after the page."""
    county = await build_county(session_factory)
    limit = 10
    await _backlog(engine, f"grid:{county.grid_a.id}", 5000)
    keys = ",".join(f"'{key}'" for key in sorted(county.liaison_a.scope.keys()))
    literal = {
        "horizon": "'horizon'",
        "keys": f"ARRAY[{keys}]",
        "txid": "0",
        "seq": "0",
        "wanted": str(limit + 1),
    }
    compiled = _PAGE_PG.compile(dialect=engine.dialect)
    arguments = ", ".join(literal[name] for name in compiled.positiontup or [])
    async with session_factory() as session, session.begin():
        connection = await session.connection()
        await connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        await connection.exec_driver_sql(f"PREPARE gl_page AS {compiled}")
        explained = await connection.exec_driver_sql(
            f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE gl_page({arguments})"
        )
        plan_json = explained.scalar()
        await connection.exec_driver_sql("DEALLOCATE gl_page")
    plan = (plan_json if isinstance(plan_json, list) else json.loads(plan_json))[0]["Plan"]
    assert "$1" in json.dumps(plan)  # generic: the values are parameters in the plan
    logged = [s for s in _scans(plan) if s["Relation Name"] in ("sync_change", "sync_change_key")]
    assert logged and all("Index" in s["Node Type"] for s in logged), logged
    for scan in logged:
        if scan["Relation Name"] == "sync_change_key":
            assert scan["Actual Rows"] <= limit + 1, scan


@pytest.mark.postgres_only
async def test_postgresql_spells_times_as_python_does(session_factory):
    """Times a pull reads are formatted by PostgreSQL (sync/collections.py _instant_sql): the
    very text datetime.isoformat() gives, with and without microseconds, in any zone."""
    times = [
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC),
        datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(999, 6, 7, 8, 9, 10, 1, tzinfo=UTC),
        datetime(2026, 6, 1, 0, 0, 0, 5, tzinfo=timezone(timedelta(hours=8))),
    ]
    column = sa.column("at", UTCDateTime())
    values = sa.values(column, name="times").data([(t,) for t in times])
    async with session_factory() as session:
        await session.execute(sa.text("SET LOCAL TIME ZONE 'Asia/Shanghai'"))
        spelled = (await session.scalars(select(_instant_sql(values.c.at)))).all()
    assert spelled == [t.astimezone(UTC).isoformat() for t in times]
