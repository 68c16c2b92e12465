"""Automatic persisted queries (Apollo's protocol), shared by every API process through the
database and bounded."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest
from sqlalchemy import select

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


def _digest(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


async def _stored(engine) -> dict[str, object]:
    async with engine.connect() as connection:
        rows = await connection.execute(select(PersistedQuery.sha256, PersistedQuery.owner_id))
    return {sha: owner for sha, owner in rows}


async def test_each_member_holds_a_share_and_the_least_used_go_first(engine, world) -> None:
    store = PersistedQueries(engine, limit=6, per_caller=3, local=2)
    mine = [f"{{ me {{ name }} }} # county {n}" for n in range(5)]
    theirs = [f"{{ me {{ name }} }} # liaison {n}" for n in range(3)]
    for query in theirs:
        await store.register(_digest(query), query, world["liaison1"])
    # One member registering many queries only replaces its own older ones.
    for query in mine:
        await store.register(_digest(query), query, world["county"])
    stored = await _stored(engine)
    assert {_digest(q) for q in theirs} <= stored.keys()
    assert [q for q in mine if _digest(q) in stored] == mine[-3:]
    assert len(stored) == 6
    # The whole store full: the least recently used entry goes, a used one stays.
    fresh = PersistedQueries(engine, limit=6, per_caller=3, local=2)
    assert await fresh.find(_digest(theirs[0])) == theirs[0]
    other = "{ me { phone } }"
    await store.register(_digest(other), other, world["admin"])
    stored = await _stored(engine)
    assert _digest(theirs[0]) in stored and _digest(theirs[1]) not in stored
    assert len(stored) == 6 and len(store._local) == 2


def _code(response: httpx.Response) -> str | None:
    errors = response.json().get("errors") or [{}]
    return errors[0].get("extensions", {}).get("code")


def test_only_signed_in_callers_register_and_only_valid_documents(live_server, world, engine):
    anonymous_query = "{ me { name } } # anonymous"
    invalid_query = "{ me { nameOfNothing } }"
    unparsable = "{ me { "
    signed_in = {"authorization": f"Bearer {world.tokens['liaison1']}"}
    with httpx.Client(base_url=live_server.url) as http:
        # Anonymous: the query runs, but the store keeps nothing, so its hash stays unknown.
        ran = http.post(
            "/graphql",
            json={"query": anonymous_query, "extensions": extensions(_digest(anonymous_query))},
        )
        assert ran.status_code == 200 and ran.json()["data"] == {"me": None}
        again = http.post("/graphql", json={"extensions": extensions(_digest(anonymous_query))})
        assert _code(again) == "PERSISTED_QUERY_NOT_FOUND"
        # Signed in, but a document that does not validate or parse is not kept either.
        for query, code in (
            (invalid_query, "GRAPHQL_VALIDATION_FAILED"),
            (unparsable, "GRAPHQL_PARSE_FAILED"),
        ):
            refused = http.post(
                "/graphql",
                json={"query": query, "extensions": extensions(_digest(query))},
                headers=signed_in,
            )
            assert refused.status_code == 400 and _code(refused) == code
            by_hash = http.post(
                "/graphql", json={"extensions": extensions(_digest(query))}, headers=signed_in
            )
            assert _code(by_hash) == "PERSISTED_QUERY_NOT_FOUND"
        # A signed-in caller's valid query is kept, and anyone may then use the hash.
        registered = http.post(
            "/graphql", json={"query": QUERY, "extensions": extensions()}, headers=signed_in
        )
        assert registered.status_code == 200 and "errors" not in registered.json()
        used = http.post("/graphql", json={"extensions": extensions()})
        assert used.status_code == 200
        assert _code(used) == "UNAUTHENTICATED"  # it ran: the hash was known
        # A hash that is not 64 hex characters is malformed (never looked up).
        odd = http.post("/graphql", json={"extensions": extensions("\u0000" * 64)})
        assert odd.status_code == 400 and _code(odd) == "PERSISTED_QUERY_INVALID"
