"""Every argument value checked once, at the edge, before anything runs: the client's own
mistakes get a 400 with ``BAD_USER_INPUT`` and ``field`` naming the argument (a dotted path into
an input object), never a failure deep inside.

- Text (``String`` and ``ID``) holds no NUL character (PostgreSQL cannot store one) and no lone
  surrogate (no encoding can carry one), also inside ``JSON`` values, and is no longer than the
  cap declared for its name in ``TEXT_CAPS`` (``ID``: ``MAX_ID``; a name not listed:
  ``DEFAULT_TEXT_CAP``). Long texts keep their own, stricter rules in the domain (a ticket's
  description, a comment); the caps here bound what any argument may carry.
- Times (``DateTime``) and dates lie between the years ``YEARS`` in UTC, so that no arithmetic
  on them overflows.

Values come from the document's literals and from the variables; the walk over the document is
made once per document (and operation) and kept."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    ValueNode,
    VariableNode,
    Visitor,
    parse,
    value_from_ast_untyped,
    visit,
)

from api.i18n import N_, Lazy
from sync.push import CLIENT_ID_MAX

CODE = "BAD_USER_INPUT"
# A global id is base64 of "Type:uuid" (about 70 characters); a UUID is 36.
MAX_ID = 100
DEFAULT_TEXT_CAP = 2_000
LONG_TEXT = 10_000
# Free-form text arguments by name (arguments and input fields alike), in characters.
TEXT_CAPS: Mapping[str, int] = {
    # identifiers a client makes up
    "clientId": CLIENT_ID_MAX,
    "mutationId": CLIENT_ID_MAX,
    "clientMutationId": CLIENT_ID_MAX,
    "collection": 64,
    # opaque values the server gave out
    "after": 512,
    "before": 512,
    "checkpoint": 512,
    # search and filter words
    "search": 100,
    "category": 64,
    "industry": 100,
    "town": 100,
    "month": 16,
    "period": 16,
    "language": 16,
    # people, places, sign-in
    "phone": 32,
    "reporterPhone": 32,
    "password": 256,
    "newPassword": 256,
    "code": 64,
    "name": 200,
    "attendeeName": 100,
    "reporterName": 100,
    "creditCode": 32,
    "address": 500,
    "title": 200,
    "topic": 200,
    # push subscriptions
    "endpoint": 2048,
    "p256dh": 200,
    "auth": 100,
    "userAgent": 300,
    # long texts (their own, stricter limits are checked where they are stored)
    "description": LONG_TEXT,
    "body": LONG_TEXT,
    "comment": LONG_TEXT,
    "note": LONG_TEXT,
    "reason": LONG_TEXT,
    "resolutionNote": LONG_TEXT,
    "outcome": LONG_TEXT,
    "visitNote": LONG_TEXT,
    # a spreadsheet, base64: bounded by the request body limit (GRIDLINK_MAX_BODY_BYTES) first
    "fileBase64": 16 * 1024 * 1024,
}
YEARS = (1900, 2999)


# Declared ahead and made when answered: a refusal found in a document is kept with the
# document, and each request reads it in its own language.
NUL = N_("{field} contains a NUL character (\\u0000), which cannot be stored")
SURROGATE = N_("{field} contains a lone UTF-16 surrogate, which is not a character")
TOO_LONG = N_("{field} is longer than {cap} characters ({length})")
BAD_YEAR = N_("{field} must lie between the years {low} and {high}")


class ArgumentProblem(Exception):
    def __init__(self, message: Lazy, field: str, **args: Any) -> None:
        super().__init__(message.msgid)
        self.message, self.field, self.values = message, field, args

    def error(self) -> GraphQLError:
        text = self.message(field=self.field, **self.values)
        return GraphQLError(text, extensions={"code": CODE, "field": self.field})


# --- one value against its type ---------------------------------------------------------


def has_nul(text: str) -> bool:
    """PostgreSQL cannot store U+0000 in text (nor in jsonb)."""
    return "\x00" in text


def has_lone_surrogate(text: str) -> bool:
    """A UTF-16 surrogate on its own (JSON's "\\ud800") is no character: no encoding carries it."""
    return any("\ud800" <= c <= "\udfff" for c in text)


def storable(text: str) -> bool:
    return not has_nul(text) and not has_lone_surrogate(text)


def _check_text(text: str, field: str, cap: int) -> None:
    if has_nul(text):
        raise ArgumentProblem(NUL, field)
    if has_lone_surrogate(text):
        raise ArgumentProblem(SURROGATE, field)
    if len(text) > cap:
        raise ArgumentProblem(TOO_LONG, field, cap=cap, length=len(text))


def _check_json(value: Any, field: str) -> None:
    # Iterative: a hostile value must not make the check itself recurse deeply.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            _check_text(item, field, len(item))
        elif isinstance(item, Mapping):
            for key, child in item.items():
                if isinstance(key, str):
                    _check_text(key, field, len(key))
                stack.append(child)
        elif isinstance(item, list | tuple):
            stack.extend(item)


def _check_time(value: Any, field: str, kind: str) -> None:
    if not isinstance(value, str):
        return  # the scalar refuses it, with graphql-core's words
    try:
        parsed = datetime.fromisoformat(value) if kind == "DateTime" else date.fromisoformat(value)
    except ValueError:
        return  # not a time at all: the scalar refuses it
    low, high = YEARS
    try:
        if isinstance(parsed, datetime) and parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC)
    except OverflowError:
        raise ArgumentProblem(BAD_YEAR, field, low=low, high=high) from None
    if not low <= parsed.year <= high:
        raise ArgumentProblem(BAD_YEAR, field, low=low, high=high)


def check_value(value: Any, gtype: GraphQLInputType, field: str) -> None:
    """Refuse ``value`` (a variable's JSON value or a literal's) at ``field`` of ``gtype``."""
    if value is None:
        return
    if isinstance(gtype, GraphQLNonNull):
        check_value(value, gtype.of_type, field)
    elif isinstance(gtype, GraphQLList):
        items = value if isinstance(value, list) else [value]
        for item in items:
            check_value(item, gtype.of_type, field)
    elif isinstance(gtype, GraphQLInputObjectType):
        if isinstance(value, Mapping):
            for name, input_field in gtype.fields.items():
                if name in value:
                    check_value(value[name], input_field.type, f"{field}.{name}")
    elif isinstance(gtype, GraphQLScalarType):
        _check_scalar(value, gtype.name, field)


def _check_scalar(value: Any, kind: str, field: str) -> None:
    name = field.rsplit(".", 1)[-1]
    if kind == "String" and isinstance(value, str):
        _check_text(value, field, TEXT_CAPS.get(name, DEFAULT_TEXT_CAP))
    elif kind == "ID" and isinstance(value, str):
        _check_text(value, field, MAX_ID)
    elif kind in ("DateTime", "Date"):
        _check_time(value, field, kind)
    elif kind == "JSON":
        _check_json(value, field)


# --- where the values are in a document ---------------------------------------------------


# (variable, its default literal or None, the type and name of the place it is used at)
Usage = tuple[str, ValueNode | None, GraphQLInputType, str]


class _Walk(Visitor):
    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.usages: list[Usage] = []
        self.problem: ArgumentProblem | None = None
        self.defaults: dict[str, ValueNode | None] = {}

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        for definition in node.variable_definitions or ():
            self.defaults[definition.variable.name.value] = definition.default_value

    def enter_argument(self, node: Any, *_: Any) -> Any:
        argument = self.type_info.get_argument()
        if argument is None or self.problem is not None:
            return
        try:
            for value, gtype, field in _literals(node.value, argument.type, node.name.value):
                if isinstance(value, VariableNode):
                    name = value.name.value
                    self.usages.append((name, self.defaults.get(name), gtype, field))
                else:
                    check_value(value_from_ast_untyped(value), gtype, field)
        except ArgumentProblem as problem:
            self.problem = problem


def _literals(
    node: ValueNode, gtype: GraphQLInputType, field: str
) -> Iterator[tuple[Any, GraphQLInputType, str]]:
    """The literal values (and variables) of an argument, each with its type and path."""
    inner = gtype.of_type if isinstance(gtype, GraphQLNonNull) else gtype
    if isinstance(node, VariableNode):
        yield node, gtype, field
    elif isinstance(node, ObjectValueNode) and isinstance(inner, GraphQLInputObjectType):
        for child in node.fields:
            input_field = inner.fields.get(child.name.value)
            if input_field is not None:
                yield from _literals(child.value, input_field.type, f"{field}.{child.name.value}")
    elif isinstance(node, ListValueNode) and isinstance(inner, GraphQLList):
        for item in node.values:
            yield from _literals(item, inner.of_type, field)
    elif not _holds_variable(node):
        yield node, gtype, field


def _holds_variable(node: ValueNode) -> bool:
    if isinstance(node, VariableNode):
        return True
    if isinstance(node, ObjectValueNode):
        return any(_holds_variable(f.value) for f in node.fields)
    if isinstance(node, ListValueNode):
        return any(_holds_variable(v) for v in node.values)
    return False


@lru_cache(maxsize=512)
def _plan(
    schema: GraphQLSchema, query: str, max_tokens: int
) -> tuple[ArgumentProblem | None, tuple[Usage, ...]]:
    try:
        document = parse(query, no_location=True, max_tokens=max_tokens)
    except GraphQLError:
        return None, ()  # the executor says why, with locations
    type_info = TypeInfo(schema)
    walk = _Walk(type_info)
    visit(document, TypeInfoVisitor(type_info, walk))
    return walk.problem, tuple(walk.usages)


def argument_error(
    schema: GraphQLSchema, query: str, variables: Mapping[str, Any] | None, max_tokens: int
) -> GraphQLError | None:
    """The first refused argument value of a request (literal or variable), or None."""
    problem, usages = _plan(schema, query, max_tokens)
    if problem is not None:
        return problem.error()
    given = variables or {}
    try:
        for name, default, gtype, field in usages:
            if name in given:
                check_value(given[name], gtype, field)
            elif default is not None:
                check_value(value_from_ast_untyped(default), gtype, field)
    except ArgumentProblem as refused:
        return refused.error()
    return None


__all__ = ["CODE", "TEXT_CAPS", "ArgumentProblem", "argument_error", "check_value"]
