"""Remembered sign-ins (api/auth/sign_in_cache.py, PostgreSQL): a token seen a moment ago
skips the sign-in statement, and every change of what it may do counts from the next request
on — revocation, the member's record, its grids, the grid tree — as without the cache."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from api.auth.models import AuthToken, TokenKind
from api.auth.tokens import issue_token
from api.edge.app import create_app
from api.grids.models import GridKind
from api.grids.service import create_grid
from api.members.service import create_member, update_member
from api.records import utcnow
from sync import broadcast
from tests.factories import county_with_town
from tests.helpers import gql

pytestmark = pytest.mark.postgres_only
SCOPE = "{ me { name } grids { nodes { code } } }"


@pytest.fixture
async def app(settings, engine) -> AsyncIterator[Any]:
    yield create_app(settings, engine=engine)


@pytest.fixture
async def http(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def _liaison(session_factory) -> tuple[Any, str, Any]:
    async with session_factory() as session, session.begin():
        _county, town = await county_with_town(session)
        member = await create_member(
            session, name="A", phone="13900000001", roles=["LIAISON"], grid_ids=[town.id]
        )
        issued = await issue_token(session, member=member, kind=TokenKind.API, lifetime=None)
    return member, issued.token, town


async def test_a_remembered_sign_in_follows_every_change(app, http, session_factory) -> None:
    member, token, town = await _liaison(session_factory)
    cache = app.state.graphql.sign_ins.cache
    first = await gql(http, SCOPE, token=token)
    assert [n["code"] for n in first["data"]["grids"]["nodes"]] == ["SY-T01"]
    assert len(cache) == 1  # remembered: the next request skips the sign-in statement
    assert (await gql(http, SCOPE, token=token))["data"] == first["data"]

    # The member's record: shown as it now is.
    async with session_factory() as session, session.begin():
        await update_member(session, member_id=member.id, name="B")
    assert (await gql(http, SCOPE, token=token))["data"]["me"]["name"] == "B"

    # The grid tree below a grid served: seen at once.
    async with session_factory() as session, session.begin():
        await create_grid(
            session, code="SY-T01-P1", name="P", kind=GridKind.PARK, parent_id=town.id
        )
    codes = [n["code"] for n in (await gql(http, SCOPE, token=token))["data"]["grids"]["nodes"]]
    assert sorted(codes) == ["SY-T01", "SY-T01-P1"]

    # Revoked elsewhere (not through this app): refused on the next request.
    async with session_factory() as session, session.begin():
        record = await session.scalar(select(AuthToken).where(AuthToken.member_id == member.id))
        assert record is not None
        record.revoked_at = utcnow()
    body = await gql(http, "mutation { logout { ok } }", token=token, expect_errors=True)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert len(cache) == 0


async def test_nothing_is_remembered_while_not_listening(app, http, session_factory) -> None:
    """When the listening connection drops, changes could go unheard: every request signs in
    again (and the connection is opened again)."""
    member, token, _town = await _liaison(session_factory)
    cache = app.state.graphql.sign_ins.cache
    await gql(http, SCOPE, token=token)
    assert len(cache) == 1
    async with session_factory() as session, session.begin():
        await session.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
            )
        )
    # The process learns of the drop when its event loop reads the closed socket.
    url = app.state.graphql.sign_ins.url
    for _ in range(100):
        if broadcast.listening(url) is None:
            break
        await asyncio.sleep(0.05)
    assert broadcast.listening(url) is None
    async with session_factory() as session, session.begin():
        # Revoked by plain SQL, without the session hooks: only a fresh sign-in sees it.
        await session.execute(
            text("UPDATE auth_token SET revoked_at = now() WHERE member_id = :m"),
            {"m": member.id},
        )
    body = await gql(http, "mutation { logout { ok } }", token=token, expect_errors=True)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
