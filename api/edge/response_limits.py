"""Bounds on one GraphQL request over HTTP, besides its query cost (schema/cost.py): how long
it may run (GRIDLINK_MAX_REQUEST_SECONDS) and how large its answer may be
(GRIDLINK_MAX_RESPONSE_BYTES). Plain ASGI middleware on /graphql only (attachments and the
field app's files are not GraphQL answers)."""

from __future__ import annotations

import asyncio
import contextlib
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.i18n import _
from api.i18n.http import request_language

TIMEOUT_CODE = "REQUEST_TIMEOUT"
TOO_LARGE_CODE = "RESPONSE_TOO_LARGE"


async def _error(send: Send, status: int, code: str, message: str) -> None:
    payload = json.dumps(
        {"errors": [{"message": message, "extensions": {"code": code}}]}, ensure_ascii=False
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class ResponseLimits:
    def __init__(
        self, app: ASGIApp, *, max_seconds: float, max_bytes: int, path: str = "/graphql"
    ) -> None:
        self.app = app
        self.max_seconds = max_seconds
        self.max_bytes = max_bytes
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != self.path:
            await self.app(scope, receive, send)
            return
        # The answer is held until its body is complete (GraphQL answers over HTTP are one
        # body), so that one too large is replaced by an error rather than cut off.
        start: Message | None = None
        body: list[bytes] = []
        size = 0
        streaming = False

        abandoned = False  # answered with an error: what the app still sends is dropped

        async def limited_send(message: Message) -> None:
            nonlocal start, size, streaming
            if abandoned:
                return
            if streaming:
                await send(message)
                return
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise _TooLarge
            body.append(chunk)
            if message.get("more_body", False):
                return
            assert start is not None
            streaming = True  # sent: anything after this goes straight through
            await send(start)
            await send({"type": "http.response.body", "body": b"".join(body)})

        # The request runs as a task of its own: at the bound the client is answered at once,
        # and the task's cancellation (which may wait on a database connection busy with a
        # statement, e.g. SQLite waiting for its write lock) finishes after the answer.
        task = asyncio.ensure_future(self.app(scope, receive, limited_send))
        try:
            await _within(task, self.max_seconds)
        except TimeoutError:
            if streaming:
                await _cancelled(task)
                raise
            abandoned = True
            await _error(
                send,
                503,
                TIMEOUT_CODE,
                _(
                    "the request ran longer than {seconds} s and was stopped: ask for less",
                    seconds=f"{self.max_seconds:g}",
                ).render(request_language(scope)),
            )
            await _cancelled(task)
        except _TooLarge:
            abandoned = True
            await _error(
                send,
                400,
                TOO_LARGE_CODE,
                _(
                    "the answer is larger than {bytes} bytes: ask for fewer items or fields "
                    "per page",
                    bytes=self.max_bytes,
                ).render(request_language(scope)),
            )
        finally:
            if not task.done():
                await _cancelled(task)  # the client went away: stop its request


class _TooLarge(Exception):
    pass


async def _within(task: asyncio.Future[None], seconds: float) -> None:
    """``wait_for(shield(task), seconds)`` for a task of ours: its outcome, or TimeoutError with
    the task left running; with one future and one timer, where wait_for and shield make two
    futures, a timer and their callbacks on every request."""
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()

    def wake(_: object = None) -> None:
        if not waiter.done():
            waiter.set_result(None)

    timer = loop.call_later(seconds, wake)
    task.add_done_callback(wake)
    try:
        await waiter
    finally:
        timer.cancel()
        task.remove_done_callback(wake)
    if not task.done():
        raise TimeoutError
    task.result()


async def _cancelled(task: asyncio.Future[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
