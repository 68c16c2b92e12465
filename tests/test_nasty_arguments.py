"""Whatever a client sends as an argument, the answer is the client's mistake with a code, never
a failure of the server: every argument (and input-object field) of every root query and
mutation gets hostile values of its type — NUL and lone surrogates, over-long text, malformed
and wrong-type ids, extreme numbers, times that overflow, odd JSON — over HTTP against the app
in production settings (where a failure would be masked as INTERNAL_ERROR), on both databases.
Values the edge refuses (schema/arguments.py) must come back as 400 BAD_USER_INPUT naming the
argument; the rest must answer with coded errors or data."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    Undefined,
    get_named_type,
    is_leaf_type,
)

from api.config import Settings
from api.edge.app import create_app
from schema.arguments import DEFAULT_TEXT_CAP, MAX_ID, TEXT_CAPS, has_lone_surrogate
from schema.build import build_schema
from schema.ids import to_global_id
from tests.graphql_world import build_world

SCHEMA = build_schema(Settings())._schema
NOW = "2026-06-01T08:00:00+08:00"


@dataclass(frozen=True)
class Target:
    operation: str  # "query" or "mutation"
    field: str
    argument: str
    inner: str | None  # the input-object field, when the value goes inside one
    kind: str  # the scalar's name

    @property
    def path(self) -> str:
        return f"{self.argument}.{self.inner}" if self.inner else self.argument

    @property
    def cap(self) -> int:
        if self.kind == "ID":
            return MAX_ID
        return TEXT_CAPS.get(self.inner or self.argument, DEFAULT_TEXT_CAP)


def _filler(gtype: GraphQLInputType) -> Any:
    """A plausible value for a required argument that is not under test (ids name nothing)."""
    if isinstance(gtype, GraphQLNonNull):
        return _filler(gtype.of_type)
    if isinstance(gtype, GraphQLList):
        return []
    if isinstance(gtype, GraphQLInputObjectType):
        return {
            name: _filler(f.type)
            for name, f in gtype.fields.items()
            if isinstance(f.type, GraphQLNonNull) and f.default_value is Undefined
        }
    if isinstance(gtype, GraphQLEnumType):
        return next(iter(gtype.values))
    return {
        "String": "x",
        "ID": str(uuid.uuid4()),
        "Int": 1,
        "Float": 1.0,
        "Boolean": False,
        "DateTime": NOW,
        "Date": "2026-06-01",
        "JSON": {},
    }.get(gtype.name, "x")


def _required(gtype: GraphQLInputType) -> bool:
    return isinstance(gtype, GraphQLNonNull)


def targets() -> Iterator[Target]:
    for operation, root in (("query", SCHEMA.query_type), ("mutation", SCHEMA.mutation_type)):
        assert isinstance(root, GraphQLObjectType)
        for name, field in root.fields.items():
            for arg_name, arg in field.args.items():
                named = get_named_type(arg.type)
                if isinstance(named, GraphQLScalarType) and named.name != "Boolean":
                    yield Target(operation, name, arg_name, None, named.name)
                elif isinstance(named, GraphQLInputObjectType):
                    for inner, input_field in named.fields.items():
                        scalar = get_named_type(input_field.type)
                        if isinstance(scalar, GraphQLScalarType) and scalar.name != "Boolean":
                            yield Target(operation, name, arg_name, inner, scalar.name)


TARGETS = list(targets())


def request_for(target: Target, *values: Any) -> dict[str, Any]:
    """One request sending each of ``values`` at ``target`` (an alias each: ``v0``, ``v1``
    ...), every other required argument filled."""
    root = SCHEMA.query_type if target.operation == "query" else SCHEMA.mutation_type
    assert root is not None
    field = root.fields[target.field]
    definitions, aliases, variables = [], [], {}
    selection = "" if is_leaf_type(get_named_type(field.type)) else " { __typename }"
    for n, value in enumerate(values):
        arguments = []
        for name, arg in field.args.items():
            if name != target.argument and not _required(arg.type):
                continue
            variable = f"{name}_{n}"
            definitions.append(f"${variable}: {arg.type}")
            arguments.append(f"{name}: ${variable}")
            listed = isinstance(_unwrapped(arg.type), GraphQLList)
            if name != target.argument:
                variables[variable] = _filler(arg.type)
            elif target.inner is None:
                variables[variable] = [value] if listed else value
            else:
                named = get_named_type(arg.type)
                assert isinstance(named, GraphQLInputObjectType)
                item = _filler(named)
                item[target.inner] = value
                variables[variable] = [item] if listed else item
        aliases.append(f"v{n}: {target.field}({', '.join(arguments)}){selection}")
    query = f"{target.operation}({', '.join(definitions)}) {{ {' '.join(aliases)} }}"
    return {"query": query, "variables": variables}


def _unwrapped(gtype: GraphQLInputType) -> GraphQLInputType:
    return gtype.of_type if isinstance(gtype, GraphQLNonNull) else gtype


# --- the values ---------------------------------------------------------------------------

LONG_TEXT_SAMPLE = 1_000  # text at its cap is sent up to this length (a spreadsheet's cap is MBs)


def refused_values(target: Target) -> list[Any]:
    """Values the edge refuses with BAD_USER_INPUT naming the argument."""
    if target.kind in ("String", "ID"):
        values: list[Any] = ["a\x00b", "\ud800x"]
        if target.cap < 100_000:
            values.append("x" * (target.cap + 1))
        return values
    if target.kind == "DateTime":
        return ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "1850-01-01T00:00:00Z"]
    if target.kind == "JSON":
        return [{"title": "a\x00b"}, [1, {"key\x00": 1}]]
    return []


# Sign-in hashes the password (argon2) even for a phone it does not know: the hostile values
# for these are the edge's (the test above); throttling has its own tests.
SIGN_IN = {"login", "signInWithCode"}


def answered_values(target: Target, grid_id: str) -> list[Any]:
    """Values that pass the edge: whatever they mean, the answer has a code or data."""
    if target.field in SIGN_IN:
        return []
    if target.kind == "String":
        return ["", "x" * min(target.cap, LONG_TEXT_SAMPLE), "ä你好😀"]
    if target.kind == "ID":
        wrong = base64.b64encode(f"Nothing:{uuid.uuid4()}".encode()).decode()
        not_uuid = base64.b64encode(b"Grid:not-a-uuid").decode()
        return ["x", wrong, not_uuid, grid_id]
    if target.kind == "Int":
        return [0, -1, 2**31 - 1, -(2**31)]
    if target.kind == "Float":
        return [-1.0, 1e308]
    if target.kind == "DateTime":
        return ["2026-01-01T00:00:00", "1900-01-01T00:00:00Z", "2999-12-31T00:00:00Z"]
    if target.kind == "JSON":
        return [[], "x", None, {"a": [1, {"b": None}]}, {"version": -(2**70)}]
    return []


# --- the app --------------------------------------------------------------------------------


@pytest.fixture
async def production(
    database_url: str, tmp_path: Path, engine, session_factory
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str], str]]:
    world = await build_world(session_factory)
    settings = Settings(
        database_url=database_url,
        env="production",
        run_worker_in_process=False,
        media_dir=str(tmp_path / "media"),
    )
    app = create_app(settings, engine=engine)
    transport = httpx.ASGITransport(app=app)
    headers = {"authorization": f"Bearer {world.tokens['admin']}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=headers
    ) as http:
        yield http, world.tokens, to_global_id("Grid", world["grid_e1"])


async def post(http: httpx.AsyncClient, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
    """POST as JSON with every non-ASCII character escaped: so a lone surrogate travels as
    the JSON escape a hostile client would send."""
    headers = {"content-type": "application/json", **kwargs.pop("headers", {})}
    return await http.post("/graphql", content=json.dumps(body), headers=headers, **kwargs)


def _problems(target: Target, value: Any, response: httpx.Response) -> list[str]:
    where = f"{target.operation} {target.field}({target.path}) = {value!r:.60}"
    if response.status_code >= 500:
        return [f"{where}: HTTP {response.status_code}"]
    body = response.json()
    found = []
    for error in body.get("errors") or ():
        code = (error.get("extensions") or {}).get("code")
        if code in (None, "INTERNAL_ERROR") or error.get("message") == "Unexpected error.":
            found.append(f"{where}: {code} {error.get('message')!r:.200}")
    return found


async def _send_all(
    http: httpx.AsyncClient, cases: list[tuple[Target, Any]]
) -> list[tuple[Target, Any, httpx.Response]]:
    answers: list[tuple[Target, Any, httpx.Response]] = []
    # A few at a time: the database work of one overlaps the Python work of the next.
    for start in range(0, len(cases), 8):
        chunk = cases[start : start + 8]
        responses = await asyncio.gather(*(post(http, request_for(t, *v)) for t, v in chunk))
        answers.extend((t, v, r) for (t, v), r in zip(chunk, responses, strict=True))
    return answers


async def test_every_argument_refuses_what_the_edge_refuses(production) -> None:
    http, _, _ = production
    # Anonymous: the edge refuses before anything (sign-in included) runs.
    del http.headers["authorization"]
    cases = [(t, [v]) for t in TARGETS for v in refused_values(t)]
    assert len(cases) > 300
    wrong = []
    for target, (value,), response in await _send_all(http, cases):
        errors = response.json().get("errors") or [{}]
        extensions = errors[0].get("extensions") or {}
        got = (response.status_code, extensions.get("code"), extensions.get("field"))
        if isinstance(value, str) and has_lone_surrogate(value):
            # A lone surrogate in JSON text is already refused by the JSON parser.
            expected: tuple[Any, ...] = (400, "BAD_REQUEST", None)
        else:
            expected = (400, "BAD_USER_INPUT", target.path)
        if got != expected:
            wrong.append(f"{target} {value!r:.40}: {response.status_code} {errors[0]}")
    assert not wrong, "\n".join(wrong[:40])


async def test_no_argument_value_makes_the_server_fail(production) -> None:
    http, _, grid_id = production
    cases = [(t, values) for t in TARGETS if (values := answered_values(t, grid_id))]
    # Values the scalar itself refuses (a request error, so one request each).
    cases += [(t, [v]) for t in TARGETS if t.kind == "DateTime" for v in ("x", 10**20)]
    assert sum(len(values) for _, values in cases) > 500
    problems = []
    for target, values, response in await _send_all(http, cases):
        problems += _problems(target, values, response)
    assert not problems, "\n".join(problems[:40])


# --- forged cursors and checkpoints ----------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def forged_cursors(real: str) -> list[str]:
    order, _, record = json.loads(base64.urlsafe_b64decode(real))
    some_id = str(uuid.uuid4())
    shapes: list[Any] = [
        [order, "2026-01-01T00:00:00", record],  # a naive time
        [order, "9999-12-31T23:59:59-14:00", record],  # overflows in UTC
        [order, "0001-01-01T00:00:00+14:00", record],
        [order, 10**30, record],
        [order, -(2**63) - 1, record],
        [order, True, record],
        [order, [1, 2], record],
        [order, {"a": 1}, record],
        [order, "a\x00b", record],
        [order, "\ud800", record],
        [order, "x", 5],
        [order, "x", {"a": 1}],
        [order, "x", "not-a-uuid"],
        [order, None, some_id],
        [order, "x"],
        ["otherOrder", "x", some_id],
        {"order": order},
        "abc",
        42,
        None,
    ]
    forged = [_b64(json.dumps(s).encode()) for s in shapes]
    return forged + ["", "!!!", "====", _b64(b"\xff\xfe"), _b64(b"[1,2,"), "é" * 8, "a" * 400]


# list -> (its order input, the orders)
LISTS = {
    "tickets": (
        "TicketOrder",
        ["CREATED_AT", "UPDATED_AT", "REPORTED_AT", "RESOLUTION_DUE_AT", "NUMBER"],
    ),
    "enterprises": ("EnterpriseOrder", ["NAME", "HEADCOUNT", "UPDATED_AT"]),
    "members": ("MemberOrder", ["NAME", "UPDATED_AT"]),
    "grids": ("GridOrder", ["CODE", "NAME"]),
    "stationActivities": ("StationActivityOrder", ["STARTS_AT", "UPDATED_AT"]),
}


async def test_forged_cursors_are_refused_with_a_code(production) -> None:
    http, _, _ = production
    problems = []
    for name, (order_type, orders) in LISTS.items():
        for order in orders:
            ordering = {"field": order, "direction": "DESC"}
            first = await post(
                http,
                {
                    "query": f"query($o: {order_type}) {{ {name}(orderBy: $o, first: 1) "
                    "{ pageInfo { endCursor } } }",
                    "variables": {"o": ordering},
                },
            )
            real = first.json()["data"][name]["pageInfo"]["endCursor"]
            if real is None:
                continue
            cases = [(a, c) for c in forged_cursors(real) for a in ("after", "before")]
            # Aliased, 25 to a request (the alias limit is 30).
            for start in range(0, len(cases), 25):
                chunk = cases[start : start + 25]
                definitions = ", ".join(f"$c{n}: String" for n in range(len(chunk)))
                aliases = " ".join(
                    f"v{n}: {name}(orderBy: $o, first: 1, {argument}: $c{n}) {{ __typename }}"
                    for n, (argument, _) in enumerate(chunk)
                )
                variables = {f"c{n}": cursor for n, (_, cursor) in enumerate(chunk)}
                response = await post(
                    http,
                    {
                        "query": f"query($o: {order_type}, {definitions}) {{ {aliases} }}",
                        "variables": {"o": ordering, **variables},
                    },
                )
                target = Target("query", name, "after/before", None, order)
                problems += _problems(target, chunk, response)
    notifications = "query($a: String) { notifications(after: $a) { __typename } }"
    for cursor in forged_cursors(_b64(json.dumps(["x", "y", str(uuid.uuid4())]).encode())) + [
        _b64(b"9999-12-31T23:59:59-14:00|" + str(uuid.uuid4()).encode()),
        _b64(b"2026-01-01T00:00:00|" + str(uuid.uuid4()).encode()),
        _b64(b"2026-01-01T00:00:00+00:00|x"),
    ]:
        response = await post(http, {"query": notifications, "variables": {"a": cursor}})
        problems += _problems(Target("query", "notifications", "after", None, ""), cursor, response)
    assert not problems, "\n".join(problems[:40])


def _checkpoint(*parts: object) -> str:
    return _b64(".".join(str(p) for p in parts).encode()).rstrip("=")


async def test_forged_checkpoints_start_over(production) -> None:
    http, _, _ = production
    pull = "query($c: String) { syncPull(checkpoint: $c, limit: 5) { checkpoint resetRequired } }"
    first = await post(http, {"query": pull, "variables": {"c": None}})
    real = first.json()["data"]["syncPull"]["checkpoint"]
    raw = base64.urlsafe_b64decode(real + "=" * (-len(real) % 4)).decode().split(".")
    scope = raw[3]
    forged = [
        _checkpoint("c1", 2**63, 0, scope),
        _checkpoint("c1", 0, 2**63, scope),
        _checkpoint("c1", 2**64 + 5, 0, scope),
        _checkpoint("c1", -1, 0, scope),
        _checkpoint("c1", 0, -5, scope),
        _checkpoint("c1", 1, 1, scope, 2**40, ""),
        _checkpoint("c1", 1, 1, scope, -1, ""),
        _checkpoint("c1", 1, 1, scope, 0, "not-a-uuid"),
        _checkpoint("c1", "1e5", 0, scope),
        _checkpoint("c1", "x", 0, scope),
        _checkpoint("c1", 1, 1, "\x00"),
        _checkpoint("c9", 1, 1, scope),
        "",
        "!!!",
        "a" * 500,
        _b64(b"\xff\xfe\xfd"),
    ]
    problems = []
    for checkpoint in forged:
        response = await post(http, {"query": pull, "variables": {"c": checkpoint}})
        target = Target("query", "syncPull", "checkpoint", None, "String")
        problems += _problems(target, checkpoint, response)
        if response.status_code == 200 and "errors" not in response.json():
            assert response.json()["data"]["syncPull"]["resetRequired"] is True, checkpoint
    assert not problems, "\n".join(problems)


# --- the findings, one by one --------------------------------------------------------------


async def test_sync_clients_takes_either_id_and_refuses_bad_limits(production) -> None:
    http, tokens, _ = production
    liaison = {"authorization": f"Bearer {tokens['liaison1']}"}
    pulled = await post(
        http,
        {"query": '{ syncPull(clientId: "phone-1") { checkpoint } }'},
        headers=liaison,
    )
    assert "errors" not in pulled.json()
    me = await post(http, {"query": "{ me { id uuid } }"}, headers=liaison)
    member = me.json()["data"]["me"]
    query = "query($m: ID, $l: Int) { syncClients(memberId: $m, limit: $l) { clientId } }"
    for member_id in (member["id"], member["uuid"]):
        answer = await post(http, {"query": query, "variables": {"m": member_id}})
        assert answer.json()["data"]["syncClients"] == [{"clientId": "phone-1"}]
    for bad in ("x", to_global_id("Grid", uuid.uuid4())):
        answer = await post(http, {"query": query, "variables": {"m": bad}})
        error = answer.json()["errors"][0]
        assert error["extensions"] == {"code": "INVALID", "field": "memberId"}
    for field in ("syncClients", "syncConflicts"):
        for limit in (-1, 0):
            answer = await post(
                http,
                {
                    "query": f"query($l: Int) {{ {field}(limit: $l) {{ __typename }} }}",
                    "variables": {"l": limit},
                },
            )
            error = answer.json()["errors"][0]
            assert error["extensions"] == {"code": "INVALID", "field": "limit"}
    long_client = await post(
        http,
        {
            "query": "query($c: String) { syncPull(clientId: $c) { checkpoint } }",
            "variables": {"c": "p" * 101},
        },
        headers=liaison,
    )
    assert long_client.status_code == 400
    assert long_client.json()["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": "clientId",
    }


async def test_literals_and_variable_defaults_are_checked_too(production) -> None:
    http, _, _ = production
    for query in (
        '{ tickets(filter: {search: "a\\u0000b"}) { totalCount } }',
        'query($s: String = "a\\u0000b") { tickets(filter: {search: $s}) { totalCount } }',
        '{ tickets(filter: {updatedSince: "9999-12-31T23:59:59-14:00"}) { totalCount } }',
    ):
        answer = await post(http, {"query": query})
        assert answer.status_code == 400, answer.json()
        error = answer.json()["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["extensions"]["field"].startswith("filter.")
