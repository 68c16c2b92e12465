"""Who sees what, one answer through every door: for every demo role × token kind (sign-in,
API token, API token limited to grid SY-T01-J02, read-only API token) and every collection,
the ids a caller sees are the same through the GraphQL lists, node/nodes, a first syncPull,
and an incremental syncPull after changes. One demo county per backend, shared by the tests
of this module (they only add to it)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from api.app import create_app
from api.auth.models import TokenKind
from api.auth.scope import scope_for
from api.auth.tokens import issue_token
from api.config import Settings
from api.db import create_engine, session_factory
from api.demo import DEMO_PASSWORD, load_demo
from api.enterprises.models import Enterprise
from api.grids.models import Grid
from api.members.models import Member
from api.tickets import lifecycle
from api.tickets.models import Ticket, TicketSource
from schema.ids import to_global_id
from schema.views import VIEWS
from sync import conflicts
from sync.collections import MODELS
from tests.conftest import BACKENDS, ROOT, _pg_exec, _pg_url
from tests.helpers import gql

PHONES = {
    "admin": "13800000000",
    "county": "13800000001",
    "town": "13800000002",
    "liaison": "13800000003",
    "chair": "13800000004",
    "member": "13800000005",
}
KINDS = ("login", "api", "grid", "readonly")
LIMITED_TO = "SY-T01-J02"
# Root lists: collection -> (field, whether it is a Relay connection).
LISTS = {
    "grids": "grids",
    "enterprises": "enterprises",
    "members": "members",
    "tickets": "tickets",
    "stations": "stations",
    "stationActivities": "stationActivities",
}
PAGE = 1000
PULL = """query($checkpoint: String) { syncPull(checkpoint: $checkpoint, limit: 1000) {
  changes { collection id deleted } checkpoint hasMore resetRequired } }"""


@dataclass
class Demo:
    settings: Settings
    database_url: str


@pytest.fixture(scope="module", params=BACKENDS)
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    """The demo county, loaded once per backend for this module."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path_factory.mktemp("visibility") / "demo.db"
        shutil.copyfile(template, path)
        url = f"sqlite:///{path}"
    else:
        template = request.getfixturevalue("pg_template")
        name = f"gl_vis_{uuid.uuid4().hex[:10]}"
        asyncio.run(_pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        url = _pg_url(name)
    settings = Settings(
        database_url=url,
        env="development",
        run_worker_in_process=False,
        max_page_size=PAGE,
    )

    async def load() -> None:
        engine = create_engine(settings)
        async with session_factory(engine)() as session, session.begin():
            await load_demo(session)
        await engine.dispose()

    asyncio.run(load())
    yield Demo(settings, url)
    if request.param != "sqlite":
        asyncio.run(_pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def http(demo: Demo) -> Any:
    engine = create_engine(demo.settings)
    app = create_app(demo.settings, engine=engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client
    await engine.dispose()


def cli(database_url: str, *args: str) -> str:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLINK_")}
    environ["GRIDLINK_DATABASE_URL"] = database_url
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


# --- what a caller sees through each door ------------------------------------------------


async def pull_all(http: httpx.AsyncClient, token: str, checkpoint: str | None = None) -> Any:
    """Pull to the end from ``checkpoint``: (changes in order, the last checkpoint)."""
    changes: list[dict[str, Any]] = []
    while True:
        body = await gql(http, PULL, {"checkpoint": checkpoint}, token=token)
        page = body["data"]["syncPull"]
        assert not page["resetRequired"]
        changes.extend(page["changes"])
        checkpoint = page["checkpoint"]
        if not page["hasMore"]:
            return changes, checkpoint


def apply(replica: dict[str, set[str]], changes: list[dict[str, Any]]) -> None:
    for change in changes:
        ids = replica.setdefault(change["collection"], set())
        if change["deleted"]:
            ids.discard(change["id"])
        else:
            ids.add(change["id"])


async def listed(http: httpx.AsyncClient, token: str) -> dict[str, set[str]]:
    """The root lists, every page."""
    found: dict[str, set[str]] = {}
    for collection, field in LISTS.items():
        ids: set[str] = set()
        after = None
        while True:
            query = f"""query($after: String) {{ {field}(first: {PAGE}, after: $after) {{
                nodes {{ uuid }} pageInfo {{ hasNextPage endCursor }} }} }}"""
            page = (await gql(http, query, {"after": after}, token=token))["data"][field]
            ids.update(n["uuid"] for n in page["nodes"])
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        found[collection] = ids
    notes: set[str] = set()
    after = None
    while True:
        query = """query($after: String) { notifications(first: 1000, after: $after) {
            nodes { id } endCursor hasNextPage } }"""
        page = (await gql(http, query, {"after": after}, token=token))["data"]["notifications"]
        notes.update(str(uuid.UUID(_node_uuid(n["id"]))) for n in page["nodes"])
        if not page["hasNextPage"]:
            break
        after = page["endCursor"]
    found["notifications"] = notes
    query = "{ syncConflicts(status: null, limit: 1000) { id } }"
    rows = (await gql(http, query, token=token))["data"]["syncConflicts"]
    found["syncConflicts"] = {r["id"] for r in rows}
    return found


def _node_uuid(global_id: str) -> str:
    from schema.ids import split_global_id

    parsed = split_global_id(global_id)
    return str(parsed[1]) if parsed else global_id


async def by_node(
    http: httpx.AsyncClient, token: str, every: dict[str, list[uuid.UUID]]
) -> dict[str, set[str]]:
    """nodes(ids) over every record of every collection with a GraphQL type; node(id) for one
    of each (the same loader answers both)."""
    found: dict[str, set[str]] = {}
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Node { id } } }"
    for collection, ids in every.items():
        type_name = _type_of(collection)
        if type_name is None:
            continue
        seen: set[str] = set()
        for start in range(0, len(ids), PAGE):
            batch = [to_global_id(type_name, i) for i in ids[start : start + PAGE]]
            nodes = (await gql(http, query, {"ids": batch}, token=token))["data"]["nodes"]
            seen.update(str(i) for i, n in zip(ids[start:], nodes, strict=False) if n is not None)
        if ids:
            one = ids[0]
            single = "query($id: ID!) { node(id: $id) { id } }"
            answer = await gql(http, single, {"id": to_global_id(type_name, one)}, token=token)
            assert (answer["data"]["node"] is not None) == (str(one) in seen), collection
        found[collection] = seen
    return found


def _type_of(collection: str) -> str | None:
    model = next(m for m in MODELS if m.sync_collection == collection)
    return model.__name__ if model.__name__ in VIEWS else None


async def every_id(demo: Demo) -> dict[str, list[uuid.UUID]]:
    engine = create_engine(demo.settings)
    found: dict[str, list[uuid.UUID]] = {}
    async with engine.connect() as connection:
        for model in MODELS:
            table: Any = model.__table__  # type: ignore[attr-defined]
            rows = await connection.execute(sa.select(table.c.id).order_by(table.c.id))
            found[model.sync_collection] = [r.id for r in rows]
    await engine.dispose()
    return found


# --- callers ---------------------------------------------------------------------------------


async def tokens_for(http: httpx.AsyncClient, demo: Demo) -> dict[tuple[str, str], str]:
    """Every role × token kind. The sign-in goes through `login`; API tokens are issued the
    way `gridlink create-token` issues them (tests below run the command itself)."""
    made: dict[tuple[str, str], str] = {}
    login = """mutation($phone: String!, $password: String!) {
        login(phone: $phone, password: $password) { token } }"""
    for role, phone in PHONES.items():
        answer = await gql(http, login, {"phone": phone, "password": DEMO_PASSWORD})
        made[(role, "login")] = answer["data"]["login"]["token"]
    engine = create_engine(demo.settings)
    async with session_factory(engine)() as session, session.begin():
        limited = await session.scalar(sa.select(Grid.id).where(Grid.code == LIMITED_TO))
        for role, phone in PHONES.items():
            member = await session.scalar(sa.select(Member).where(Member.phone == phone))
            assert member is not None
            for kind, grants in [
                ("api", {"readOnly": False}),
                ("grid", {"readOnly": False, "grids": [str(limited)]}),
                ("readonly", {"readOnly": True}),
            ]:
                issued = await issue_token(
                    session,
                    member=member,
                    kind=TokenKind.API,
                    lifetime=timedelta(days=1),
                    name=f"{role}-{kind}",
                    grants=grants,
                )
                made[(role, kind)] = issued.token
    await engine.dispose()
    return made


def differences(caller: tuple[str, str], doors: dict[str, dict[str, set[str]]]) -> list[str]:
    """Every collection where two doors disagree, with a few of the ids at fault."""
    out = []
    reference_name, reference = next(iter(doors.items()))
    for name, seen in doors.items():
        for collection in sorted(set(seen) | set(reference)):
            if collection not in seen or collection not in reference:
                continue
            a, b = reference[collection], seen[collection]
            if a != b:
                extra, missing = sorted(b - a)[:3], sorted(a - b)[:3]
                out.append(
                    f"{caller} {collection}: {name} vs {reference_name}: "
                    f"+{len(b - a)} {extra} -{len(a - b)} {missing}"
                )
    return out


async def change_things(demo: Demo) -> None:
    """Changes that move records between scopes: a ticket reported in the limited grid, one
    moved into it and assigned, a comment on a moved ticket, an enterprise (and its staff)
    moved into it, a conflict kept for the liaison."""
    engine = create_engine(demo.settings)
    async with session_factory(engine)() as session, session.begin():
        admin = await session.scalar(sa.select(Member).where(Member.phone == PHONES["admin"]))
        liaison = await session.scalar(sa.select(Member).where(Member.phone == PHONES["liaison"]))
        assert admin is not None and liaison is not None
        scope = await scope_for(session, admin)
        limited = await session.scalar(sa.select(Grid.id).where(Grid.code == LIMITED_TO))
        own = await session.scalar(sa.select(Grid.id).where(Grid.code == "SY-T01-J01"))
        assert limited is not None and own is not None
        await lifecycle.create_ticket(
            session,
            scope=scope,
            title="visibility probe",
            source=TicketSource.RISK_HAZARD,
            grid_id=limited,
        )
        moved = await session.scalar(
            sa.select(Ticket).where(Ticket.grid_id == own, Ticket.deleted_at.is_(None)).limit(1)
        )
        assert moved is not None
        await lifecycle.add_comment(session, scope=scope, ticket_id=moved.id, body="before move")
        await lifecycle.reassign_to_grid(session, scope=scope, ticket_id=moved.id, grid_id=limited)
        staffed = await session.scalar(
            sa.select(Enterprise)
            .join(Member, Member.enterprise_id == Enterprise.id)
            .where(Enterprise.grid_id != limited, Enterprise.deleted_at.is_(None))
            .limit(1)
        )
        assert staffed is not None
        staffed.grid_id = limited
        origin = conflicts.Origin(
            client_id="visibility-test", mutation_id="m1", member_id=liaison.id
        )
        conflicts.keep_conflict(
            session,
            origin=origin,
            collection="tickets",
            record_id=moved.id,
            field="title",
            client_value="mine",
            server_value="theirs",
            rule="SERVER_WINS",
            winner=conflicts.ConflictWinner.SERVER,
            message="",
            base_version=1,
            server_version=2,
        )
    await engine.dispose()


async def test_every_door_shows_the_same_records(demo: Demo, http: httpx.AsyncClient) -> None:
    every = await every_id(demo)
    callers = await tokens_for(http, demo)
    problems: list[str] = []
    replicas: dict[tuple[str, str], tuple[dict[str, set[str]], str]] = {}
    for caller, token in callers.items():
        changes, checkpoint = await pull_all(http, token)
        first: dict[str, set[str]] = {m.sync_collection: set() for m in MODELS}
        apply(first, changes)
        replicas[caller] = (first, checkpoint)
        doors = {
            "syncPull": first,
            "lists": await listed(http, token),
            "nodes": await by_node(http, token, every),
        }
        problems += differences(caller, doors)
    await change_things(demo)
    every = await every_id(demo)
    for caller, token in callers.items():
        replica, checkpoint = replicas[caller]
        changes, _ = await pull_all(http, token, checkpoint)
        apply(replica, changes)
        fresh, _ = await pull_all(http, token)
        first = {m.sync_collection: set() for m in MODELS}
        apply(first, fresh)
        doors = {
            "incremental syncPull": replica,
            "first syncPull": first,
            "lists": await listed(http, token),
            "nodes": await by_node(http, token, every),
        }
        problems += differences(caller, doors)
    assert not problems, "\n".join(problems)
