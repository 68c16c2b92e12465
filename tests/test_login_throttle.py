"""Login throttling (issue 10 finding 6): the 200-guess attack is stopped, aliased logins in
one request count each, failures are shared by every server process (the database, or
Redis), a lock says when to retry, and password hashing does not stall other requests."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
import redis.asyncio as redis

from api.auth import throttle
from api.config import Settings
from api.edge.app import create_app
from tests.push_support import PASSWORD, make_world

REDIS_URL = "redis://127.0.0.1:6379/0"
LOGIN = """mutation($p: String!, $w: String!) {
  login(phone: $p, password: $w) { token errors { code } } }"""


@pytest.fixture(params=["database", "redis"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def throttled_settings(settings: Settings, store_kind: str) -> AsyncIterator[Settings]:
    if store_kind == "database":
        yield settings
        return
    client = redis.from_url(REDIS_URL)
    # The keys these tests use: start and end without them (the server's own prefix).
    pattern = "gridlink:login:*"

    async def clear() -> None:
        async for key in client.scan_iter(pattern):
            await client.delete(key)

    await clear()
    yield replace(settings, redis_url=REDIS_URL)
    await clear()
    await client.aclose()


def _app_client(settings: Settings, address: str = "198.51.100.7") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(settings), client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://t")


async def _login(http: httpx.AsyncClient, phone: str, password: str) -> tuple[str, Any]:
    """('ok', token) | ('wrong', None) | ('throttled', error)."""
    response = await http.post(
        "/graphql", json={"query": LOGIN, "variables": {"p": phone, "w": password}}
    )
    body = response.json()
    if body.get("errors"):
        (error,) = body["errors"]
        assert error["extensions"]["code"] == throttle.TOO_MANY_ATTEMPTS, body
        assert error["message"].startswith("登录尝试过多"), error
        assert int(response.headers["retry-after"]) == error["extensions"]["retryAfter"]
        return "throttled", error
    payload = body["data"]["login"]
    if payload["token"]:
        return "ok", payload["token"]
    assert payload["errors"] == [{"code": "INVALID_CREDENTIALS"}]
    return "wrong", None


async def test_the_200_guess_attack_is_stopped(
    throttled_settings: Settings, session_factory
) -> None:
    world = await make_world(session_factory)
    phone = world.liaison.phone
    outcomes: list[str] = []
    started = time.monotonic()
    async with _app_client(throttled_settings) as http:
        for guess in range(200):
            outcome, detail = await _login(http, phone, f"guess-{guess:04d}")
            outcomes.append(outcome)
            if outcome == "throttled":
                assert detail["extensions"]["retryAfter"] >= 1
                assert detail["extensions"]["field"] == "phone"
                assert detail["extensions"]["retryAt"].endswith("+00:00")
        elapsed = time.monotonic() - started
        # Only the free attempts and those after each wait were checked at all.
        checked = outcomes.count("wrong")
        assert 3 <= checked <= 3 + int(elapsed).bit_length() + 1, (checked, elapsed)
        assert outcomes[:3] == ["wrong"] * 3 and outcomes.count("throttled") >= 190
        # And the right password does not get in while the phone is throttled.
        outcome, detail = await _login(http, phone, PASSWORD)
        assert outcome == "throttled"


async def test_a_lock_after_ten_failures_says_when_to_retry(
    throttled_settings: Settings, session_factory
) -> None:
    store = throttle.store_for(throttled_settings.redis_url, session_factory)
    keys = [(throttle.phone_key("13900000001"), throttle.PHONE)]
    now = 1_000_000
    for _ in range(10):
        await store.attempt(keys, now)  # each attempt after the previous one's wait
        now += throttle.PHONE.wait_after(throttle.PHONE.free) * 64
    with pytest.raises(throttle.Throttled) as locked:
        await store.attempt(keys, now)
    assert 0 < locked.value.retry_after <= throttle.PHONE.lock_seconds
    assert locked.value.code == throttle.TOO_MANY_ATTEMPTS
    # After the lock the next attempt is allowed; a success starts the phone afresh.
    now += throttle.PHONE.lock_seconds
    await store.attempt(keys, now)
    await store.succeeded(keys, now)
    for _ in range(throttle.PHONE.free):
        await store.attempt(keys, now)
    with pytest.raises(throttle.Throttled):
        await store.attempt(keys, now)


async def test_aliased_logins_in_one_request_count_each(
    throttled_settings: Settings, session_factory
) -> None:
    world = await make_world(session_factory)
    aliases = " ".join(
        f'a{i}: login(phone: "{world.liaison.phone}", password: "guess-{i}") '
        "{ token errors { code } }"
        for i in range(30)
    )
    async with _app_client(throttled_settings) as http:
        started = time.monotonic()
        response = await http.post("/graphql", json={"query": f"mutation {{ {aliases} }}"})
        elapsed = time.monotonic() - started
    body = response.json()
    # Each alias counted: the free ones were checked, the first one past them was refused,
    # and as login's payload is non-null the refusal ends the request (no further alias runs).
    assert body["data"] is None
    (refused,) = body["errors"]
    assert refused["extensions"]["code"] == throttle.TOO_MANY_ATTEMPTS
    index = int(refused["path"][0][1:])
    assert throttle.PHONE.free <= index <= throttle.PHONE.free + 2  # a wait may have passed
    assert elapsed < 10  # 27 of the 30 cost no password hash


async def test_failures_are_counted_per_address_and_shared_by_processes(
    throttled_settings: Settings, session_factory
) -> None:
    """Two app instances (as two server processes) on one database or Redis; one client
    address trying many phones is held back after the address's free attempts."""
    await make_world(session_factory)
    first, second = _app_client(throttled_settings), _app_client(throttled_settings)
    async with first, second:
        outcomes = []
        for i in range(throttle.ADDRESS.free + 5):
            http = first if i % 2 else second
            outcome, _ = await _login(http, f"1370000{i:04d}", "wrong-password")
            outcomes.append(outcome)
        assert outcomes[: throttle.ADDRESS.free] == ["wrong"] * throttle.ADDRESS.free
        assert "throttled" in outcomes[throttle.ADDRESS.free :]
        # Another address is not held back by this one.
        async with _app_client(throttled_settings, address="203.0.113.9") as other:
            assert (await _login(other, "13900000001", PASSWORD))[0] == "ok"


def test_throttle_keys() -> None:
    # Spellings of one phone count together; no attacker text is stored.
    assert throttle.phone_key("138 0000 0003") == throttle.phone_key("13800000003")
    assert throttle.phone_key("x" * 10_000).startswith("phone:")
    assert len(throttle.phone_key("x" * 10_000)) <= 80
    assert throttle.address_key(None) == "addr:unknown"
    assert throttle.PHONE.wait_after(2) == 0 and throttle.PHONE.wait_after(3) == 1
    assert throttle.PHONE.wait_after(9) == 60 and throttle.PHONE.wait_after(10) == 900
