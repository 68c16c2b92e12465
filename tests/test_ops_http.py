"""Operations on the HTTP edge: compressed answers negotiated by Accept-Encoding (plain for a
client that asks for none), permessage-deflate on WebSockets, request ids, /metrics and
structured logs."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging

import brotli
import httpx
import pytest
import websockets
import zstandard

from api.config import Settings
from api.edge.app import create_app
from api.ops import requests as ops_requests
from api.ops.logs import configure_logging
from tests.graphql_world import build_world

# The type list of the schema: tens of kilobytes of JSON, no data needed.
BIG = "query Types { __schema { types { name description fields { name description } } } }"
SMALL = "query Tiny { __typename }"
DECODE = {
    "gzip": gzip.decompress,
    "zstd": lambda body: zstandard.ZstdDecompressor().decompress(body),
    "br": brotli.decompress,
}


async def raw_post(
    client: httpx.AsyncClient, query: str, encoding: str | None = None, **headers: str
) -> tuple[httpx.Response, bytes]:
    """The answer and its bytes as sent: httpx neither adds Accept-Encoding nor decodes."""
    request = client.build_request("POST", "/graphql", json={"query": query}, headers=headers)
    del request.headers["accept-encoding"]
    if encoding is not None:
        request.headers["accept-encoding"] = encoding
    response = await client.send(request, stream=True)
    body = b"".join([chunk async for chunk in response.aiter_raw()])
    await response.aclose()
    return response, body


@pytest.mark.parametrize("encoding", ["gzip", "zstd", "br"])
async def test_big_answers_are_compressed_as_negotiated(client, encoding) -> None:
    plain, plain_body = await raw_post(client, BIG)
    assert "content-encoding" not in plain.headers
    assert json.loads(plain_body)["data"]["__schema"]["types"]

    answer, body = await raw_post(client, BIG, f"{encoding}, identity;q=0.5")
    assert answer.headers["content-encoding"] == encoding
    assert "accept-encoding" in answer.headers["vary"].lower()
    assert int(answer.headers["content-length"]) == len(body) < len(plain_body) / 4
    assert DECODE[encoding](body) == plain_body


async def test_server_prefers_zstd_then_br_then_gzip(client) -> None:
    for offered, chosen in [
        ("gzip, br, zstd", "zstd"),
        ("gzip, br", "br"),
        ("gzip;q=1, br;q=0", "gzip"),
        ("deflate", None),
    ]:
        answer, _ = await raw_post(client, BIG, offered)
        assert answer.headers.get("content-encoding") == chosen, offered


async def test_small_answers_and_graphql_response_type(client) -> None:
    small, body = await raw_post(client, SMALL, "gzip")
    assert "content-encoding" not in small.headers
    assert json.loads(body) == {"data": {"__typename": "Query"}}
    typed, _ = await raw_post(client, BIG, "gzip", accept="application/graphql-response+json")
    assert typed.headers["content-type"].startswith("application/graphql-response+json")
    assert typed.headers["content-encoding"] == "gzip"


async def test_compression_can_be_turned_off(settings, engine) -> None:
    app = create_app(Settings(**{**settings.__dict__, "compression": False}), engine=engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        answer, _ = await raw_post(c, BIG, "gzip, zstd")
        assert "content-encoding" not in answer.headers


async def test_websocket_messages_use_permessage_deflate(live_server) -> None:
    url = live_server.url.replace("http", "ws", 1) + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        extensions = ws.response.headers.get("Sec-WebSocket-Extensions", "")
        assert "permessage-deflate" in extensions
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        # No token: refused, but over the compressed connection all the same.
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd.code == 4403
    async with websockets.connect(
        url, subprotocols=["graphql-transport-ws"], compression=None
    ) as ws:
        assert "Sec-WebSocket-Extensions" not in ws.response.headers


async def test_request_id_is_sent_back(client) -> None:
    fresh = await client.post("/graphql", json={"query": SMALL})
    assert len(fresh.headers["x-request-id"]) == 32
    other = await client.post("/graphql", json={"query": SMALL})
    assert other.headers["x-request-id"] != fresh.headers["x-request-id"]
    given = await client.post(
        "/graphql", json={"query": SMALL}, headers={"X-Request-ID": "phone-7.req:42"}
    )
    assert given.headers["x-request-id"] == "phone-7.req:42"
    # A header that could forge log lines is replaced, not echoed.
    forged = await client.post(
        "/graphql", json={"query": SMALL}, headers={"X-Request-ID": 'a b" {}' + "x" * 80}
    )
    assert len(forged.headers["x-request-id"]) == 32
    refused = await client.post("/graphql", content=b"{", headers={"content-type": "text/plain"})
    assert refused.status_code == 415 and refused.headers["x-request-id"]


def metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{key}="{value}"' in line for key, value in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_metrics_count_operations_and_sync(client, session_factory) -> None:
    world = await build_world(session_factory)
    before = (await client.get("/metrics")).text
    headers = {"authorization": f"Bearer {world.tokens['county']}"}
    for _ in range(3):
        await client.post("/graphql", json={"query": SMALL})
    pulled = await client.post(
        "/graphql",
        json={"query": "query Pull { syncPull(limit: 50) { changes { id } hasMore } }"},
        headers=headers,
    )
    changes = len(pulled.json()["data"]["syncPull"]["changes"])
    assert changes > 0
    after = await client.get("/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text

    def grew(name: str, **labels: str) -> float:
        return metric(text, name, **labels) - metric(before, name, **labels)

    assert grew("gridlink_http_requests_total", operation="Tiny", status="200") == 3
    assert grew("gridlink_http_request_seconds_count", operation="Pull") == 1
    assert grew("gridlink_sync_pulls_total", outcome="ok") == 1
    assert grew("gridlink_sync_pulled_changes_total") == changes
    assert 'gridlink_queue_depth{queue="push_delivery",status="PENDING"}' in text


async def test_metrics_are_off_in_production_unless_asked(settings, engine) -> None:
    production = Settings(
        **{**settings.__dict__, "env": "production", "push_allow_insecure_endpoints": False}
    )
    for chosen, status in [
        (production, 404),
        (Settings(**{**production.__dict__, "metrics": True}), 200),
    ]:
        app = create_app(chosen, engine=engine)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as http:
            assert (await http.get("/metrics")).status_code == status
    assert Settings.from_env({"GRIDLINK_ENV": "production"}).metrics_enabled is False
    assert Settings.from_env(
        {"GRIDLINK_METRICS": "true", "GRIDLINK_ENV": "production"}
    ).metrics_enabled


def test_operation_labels_are_bounded() -> None:
    from api.ops.metrics import operation_label

    assert operation_label(None, "query Named($a: Int) { x }") == "Named"
    assert operation_label("Given", "query Named { x }") == "Given"
    assert operation_label(None, "{ x }") == "anonymous"
    assert operation_label("bad name{}", None) == "other"


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("env", ["production", "development"])
def test_log_lines_carry_the_request_id(env, capsys, restore_logging) -> None:
    configure_logging(Settings(env=env))
    token = ops_requests.current.set(ops_requests.RequestInfo("req-1234"))
    try:
        logging.getLogger("gridlink.slow").warning("slow request: %s", "Pull")
    finally:
        ops_requests.current.reset(token)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    if env == "production":
        record = json.loads(line)
        assert record["request_id"] == "req-1234"
        assert record["level"] == "WARNING" and record["name"] == "gridlink.slow"
        assert record["message"] == "slow request: Pull"
    else:
        assert "[req-1234]" in line and "slow request: Pull" in line
