"""One record per request: an id (the client's X-Request-ID when it is sane, else a new one)
sent back in the X-Request-ID header and attached to every log line written while the
request runs; the GraphQL operation name; an access log line, a warning for a slow one, and
the request metrics."""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.ops import metrics

HEADER = b"x-request-id"
_SANE_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
# Routes are labelled by path only when they are ours; anything else is "other".
ROUTES = frozenset({"/graphql", "/healthz", "/metrics"})

access_log = logging.getLogger("gridlink.access")
slow_log = logging.getLogger("gridlink.slow")


@dataclass
class RequestInfo:
    id: str
    operation: str = ""
    started: float = field(default_factory=time.perf_counter)


current: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar(
    "gridlink_request", default=None
)


def request_id() -> str | None:
    info = current.get()
    return info.id if info is not None else None


def note_operation(operation_name: str | None, query: str | None) -> None:
    """Called by the GraphQL endpoint once it knows what it runs."""
    info = current.get()
    if info is not None and not info.operation:
        info.operation = metrics.operation_label(operation_name, query)


def _incoming_id(scope: Scope) -> str:
    for name, value in scope.get("headers") or ():
        if name == HEADER and _SANE_ID.fullmatch(value):
            return value.decode("ascii")
    return uuid.uuid4().hex


class RequestTelemetry:
    def __init__(self, app: ASGIApp, *, slow_ms: int, count: bool) -> None:
        self.app = app
        self.slow_seconds = slow_ms / 1000
        self.count = count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self.app(scope, receive, send)
            return
        info = RequestInfo(_incoming_id(scope))
        token = current.set(info)
        try:
            if kind == "websocket":
                await self._websocket(scope, receive, send)
            else:
                await self._http(scope, receive, send, info)
        finally:
            current.reset(token)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.count:
            await self.app(scope, receive, send)
            return
        metrics.WEBSOCKETS.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            metrics.WEBSOCKETS.dec()

    async def _http(self, scope: Scope, receive: Receive, send: Send, info: RequestInfo) -> None:
        status = 500
        header = (HEADER, info.id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._finish(scope, info, status)

    def _finish(self, scope: Scope, info: RequestInfo, status: int) -> None:
        elapsed = time.perf_counter() - info.started
        path = scope.get("path", "")
        route = path if path in ROUTES else "other"
        operation = info.operation or "-"
        if self.count and route != "/metrics":
            metrics.REQUESTS.labels(route, operation, str(status)).inc()
            metrics.LATENCY.labels(route, operation).observe(elapsed)
        extra = {
            "method": scope.get("method"),
            "path": path,
            "operation": operation,
            "status": status,
            "ms": round(elapsed * 1000, 1),
        }
        if elapsed >= self.slow_seconds:
            slow_log.warning(
                "slow request: %s %s %s took %.0f ms",
                extra["method"],
                path,
                operation,
                elapsed * 1000,
                extra=extra,
            )
        elif access_log.isEnabledFor(logging.INFO):
            access_log.info(
                "%s %s %s %s %.1f ms",
                extra["method"],
                path,
                operation,
                status,
                extra["ms"],
                extra=extra,
            )
