"""Automatic persisted queries (Apollo's protocol), shared by every API process through the
database and bounded."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest
from sqlalchemy import func, select

from api.persisted.models import PersistedQuery
from schema.persisted import PersistedQueries
from tests.graphql_world import build_world
from tests.helpers import LiveServer

QUERY = "{ me { name } tickets { totalCount } }"
DIGEST = hashlib.sha256(QUERY.encode()).hexdigest()


def extensions(digest: str = DIGEST) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


@pytest.fixture
async def world(session_factory):
    return await build_world(session_factory)


def test_hash_then_register_then_hash_again_on_another_process(live_server, settings, world):
    headers = {"authorization": f"Bearer {world.tokens['county']}"}
    with httpx.Client(base_url=live_server.url, headers=headers) as http:
        unknown = http.get("/graphql", params={"extensions": json.dumps(extensions())})
        assert unknown.status_code == 200
        assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

        mismatch = http.post(
            "/graphql", json={"query": "{ me { phone } }", "extensions": extensions()}
        )
        assert mismatch.status_code == 400
        assert mismatch.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"

        registered = http.post("/graphql", json={"query": QUERY, "extensions": extensions()})
        assert registered.json()["data"]["me"] == {"name": "County Person"}
        by_hash = http.get("/graphql", params={"extensions": json.dumps(extensions())})
        assert by_hash.json()["data"]["tickets"] == {"totalCount": 4}

        invalid = http.post(
            "/graphql", json={"extensions": {"persistedQuery": {"version": 2, "sha256Hash": "x"}}}
        )
        assert invalid.status_code == 400

    # Another API process (its own memory) knows the hash from the shared table.
    other = LiveServer(settings)
    other.start()
    try:
        with httpx.Client(base_url=other.url, headers=headers) as http:
            again = http.post("/graphql", json={"extensions": extensions()})
            assert again.json()["data"]["me"] == {"name": "County Person"}
    finally:
        other.stop()


async def test_the_store_is_bounded(engine) -> None:
    store = PersistedQueries(engine, limit=5, local=2)
    queries = [f"{{ me {{ name }} }} # {n}" for n in range(8)]
    for query in queries:
        await store.resolve(hashlib.sha256(query.encode()).hexdigest(), query)
    async with engine.connect() as connection:
        count = await connection.scalar(select(func.count()).select_from(PersistedQuery))
    assert count == 5
    newest = queries[-1]
    fresh = PersistedQueries(engine, limit=5, local=2)
    assert await fresh.resolve(hashlib.sha256(newest.encode()).hexdigest(), None) == newest
    assert len(store._local) == 2
