"""graphql-core's and Strawberry's messages in the request's language
(api/edge/graphql_messages.py): real bad requests over HTTP answer in Chinese by default and in
the libraries' own English with ``Accept-Language: en``, codes unchanged, on both databases, by
the long and the planned path alike; every message template of graphql-core a client can reach
has its translation, found by triggering each validation rule and by reading the libraries'
sources, so that an upgrade that rewords one fails here by name."""

from __future__ import annotations

import ast
import asyncio
import inspect
import json
import re
from collections.abc import Iterator
from pathlib import Path

import graphql
import pytest
import strawberry
import websockets
from graphql import parse, specified_rules, validate

from api.config import Settings
from api.edge.graphql_messages import TEMPLATES, template_of, translated
from api.i18n import ZH_CN, fields_of
from schema.build import build_schema
from tests.graphql_world import build_world

HAN = re.compile(r"[\u4e00-\u9fff]")
SCHEMA = build_schema(Settings())._schema

# (request body, code, the Chinese answer, the English one: the libraries' own words)
CASES: list[tuple[dict, str, str, str]] = [
    (
        {"query": '{ ticket(id:"abc") { id } }'},
        "GRAPHQL_VALIDATION_FAILED",
        "类型 'Query' 上没有可查询的字段 'ticket'。是否应为 'tickets'？",
        "Cannot query field 'ticket' on type 'Query'. Did you mean 'tickets'?",
    ),
    (
        {"query": '{ tickets(first: "x") { totalCount } }'},
        "GRAPHQL_VALIDATION_FAILED",
        'Int 类型只能表示整数，收到的值："x"',
        'Int cannot represent non-integer value: "x"',
    ),
    (
        {"query": "{ me { name } } }"},
        "GRAPHQL_PARSE_FAILED",
        "语法错误：此处不应出现 '}'。",
        "Syntax Error: Unexpected '}'.",
    ),
    (
        {"query": "{ me { name }"},
        "GRAPHQL_PARSE_FAILED",
        "语法错误：此处应为 Name，实际为 <EOF>。",
        "Syntax Error: Expected Name, found <EOF>.",
    ),
    (
        {"query": "{ tickets(frist: 3) { totalCount } }"},
        "GRAPHQL_VALIDATION_FAILED",
        "字段 'Query.tickets' 没有参数 'frist'。是否应为 'first' 或 'last'？",
        "Unknown argument 'frist' on field 'Query.tickets'. Did you mean 'first' or 'last'?",
    ),
    (
        {"query": "{ node { id } }"},
        "GRAPHQL_VALIDATION_FAILED",
        "缺少必填参数 'Query.node(id:)'（类型 'ID!'）。",
        "Argument 'Query.node(id:)' of type 'ID!' is required, but it was not provided.",
    ),
    (
        {
            "query": "query($x: Int) { tickets(first: $x) { totalCount } }",
            "variables": {"x": "abc"},
        },
        "BAD_USER_INPUT",
        "变量 '$x' 的值无效：Int 类型只能表示整数，收到的值：'abc'",
        "Variable '$x' has invalid value: Int cannot represent non-integer value: 'abc'",
    ),
    (
        {
            "query": "query($s: [TicketStatus!]) { tickets(filter: {status: $s}) { totalCount } }",
            "variables": {"s": ["NOPE"]},
        },
        "BAD_USER_INPUT",
        "变量 '$s' 在 [0] 处的值无效：枚举 'TicketStatus' 中没有值 'NOPE'。",
        "Variable '$s' has invalid value at [0]:"
        " Value 'NOPE' does not exist in 'TicketStatus' enum.",
    ),
    (
        {
            "query": "query($t: DateTime) { tickets(filter: {updatedSince: $t}) { totalCount } }",
            "variables": {"t": 5},
        },
        "BAD_USER_INPUT",
        "变量 '$t' 的值无效：该值不是有效的 DateTime：\"5\"。应为字符串。",
        "Variable '$t' has invalid value:"
        ' Value cannot represent a DateTime: "5". Expected a string.',
    ),
    (
        {"query": "{ tickets(filter: {nope: 1}) { totalCount } }"},
        "GRAPHQL_VALIDATION_FAILED",
        "类型 'TicketFilter' 的值不应包含未知字段 'nope'。是否应为 'open'？实际为：{ nope: 1 }。",
        "Expected value of type 'TicketFilter' not to include unknown field 'nope'."
        " Did you mean 'open'? Found: { nope: 1 }.",
    ),
    (
        {"query": "{ ...Missing }"},
        "GRAPHQL_VALIDATION_FAILED",
        "未知片段 'Missing'。",
        "Unknown fragment 'Missing'.",
    ),
    (
        {"query": "{ me { name @nope } }"},
        "GRAPHQL_VALIDATION_FAILED",
        "未知指令 '@nope'。",
        "Unknown directive '@nope'.",
    ),
    (
        {"query": "{ me }"},
        "GRAPHQL_VALIDATION_FAILED",
        "字段 'me'（类型 'Member'）必须选择子字段。是否应为 'me { ... }'？",
        "Field 'me' of type 'Member' must have a selection of subfields."
        " Did you mean 'me { ... }'?",
    ),
    (
        {"query": "fragment F on Query { me { name } } { me { name } }"},
        "GRAPHQL_VALIDATION_FAILED",
        "片段 'F' 没有被使用。",
        "Fragment 'F' is never used.",
    ),
    (
        {"query": "{ me { name: id name } }"},
        "GRAPHQL_VALIDATION_FAILED",
        "字段 'name' 互相冲突：'id' 和 'name' 是不同的字段。"
        "如确需同时获取，请为这些字段使用不同的别名。",
        "Fields 'name' conflict because 'id' and 'name' are different fields."
        " Use different aliases on the fields to fetch both if this was intentional.",
    ),
    (
        {"query": "{ " + " ".join(f"a{i}: __typename" for i in range(41)) + " }"},
        "GRAPHQL_VALIDATION_FAILED",
        "文档使用了 41 个别名，最多允许 30 个",
        "41 aliases found. Allowed: 30",
    ),
    (
        {"query": "type Foo { a: Int }"},
        "BAD_REQUEST",
        "文档中没有可执行的 GraphQL 操作",
        "Can't get GraphQL operation type",
    ),
]


@pytest.fixture
async def world(session_factory):
    return await build_world(session_factory)


async def test_library_messages_follow_accept_language(client, world) -> None:
    auth = {"authorization": f"Bearer {world.tokens['county']}"}
    for body, code, chinese, english in CASES:
        for headers, expected in (({}, chinese), ({"accept-language": "en"}, english)):
            response = await client.post("/graphql", json=body, headers={**auth, **headers})
            assert response.status_code == 400, (body, response.text)
            error = response.json()["errors"][0]
            assert (error["message"], error["extensions"]["code"]) == (expected, code), body


async def test_refused_requests_follow_accept_language(client) -> None:
    """Strawberry's reasons for refusing a request, inside gridlink's own message."""
    mutation = {"query": "mutation { logout { ok } }"}
    for headers, expected in (
        ({}, "GET 请求不能执行变更（mutation）"),
        ({"accept-language": "en"}, "mutations are not allowed when using GET"),
    ):
        response = await client.get("/graphql", params=mutation, headers=headers)
        assert response.status_code == 405
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "METHOD_NOT_ALLOWED"
        assert error["message"].startswith(expected), error


async def test_planned_and_long_paths_say_the_same(client, world) -> None:
    """A document the fast path has a plan for, sent with a variable that does not coerce: the
    plan gives way and the executor answers, in the request's language."""
    auth = {"authorization": f"Bearer {world.tokens['county']}"}
    query = "query($x: Int) { tickets(first: $x) { totalCount } }"
    learned = await client.post(
        "/graphql", json={"query": query, "variables": {"x": 1}}, headers=auth
    )
    assert learned.json()["data"]
    for headers, expected in (
        ({}, "变量 '$x' 的值无效：Int 类型只能表示整数，收到的值：'abc'"),
        (
            {"accept-language": "en"},
            "Variable '$x' has invalid value: Int cannot represent non-integer value: 'abc'",
        ),
    ):
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": {"x": "abc"}},
            headers={**auth, **headers},
        )
        assert response.json()["errors"][0]["message"] == expected


async def test_subscription_errors_follow_the_upgrade_request(live_server, world) -> None:
    """graphql-transport-ws: an ``error`` message in the language of the upgrade request."""
    url = live_server.url.replace("http", "ws", 1) + "/graphql"
    init = {"authorization": f"Bearer {world.tokens['county']}"}
    for headers, expected in (
        ({}, "匿名订阅只能选择一个顶层字段。"),
        ({"accept-language": "en"}, "Anonymous Subscription must select only one top level field."),
    ):
        async with websockets.connect(
            url, subprotocols=["graphql-transport-ws"], additional_headers=headers
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": init}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
            query = "subscription { a: myAssignments { id } b: myAssignments { id } }"
            subscribe = {"id": "1", "type": "subscribe", "payload": {"query": query}}
            await ws.send(json.dumps(subscribe))
            answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert answer["type"] == "error", answer
            assert answer["payload"][0]["message"] == expected


def test_cached_errors_keep_both_languages() -> None:
    """The validation cache keeps one error for every request: translating must not change it."""
    message = "Cannot query field 'ticket' on type 'Query'. Did you mean 'tickets'?"
    assert translated(message, ZH_CN) != message
    assert translated(message, "en") == message
    assert translated("请先登录", ZH_CN) == "请先登录"  # no template: as it is


def test_templates_and_their_chinese_have_the_same_fields() -> None:
    from api.i18n import catalogue

    chinese = catalogue(ZH_CN)
    for template in TEMPLATES:
        found = chinese.get((template.context, template.msgid))
        assert found is not None, template.msgid
        assert fields_of(found) == fields_of(template.msgid), template.msgid


# --- every validation rule a client can reach ---------------------------------------------

# A document breaking each rule of graphql-core's specified_rules, against gridlink's schema.
TRIGGERS: dict[str, list[str]] = {
    "ExecutableDefinitionsRule": ["{ me { name } } type Foo { a: Int }"],
    "UniqueOperationNamesRule": ["query A { me { name } } query A { me { name } }"],
    "LoneAnonymousOperationRule": ["{ me { name } } query B { me { name } }"],
    "SingleFieldSubscriptionsRule": [
        "subscription { a: __typename b: __typename }",
        "subscription S { a: __typename b: __typename }",
    ],
    "KnownTypeNamesRule": ["query($x: Nope) { me { name } }"],
    "FragmentsOnCompositeTypesRule": [
        "{ me { ... on String { length } } }",
        "fragment F on String { length } { ...F }",
    ],
    "VariablesAreInputTypesRule": ["query($x: Member) { me { name } }"],
    "ScalarLeafsRule": ["{ me }", "{ me { name { x } } }"],
    "FieldsOnCorrectTypeRule": ["{ ticket { id } }", "{ nothingLikeIt }"],
    "UniqueFragmentNamesRule": [
        "fragment F on Query { me { name } } fragment F on Query { me { name } } { ...F }"
    ],
    "KnownFragmentNamesRule": ["{ ...Missing }"],
    "NoUnusedFragmentsRule": ["fragment F on Query { me { name } } { me { name } }"],
    "PossibleFragmentSpreadsRule": [
        "{ me { ... on Ticket { id } } }",
        "fragment T on Ticket { id } { me { ...T } }",
    ],
    "NoFragmentCyclesRule": [
        "fragment F on Query { ...F } { ...F }",
        "fragment F on Query { ...G } fragment G on Query { ...F } { ...F }",
    ],
    "UniqueVariableNamesRule": ["query($x: Int, $x: Int) { tickets(first: $x) { totalCount } }"],
    "NoUndefinedVariablesRule": [
        "{ tickets(first: $y) { totalCount } }",
        "query Q { tickets(first: $y) { totalCount } }",
    ],
    "NoUnusedVariablesRule": ["query($x: Int) { me { name } }", "query Q($x: Int) { me { name } }"],
    "KnownDirectivesRule": ["{ me { name @nope } }", "query @skip(if: true) { me { name } }"],
    "UniqueDirectivesPerLocationRule": ["{ me { name @skip(if: true) @skip(if: true) } }"],
    "KnownArgumentNamesRule": [
        "{ tickets(frist: 3) { totalCount } }",
        "{ me { name @skip(iff: true) } }",
    ],
    "UniqueArgumentNamesRule": ["{ tickets(first: 1, first: 2) { totalCount } }"],
    "ValuesOfCorrectTypeRule": [
        '{ tickets(first: "x") { totalCount } }',
        "{ tickets(first: 99999999999) { totalCount } }",
        "{ tickets(filter: {status: [OPNE]}) { totalCount } }",
        "{ tickets(filter: {nope: 1}) { totalCount } }",
        "{ tickets(filter: 3) { totalCount } }",
        '{ me { name @include(if: "yes") } }',
    ],
    "ProvidedRequiredArgumentsRule": ["{ node { id } }", "{ me { name @skip } }"],
    "VariablesInAllowedPositionRule": ["query($x: String) { node(id: $x) { id } }"],
    "OverlappingFieldsCanBeMergedRule": [
        "{ me { name: id name } }",
        "{ tickets(first: 1) { totalCount } tickets(first: 2) { totalCount } }",
        "{ me { x: name x: roles } }",
    ],
    "UniqueInputFieldNamesRule": ["{ tickets(filter: {open: true, open: false}) { totalCount } }"],
    "KnownOperationTypesRule": [],  # gridlink has queries, mutations and subscriptions
    "MaxIntrospectionDepthRule": [
        "{ __schema { types { fields { type { fields { type { fields { type { fields { type"
        " { name } } } } } } } } } } }"
    ],
    # @defer and @stream are not in gridlink's schema: KnownDirectivesRule answers first.
    "DeferStreamDirectiveOnRootField": [],
    "DeferStreamDirectiveOnValidOperationsRule": [],
    "DeferStreamDirectiveLabel": [],
    "StreamDirectiveOnListField": [],
}


def _validated(document: str, rule: type) -> list[str]:
    return [error.message for error in validate(SCHEMA, parse(document), [rule])]


@pytest.mark.parametrize("rule", specified_rules, ids=lambda rule: rule.__name__)
def test_every_rule_a_client_reaches_is_translated(rule) -> None:
    assert rule.__name__ in TRIGGERS, f"{rule.__name__}: a new rule of graphql-core; add it"
    for document in TRIGGERS[rule.__name__]:
        messages = _validated(document, rule)
        assert messages, (rule.__name__, document)
        for message in messages:
            assert template_of(message) is not None, f"{rule.__name__}: no template: {message}"
            assert HAN.search(translated(message, ZH_CN)), message


# --- every message template in the libraries' sources -------------------------------------

GRAPHQL = Path(graphql.__file__).parent
STRAWBERRY = Path(strawberry.__file__).parent
# Where a client's document, values and request reach.
SOURCES = [
    *sorted({Path(inspect.getfile(rule)) for rule in specified_rules}),
    GRAPHQL / "language/lexer.py",
    GRAPHQL / "language/parser.py",
    GRAPHQL / "utilities/validate_input_value.py",
    GRAPHQL / "execution/values.py",
    GRAPHQL / "execution/get_variable_signature.py",
    GRAPHQL / "type/scalars.py",
    GRAPHQL / "validation/validate.py",
    GRAPHQL / "validation/rules/custom/no_schema_introspection.py",
    STRAWBERRY / "extensions/max_aliases.py",
    STRAWBERRY / "extensions/query_depth_limiter.py",
    STRAWBERRY / "schema/types/base_scalars.py",
    STRAWBERRY / "schema/exceptions.py",
]
# Calls that carry a message, by the position of their message argument.
MESSAGE_CALLS = {
    "GraphQLError": 0,
    "GraphQLSyntaxError": 2,
    "StrawberryInputCoercionError": 0,
    "report_invalid_value": 1,
}
# Texts in those sources a client never reads as they stand (with why).
NOT_FOR_CLIENTS = {
    # a message made elsewhere, passed on (its parts are templates of their own)
    "{}",
    "Invalid argument",  # graphql-core: "pragma: no cover"
    "{} is reserved and cannot be used for an enum value.",  # type definitions
    # print_argument_or_fragment_variable() makes the first part ("Argument '...'", which has
    # its template); ProvidedRequiredArgumentsRule refuses the document first anyway
    "{} of required type '{}' was not provided.",
    # an output value (the server's own data), masked as INTERNAL_ERROR if ever wrong
    "String cannot represent value: {}",
    "{} directive label argument must be a static string.",  # @defer/@stream: not in the schema
    "Defer/Stream directive label argument must be unique.",
    "Stream directive cannot be used on root {} type '{}'.",
    "Defer directive cannot be used on root {} type '{}'.",
    "Stream directive cannot be used on non-list field{} on type '{}'.",
    "Defer directive not supported on subscription operations. Disable `@defer` by setting"
    " the `if` argument to `false`.",
    "Stream directive not supported on subscription operations. Disable `@stream` by setting"
    " the `if` argument to `false`.",
    "Spreads '{}' conflict because {} and {} have different fragment arguments.",
}


def _texts(node: ast.expr) -> Iterator[str]:
    """A message expression's texts, each part filled in by ``{}`` (a conditional: each way; a
    suggestion or a path: none, as when there is nothing to suggest)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif _optional(node):
        yield ""
    elif isinstance(node, ast.JoinedStr):
        texts = [""]
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                texts = [text + ("" if _optional(part.value) else "{}") for text in texts]
            elif isinstance(part, ast.Constant):
                texts = [text + part.value for text in texts]
        yield from texts
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        for left in _texts(node.left):
            for right in _texts(node.right):
                yield left + right
    elif isinstance(node, ast.IfExp):
        yield from _texts(node.body)
        yield from _texts(node.orelse)
    else:
        yield "{}"


def _optional(node: ast.expr) -> bool:
    source = ast.unparse(node)
    words = ("did_you_mean", "suggestion", "print_path_list", "detail")
    return any(word in source for word in words)


def _source_messages(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        passed: set[str] = set()
        for node in ast.walk(function):
            if not isinstance(node, ast.Call):
                continue
            callee = getattr(node.func, "id", getattr(node.func, "attr", None))
            position = MESSAGE_CALLS.get(callee or "")
            if position is None or len(node.args) <= position:
                continue
            argument = node.args[position]
            if isinstance(argument, ast.Name):
                passed.add(argument.id)
            else:
                for text in _texts(argument):
                    yield node.lineno, text
        for node in ast.walk(function):
            if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id in passed for target in node.targets
            ):
                for text in _texts(node.value):
                    yield node.lineno, text


def _templated(text: str) -> bool:
    """Does a template read the text as a client gets it (each part a plain word)?"""
    return template_of(text.replace("{}", "x")) is not None


def test_every_message_in_the_sources_has_a_template() -> None:
    untranslated = []
    seen = set()
    for path in SOURCES:
        for line, text in _source_messages(path):
            seen.add(text)
            if text in NOT_FOR_CLIENTS or not re.search(r"[A-Za-z]{2}", text):
                continue
            if not _templated(text):
                untranslated.append(f"{path.relative_to(path.parents[2])}:{line}: {text!r}")
    assert not untranslated, (
        "graphql-core or Strawberry messages without a template:\n" + "\n".join(untranslated)
    )
    stale = NOT_FOR_CLIENTS - seen
    assert not stale, f"no longer in the libraries: {sorted(stale)}"
