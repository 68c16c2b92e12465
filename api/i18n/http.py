"""The request's language: ``Accept-Language`` of an HTTP request or of a WebSocket's upgrade
request chooses the language of every message made while it is served (zh-CN by default)."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.i18n import DEFAULT_LANGUAGE, negotiate, reset_language, set_language


def request_language(scope: Scope, default: str = DEFAULT_LANGUAGE) -> str:
    for name, value in scope.get("headers") or ():
        if name == b"accept-language":
            return negotiate(value.decode("latin-1"), default)
    return default


class RequestLanguage:
    """Pure ASGI (not BaseHTTPMiddleware): the language is a context variable, and it must be
    set in the task that runs the endpoint; a WebSocket's subscriptions inherit it."""

    def __init__(self, app: ASGIApp, default: str = DEFAULT_LANGUAGE) -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        language = request_language(scope, self.default)
        token = set_language(language)

        async def send_with_language(message: Message) -> None:
            # Caches keep one answer per language; the client learns which one it got.
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("content-language", language)
                headers.add_vary_header("Accept-Language")
            await send(message)

        try:
            await self.app(scope, receive, send_with_language if scope["type"] == "http" else send)
        finally:
            reset_language(token)
