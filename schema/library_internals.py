"""Every touch of Strawberry's and graphql-core's non-public parts, in one place.

The planned fast path (schema/fastpath.py) and the record views' plain resolvers
(schema/views.py) need a few things neither library offers as public API: the graphql-core
schema inside a Strawberry schema, the Strawberry field behind a graphql-core field, whether a
resolver is Strawberry's default (a plain attribute read), whether an extension hooks every
resolver, an execution context and a resolve info built outside the executor, resolvers
replaced in the compiled schema, a root field's resolver called with its arguments converted
once; and (schema/build.py) the validation rules behind Strawberry's
depth and alias limiters, made once instead of per request. They live here and nowhere else;
pyproject.toml bounds both libraries, and tests/test_library_internals.py checks each one by
name, so that an upgrade that removes or changes one fails there, clearly, rather than as a
wrong answer elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
)
from graphql.pyutils import Path
from strawberry.execution import optimized_is_awaitable
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.schema import Schema
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_arguments

__all__ = [
    "DEFINITION_BACKREF",
    "aliases_rule",
    "core_schema",
    "depth_rule",
    "direct_resolver",
    "execution_context",
    "hooks_every_resolver",
    "python_name",
    "reads_attribute",
    "replace_resolver",
    "resolve_info",
]

# The key under which Strawberry keeps, in each graphql-core field's extensions, the
# StrawberryField it was made from.
DEFINITION_BACKREF: str = GraphQLCoreConverter.DEFINITION_BACKREF


def core_schema(schema: Schema) -> GraphQLSchema:
    """The graphql-core schema Strawberry compiled (``Schema._schema``)."""
    return schema._schema


def hooks_every_resolver(schema: Schema) -> bool:
    """Does one of the schema's extensions wrap every resolver (``resolve``)? A plan that reads
    fields without calling their resolvers would skip it."""
    return any(extension._implements_resolve() for extension in schema.get_extensions())


def python_name(field: GraphQLField) -> str | None:
    """The Python attribute behind a field (from the Strawberry field it was made from)."""
    definition = field.extensions.get(DEFINITION_BACKREF)
    return None if definition is None else definition.python_name


def reads_attribute(field: GraphQLField) -> bool:
    """Is the field's resolver Strawberry's default, a plain ``getattr`` of ``python_name``
    (the ``_is_default`` marker Strawberry sets on it)?"""
    return bool(getattr(field.resolve, "_is_default", False)) and python_name(field) is not None


def execution_context(
    schema: Schema,
    document: DocumentNode,
    *,
    root_value: Any,
    context: Any,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    extensions: dict[str, Any] | None,
) -> Any:
    """The execution context Strawberry's executor would make for this request (variables
    coerced); the list of errors (a ``list[GraphQLError]``) when they do not coerce. Its class
    is named differently across graphql-core versions, hence ``Any``."""
    return schema.execution_context_class.build(
        core_schema(schema),
        document,
        root_value,
        context,
        variables,
        operation_name,
        is_awaitable=optimized_is_awaitable,
        operation_extensions=extensions,
    )


def resolve_info(
    executor: Any,
    field: GraphQLField,
    node: FieldNode,
    parent: GraphQLObjectType,
    key: str,
) -> GraphQLResolveInfo:
    """The ``info`` a root field's resolver gets from the executor (``build_resolve_info``)."""
    return executor.build_resolve_info(field, [node], parent, Path(None, key, parent.name))


def replace_resolver(field: GraphQLField, resolve: Callable[..., Any]) -> None:
    """Put ``resolve`` in place of the resolver Strawberry compiled into the field."""
    field.resolve = resolve


# (graphql-core's argument values, info) -> the resolver's keyword arguments
Convert = Callable[[dict[str, Any], GraphQLResolveInfo], dict[str, Any]]
# (source, info, converted arguments) -> what the resolver returns
Call = Callable[[Any, GraphQLResolveInfo, dict[str, Any]], Any]


def direct_resolver(schema: Schema, field: GraphQLField) -> tuple[Convert, Call] | None:
    """Strawberry's wrapper of a field's resolver (the schema converter's ``_async_resolver``
    with ``extension_resolver`` and ``get_arguments``) in two steps: converting graphql-core's
    argument values to the resolver's (Strawberry input objects, enums), and calling it with
    them (its Strawberry ``Info``; ``self``, ``root``, ``parent`` and ``info`` as it asks), so
    that a caller may convert constant arguments once. None for a field whose call involves
    more: field extensions (permission classes among them), exception handlers, or no
    resolver of its own."""
    definition = field.extensions.get(DEFINITION_BACKREF)
    if definition is None or definition.base_resolver is None or definition.extensions:
        return None
    converter = schema.schema_converter
    if converter.exception_handlers or converter._get_field_exception_handlers(definition):
        return None
    config = schema.config
    registry = converter.scalar_registry
    info_class = config.info_class
    resolver = definition.base_resolver
    arguments = definition.arguments

    def convert(values: dict[str, Any], info: GraphQLResolveInfo) -> dict[str, Any]:
        wrapped = info_class(_raw_info=info, _field=definition)
        return convert_arguments(
            values, arguments, scalar_registry=registry, config=config, info=wrapped
        )

    def call(source: Any, info: GraphQLResolveInfo, converted: dict[str, Any]) -> Any:
        wrapped = info_class(_raw_info=info, _field=definition)
        args = [source] if resolver.self_parameter else []
        kwargs = dict(converted)
        if parent := resolver.parent_parameter:
            kwargs[parent.name] = source
        if root := resolver.root_parameter:
            kwargs[root.name] = source
        if requested := resolver.info_parameter:
            kwargs[requested.name] = wrapped
        return definition.get_result(source, info=wrapped, args=args, kwargs=kwargs)

    return convert, call
