"""WebSockets follow their token: a graphql-transport-ws connection signs in once (at
connection_init) but stays open for hours, so

* every operation (subscribe message) signs in again with the connection's token;
* a watcher per connection closes it as soon as its token is revoked (logout, revocation),
  expires, or its member's roles, grids, stations or account change — told by the access
  announcements of sync/access.py, which reach every server process (PostgreSQL NOTIFY;
  in-process on SQLite), and at the latest after ``RECHECK_SECONDS``.

Closed with 4401 when the token no longer signs in, 4403 when it does but now means another
scope (connect again to get the new one)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)

from api.auth import tokens
from api.auth.scope import sign_in
from api.records import utcnow
from schema.context import Context
from sync import access
from sync.broadcast import Event, subscribe

UNAUTHORIZED, FORBIDDEN = 4401, 4403
# A backstop for changes made without the session hooks (e.g. plain SQL by an operator).
RECHECK_SECONDS = 60.0
log = logging.getLogger("gridlink.socket_auth")


async def recheck(context: Context) -> tuple[int, str] | None:
    """Sign the connection's token in again: None when it still holds for the same scope,
    else the close code and reason."""
    if context.bearer is None:
        return UNAUTHORIZED, "Unauthorized"
    try:
        async with context.reader.session() as session:
            member, record, scope = await sign_in(session, context.bearer)
    except tokens.TokenRejected:
        return UNAUTHORIZED, "Unauthorized: the token no longer holds"
    if scope != context.scope:
        return FORBIDDEN, "Forbidden: your roles or grids changed; connect again"
    context.member, context.token = member, record
    return None


def _seconds_left(expires_at: datetime | None, now: datetime) -> float:
    if expires_at is None:
        return RECHECK_SECONDS
    return max(0.0, min(RECHECK_SECONDS, (expires_at - now).total_seconds()))


class TokenBoundHandler(BaseGraphQLTransportWSHandler[Context, None]):
    _watcher: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self._watcher is None:
            self._watcher = asyncio.create_task(self._watch())
            self._watcher.add_done_callback(self._task_done)

    async def handle_subscribe(self, message: Any) -> None:
        if self.connection_acknowledged:
            refused = await recheck(self.context)
            if refused is not None:
                await self.websocket.close(code=refused[0], reason=refused[1])
                return
        await super().handle_subscribe(message)

    async def shutdown(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watcher
        await super().shutdown()

    async def _watch(self) -> None:
        context = self.context
        assert context.member is not None and context.token is not None
        token_id, member_id = context.token.id, context.member.id

        def mine(item: Event) -> bool:
            return access.concerns(item, token_id=token_id, member_id=member_id)

        try:
            async with subscribe(context.settings.database_url, mine) as queue:
                # Heard from here on; a change committed between the connection's sign-in
                # and the start of listening was not, so the first check is at once.
                while True:
                    refused = await recheck(context)
                    if refused is not None:
                        await self.websocket.close(code=refused[0], reason=refused[1])
                        return
                    token = context.token
                    wait = _seconds_left(token.expires_at if token else None, utcnow())
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(queue.get(), timeout=wait)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001
            # Whatever broke the watch, the socket must not outlive its token unchecked.
            log.warning("closing a WebSocket whose token could not be watched: %s", error)
            with contextlib.suppress(Exception):
                # The reason is the protocol's word, not a message.
                reason = "Unauthorized"  # not a message
                await self.websocket.close(code=UNAUTHORIZED, reason=reason)
