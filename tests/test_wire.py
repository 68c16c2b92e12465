"""GraphQL over HTTP and WebSocket as the specs say: no request body of any shape gets a 500,
the operation must be determined, variable errors are the client's (400, unmasked), no field
suggestions in production, text frames on the socket, and CORS from GRIDLINK_CORS_ORIGINS for
preflights and WebSocket handshakes alike."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest
import websockets

from api.config import Settings, SettingsError
from api.edge.app import create_app
from api.edge.cors import PREFLIGHT_MAX_AGE
from tests.graphql_world import build_world
from tests.helpers import LiveServer

DEEP = "[" * 1000 + "]" * 1000
# Each body with the member it must be refused for; none may be answered with a 5xx.
BAD_BODIES: dict[str, bytes] = {
    "string": b'"x"',
    "number": b"42",
    "null": b"null",
    "boolean": b"true",
    "empty": b"",
    "bad-utf8": b'{"query": "{ __typename }\xff"}',
    "bad-json": b'{"query": ',
    "deep-json": DEEP.encode(),
    "array": b"[]",
    "batch": b'[{"query": "{ __typename }"}]',
    "query-not-string": b'{"query": 5}',
    "unknown-operation": b'{"query": "query A { __typename }", "operationName": "B"}',
    "operation-name-number": b'{"query": "query A { __typename }", "operationName": 5}',
    "operation-name-object": b'{"query": "query A { __typename }", "operationName": {}}',
    "ambiguous-operation": b'{"query": "query A { __typename } query B { __typename }"}',
    "deep-variables": b'{"query": "{ __typename }", "variables": {"v": ' + DEEP.encode() + b"}}",
    "deep-extensions": b'{"query": "{ __typename }", "extensions": {"v": ' + DEEP.encode() + b"}}",
    "variables-array": b'{"query": "{ __typename }", "variables": [1]}',
    "extensions-string": b'{"query": "{ __typename }", "extensions": "x"}',
    "no-query": b"{}",
    "syntax": b'{"query": "{ me { "}',
    "enum-variable": json.dumps(
        {
            "query": "query($s: [TicketStatus!]) { tickets(filter: {status: $s}) { totalCount } }",
            "variables": {"s": ["NOPE"]},
        }
    ).encode(),
}


@pytest.fixture
async def production_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        Settings(
            **{**settings.__dict__, "env": "production", "push_allow_insecure_endpoints": False}
        )
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_no_body_gets_a_500(production_client: httpx.AsyncClient) -> None:
    headers = {"content-type": "application/json"}
    for name, body in BAD_BODIES.items():
        response = await production_client.post("/graphql", content=body, headers=headers)
        assert 400 <= response.status_code < 500, (name, response.status_code, response.text)
        error = response.json()["errors"][0]
        assert error["message"] and error["message"] != "Unexpected error.", name
        assert error["extensions"]["code"], name
    # The same members over GET.
    for params in (
        {"query": "{ __typename }", "operationName": "X"},
        {"query": "{ __typename }", "variables": DEEP},
        {"query": "{ __typename }", "variables": "{bad"},
        {"query": "query A { __typename } query B { __typename }"},
    ):
        response = await production_client.get("/graphql", params=params)
        assert response.status_code == 400, (params, response.text)


async def test_operation_choice_and_variable_errors(production_client) -> None:
    async def post(body: dict) -> httpx.Response:
        return await production_client.post("/graphql", json=body)

    two = "query A { __typename } query B { me { name } }"
    ambiguous = await post({"query": two})
    assert ambiguous.status_code == 400
    assert "operationName" in ambiguous.json()["errors"][0]["message"]
    chosen = await post({"query": two, "operationName": "A"})
    assert chosen.json() == {"data": {"__typename": "Query"}}
    unknown = await post({"query": two, "operationName": "C"})
    assert unknown.status_code == 400
    # The operation's name is quoted in the message, in either language's quotes.
    assert re.search("['“]C['”]", unknown.json()["errors"][0]["message"])

    enum = await post(
        {
            "query": "query($s: [TicketStatus!]) { tickets(filter: {status: $s}) { totalCount } }",
            "variables": {"s": ["NOPE"]},
        }
    )
    assert enum.status_code == 400
    error = enum.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "$s" in error["message"] and "NOPE" in error["message"]
    when = await post(
        {
            "query": "query($t: DateTime) { tickets(filter: {updatedSince: $t}) { totalCount } }",
            "variables": {"t": "yesterday"},
        }
    )
    assert when.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "$t" in when.json()["errors"][0]["message"]


async def test_no_field_suggestions_in_production(client, production_client) -> None:
    query = {"query": "{ ticket { id } }"}
    english = {"accept-language": "en"}
    development = (await client.post("/graphql", json=query)).json()["errors"][0]["message"]
    assert "是否应为 'tickets'" in development  # graphql-core's suggestion, translated
    development = await client.post("/graphql", json=query, headers=english)
    assert "Did you mean 'tickets'" in development.json()["errors"][0]["message"]
    for headers in ({}, english):
        production = (await production_client.post("/graphql", json=query, headers=headers)).json()
        assert "'ticket'" in production["errors"][0]["message"]
        assert "Did you mean" not in json.dumps(production)
        assert "是否应为" not in json.dumps(production, ensure_ascii=False)
    enum = {"query": "{ tickets(filter: {status: [OPNE]}) { totalCount } }"}
    refused = (await production_client.post("/graphql", json=enum, headers=english)).text
    assert "Did you mean" not in refused


# --- CORS --------------------------------------------------------------------------------

ALLOWED = "http://frontend.test:5173"


def test_cors_origins_setting() -> None:
    settings = Settings.from_env({"GRIDLINK_CORS_ORIGINS": " https://A.test:443, " + ALLOWED})
    assert settings.cors_origins == (ALLOWED, "https://a.test")
    assert Settings.from_env({"GRIDLINK_CORS_ORIGINS": ""}).cors_origins == ()
    assert Settings.from_env({"GRIDLINK_CORS_ORIGINS": "*"}).cors_origins == ("*",)
    for env in (
        {"GRIDLINK_CORS_ORIGINS": "*", "GRIDLINK_ENV": "production"},
        {"GRIDLINK_CORS_ORIGINS": "https://a.test/app"},
        {"GRIDLINK_CORS_ORIGINS": "a.test"},
    ):
        with pytest.raises(SettingsError, match="GRIDLINK_CORS_ORIGINS"):
            Settings.from_env(env)


def _preflight(http: httpx.Client, origin: str) -> httpx.Response:
    return http.options(
        "/graphql",
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
        },
    )


@pytest.fixture
def cors_server(settings: Settings):
    server = LiveServer(Settings(**{**settings.__dict__, "cors_origins": (ALLOWED,)}))
    server.start()
    yield server
    server.stop()


async def test_cors_for_http_and_websocket(cors_server, live_server, session_factory) -> None:
    world = await build_world(session_factory)
    with httpx.Client(base_url=cors_server.url) as http:
        allowed = _preflight(http, ALLOWED)
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == ALLOWED
        assert allowed.headers["access-control-max-age"] == str(PREFLIGHT_MAX_AGE)
        assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
        refused = _preflight(http, "http://elsewhere.test")
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
        answer = http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"origin": ALLOWED}
        )
        assert answer.headers["access-control-allow-origin"] == ALLOWED
        other = http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"origin": "http://x.test"}
        )
        assert "access-control-allow-origin" not in other.headers
    # The default (no setting) is same origin only.
    with httpx.Client(base_url=live_server.url) as http:
        assert "access-control-allow-origin" not in _preflight(http, ALLOWED).headers

    async def handshake(server: LiveServer, origin: str) -> str | bytes:
        url = server.url.replace("http", "ws", 1) + "/graphql"
        async with websockets.connect(
            url, subprotocols=["graphql-transport-ws"], origin=origin
        ) as ws:
            payload = {"authorization": f"Bearer {world.tokens['liaison1']}"}
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            return await asyncio.wait_for(ws.recv(), 5)

    ack = await handshake(cors_server, ALLOWED)
    # The protocol's frames are text frames: standard clients refuse binary ones.
    assert isinstance(ack, str) and json.loads(ack)["type"] == "connection_ack"
    with pytest.raises(websockets.InvalidStatus) as refused:
        await handshake(cors_server, "http://elsewhere.test")
    assert refused.value.response.status_code == 403
    with pytest.raises(websockets.InvalidStatus):
        await handshake(live_server, ALLOWED)


async def test_subscribe_needs_a_determined_operation(live_server, session_factory) -> None:
    world = await build_world(session_factory)
    url = live_server.url.replace("http", "ws", 1) + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        payload = {"authorization": f"Bearer {world.tokens['liaison1']}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
        two = "subscription A { myAssignments { kind } } subscription B { myAssignments { title } }"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": two}}))
        error = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert error["id"] == "1" and error["type"] == "error", error
        assert error["payload"][0]["extensions"]["code"] == "BAD_REQUEST"
        # The socket stays usable: the same document with its operation named runs.
        named = {"query": two, "operationName": "A"}
        await ws.send(json.dumps({"id": "2", "type": "subscribe", "payload": named}))
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "pong"
