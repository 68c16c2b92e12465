"""GraphQL over HTTP on a real socket: GET, 405 for mutations over GET, media types, clear 4xx
for bad requests, the request limits, and production hardening."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import text

from api.config import Settings
from tests.graphql_world import build_world
from tests.helpers import LiveServer, chinese


@pytest.fixture
async def world(session_factory):
    return await build_world(session_factory)


def _auth(world, role="county"):
    return {"authorization": f"Bearer {world.tokens[role]}"}


def _error(response: httpx.Response) -> dict:
    body = response.json()
    assert body["errors"], body
    return body["errors"][0]


def test_http_behaviour(live_server, world) -> None:
    with httpx.Client(base_url=live_server.url, headers=_auth(world)) as http:
        got = http.get("/graphql", params={"query": "{ me { name } tickets { totalCount } }"})
        assert got.status_code == 200
        assert got.json()["data"] == {"me": {"name": "County Person"}, "tickets": {"totalCount": 4}}

        mutation = http.get("/graphql", params={"query": "mutation { logout { ok } }"})
        assert mutation.status_code == 405
        assert mutation.headers["allow"] == "GET, POST"
        assert _error(mutation)["extensions"]["code"] == "METHOD_NOT_ALLOWED"

        wants = {"accept": "application/graphql-response+json"}
        ok = http.post("/graphql", json={"query": "{ me { name } }"}, headers=wants)
        assert ok.status_code == 200
        assert ok.headers["content-type"] == "application/graphql-response+json"
        invalid = http.post("/graphql", json={"query": "{ nope }"}, headers=wants)
        assert invalid.status_code == 400
        assert invalid.headers["content-type"] == "application/graphql-response+json"
        assert "nope" in _error(invalid)["message"]
        assert "data" not in invalid.json()
        plain = http.post("/graphql", json={"query": "{ me { name } }"})
        assert plain.headers["content-type"] == "application/json"

        bad_json = http.post(
            "/graphql", content=b'{"query": ', headers={"content-type": "application/json"}
        )
        assert bad_json.status_code == 400
        assert "JSON" in _error(bad_json)["message"]
        xml = http.post("/graphql", content=b"<q/>", headers={"content-type": "application/xml"})
        assert xml.status_code == 415
        assert "application/json" in _error(xml)["message"]
        syntax = http.post("/graphql", json={"query": "{ me { "})
        assert syntax.status_code == 400
        assert _error(syntax)["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
        unknown = http.post("/graphql", json={"query": "{ me { salary } }"})
        assert unknown.status_code == 400
        assert _error(unknown)["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        empty = http.post("/graphql", json={})
        assert empty.status_code == 400
        assert _error(empty)["message"] == chinese("no GraphQL query found in the request")
        wrong_vars = http.post("/graphql", json={"query": "{ me { name } }", "variables": [1]})
        assert wrong_vars.status_code == 400
        batch = http.post("/graphql", json=[{"query": "{ me { name } }"}] * 2)
        assert batch.status_code == 400
        assert _error(batch)["message"] == chinese(
            "Batching is not enabled: send one operation per request"
        )


def test_request_limits(live_server, world, settings) -> None:
    with httpx.Client(base_url=live_server.url, headers=_auth(world)) as http:
        deep = "{ grids { nodes { " + "parent { " * 12 + "code" + " }" * 12 + " } } }"
        response = http.post("/graphql", json={"query": deep})
        assert response.status_code == 400 and "嵌套深度" in _error(response)["message"]

        aliases = " ".join(f"a{i}: me {{ name }}" for i in range(settings.max_aliases + 1))
        response = http.post("/graphql", json={"query": "{ " + aliases + " }"})
        assert response.status_code == 400 and "别名" in _error(response)["message"]

        tokens = "{ me { " + " ".join(["name"] * settings.max_tokens) + " } }"
        response = http.post("/graphql", json={"query": tokens})
        assert response.status_code == 400 and "词法单元" in _error(response)["message"]

        page = http.post(
            "/graphql",
            json={"query": f"{{ tickets(first: {settings.max_page_size + 1}) {{ totalCount }} }}"},
        )
        assert _error(page)["extensions"]["code"] == "PAGE_SIZE_EXCEEDED"

        huge = http.post(
            "/graphql", json={"query": "{ me { name } }" + " " * settings.max_body_bytes}
        )
        assert huge.status_code == 413


@pytest.fixture
def production_server(settings):
    server = LiveServer(
        Settings(
            **{**settings.__dict__, "env": "production", "push_allow_insecure_endpoints": False}
        )
    )
    server.start()
    yield server
    server.stop()


async def test_production_hides_the_schema_and_masks_unexpected_errors(
    production_server, world, engine, backend
) -> None:
    with httpx.Client(base_url=production_server.url, headers=_auth(world)) as http:
        ide = http.get("/graphql", headers={"accept": "text/html"})
        assert ide.status_code == 404
        introspection = http.post("/graphql", json={"query": "{ __schema { types { name } } }"})
        assert introspection.status_code == 400
        assert "内省" in _error(introspection)["message"]  # graphql-core's words, translated
        typename = http.post("/graphql", json={"query": "{ __typename }"})
        assert typename.json() == {"data": {"__typename": "Query"}}
        # Expected errors keep their words and codes in production.
        syntax = http.post("/graphql", json={"query": "{ me { "})
        assert _error(syntax)["message"].startswith("语法错误")
        assert _error(syntax)["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
        english = http.post(
            "/graphql", json={"query": "{ me { "}, headers={"accept-language": "en"}
        )
        assert _error(english)["message"].startswith("Syntax Error")
        bad_cursor = http.post("/graphql", json={"query": '{ tickets(after: "x") { totalCount } }'})
        assert _error(bad_cursor)["extensions"]["code"] == "INVALID"

        # An unexpected failure (here: a table gone) is masked, never shown to the client.
        async with engine.begin() as connection:
            cascade = " CASCADE" if backend == "postgresql" else ""
            await connection.execute(text(f"DROP TABLE attendance{cascade}"))
        broken = http.post(
            "/graphql",
            json={
                "query": "{ stationActivities { nodes { title attendances { attendeeName } } } }"
            },
        )
        assert broken.status_code == 200
        body = broken.json()
        assert body["data"] is None and body["errors"][0]["path"][0] == "stationActivities"
        messages = " ".join(e["message"] for e in body["errors"])
        assert "服务器出现意外错误" in messages
        assert "table" not in messages.lower() and "sql" not in json.dumps(body).lower()
