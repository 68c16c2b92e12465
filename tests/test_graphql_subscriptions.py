"""Subscriptions over graphql-transport-ws on real servers: authenticated at connection_init,
myAssignments and ticketEvents(gridId); on PostgreSQL an event written through one API process
reaches a subscriber of another (LISTEN/NOTIFY)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from tests.graphql_world import World, build_world
from tests.helpers import free_port

PROTOCOL = "graphql-transport-ws"
CREATE = """mutation($input: CreateTicketInput!) { createTicket(input: $input) {
  errors { code message } ticket { id title } } }"""
ASSIGN = """mutation($input: AssignTicketInput!) { assignTicket(input: $input) {
  errors { code message } ticket { id } } }"""


async def open_subscription(
    base_url: str, token: str | None, query: str, variables: dict[str, Any]
) -> Any:
    ws = await websockets.connect(
        base_url.replace("http", "ws", 1) + "/graphql", subprotocols=[PROTOCOL]
    )
    payload = {"authorization": f"Bearer {token}"} if token else {}
    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
    ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert ack["type"] == "connection_ack", ack
    await ws.send(
        json.dumps(
            {"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )
    )
    return ws


async def next_message(ws: Any, timeout: float = 5) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if message["type"] != "ping":
            return message


async def post(base_url: str, token: str, query: str, variables: dict[str, Any]) -> dict:
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"authorization": f"Bearer {token}"},
        )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def create_ticket(base_url: str, world: World, title: str) -> str:
    data = await post(
        base_url,
        world.tokens["town1"],
        CREATE,
        {
            "input": {
                "title": title,
                "source": "RISK_HAZARD",
                "enterpriseId": world.gid("Enterprise", "e1"),
            }
        },
    )
    assert data["createTicket"]["errors"] == []
    return data["createTicket"]["ticket"]["id"]


async def first_event(ws: Any, write: Any, *, attempts: int = 20) -> dict[str, Any]:
    """Write until an event arrives: the subscription starts listening asynchronously, so
    the first writes may come before it; each attempt is a new, real write."""
    for attempt in range(attempts):
        await write(attempt)
        try:
            return await next_message(ws, timeout=0.5)
        except TimeoutError:
            continue
    raise AssertionError("no event reached the subscriber")


@pytest.fixture
async def world(session_factory):
    return await build_world(session_factory)


async def test_connection_init_needs_a_token(live_server, world) -> None:
    ws = await websockets.connect(
        live_server.url.replace("http", "ws", 1) + "/graphql", subprotocols=[PROTOCOL]
    )
    await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd.code == 4403
    bad = await websockets.connect(
        live_server.url.replace("http", "ws", 1) + "/graphql", subprotocols=[PROTOCOL]
    )
    await bad.send(
        json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer glk_nope"}})
    )
    with pytest.raises(websockets.ConnectionClosed) as refused:
        await asyncio.wait_for(bad.recv(), 5)
    assert refused.value.rcvd.code == 4403


async def test_ticket_events_and_my_assignments(live_server, world) -> None:
    url = live_server.url
    events = await open_subscription(
        url,
        world.tokens["liaison1"],
        "subscription($grid: ID!) { ticketEvents(gridId: $grid) { kind ticket { title } } }",
        {"grid": world.gid("Grid", "grid_e1")},
    )
    created: list[str] = []

    async def write(attempt: int) -> None:
        created.append(await create_ticket(url, world, f"Hazard {attempt}"))

    message = await first_event(events, write)
    assert message["type"] == "next"
    event = message["payload"]["data"]["ticketEvents"]
    assert event["kind"] == "REPORTED" and event["ticket"]["title"].startswith("Hazard")

    assignments = await open_subscription(
        url,
        world.tokens["liaison1"],
        "subscription { myAssignments { kind title ticket { id title } } }",
        {},
    )
    other = await open_subscription(
        url,
        world.tokens["liaison2"],
        "subscription { myAssignments { kind ticket { id } } }",
        {},
    )

    async def assign(attempt: int) -> None:
        ticket_id = await create_ticket(url, world, f"To assign {attempt}")
        data = await post(
            url,
            world.tokens["town1"],
            ASSIGN,
            {"input": {"ticketId": ticket_id, "assigneeId": world.gid("Member", "liaison1")}},
        )
        assert data["assignTicket"]["errors"] == []

    message = await first_event(assignments, assign)
    assigned = message["payload"]["data"]["myAssignments"]
    assert assigned["kind"] == "ASSIGNED"
    assert assigned["ticket"]["title"].startswith("To assign")
    # The other liaison hears nothing of it.
    with pytest.raises(TimeoutError):
        await next_message(other, timeout=0.5)
    # A grid the subscriber may not see is refused.
    foreign = await open_subscription(
        url,
        world.tokens["liaison1"],
        "subscription($grid: ID!) { ticketEvents(gridId: $grid) { kind } }",
        {"grid": world.gid("Grid", "g_town2")},
    )
    refused = await next_message(foreign)
    errors = refused["payload"] if refused["type"] == "error" else refused["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"
    for ws in (events, assignments, other, foreign):
        await ws.close()


class ServerProcess:
    """`uvicorn api.edge.app:create_app --factory` in a process of its own."""

    def __init__(self, database_url: str) -> None:
        self.port = free_port()
        env = {**os.environ, "GRIDLINK_DATABASE_URL": database_url}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "api.edge.app:create_app",
                "--factory",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=env,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait(self) -> None:
        deadline = time.monotonic() + 120  # a loaded 2-core machine
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the server process did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture
def two_processes(database_url: str) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    servers = (ServerProcess(database_url), ServerProcess(database_url))
    try:
        for server in servers:
            server.wait()
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.mark.postgres_only
async def test_events_cross_processes_on_postgresql(world, two_processes) -> None:
    writer, reader = two_processes
    ws = await open_subscription(
        reader.url,
        world.tokens["town1"],
        "subscription($grid: ID!) { ticketEvents(gridId: $grid) { kind ticket { id title } } }",
        {"grid": world.gid("Grid", "g_town1")},
    )
    written: list[str] = []

    async def write(attempt: int) -> None:
        written.append(await create_ticket(writer.url, world, f"Written on A ({attempt})"))

    message = await first_event(ws, write)
    event = message["payload"]["data"]["ticketEvents"]
    assert event["kind"] == "REPORTED"
    assert event["ticket"]["id"] in written
    # And the next write arrives too, in order.
    later = await create_ticket(writer.url, world, "Second write on A")
    following = []
    while later not in following:
        message = await next_message(ws)
        following.append(message["payload"]["data"]["ticketEvents"]["ticket"]["id"])
    await ws.close()
