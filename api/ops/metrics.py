"""Prometheus metrics (`/metrics`, GRIDLINK_METRICS): requests and latency per GraphQL
operation, sync pulls and pushes by outcome, Web Push deliveries by status, queue depths and
database pool use.

Several server processes (`gridlink serve --workers N`) share one directory of counters
(prometheus-client's multiprocess mode, PROMETHEUS_MULTIPROC_DIR set by `serve` before the
processes start), so that a scrape answered by any of them counts all of them."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The *_created series double the output and say nothing a restart counter does not.
disable_created_metrics()

# Seconds; the list queries answer in a few ms, a first-sync page in tens to hundreds.
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

REQUESTS = Counter(
    "gridlink_http_requests",
    "HTTP requests by route, GraphQL operation name and status code",
    ["route", "operation", "status"],
)
LATENCY = Histogram(
    "gridlink_http_request_seconds",
    "Time to answer an HTTP request, by route and GraphQL operation name",
    ["route", "operation"],
    buckets=LATENCY_BUCKETS,
)
WEBSOCKETS = Gauge(
    "gridlink_websockets_open", "Open WebSocket connections", multiprocess_mode="livesum"
)
SYNC_PULLS = Counter(
    "gridlink_sync_pulls", "syncPull pages by outcome (ok, reset, error)", ["outcome"]
)
SYNC_PULLED = Counter("gridlink_sync_pulled_changes", "Changes sent by syncPull")
SYNC_PUSHES = Counter(
    "gridlink_sync_pushes", "syncPush requests by outcome (ok, error)", ["outcome"]
)
SYNC_MUTATIONS = Counter(
    "gridlink_sync_push_mutations", "Pushed mutations by result status", ["status"]
)
PUSH_DELIVERIES = Counter(
    "gridlink_push_deliveries", "Web Push delivery attempts by the status they left", ["status"]
)
QUEUE_DEPTH = Gauge(
    "gridlink_queue_depth",
    "Rows waiting in a queue, read from the database at scrape time",
    ["queue", "status"],
    multiprocess_mode="mostrecent",
)
POOL = Gauge(
    "gridlink_db_pool_connections",
    "Database pool connections by state (in_use, idle, overflow), summed over processes",
    ["state"],
    multiprocess_mode="livesum",
)

# Operation names are chosen by clients: a bounded set keeps the series count bounded.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_OPERATION = re.compile(r"^\s*(?:query|mutation|subscription)\s+([A-Za-z_][A-Za-z0-9_]*)")
MAX_OPERATIONS = 200
_known: set[str] = set()


def operation_label(operation_name: str | None, query: str | None) -> str:
    """The label of a GraphQL request: its operationName, else the name in the document,
    else "anonymous"; past MAX_OPERATIONS distinct names, "other"."""
    name = operation_name
    if not name and query and (match := _OPERATION.match(query)):
        name = match.group(1)
    if not name:
        return "anonymous"
    if name in _known:
        return name
    if not _NAME.fullmatch(name) or len(_known) >= MAX_OPERATIONS:
        return "other"
    _known.add(name)
    return name


def count_pull(*, changes: int, reset: bool) -> None:
    SYNC_PULLS.labels("reset" if reset else "ok").inc()
    if changes:
        SYNC_PULLED.inc(changes)


def count_push(statuses: Iterable[str] | None) -> None:
    """One syncPush: the status of each mutation, or None when the whole push was refused."""
    if statuses is None:
        SYNC_PUSHES.labels("error").inc()
        return
    SYNC_PUSHES.labels("ok").inc()
    for status in statuses:
        SYNC_MUTATIONS.labels(status).inc()


def count_pool(engine: AsyncEngine) -> None:
    pool: Any = engine.pool
    if not hasattr(pool, "checkedout"):
        return  # SQLite's pool keeps no counts worth showing
    POOL.labels("in_use").set(pool.checkedout())
    POOL.labels("idle").set(pool.checkedin())
    POOL.labels("overflow").set(max(pool.overflow(), 0))


async def _read_queues(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.text(
                "SELECT status, count(*) FROM push_delivery "
                "WHERE status IN ('PENDING', 'SENDING') GROUP BY status"
            )
        )
        depth = dict(rows.all())
    for status in ("PENDING", "SENDING"):
        QUEUE_DEPTH.labels("push_delivery", status).set(depth.get(status, 0))


def _registry() -> CollectorRegistry:
    if not os.environ.get(MULTIPROCESS_ENV):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def metrics_endpoint(engine: AsyncEngine):  # noqa: ANN201 - a Starlette endpoint
    async def metrics(_request: Request) -> Response:
        await _read_queues(engine)
        count_pool(engine)
        return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)

    return metrics


def process_exited() -> None:
    """A server process stops: its live gauges no longer count (multiprocess mode)."""
    if os.environ.get(MULTIPROCESS_ENV):
        multiprocess.mark_process_dead(os.getpid())
