"""What a GraphQL-over-HTTP request must look like before anything runs: a UTF-8 JSON object
(or GET parameters) with a string `query`, a string `operationName`, object `variables` and
`extensions` nested no deeper than a limit, and a document whose operation is determined. Each
refusal is a 400 whose message names the member at fault; no body, however odd, gets a 500."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError, OperationDefinitionNode, parse

from api.i18n import _

# JSON nesting allowed in `variables` and `extensions`: far beyond any real input object, far
# below what a recursive coercion of the value could survive.
MAX_JSON_DEPTH = 32


def decode_json(data: str | bytes) -> object:
    """JSON text to a value; bad UTF-8 and bad JSON are the client's mistake (400)."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise HTTPException(
                400,
                _(
                    "the request is not valid UTF-8 (byte {byte}): send UTF-8 JSON",
                    byte=error.start,
                ),
            ) from None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise HTTPException(
            400, _("Unable to parse request body as JSON: {error}", error=error)
        ) from None


def request_members(data: object) -> tuple[Any, Any, Any, Any]:
    """(query, variables, operationName, extensions) of a decoded body or GET parameters."""
    if isinstance(data, list):
        raise HTTPException(400, _("Batching is not enabled: send one operation per request"))
    if not isinstance(data, dict):
        raise HTTPException(
            400, _("the request body must be a JSON object, not {kind}", kind=_json_kind(data))
        )
    query = data.get("query")
    if not isinstance(query, str | None):
        raise HTTPException(400, _("`query` must be a string"))
    operation_name = data.get("operationName")
    if not isinstance(operation_name, str | None):
        raise HTTPException(400, _("`operationName` must be a string or null"))
    members = {"variables": data.get("variables"), "extensions": data.get("extensions")}
    for name, value in members.items():
        if not isinstance(value, dict | None):
            raise HTTPException(400, _("`{name}` must be an object or null", name=name))
        if value is not None and _too_deep(value):
            raise HTTPException(
                400,
                _("`{name}` is nested deeper than {depth} levels", name=name, depth=MAX_JSON_DEPTH),
            )
    return query, members["variables"], operation_name, members["extensions"]


def check_operation(query: str, operation_name: str | None, max_tokens: int) -> None:
    """Refuse a document whose operation cannot be chosen: several operations and no
    operationName, or an operationName the document does not define (GraphQL spec,
    GetOperation). A document that does not parse is left to the executor's own message."""
    problem = operation_problem(query, operation_name, max_tokens)
    if problem is not None:
        raise HTTPException(400, problem)


@lru_cache(maxsize=512)
def operation_problem(query: str, operation_name: str | None, max_tokens: int) -> str | None:
    """Why the document's operation cannot be chosen, or None (also for a document that does
    not parse: the executor says why, with locations)."""
    try:
        document = parse(query, no_location=True, max_tokens=max_tokens)
    except GraphQLError:
        return None
    names = [
        d.name.value if d.name else None
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    ]
    if operation_name is None:
        if len(names) > 1:
            listed = ", ".join(n or "(anonymous)" for n in names)
            return _(
                "the document has {count} operations ({listed}): name one in operationName",
                count=len(names),
                listed=listed,
            )
        return None
    if operation_name not in names:
        return _('operationName "{name}" names no operation in the document', name=operation_name)
    return None


def _too_deep(value: object) -> bool:
    # Iterative: the check itself must not recurse on a hostile value.
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__
