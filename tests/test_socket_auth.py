"""WebSockets follow their token, on real server processes with a real WebSocket client:
logout, revocation, expiry and a change of the member's grids close the caller's open
graphql-transport-ws connections within seconds (4401 / 4403), and no operation runs on a
socket whose token no longer holds. On PostgreSQL the change is made through another server
process than the one holding the socket."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import timedelta
from typing import Any

import pytest
import websockets
from sqlalchemy import select

from api.auth import tokens
from api.auth.models import AuthToken, TokenKind
from api.members.models import Member
from api.tickets.models import Ticket
from tests.graphql_world import build_world
from tests.test_graphql_subscriptions import (
    ASSIGN,
    PROTOCOL,
    ServerProcess,
    create_ticket,
    first_event,
    next_message,
    open_subscription,
    post,
)

CLOSE_WITHIN = 5.0
LOGOUT = "mutation { logout { ok } }"
SUBSCRIBE = "subscription { myAssignments { title } }"
CREATE = """mutation($input: CreateTicketInput!) { createTicket(input: $input) {
  errors { code } ticket { id } } }"""


async def connect(server: ServerProcess, token: str, query: str = SUBSCRIBE) -> Any:
    ws = await websockets.connect(
        server.url.replace("http", "ws", 1) + "/graphql", subprotocols=[PROTOCOL]
    )
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    )
    ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert ack["type"] == "connection_ack", ack
    await ws.send(json.dumps({"id": "s", "type": "subscribe", "payload": {"query": query}}))
    return ws


async def closed_with(ws: Any, within: float = CLOSE_WITHIN) -> tuple[int, float]:
    """The close code the server sends, and how long it took."""
    started = time.monotonic()
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), within)
    assert closed.value.rcvd is not None, "the server did not close the socket"
    return closed.value.rcvd.code, time.monotonic() - started


@pytest.fixture
def servers(database_url: str, backend: str) -> Any:
    """Two API processes on PostgreSQL (the socket on one, the change through the other);
    one on SQLite, where access announcements stay within a process."""
    made = [ServerProcess(database_url) for _ in range(2 if backend == "postgresql" else 1)]
    try:
        for server in made:
            server.wait()
        yield made[0], made[-1]
    finally:
        for server in made:
            server.stop()


@pytest.fixture
async def world(session_factory):
    return await build_world(session_factory)


async def test_logout_closes_the_socket_and_nothing_runs_on_it(
    world, servers, session_factory
) -> None:
    holder, other = servers
    ws = await connect(holder, world.tokens["town1"])
    await post(other.url, world.tokens["town1"], LOGOUT, {})
    # Straight after the logout: a mutation sent on the socket must not run.
    create = {
        "query": CREATE,
        "variables": {
            "input": {
                "title": "after logout",
                "source": "RISK_HAZARD",
                "enterpriseId": world.gid("Enterprise", "e1"),
            }
        },
    }
    with contextlib.suppress(websockets.ConnectionClosed):
        await ws.send(json.dumps({"id": "m", "type": "subscribe", "payload": create}))
    code, _ = await closed_with(ws)
    assert code == 4401
    async with session_factory() as session:
        made = await session.scalar(select(Ticket.id).where(Ticket.title == "after logout"))
    assert made is None


async def test_grid_change_closes_with_4403(world, servers) -> None:
    holder, other = servers
    ws = await connect(holder, world.tokens["liaison1"])
    update = """mutation($input: UpdateMemberInput!) { updateMember(input: $input) {
        errors { code } } }"""
    variables = {
        "input": {"id": world.gid("Member", "liaison1"), "gridIds": [world.gid("Grid", "grid_e3")]}
    }
    data = await post(other.url, world.tokens["admin"], update, variables)
    assert data["updateMember"]["errors"] == []
    code, took = await closed_with(ws)
    assert code == 4403 and took < CLOSE_WITHIN


async def test_an_expiring_token_closes_its_socket(world, servers, session_factory) -> None:
    holder, _ = servers
    async with session_factory() as session, session.begin():
        member = await session.get(Member, world.ids["liaison2"])
        assert member is not None
        issued = await tokens.issue_token(
            session, member=member, kind=TokenKind.SESSION, lifetime=timedelta(seconds=2)
        )
    ws = await connect(holder, issued.token)
    code, took = await closed_with(ws)
    assert code == 4401 and took < 2 + CLOSE_WITHIN


async def test_revocation_is_checked_on_every_operation(
    world, servers, session_factory, backend
) -> None:
    holder, _ = servers
    ws = await connect(holder, world.tokens["chair"], "subscription { myAssignments { title } }")
    async with session_factory() as session, session.begin():
        record = await session.scalar(
            select(AuthToken).where(
                AuthToken.token_hash == tokens.hash_token(world.tokens["chair"])
            )
        )
        assert record is not None
        await tokens.revoke(session, record.id)
    if backend == "postgresql":
        # Announced through NOTIFY: the process holding the socket closes it by itself, even
        # when the revocation commits before that process has begun to listen.
        code, took = await closed_with(ws)
        assert code == 4401 and took < CLOSE_WITHIN
        return
    # SQLite: this process's announcement does not reach the server's; the next operation
    # on the socket signs in again and is refused.
    await ws.send(
        json.dumps({"id": "q", "type": "subscribe", "payload": {"query": "{ me { id } }"}})
    )
    code, _ = await closed_with(ws)
    assert code == 4401


async def test_a_live_token_keeps_its_socket(world, servers) -> None:
    holder, _ = servers
    ws = await connect(holder, world.tokens["member"], "{ me { uuid } }")
    message = await next_message(ws)
    assert message["type"] == "next"
    assert message["payload"]["data"]["me"]["uuid"] == str(world.ids["member"])
    await ws.close()


async def test_a_grid_limited_token_hears_nothing_of_its_owner(
    world, live_server, session_factory
) -> None:
    """myAssignments streams the notifications a token sees: a token issued for some grids
    sees none of its owner's (api/auth/visibility.py)."""
    async with session_factory() as session, session.begin():
        member = await session.get(Member, world.ids["liaison1"])
        assert member is not None
        issued = await tokens.issue_token(
            session,
            member=member,
            kind=TokenKind.API,
            lifetime=timedelta(days=1),
            grants={"grids": [str(world.ids["grid_e1"])]},
        )
    url = live_server.url
    own = await open_subscription(url, world.tokens["liaison1"], SUBSCRIBE, {})
    limited = await open_subscription(url, issued.token, SUBSCRIBE, {})

    async def assign(attempt: int) -> None:
        ticket_id = await create_ticket(url, world, f"Limited {attempt}")
        variables = {
            "input": {"ticketId": ticket_id, "assigneeId": world.gid("Member", "liaison1")}
        }
        data = await post(url, world.tokens["town1"], ASSIGN, variables)
        assert data["assignTicket"]["errors"] == []

    message = await first_event(own, assign)
    assert message["type"] == "next"
    with pytest.raises(TimeoutError):
        await next_message(limited, timeout=1.0)
    for ws in (own, limited):
        await ws.close()
