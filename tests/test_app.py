"""The HTTP edge: health, GraphiQL, request limits, over a real socket where it matters."""

import httpx

from api.config import Settings
from api.edge.app import create_app


async def test_healthz_reports_the_database(client) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_healthz_says_when_the_database_is_unreachable(tmp_path) -> None:
    settings = Settings(database_url="postgresql://nobody@127.0.0.1:1/none")
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        response = await http.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_live_server_serves_graphql_and_refuses_huge_bodies(live_server, settings) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        ok = http.get("/graphql", params={"query": "{ me { name } }"})
        assert ok.status_code == 200 and ok.json() == {"data": {"me": None}}
        ide = http.get("/graphql", headers={"accept": "text/html"})
        assert ide.status_code == 200 and "graphiql" in ide.text.lower()
        huge = "{ me { name } }" + " " * (settings.max_body_bytes + 10)
        refused = http.post("/graphql", json={"query": huge})
        assert refused.status_code == 413
        assert refused.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
        health = http.get("/healthz")
        assert health.json()["database"] == "ok"
