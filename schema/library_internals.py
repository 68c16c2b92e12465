"""Every touch of Strawberry's and graphql-core's non-public parts, in one place.

The planned fast path (schema/fastpath.py) and the record views' plain resolvers
(schema/views.py) need a few things neither library offers as public API: the graphql-core
schema inside a Strawberry schema, the Strawberry field behind a graphql-core field, whether a
resolver is Strawberry's default (a plain attribute read), whether an extension hooks every
resolver, an execution context and a resolve info built outside the executor, resolvers
replaced in the compiled schema; and (schema/build.py) the validation rules behind Strawberry's
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

__all__ = [
    "DEFINITION_BACKREF",
    "aliases_rule",
    "core_schema",
    "depth_rule",
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
