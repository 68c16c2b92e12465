"""The parts of Strawberry and graphql-core that are not their public API but that gridlink
relies on (the planned fast path, schema/fastpath.py and schema/views.py; the HTTP view,
api/edge/graphql_view.py). pyproject.toml bounds both libraries; when an upgrade inside or past the
bounds removes or changes one of these, this test names each one that broke."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import pytest
from graphql import GraphQLObjectType

from api.config import Settings
from schema.build import build_schema


@functools.cache
def _schema():  # noqa: ANN202
    return build_schema(Settings())


def _params(function: Callable[..., object]) -> set[str]:
    return set(inspect.signature(function).parameters)


def check_graphql_core_schema() -> None:
    assert isinstance(_schema()._schema.type_map["Ticket"], GraphQLObjectType)


def check_execution_context_build() -> None:
    build = _schema().execution_context_class.build
    missing = {"is_awaitable", "raw_variable_values", "operation_name"} - _params(build)
    # Strawberry's operation_extensions travel through **custom_args.
    assert not missing or "custom_args" in _params(build), missing


def check_build_resolve_info() -> None:
    cls = _schema().execution_context_class
    assert {"field_def", "field_nodes", "parent_type", "path"} <= _params(cls.build_resolve_info)


def check_default_resolver_marker() -> None:
    title = _schema()._schema.type_map["Ticket"].fields["title"]
    assert getattr(title.resolve, "_is_default", False) is True


def check_definition_backref() -> None:
    from strawberry.schema.schema_converter import GraphQLCoreConverter

    from schema.fastpath import _BACKREF

    assert GraphQLCoreConverter.DEFINITION_BACKREF == _BACKREF
    title = _schema()._schema.type_map["Ticket"].fields["title"]
    assert title.extensions[_BACKREF].python_name == "title"


def check_extension_implements_resolve() -> None:
    from strawberry.extensions import SchemaExtension

    assert callable(SchemaExtension._implements_resolve)
    assert SchemaExtension._implements_resolve() is False


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


def check_validation_rule_factories() -> None:
    from strawberry.extensions.max_aliases import create_validator as aliases_rule
    from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

    assert callable(aliases_rule) and callable(depth_rule)


INTERNALS: dict[str, Callable[[], None]] = {
    "strawberry Schema._schema (the graphql-core schema)": check_graphql_core_schema,
    "ExecutionContext.build(is_awaitable=..., operation_extensions=...)": (
        check_execution_context_build
    ),
    "ExecutionContext.build_resolve_info(field_def, field_nodes, parent_type, path)": (
        check_build_resolve_info
    ),
    "strawberry default resolver marker `_is_default`": check_default_resolver_marker,
    "GraphQLCoreConverter.DEFINITION_BACKREF in field extensions, .python_name": (
        check_definition_backref
    ),
    "SchemaExtension._implements_resolve()": check_extension_implements_resolve,
    "strawberry.execution.optimized_is_awaitable": check_optimized_is_awaitable,
    "graphql get_argument_values, pyutils.Path, Undefined": check_graphql_core_helpers,
    "strawberry.asgi.GraphQL hooks overridden by api/edge/graphql_view.py": check_asgi_view_hooks,
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
