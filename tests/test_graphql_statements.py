"""No N+1: the nested tickets query costs the same number of SQL statements for a page of 10
as for a page of 100 (counted with a before_cursor_execute listener on the real engine, and
schema.prepared's listeners for the pages run straight on asyncpg). Those pages hold exactly
the rows SQLAlchemy would have made."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from api.db import create_engine
from api.tickets import lifecycle
from api.tickets.models import TicketSource
from bench.graphql_bench import QUERY as BENCH_QUERY
from schema import context as request_context
from schema import prepared
from tests.graphql_world import _scope, build_world
from tests.helpers import gql

QUERY = """query($first: Int!) {
  tickets(first: $first, filter: {open: true}) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id uuid number title status severity overdue createdAt
      grid { name kind parent { name } }
      enterprise { name headcount grid { code } }
      assignee { name phone }
      reporter { name }
      events { kind at actor { name } }
      comments { body author { name } }
    } }
  }
}"""


@pytest.fixture
async def many(session_factory):
    world = await build_world(session_factory)
    admin = await _scope(session_factory, world["admin"])
    async with session_factory() as session, session.begin():
        for n in range(110):
            enterprise = world[("e1", "e2", "e3")[n % 3]]
            ticket = await lifecycle.create_ticket(
                session,
                scope=admin,
                title=f"Ticket {n}",
                source=TicketSource.HOTLINE_12351,
                enterprise_id=enterprise,
            )
            if n % 2:
                await lifecycle.add_comment(session, scope=admin, ticket_id=ticket.id, body="ok")
    return world


async def test_statement_count_does_not_grow_with_the_page(client, engine, many) -> None:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        if not statement.startswith("BEGIN"):  # SQLite's explicit BEGIN IMMEDIATE
            statements.append(statement)

    # One request first: a remembered sign-in (PostgreSQL) must not count for one page only.
    await gql(client, QUERY, {"first": 1}, token=many.tokens["county"])
    event.listen(engine.sync_engine, "before_cursor_execute", count)
    prepared.LISTENERS.append(statements.append)
    try:
        counts = {}
        for first in (10, 100):
            statements.clear()
            body = await gql(client, QUERY, {"first": first}, token=many.tokens["county"])
            edges = body["data"]["tickets"]["edges"]
            assert len(edges) == first
            assert all(e["node"]["events"] for e in edges)
            counts[first] = len(statements)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
        prepared.LISTENERS.remove(statements.append)
    print("statements per request:", counts)
    assert counts[10] == counts[100], counts
    # Sign-in and scope (a handful), the page, its count, and one per nested level.
    assert counts[100] <= 14, [s.split("\n")[0][:80] for s in statements]


async def test_a_list_costs_sign_in_and_its_page(client, engine, many) -> None:
    """Token, member and scope in one statement, the page in another: nothing else."""
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        if not statement.startswith("BEGIN"):
            statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    prepared.LISTENERS.append(statements.append)
    try:
        for token in ("liaison1", "county"):
            statements.clear()
            await gql(client, BENCH_QUERY, token=many.tokens[token])
            assert len(statements) == 2, [s.split("\n")[0][:80] for s in statements]
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
        prepared.LISTENERS.remove(statements.append)


@pytest.mark.postgres_only
async def test_a_page_run_on_asyncpg_holds_what_sqlalchemy_makes(
    client, engine, session_factory, many, monkeypatch
) -> None:
    """Every page statement the bench query and the nested query run, for several callers:
    run straight on asyncpg (schema/prepared.py) and through SQLAlchemy, the rows are equal
    value for value and type for type (enums, aware times, UUIDs, counts, flags)."""
    seen: list[tuple[object, dict]] = []
    rows = request_context.Reader.rows

    async def remember(self, statement, parameters=None, *, reused=False):  # noqa: ANN001
        if reused:
            seen.append((statement, parameters))
        return await rows(self, statement, parameters, reused=reused)

    monkeypatch.setattr(request_context.Reader, "rows", remember)
    paged = """query($after: String) { tickets(first: 3, after: $after) {
      pageInfo { endCursor } nodes { id number status createdAt enterprise { name } } } }"""
    for token in ("liaison1", "town1", "county", "api"):
        await gql(client, BENCH_QUERY, token=many.tokens[token])
        await gql(client, QUERY, {"first": 7}, token=many.tokens[token])
        body = await gql(client, paged, token=many.tokens[token])
        after = body["data"]["tickets"]["pageInfo"]["endCursor"]
        await gql(client, paged, {"after": after}, token=many.tokens[token])
    assert len(seen) >= 12
    reader = request_context.Reader(session_factory)
    try:
        for statement, parameters in seen:
            direct = await rows(reader, statement, parameters, reused=True)
            plain = await rows(reader, statement, parameters)
            assert direct, statement
            assert [tuple(r) for r in plain] == direct
            for ours, theirs in zip(direct, plain, strict=True):
                assert [type(v) for v in ours] == [type(v) for v in theirs]
    finally:
        await reader.close()


@pytest.mark.postgres_only
async def test_a_connection_the_database_closed_is_replaced(client, settings, many) -> None:
    """Pooled connections are not pinged at checkout (api/db.py): after the database ends
    them (a restart), the next request's sign-in finds its connection dead, and answers on a
    new one instead of failing."""
    query = "{ tickets(first: 1) { nodes { number } } }"
    token = many.tokens["county"]
    assert (await gql(client, query, token=token))["data"]["tickets"]["nodes"]
    other = create_engine(settings)  # not the app's: its pooled connection must stay idle
    try:
        async with other.connect() as connection:
            ended = await connection.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
    finally:
        await other.dispose()
    assert ended
    assert (await gql(client, query, token=token))["data"]["tickets"]["nodes"]
