"""The floor of the liaison's "my open tickets" benchmark: Starlette + asyncpg, one
hand-written SQL join, orjson; no GraphQL, no authentication. Started by graphql_bench.py with
BENCH_DSN, BENCH_MEMBER and BENCH_GRIDS (comma-separated UUIDs) in the environment."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

OPEN = ["REPORTED", "ASSIGNED", "IN_PROGRESS", "WAITING_ON_WORKER", "MEDIATING", "REOPENED"]
SQL = """
SELECT t.id, t.number, t.title, t.status, t.severity, t.created_at,
       g.name AS grid_name, g.kind AS grid_kind,
       e.name AS enterprise_name, e.headcount AS enterprise_headcount,
       m.name AS assignee_name, m.phone AS assignee_phone
FROM ticket t
JOIN grid g ON g.id = t.grid_id
LEFT JOIN enterprise e ON e.id = t.enterprise_id
LEFT JOIN member m ON m.id = t.assignee_id
WHERE t.deleted_at IS NULL AND t.status = ANY($3::varchar[])
  AND (t.grid_id = ANY($1::uuid[]) OR t.assignee_id = $2 OR t.reporter_id = $2)
ORDER BY t.created_at DESC, t.id DESC
LIMIT 100
"""


def _node(row: asyncpg.Record) -> dict:
    return {
        "id": str(row["id"]),
        "number": row["number"],
        "title": row["title"],
        "status": row["status"],
        "severity": row["severity"],
        "createdAt": row["created_at"].isoformat(),
        "grid": {"name": row["grid_name"], "kind": row["grid_kind"]},
        "enterprise": None
        if row["enterprise_name"] is None
        else {"name": row["enterprise_name"], "headcount": row["enterprise_headcount"]},
        "assignee": None
        if row["assignee_name"] is None
        else {"name": row["assignee_name"], "phone": row["assignee_phone"]},
    }


def create_app() -> Starlette:
    member = uuid.UUID(os.environ["BENCH_MEMBER"])
    grids = [uuid.UUID(g) for g in os.environ["BENCH_GRIDS"].split(",") if g]
    state: dict[str, asyncpg.Pool] = {}

    async def tickets(_request: Request) -> Response:
        async with state["pool"].acquire() as connection:
            rows = await connection.fetch(SQL, grids, member, OPEN)
        body = {"data": {"tickets": {"nodes": [_node(r) for r in rows]}}}
        return Response(orjson.dumps(body), media_type="application/json")

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # As the API's connections (api/db.py): a custom plan for every execution.
        state["pool"] = await asyncpg.create_pool(
            os.environ["BENCH_DSN"],
            min_size=2,
            max_size=10,
            server_settings={"plan_cache_mode": "force_custom_plan"},
        )
        yield
        await state["pool"].close()

    return Starlette(
        routes=[Route("/tickets", tickets, methods=["POST", "GET"])], lifespan=lifespan
    )
