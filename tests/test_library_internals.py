"""The parts of Strawberry and graphql-core that are not their public API but that gridlink
relies on: all reached through schema/library_internals.py (the planned fast path,
schema/fastpath.py, and the plain resolvers of schema/views.py), and the hooks of Strawberry's
ASGI view that api/edge/graphql_view.py overrides. pyproject.toml bounds both libraries; when an
upgrade inside or past the bounds removes or changes one of these, this test names each one
that broke."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import pytest
from graphql import GraphQLField, GraphQLObjectType, GraphQLString, parse

from api.config import Settings
from schema.build import build_schema
from schema.library_internals import (
    DEFINITION_BACKREF,
    aliases_rule,
    core_schema,
    depth_rule,
    direct_resolver,
    execution_context,
    hooks_every_resolver,
    python_name,
    reads_attribute,
    replace_resolver,
    resolve_info,
)


@functools.cache
def _schema():  # noqa: ANN202
    return build_schema(Settings())


def _params(function: Callable[..., object]) -> set[str]:
    return set(inspect.signature(function).parameters)


def check_graphql_core_schema() -> None:
    assert isinstance(core_schema(_schema()).type_map["Ticket"], GraphQLObjectType)


def check_execution_context() -> None:
    build = _schema().execution_context_class.build
    missing = {"is_awaitable", "raw_variable_values", "operation_name"} - _params(build)
    # Strawberry's operation_extensions travel through **custom_args.
    assert not missing or "custom_args" in _params(build), missing
    strawberry_schema = _schema()
    document = parse("query Q($n: Int) { tickets(first: $n) { totalCount } }")
    made = execution_context(
        strawberry_schema,
        document,
        root_value=None,
        context=None,
        variables={"n": 3},
        operation_name="Q",
        extensions=None,
    )
    assert not isinstance(made, list), made
    # schema/fastpath.py reads the root field's arguments with graphql-core's own function.
    from graphql import get_argument_values

    query = core_schema(strawberry_schema).query_type
    assert query is not None
    node = document.definitions[0].selection_set.selections[0]  # type: ignore[attr-defined]
    assert get_argument_values(query.fields["tickets"], node, made.variable_values)["first"] == 3
    refused = execution_context(
        strawberry_schema,
        document,
        root_value=None,
        context=None,
        variables={"n": "three"},
        operation_name="Q",
        extensions=None,
    )
    assert isinstance(refused, list) and refused, refused


def check_resolve_info() -> None:
    cls = _schema().execution_context_class
    assert {"field_def", "field_nodes", "parent_type", "path"} <= _params(cls.build_resolve_info)
    strawberry_schema = _schema()
    document = parse("{ tickets { totalCount } }")
    executor = execution_context(
        strawberry_schema,
        document,
        root_value=None,
        context="ctx",
        variables=None,
        operation_name=None,
        extensions=None,
    )
    assert not isinstance(executor, list)
    query = core_schema(strawberry_schema).query_type
    assert query is not None
    node = document.definitions[0].selection_set.selections[0]  # type: ignore[attr-defined]
    info = resolve_info(executor, query.fields["tickets"], node, query, "tickets")
    assert info.field_name == "tickets" and info.context == "ctx"
    assert info.path.key == "tickets" and info.parent_type is query


def check_default_resolver_marker() -> None:
    ticket = core_schema(_schema()).type_map["Ticket"]
    assert getattr(ticket.fields["title"].resolve, "_is_default", False) is True
    assert reads_attribute(ticket.fields["title"])
    # A field with a resolver of its own is not a plain attribute read.
    assert not reads_attribute(ticket.fields["events"])


def check_definition_backref() -> None:
    ticket = core_schema(_schema()).type_map["Ticket"]
    assert DEFINITION_BACKREF in ticket.fields["title"].extensions
    assert python_name(ticket.fields["createdAt"]) == "created_at"


def check_extension_implements_resolve() -> None:
    from strawberry.extensions import SchemaExtension

    class EveryResolver(SchemaExtension):
        def resolve(self, _next, root, info, *args, **kwargs):  # noqa: ANN001, ANN201
            return _next(root, info, *args, **kwargs)

    assert SchemaExtension._implements_resolve() is False
    assert EveryResolver._implements_resolve() is True
    assert hooks_every_resolver(_schema()) is False


def check_resolver_replacement() -> None:
    # schema/views.py installs plain resolvers for id, uuid and to-one references; they must
    # be the ones graphql-core calls.
    ticket = core_schema(_schema()).type_map["Ticket"]
    assert getattr(ticket.fields["id"].resolve, "info_free", False)
    assert getattr(ticket.fields["grid"].resolve, "info_free", False)
    field = GraphQLField(GraphQLString)
    replace_resolver(field, len)
    assert field.resolve is len


def check_optimized_is_awaitable() -> None:
    from strawberry.execution import optimized_is_awaitable

    assert callable(optimized_is_awaitable)


def check_graphql_core_helpers() -> None:
    from graphql import get_argument_values
    from graphql.pyutils import Path, Undefined

    assert callable(get_argument_values) and Path(None, "k", "T").key == "k"
    assert Undefined is not None


def check_asgi_view_hooks() -> None:
    from strawberry.asgi import GraphQL

    hooks = {
        "execute_single": {"request", "request_adapter", "sub_response", "context"},
        "get_sub_response": {"request"},
        "create_response": {"response_data", "sub_response"},
        "process_result": {"request", "result"},
        "parse_http_body": {"request"},
        "should_render_graphql_ide": {"request"},
        "encode_json": {"data"},
        "on_ws_connect": {"context"},
        "run": {"request"},
    }
    broken = {
        name: sorted(params - _params(getattr(GraphQL, name)))
        for name, params in hooks.items()
        if not hasattr(GraphQL, name) or not params <= _params(getattr(GraphQL, name))
    }
    assert not broken, broken


def check_direct_resolver() -> None:
    """Strawberry's resolver wrapper, split (conversion, call): the root tickets field answers
    the same through it as through the wrapper, and a field with extensions is refused."""
    import asyncio

    strawberry_schema = _schema()
    query_type = core_schema(strawberry_schema).query_type
    assert query_type is not None
    field = query_type.fields["tickets"]
    direct = direct_resolver(strawberry_schema, field)
    assert direct is not None
    convert, call = direct
    definition = field.extensions[DEFINITION_BACKREF]
    assert definition.base_resolver is not None and not definition.extensions
    converter = strawberry_schema.schema_converter
    assert converter.scalar_registry is not None and converter.exception_handlers == ()
    assert converter._get_field_exception_handlers(definition) == ()
    for name in ("self_parameter", "parent_parameter", "root_parameter", "info_parameter"):
        assert hasattr(definition.base_resolver, name), name
    assert callable(definition.get_result) and strawberry_schema.config.info_class
    document = parse("{ tickets(first: 2, filter: {open: true}) { totalCount } }")
    made = execution_context(
        strawberry_schema,
        document,
        root_value=None,
        context=None,
        variables=None,
        operation_name=None,
        extensions=None,
    )
    node = document.definitions[0].selection_set.selections[0]
    info = resolve_info(made, field, node, query_type, "tickets")
    from graphql import get_argument_values

    converted = convert(get_argument_values(field, node, {}), info)
    assert converted["first"] == 2 and converted["filter"].open is True
    result = call(None, info, converted)
    # Without a context the resolver refuses (no member): it ran, as the wrapper would.
    with pytest.raises(AttributeError):
        asyncio.run(result)


def check_validation_rule_factories() -> None:
    assert callable(aliases_rule(10)) and callable(depth_rule(5, None, None))


INTERNALS: dict[str, Callable[[], None]] = {
    "strawberry Schema._schema (the graphql-core schema)": check_graphql_core_schema,
    "ExecutionContext.build(is_awaitable=..., operation_extensions=...)": check_execution_context,
    "ExecutionContext.build_resolve_info(field_def, field_nodes, parent_type, path)": (
        check_resolve_info
    ),
    "strawberry default resolver marker `_is_default`": check_default_resolver_marker,
    "GraphQLCoreConverter.DEFINITION_BACKREF in field extensions, .python_name": (
        check_definition_backref
    ),
    "SchemaExtension._implements_resolve()": check_extension_implements_resolve,
    "GraphQLField.resolve replaced in the compiled schema": check_resolver_replacement,
    "strawberry.execution.optimized_is_awaitable": check_optimized_is_awaitable,
    "graphql get_argument_values, pyutils.Path, Undefined": check_graphql_core_helpers,
    "strawberry.asgi.GraphQL hooks overridden by api/edge/graphql_view.py": check_asgi_view_hooks,
    "Strawberry's resolver wrapper split (convert_arguments, get_result, Info)": (
        check_direct_resolver
    ),
    "strawberry max_aliases / query_depth_limiter create_validator": (
        check_validation_rule_factories
    ),
}


def test_every_library_internal_gridlink_relies_on_is_there() -> None:
    broken = []
    for name, check in INTERNALS.items():
        try:
            check()
        except Exception as error:  # noqa: BLE001 - each failure is reported by name
            broken.append(f"  - {name}: {type(error).__name__}: {error}")
    if broken:
        pytest.fail(
            "Strawberry/graphql-core internals that gridlink relies on changed "
            "(see the bounds in pyproject.toml):\n" + "\n".join(broken),
            pytrace=False,
        )


def test_every_adapter_function_is_checked() -> None:
    # A new touch of the libraries' internals goes into the adapter, and gets a check here.
    import schema.library_internals as adapter

    checked = {
        "DEFINITION_BACKREF", "aliases_rule", "core_schema", "depth_rule", "direct_resolver",
        "execution_context",
        "hooks_every_resolver", "python_name", "reads_attribute", "replace_resolver",
        "resolve_info",
    }  # fmt: skip
    assert set(adapter.__all__) == checked


def test_no_module_outside_the_adapter_touches_them() -> None:
    """The private names live in schema/library_internals.py only (the HTTP view's overridden
    hooks are public methods, checked above)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    private = re.compile(
        r"\._schema\b|_implements_resolve|_is_default|build_resolve_info|DEFINITION_BACKREF"
        r"|strawberry-definition|\.resolve = |create_validator|optimized_is_awaitable"
    )
    found = []
    for package in ("api", "schema", "sync"):
        for path in (root / package).rglob("*.py"):
            if path.name == "library_internals.py":
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if private.search(line):
                    found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)
