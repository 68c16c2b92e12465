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

from api.auth import visibility
from api.auth.models import TokenKind
from api.auth.scope import scope_for
from api.auth.tokens import issue_token
from api.config import Settings
from api.db import create_engine, session_factory
from api.demo import DEMO_PASSWORD, load_demo
from api.edge.app import create_app
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
        [sys.executable, "-m", "api.edge.cli", *args],
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
    http: httpx.AsyncClient,
    token: str,
    every: dict[str, list[uuid.UUID]],
    only: frozenset[str] | None = None,
) -> dict[str, set[str]]:
    """nodes(ids) over every record of every collection with a GraphQL type (``only`` those
    collections); node(id) for one of each (the same loader answers both)."""
    found: dict[str, set[str]] = {}
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Node { id } } }"
    for collection, ids in every.items():
        type_name = _type_of(collection)
        if type_name is None or (only is not None and collection not in only):
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


CHANGED = frozenset({"tickets", "ticketComments", "enterprises", "members", "notifications"})


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
        doors = {
            "incremental syncPull": replica,
            "lists": await listed(http, token),
            # The collections the changes touched (the others were compared above).
            "nodes": await by_node(http, token, every, CHANGED),
        }
        problems += differences(caller, doors)
    assert not problems, "\n".join(problems)


# --- the findings, as reported -----------------------------------------------------------

TICKETS = "{ tickets(first: 1000) { nodes { uuid } } }"
MEMBERS = "{ members(first: 1000) { nodes { uuid } } }"


async def first_sync(http: httpx.AsyncClient, token: str) -> dict[str, set[str]]:
    changes, _ = await pull_all(http, token)
    found: dict[str, set[str]] = {}
    apply(found, changes)
    return found


async def test_a_token_limited_to_a_grid_gets_the_same_through_sync(
    demo: Demo, http: httpx.AsyncClient
) -> None:
    """The demo liaison limited to a grid not its own, and the town officer limited to a grid
    of its town, with tokens made by `gridlink create-token`."""
    for phone, expected_tickets in (("13800000003", 0), ("13800000002", None)):
        token = cli(
            demo.database_url,
            "create-token",
            "--phone",
            phone,
            "--name",
            "probe",
            "--grid",
            LIMITED_TO,
            "--read-only",
        )
        synced = await first_sync(http, token)
        listed_tickets = {
            n["uuid"] for n in (await gql(http, TICKETS, token=token))["data"]["tickets"]["nodes"]
        }
        assert synced.get("tickets", set()) == listed_tickets, phone
        if expected_tickets is not None:
            assert len(listed_tickets) == expected_tickets
            # Nothing of the owner's own beyond the grid: no comments, no notifications.
            assert not synced.get("ticketComments") and not synced.get("notifications")
        members = {
            n["uuid"] for n in (await gql(http, MEMBERS, token=token))["data"]["members"]["nodes"]
        }
        assert synced.get("members", set()) == members, phone


async def test_staff_of_visible_enterprises_come_through_sync(
    demo: Demo, http: httpx.AsyncClient
) -> None:
    login = """mutation { login(phone: "13800000003", password: "gridlink-demo") { token } }"""
    token = (await gql(http, login))["data"]["login"]["token"]
    members = {
        n["uuid"] for n in (await gql(http, MEMBERS, token=token))["data"]["members"]["nodes"]
    }
    engine = create_engine(demo.settings)
    async with session_factory(engine)() as session:
        staff = set(
            map(
                str,
                await session.scalars(
                    sa.select(Member.id)
                    .join(Enterprise, Enterprise.id == Member.enterprise_id)
                    .join(Grid, Grid.id == Enterprise.grid_id)
                    .where(Grid.code == "SY-T01-J01", Member.deleted_at.is_(None))
                ),
            )
        )
    await engine.dispose()
    assert staff and staff <= members
    assert (await first_sync(http, token))["members"] == members


async def _login(http: httpx.AsyncClient, phone: str) -> str:
    query = """mutation($phone: String!) { login(phone: $phone, password: "gridlink-demo") {
        token } }"""
    return (await gql(http, query, {"phone": phone}))["data"]["login"]["token"]


CREATE_TICKET = """mutation($input: CreateTicketInput!) { createTicket(input: $input) {
  errors { code field } ticket { uuid reporter { uuid name phone roles } } } }"""


async def _ids(demo: Demo, phone: str, grid: str) -> tuple[str, str]:
    engine = create_engine(demo.settings)
    async with session_factory(engine)() as session:
        member = await session.scalar(sa.select(Member.id).where(Member.phone == phone))
        grid_id = await session.scalar(sa.select(Grid.id).where(Grid.code == grid))
    await engine.dispose()
    return to_global_id("Member", member), to_global_id("Grid", grid_id)


async def test_only_staff_name_another_reporter(demo: Demo, http: httpx.AsyncClient) -> None:
    liaison = await _login(http, PHONES["liaison"])
    admin_id, grid = await _ids(demo, PHONES["admin"], "SY-T01-J01")
    sent = {"title": "reported for the admin", "source": "RISK_HAZARD", "gridId": grid}
    answer = await gql(
        http, CREATE_TICKET, {"input": {**sent, "reporterId": admin_id}}, token=liaison
    )
    payload = answer["data"]["createTicket"]
    assert payload["ticket"] is None
    assert payload["errors"] == [{"code": "FORBIDDEN", "field": "reporterId"}]
    # Staff may, for a member they see; the reporter's phone and roles then show only to
    # callers who see that member.
    town = await _login(http, PHONES["town"])
    town_id, _ = await _ids(demo, PHONES["town"], "SY-T01-J01")
    made = await gql(http, CREATE_TICKET, {"input": {**sent, "reporterId": town_id}}, token=town)
    ticket = made["data"]["createTicket"]["ticket"]
    assert ticket["reporter"]["phone"] == PHONES["town"]
    seen = await gql(
        http,
        "query($id: ID!) { node(id: $id) { ... on Ticket { reporter { name phone roles } } } }",
        {"id": to_global_id("Ticket", uuid.UUID(ticket["uuid"]))},
        token=liaison,
    )
    reporter = seen["data"]["node"]["reporter"]
    assert reporter["name"] and reporter["phone"] is None and reporter["roles"] is None
    listed = await gql(
        http,
        "{ tickets(first: 1000) { nodes { uuid reporter { phone roles } } } }",
        token=liaison,
    )
    row = next(n for n in listed["data"]["tickets"]["nodes"] if n["uuid"] == ticket["uuid"])
    assert row["reporter"] == {"phone": None, "roles": None}
    assert (
        await gql(http, "query($id: ID!) { node(id: $id) { id } }", {"id": town_id}, token=liaison)
    )["data"]["node"] is None


PUSH = """mutation($client: String!, $mutations: [SyncMutationInput!]!) {
  syncPush(clientId: $client, mutations: $mutations) {
    results { status error { code message field } } } }"""


async def _push(http: httpx.AsyncClient, token: str, **mutation: Any) -> dict[str, Any]:
    mutation = {"mutationId": uuid.uuid4().hex, **mutation}
    # A device of its own per push: one device's rejected CREATE colours its later edits.
    variables = {"client": uuid.uuid4().hex, "mutations": [mutation]}
    body = await gql(http, PUSH, variables, token=token)
    return body["data"]["syncPush"]["results"][0]


async def test_not_yours_and_not_there_get_one_answer(demo: Demo, http: httpx.AsyncClient) -> None:
    liaison = await _login(http, PHONES["liaison"])
    engine = create_engine(demo.settings)
    async with session_factory(engine)() as session:
        own_grid = await session.scalar(sa.select(Grid.id).where(Grid.code == "SY-T01-J01"))
        foreign = await session.scalar(
            sa.select(Ticket)
            .where(Ticket.grid_id != own_grid, Ticket.deleted_at.is_(None))
            .limit(1)
        )
        mine = await session.scalar(
            sa.select(Ticket.id).where(Ticket.grid_id == own_grid, Ticket.deleted_at.is_(None))
        )
    await engine.dispose()
    assert foreign is not None and mine is not None
    random_id = str(uuid.uuid4())
    new = {"title": "t", "source": "RISK_HAZARD", "gridId": str(own_grid)}
    # CREATE with a foreign ticket's id: the answer of an id that cannot be a new record's.
    taken = await _push(
        http, liaison, collection="tickets", id=str(foreign.id), op="CREATE", fields=new
    )
    unusable = await _push(
        http, liaison, collection="tickets", id=str(uuid.uuid1()), op="CREATE", fields=new
    )
    assert taken["status"] == unusable["status"] == "REJECTED"
    assert taken["error"] == unusable["error"]
    assert taken["error"]["code"] != "DUPLICATE_ID"
    # One's own ticket's id: DUPLICATE_ID, which tells nothing new.
    again = await _push(http, liaison, collection="tickets", id=str(mine), op="CREATE", fields=new)
    assert again["error"]["code"] == "DUPLICATE_ID"
    # UPDATE of a foreign ticket and of no ticket at all.
    edit = {"title": "mine now"}
    foreign_edit = await _push(
        http,
        liaison,
        collection="tickets",
        id=str(foreign.id),
        op="UPDATE",
        baseVersion=1,
        fields=edit,
    )
    random_edit = await _push(
        http, liaison, collection="tickets", id=random_id, op="UPDATE", baseVersion=1, fields=edit
    )
    assert foreign_edit["error"] == random_edit["error"]
    assert foreign_edit["error"]["code"] == "NOT_FOUND"
    # A comment on a foreign ticket and on none.
    on_foreign = await _push(
        http,
        liaison,
        collection="ticketComments",
        id=str(uuid.uuid4()),
        op="CREATE",
        fields={"ticketId": str(foreign.id), "body": "hi"},
    )
    on_none = await _push(
        http,
        liaison,
        collection="ticketComments",
        id=str(uuid.uuid4()),
        op="CREATE",
        fields={"ticketId": random_id, "body": "hi"},
    )
    assert on_foreign["error"] == on_none["error"] and on_none["error"]["code"] == "NOT_FOUND"


async def test_another_members_conflict_is_not_found(demo: Demo, http: httpx.AsyncClient) -> None:
    engine = create_engine(demo.settings)
    async with session_factory(engine)() as session, session.begin():
        town = await session.scalar(sa.select(Member.id).where(Member.phone == PHONES["town"]))
        assert town is not None
        conflict = conflicts.keep_conflict(
            session,
            origin=conflicts.Origin(client_id="town-phone", mutation_id="m", member_id=town),
            collection="tickets",
            record_id=uuid.uuid4(),
            field="title",
            client_value="a",
            server_value="b",
            rule="SERVER_WINS",
        )
        await session.flush()
        conflict_id = conflict.id
    await engine.dispose()
    liaison = await _login(http, PHONES["liaison"])
    resolve = """mutation($id: ID!) { resolveSyncConflict(id: $id, choice: KEEP_SERVER) {
        errors { code field message } } }"""
    theirs = await gql(http, resolve, {"id": str(conflict_id)}, token=liaison)
    none = await gql(http, resolve, {"id": str(uuid.uuid4())}, token=liaison)
    assert theirs["data"] == none["data"]
    assert theirs["data"]["resolveSyncConflict"]["errors"][0]["code"] == "NOT_FOUND"


def test_every_collection_and_node_type_is_declared() -> None:
    """Each table on the sync wire or behind a GraphQL type has its rule; each rule's columns
    and parents exist."""
    tables = {visibility.table_name(m) for m in MODELS}
    tables |= {visibility.table_name(v.model) for v in VIEWS.values()}
    for name in sorted(tables):
        rule = visibility.rule_of(name)
        table = visibility.table_of(name)
        for column in (*rule.grids, *rule.members, *rule.stations):
            assert column in table.c, (name, column)
        for via in rule.via:
            assert via.column in table.c and via.parent in visibility.RULES, (name, via)
