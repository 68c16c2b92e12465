"""The planned answer (schema/fastpath.py) is byte for byte the executor's: every query here
is sent to an app with the fast path off (graphql-core answers) and twice to one with it on
(the first answer teaches it the document, the second comes from the plan), and the two
answers must be the same bytes with the same status — same keys, same order, same values.
Shapes the plan does not cover, and every error, must fall back and still answer right."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from api.edge.app import create_app
from bench.graphql_bench import QUERY as BENCH_QUERY
from schema.fastpath import FastPath
from tests.graphql_world import World, build_world


@dataclass
class Pair:
    fast: httpx.AsyncClient
    slow: httpx.AsyncClient
    path: FastPath
    world: World

    async def _post(
        self,
        http: httpx.AsyncClient,
        body: dict[str, Any],
        token: str | None,
        headers: dict[str, str] | None = None,
    ):
        sent = {"authorization": f"Bearer {self.world.tokens[token]}"} if token else {}
        return await http.post("/graphql", json=body, headers={**sent, **(headers or {})})

    async def compare(
        self,
        query: str | None,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = "liaison1",
        operation_name: str | None = None,
        extensions: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[bool, dict[str, Any]]:
        """Whether the plan answered, and the (identical) answer: the same status, headers
        (but the request id) and bytes."""
        body: dict[str, Any] = {"query": query, "variables": variables or {}}
        if operation_name:
            body["operationName"] = operation_name
        if extensions:
            body["extensions"] = extensions
        expected = await self._post(self.slow, body, token, headers)
        await self._post(self.fast, body, token, headers)  # learns the document, if it is new
        before = self.path.answered
        got = await self._post(self.fast, body, token, headers)
        assert got.status_code == expected.status_code, (got.text, expected.text)
        assert got.content == expected.content, (got.text, expected.text)
        assert _headers(got) == _headers(expected)
        return self.path.answered > before, got.json()


def _headers(response: httpx.Response) -> list[tuple[str, str]]:
    return [(k, v) for k, v in response.headers.multi_items() if k != "x-request-id"]


@pytest.fixture
async def pair(settings, engine, session_factory) -> AsyncIterator[Pair]:
    world = await build_world(session_factory)
    fast_app = create_app(settings, engine=engine)
    slow_app = create_app(replace(settings, graphql_fast_path=False), engine=engine)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(fast_app), base_url="http://t") as fast,
        httpx.AsyncClient(transport=httpx.ASGITransport(slow_app), base_url="http://t") as slow,
    ):
        yield Pair(fast, slow, fast_app.state.graphql.fast_path, world)


async def test_the_benchmark_query_is_planned_for_every_caller(pair: Pair) -> None:
    for token in ("liaison1", "liaison2", "town1", "county", "admin", "api", "member", "chair"):
        planned, body = await pair.compare(BENCH_QUERY, token=token)
        assert planned, token
    planned, body = await pair.compare(BENCH_QUERY, token="liaison1")
    nodes = body["data"]["tickets"]["nodes"]
    # The liaison's own tickets, one without an enterprise: nested nulls answered alike.
    assert {n["enterprise"] is None for n in nodes} == {True, False}


@pytest.mark.parametrize(
    "headers",
    [
        {"accept": "application/graphql-response+json"},
        {"accept-language": "en", "origin": "http://elsewhere.example"},
        {"accept-encoding": "gzip"},
        {"content-type": "application/json; charset=utf-8"},
    ],
)
async def test_planned_answers_carry_the_same_headers(pair: Pair, headers) -> None:
    planned, body = await pair.compare(BENCH_QUERY, headers=headers)
    assert planned and body["data"]["tickets"]["nodes"]


async def test_bodies_the_long_way_refuses_are_refused_alike(pair: Pair) -> None:
    """A POST of a planned document in a body the long way refuses (another media type, bad
    JSON, bad members, several operations without a name) is refused the same way."""
    await pair.compare(BENCH_QUERY)
    token = {"authorization": f"Bearer {pair.world.tokens['liaison1']}"}
    query = json.dumps(BENCH_QUERY)
    bodies = [
        ("text/plain", f'{{"query": {query}}}'),
        ("application/json", f'{{"query": {query}'),
        ("application/json", f'{{"query": {query}, "variables": []}}'),
        ("application/json", f'{{"query": {query}, "operationName": "Other"}}'),
        ("application/json", f'[{{"query": {query}}}]'),
        ("application/json", f'{{"query": {query}, "extensions": {{"x": 1}}}}'),
    ]
    for content_type, text in bodies:
        headers = {**token, "content-type": content_type}
        fast = await pair.fast.post("/graphql", content=text.encode(), headers=headers)
        slow = await pair.slow.post("/graphql", content=text.encode(), headers=headers)
        assert (fast.status_code, fast.content) == (slow.status_code, slow.content), text[-40:]
        assert _headers(fast) == _headers(slow)


async def test_aliases_typename_and_several_roots(pair: Pair) -> None:
    query = """query Two {
      __typename
      kind: __typename
      open: tickets(first: 2, filter: {open: true}) {
        total: totalCount
        __typename
        list: nodes { n: number __typename s: status g: grid { k: kind id __typename } }
        info: pageInfo { more: hasNextPage end: endCursor __typename }
      }
      all: tickets(orderBy: {field: NUMBER, direction: ASC}) {
        edges { __typename cursor node { uuid overdue tier source reportedAt } }
        totalCount
      }
      grids(first: 3) { nodes { code name kind industry } totalCount }
      enterprises { nodes { name headcount grid { name } } }
      members(first: 5) { nodes { name phone roles } }
    }"""
    for token in ("liaison1", "county", "api"):
        planned, body = await pair.compare(query, token=token, operation_name="Two")
        assert planned and "errors" not in body, body


async def test_variables_and_paging_forward_and_backward(pair: Pair) -> None:
    query = """query Page($first: Int, $after: String, $last: Int, $before: String,
                          $filter: TicketFilter, $order: TicketOrder) {
      tickets(first: $first, after: $after, last: $last, before: $before,
              filter: $filter, orderBy: $order) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { id number severity assignee { name } enterprise { name } } }
      }
    }"""
    for order in ({"field": "CREATED_AT", "direction": "ASC"}, {"field": "RESOLUTION_DUE_AT"}):
        after = None
        seen = []
        while True:
            variables = {"first": 1, "after": after, "order": order}
            planned, body = await pair.compare(query, variables, token="admin")
            assert planned
            page = body["data"]["tickets"]
            seen += [e["node"]["number"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert len(seen) == page["totalCount"] == len(set(seen))
        planned, body = await pair.compare(
            query, {"last": 2, "before": after, "order": order}, token="admin"
        )
        assert planned and len(body["data"]["tickets"]["edges"]) == 2
    for filter_ in (
        {"severity": ["HIGH"]},
        {"open": False},
        {"unassigned": True},
        {"assignedToMe": True},
        {"gridId": pair.world.gid("Grid", "g_town1")},
        {"search": "t2"},
    ):
        planned, _ = await pair.compare(query, {"filter": filter_}, token="town1")
        assert planned, filter_


@pytest.mark.parametrize(
    ("variables", "token"),
    [
        ({"first": 1000}, "liaison1"),  # PAGE_SIZE_EXCEEDED
        ({"first": 1, "last": 1}, "liaison1"),
        ({"after": "not-a-cursor"}, "liaison1"),
        ({"first": "ten"}, "liaison1"),  # variable coercion
        ({"filter": {"severity": ["SEVERE"]}}, "liaison1"),  # not an enum value
        ({"filter": {"updatedSince": "2026-01-01T00:00:00"}}, "liaison1"),  # no UTC offset
        ({"filter": {"gridId": "nonsense"}}, "liaison1"),
        ({}, None),  # not signed in
    ],
)
async def test_errors_fall_back_and_answer_alike(pair: Pair, variables, token) -> None:
    query = """query($first: Int, $last: Int, $after: String, $filter: TicketFilter) {
      tickets(first: $first, last: $last, after: $after, filter: $filter) {
        nodes { number }
      }
    }"""
    await pair.compare(query, {}, token="liaison1")  # a clean answer: the document is learned
    planned, body = await pair.compare(query, variables, token=token)
    assert not planned and body["errors"], body


async def test_refused_and_revoked_tokens_are_refused_by_the_plan_too(pair: Pair) -> None:
    await pair.compare(BENCH_QUERY)
    headers = {"authorization": f"Bearer {pair.world.tokens['liaison1']}"}
    out = await pair.fast.post(
        "/graphql", json={"query": "mutation { logout { ok } }"}, headers=headers
    )
    assert out.json()["data"]["logout"]["ok"] is True
    planned, body = await pair.compare(BENCH_QUERY)
    assert not planned and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    "query",
    [
        "{ tickets { nodes { ...T } } } fragment T on Ticket { number }",
        "{ tickets { nodes { ... on Ticket { number } } } }",
        "query($x: Boolean!) { tickets { nodes { number @include(if: $x) } } }",
        "{ tickets { nodes { number events { kind } } } }",
        "{ tickets { nodes { enterprise { name grid { code } } } } }",
        "{ tickets { nodes { number } nodes { title } } }",
        "{ me { name } tickets { nodes { number } } }",
        "{ enterprises { nodes { name risk { level } } } }",
        "{ tickets { nodes { number comments { body } } } }",
    ],
)
async def test_unplannable_shapes_fall_back_and_answer_alike(pair: Pair, query: str) -> None:
    variables = {"x": True} if "$x" in query else {}
    planned, body = await pair.compare(query, variables)
    assert not planned
    assert "errors" not in body, body


async def test_persisted_queries_are_planned(pair: Pair) -> None:
    digest = hashlib.sha256(BENCH_QUERY.encode()).hexdigest()
    apq = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    await pair.compare(BENCH_QUERY, extensions=apq)  # registers the query on both apps
    planned, body = await pair.compare(None, extensions=apq)
    assert planned and body["data"]["tickets"]["nodes"]


# --- generated selections ------------------------------------------------------------

TICKET_LEAVES = [
    "id", "uuid", "number", "title", "description", "source", "category", "severity",
    "status", "tier", "overdue", "reporterName", "reporterPhone", "reportedAt",
    "firstResponseDueAt", "resolutionDueAt", "assignedAt", "resolvedAt", "satisfactionRating",
    "ratedOnBehalf", "version", "createdAt", "updatedAt", "__typename",
]  # fmt: skip
TO_ONE = {
    "grid": ["id", "uuid", "code", "name", "kind", "industry", "version", "__typename"],
    "enterprise": ["id", "name", "headcount", "industry", "hasUnion", "createdAt"],
    "assignee": ["id", "name", "phone", "roles", "__typename"],
    "reporter": ["name", "phone"],
    "ratedBy": ["name"],
}
ALIASES = st.sampled_from([None, "a", "b", "x1"])


@st.composite
def _fields(draw: st.DrawFn, names: list[str]) -> str:
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=8, unique=True))
    parts = []
    used: set[str] = set()
    for name in chosen:
        alias = draw(ALIASES)
        key = alias or name
        if key in used:
            alias, key = None, name
        if key in used:
            continue
        used.add(key)
        parts.append(f"{alias}: {name}" if alias else name)
    return " ".join(parts)


@st.composite
def ticket_queries(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    node = draw(_fields(TICKET_LEAVES))
    for name in draw(st.lists(st.sampled_from(sorted(TO_ONE)), max_size=3, unique=True)):
        node += f" {name} {{ {draw(_fields(TO_ONE[name]))} }}"
    parts = []
    if draw(st.booleans()):
        parts.append(f"nodes {{ {node} }}")
    if draw(st.booleans()) or not parts:
        parts.append(f"edges {{ cursor node {{ {node} }} }}")
    if draw(st.booleans()):
        info = draw(_fields(["hasNextPage", "hasPreviousPage", "startCursor", "endCursor"]))
        parts.append(f"pageInfo {{ {info} }}")
    if draw(st.booleans()):
        parts.append("totalCount")
    variables = {
        "first": draw(st.integers(min_value=0, max_value=5)),
        "filter": draw(
            st.sampled_from([None, {"open": True}, {"open": False}, {"unassigned": False}])
        ),
        "order": draw(
            st.sampled_from(
                [None, {"field": "NUMBER", "direction": "ASC"}, {"field": "UPDATED_AT"}]
            )
        ),
    }
    query = (
        "query($first: Int, $filter: TicketFilter, $order: TicketOrder) {"
        f" tickets(first: $first, filter: $filter, orderBy: $order) {{ {' '.join(parts)} }} }}"
    )
    return query, variables


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    case=ticket_queries(),
    token=st.sampled_from(["liaison1", "liaison2", "town1", "county", "api", "chair"]),
)
async def test_generated_selections_answer_alike(
    pair: Pair, case: tuple[str, dict[str, Any]], token: str
) -> None:
    # The world is built once and only read: every example may share it.
    query, variables = case
    planned, body = await pair.compare(query, variables, token=token)
    assert planned, json.dumps(body)[:500]
