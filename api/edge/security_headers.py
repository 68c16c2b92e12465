"""Security headers on every HTTP response, declared here once (plain ASGI middleware).

- ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer`` everywhere;
- ``Cache-Control: no-store`` on every answer to a request that carries credentials (an
  ``Authorization`` header), so that no shared or browser cache keeps a member's data;
- on HTML pages (GraphiQL in development, the field app at /app) a Content-Security-Policy
  that allows only same-origin scripts, styles, images, workers and connections, and forbids
  framing: the pages are served from local files, so nothing else is needed.

Credentials are only ever read from the Authorization header (and, on a WebSocket, from
connection_init's payload): never from cookies or the query string, so a cross-site page
cannot make a browser send a member's credentials (the CSRF stance in docs/api.md)."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.config import Settings
from api.edge.response_limits import ResponseLimits

# The one Content-Security-Policy of the HTML pages (GRIDLINK_CONTENT_SECURITY_POLICY
# replaces it). 'unsafe-inline' styles: GraphiQL sets element styles from its scripts.
DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
ALWAYS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
_ALWAYS_RAW = tuple((name.encode(), value.encode()) for name, value in ALWAYS.items())


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, content_security_policy: str = DEFAULT_CSP) -> None:
        self.app = app
        self.html = (
            (b"content-security-policy", content_security_policy.encode("latin-1")),
            (b"x-frame-options", b"DENY"),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        authenticated = any(name == b"authorization" for name, _ in scope.get("headers") or ())

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # On the raw list, as MutableHeaders' setdefault would (a name already there
                # is kept), one pass instead of one per header: this runs on every answer.
                raw = message["headers"] = list(message["headers"])
                names = {name for name, _ in raw}
                raw.extend(pair for pair in _ALWAYS_RAW if pair[0] not in names)
                if authenticated:
                    if b"cache-control" in names:
                        MutableHeaders(raw=raw)["cache-control"] = "no-store"
                    else:
                        raw.append((b"cache-control", b"no-store"))
                content_type = next((v for name, v in raw if name == b"content-type"), b"")
                if content_type.startswith(b"text/html"):
                    raw.extend(pair for pair in self.html if pair[0] not in names)
            await send(message)

        await self.app(scope, receive, with_headers)


def security_middleware(settings: Settings) -> list[Middleware]:
    """The hardening middleware for api/edge/app.py, outermost first: headers on every answer
    (also the limits' own errors), then the time and size bounds of GraphQL requests."""
    return [
        Middleware(
            SecurityHeaders, content_security_policy=settings.content_security_policy or DEFAULT_CSP
        ),
        Middleware(
            ResponseLimits,
            max_seconds=settings.max_request_seconds,
            max_bytes=settings.max_response_bytes,
        ),
    ]
