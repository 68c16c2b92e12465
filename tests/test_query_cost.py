"""Query cost (schema/cost.py): the attack of issue 10 finding 3 is refused before it runs, on
the executor and on the planned fast path, while every query the repository's clients send
passes; a production server process keeps answering others within 100 ms meanwhile."""

from __future__ import annotations

import ast
import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from graphql import OperationDefinitionNode, parse
from graphql.utilities import TypeInfo
from graphql.validation import ValidationContext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.config import Settings
from api.demo import DEMO_PASSWORD, load_demo
from api.edge.app import create_app
from schema.build import build_schema
from schema.cost import COST_CODE, operation_cost
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parent.parent
ADMIN, LIAISON = "13800000000", "13800000003"

# Finding 3: plain lists nested through to-one references (admin: 33 MB, 12.3 s).
GRID_ATTACK = """query($grid: ID!) { node(id: $grid) { ... on Grid { enterprises { grid {
  enterprises { grid { enterprises { grid { enterprises { id } } } } } } } } } }"""
# The liaison's variant: 10 aliases of 5 levels.
ALIAS_ATTACK = (
    "{"
    + " ".join(
        f"a{i}: tickets(first: 100) {{ nodes {{ grid {{ enterprises {{ grid {{ enterprises"
        " { id name } } } } } }"
        for i in range(10)
    )
    + "}"
)


# Sends both attacks in a loop until killed; prints each refusal's code.
ATTACKER = """
import sys, httpx
url, admin, liaison, grid = sys.argv[1:]
from tests.test_query_cost import GRID_ATTACK, ALIAS_ATTACK
with httpx.Client(base_url=url, timeout=30) as http:
    while True:
        for body, token in (({"query": GRID_ATTACK, "variables": {"grid": grid}}, admin),
                            ({"query": ALIAS_ATTACK}, liaison)):
            headers = {"authorization": "Bearer " + token}
            response = http.post("/graphql", json=body, headers=headers)
            print(response.json()["errors"][0]["extensions"]["code"], flush=True)
"""


# --- the repository's own clients ------------------------------------------------------


def _documents(path: Path) -> Iterator[str]:
    """The GraphQL documents in a file: fenced graphql blocks of Markdown, string constants
    of Python, template literals of JavaScript."""
    text = path.read_text()
    if path.suffix == ".md":
        candidates = re.findall(r"```graphql\n(.*?)```", text, re.S)
    elif path.suffix == ".py":
        candidates = [
            n.value
            for n in ast.walk(ast.parse(text))
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        ]
    else:
        candidates = re.findall(r"`([^`]*)`", text, re.S)
    for candidate in candidates:
        if "{" not in candidate or "${" in candidate:
            continue
        try:
            yield from (parse(candidate),)
        except Exception:  # noqa: BLE001 - not GraphQL
            continue


def _client_files() -> list[Path]:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    files += sorted((ROOT / "bench").glob("*.py")) + [ROOT / "sync" / "client.py"]
    web = ROOT / "web"
    if web.is_dir():
        files += [
            p
            for p in sorted(web.rglob("*"))
            if p.suffix in (".js", ".mjs", ".html") and "node_modules" not in p.parts
        ]
    return files


def biggest_costs(settings: Settings) -> dict[str, tuple[int, str]]:
    """Per client file: the cost of its costliest operation, and the operation's name."""
    schema = build_schema(settings)._schema
    found: dict[str, tuple[int, str]] = {}
    for path in _client_files():
        for document in _documents(path):
            context = ValidationContext(schema, document, TypeInfo(schema), lambda _e: None)
            for operation in document.definitions:
                if not isinstance(operation, OperationDefinitionNode):
                    continue
                cost = operation_cost(context, operation, settings.max_page_size)
                name = operation.name.value if operation.name else "(anonymous)"
                key = str(path.relative_to(ROOT))
                if cost > found.get(key, (0, ""))[0]:
                    found[key] = (cost, name)
    return found


def test_every_query_of_the_repository_passes_with_headroom() -> None:
    settings = Settings()
    costs = biggest_costs(settings)
    assert "docs/api.md" in costs and "sync/client.py" in costs
    for path, (cost, name) in costs.items():
        # Twice as much again must still pass: clients may add fields without hitting it.
        assert 2 * cost <= settings.max_query_cost, (path, name, cost)


def test_cost_counts_every_list_by_its_page() -> None:
    schema = build_schema(Settings())._schema

    def cost(query: str) -> int:
        document = parse(query)
        context = ValidationContext(schema, document, TypeInfo(schema), lambda _e: None)
        return operation_cost(context, document.definitions[0], 100)  # type: ignore[arg-type]

    assert cost("{ tickets(first: 10) { nodes { id title } } }") == 1 + 1 + 10 * 2
    assert cost("{ tickets { totalCount nodes { id } } }") == 1 + 1 + 1 + 20  # default page
    # A variable without a default counts at the cap, with one at its default.
    assert cost("query($n: Int) { tickets(first: $n) { nodes { id } } }") == 2 + 100
    assert cost("query($n: Int = 5) { tickets(first: $n) { nodes { id } } }") == 2 + 5
    # Plain lists at the cap, fragments counted like fields, nodes(ids:) by its ids.
    assert cost("{ grids(first: 1) { nodes { enterprises { id } } } }") == 2 + 1 * (1 + 100)
    assert cost(
        "{ grids(first: 2) { nodes { ...G } } } fragment G on Grid { children { id } }"
    ) == 2 + 2 * (1 + 100)
    assert cost('{ nodes(ids: ["a", "b"]) { id } }') == 1 + 2
    assert cost(GRID_ATTACK) > 100_000_000


# --- the attack, refused ---------------------------------------------------------------


async def _demo(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await load_demo(session)


async def _login(http: httpx.AsyncClient, phone: str) -> str:
    response = await http.post(
        "/graphql",
        json={
            "query": "mutation($p: String!, $w: String!) { login(phone: $p, password: $w) "
            "{ token errors { code } } }",
            "variables": {"p": phone, "w": DEMO_PASSWORD},
        },
    )
    token = response.json()["data"]["login"]["token"]
    assert token, response.text
    return token


async def _grid_id(http: httpx.AsyncClient, token: str) -> str:
    response = await http.post(
        "/graphql",
        json={"query": "{ grids(first: 1) { nodes { id } } }"},
        headers={"authorization": f"Bearer {token}"},
    )
    return response.json()["data"]["grids"]["nodes"][0]["id"]


def _assert_refused(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert "data" not in body
    (error,) = body["errors"]
    extensions = error["extensions"]
    assert extensions["code"] == COST_CODE
    assert extensions["limit"] == limit and extensions["cost"] > limit
    assert str(extensions["cost"]) in error["message"] and str(limit) in error["message"]


async def test_nested_list_attack_is_refused_before_it_runs(
    client: httpx.AsyncClient, session_factory, settings: Settings
) -> None:
    await _demo(session_factory)
    admin = await _login(client, ADMIN)
    liaison = await _login(client, LIAISON)
    grid = await _grid_id(client, admin)
    started = time.monotonic()
    for _ in range(2):  # the second time too: a refused document is never planned
        response = await client.post(
            "/graphql",
            json={"query": GRID_ATTACK, "variables": {"grid": grid}},
            headers={"authorization": f"Bearer {admin}"},
        )
        _assert_refused(response, settings.max_query_cost)
        response = await client.post(
            "/graphql", json={"query": ALIAS_ATTACK}, headers={"authorization": f"Bearer {liaison}"}
        )
        _assert_refused(response, settings.max_query_cost)
    assert time.monotonic() - started < 5
    # GET is refused the same way.
    response = await client.get(
        "/graphql",
        params={"query": ALIAS_ATTACK},
        headers={"authorization": f"Bearer {liaison}"},
    )
    _assert_refused(response, settings.max_query_cost)


async def test_fast_path_cannot_run_a_costlier_page(
    session_factory, settings: Settings, engine
) -> None:
    """A plannable document whose page size comes from a variable is costed at the cap, so a
    plan cannot be learned with first: 1 and then run with a page above the limit; a page
    within it is planned."""
    settings = replace(settings, max_query_cost=1000)
    assert settings.graphql_fast_path
    app = create_app(settings, engine=engine)
    await _demo(session_factory)
    fields = "id number title status severity createdAt updatedAt version"
    page = f"{{ nodes {{ {fields} }} edges {{ cursor node {{ id }} }} }}"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        headers = {"authorization": f"Bearer {await _login(http, ADMIN)}"}
        variable = f"query($n: Int) {{ tickets(first: $n) {page} }}"
        for n in (1, 1, 100):
            response = await http.post(
                "/graphql", json={"query": variable, "variables": {"n": n}}, headers=headers
            )
            _assert_refused(response, 1000)
            assert app.state.graphql.fast_path.plan(variable, None) is None
        small = f"{{ tickets(first: 5) {page} }}"
        for _ in range(2):
            response = await http.post("/graphql", json={"query": small}, headers=headers)
            assert response.status_code == 200 and "errors" not in response.json()
        assert app.state.graphql.fast_path.plan(small, None) is not None
        large = small.replace("first: 5", "first: 100")
        _assert_refused(await http.post("/graphql", json={"query": large}, headers=headers), 1000)


# --- a production server process under the attack ---------------------------------------


@pytest.fixture
def production_server(database_url: str) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "GRIDLINK_DATABASE_URL": database_url,
        "GRIDLINK_ENV": "production",
        "GRIDLINK_RUN_WORKER_IN_PROCESS": "false",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.edge.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the production server did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


async def test_production_server_survives_the_attack(session_factory, production_server) -> None:
    await _demo(session_factory)
    async with httpx.AsyncClient(base_url=production_server, timeout=30) as http:
        admin = await _login(http, ADMIN)
        liaison = await _login(http, LIAISON)
        grid = await _grid_id(http, admin)
        ordinary = {"query": "{ me { phone } tickets(first: 5) { nodes { id status } } }"}
        headers = {"authorization": f"Bearer {liaison}"}
        # Warm up: connections pooled, the ordinary document planned.
        for _ in range(3):
            assert (await http.post("/graphql", json=ordinary, headers=headers)).status_code == 200
        # The attacker is a process of its own, so that its client work does not delay the
        # measuring client's event loop.
        attacker = subprocess.Popen(
            [sys.executable, "-c", ATTACKER, production_server, admin, liaison, grid],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        latencies = []
        try:
            assert attacker.stdout is not None
            assert attacker.stdout.readline().strip() == COST_CODE  # the first one refused
            for _ in range(20):
                started = time.monotonic()
                response = await http.post("/graphql", json=ordinary, headers=headers)
                latencies.append(time.monotonic() - started)
                assert response.status_code == 200 and "errors" not in response.json()
                await asyncio.sleep(0.02)
        finally:
            attacker.terminate()
            output, _ = attacker.communicate(timeout=10)
        refused = 1 + output.split().count(COST_CODE)
        assert refused >= 10
        latencies.sort()
        shown = str([round(x, 3) for x in latencies])
        # Answered within 100 ms (before: every request stalled 11.7 s); on a machine shared
        # with other work two outliers are allowed, and none may take a second.
        assert latencies[-3] < 0.1 and latencies[-1] < 1.0, shown
