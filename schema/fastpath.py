"""Planned execution of the hot list queries (docs/api.md, "Performance").

graphql-core completes every field of every row through its executor: for a page of 100
tickets with their grid, enterprise and assignee that is ~1 500 field executions and most of a
request's CPU. Yet the list resolvers already fetch such a page in one statement and hand back
plain objects; what is left is reading attributes and serialising leaves.

So a document the normal path has answered once without errors (it parsed, passed the token
limit and every validation rule) is planned once: if its operation selects only root
connections (``tickets``, ``grids``, ...) with plain fields, to-one references of the listed
records, ``pageInfo``, ``totalCount``, cursors and ``__typename``, the plan records per response
key how to read and serialise the value. A later request with the same document coerces its
variables and arguments with graphql-core's own functions, calls the root field's own resolver
(authentication, scope, page-size limits, filters and the one SQL statement all happen there,
exactly as on the normal path) and walks the returned objects along the plan.

Anything the plan cannot answer exactly as the executor would — fragments, directives, a
field with its own resolver, an error of any kind, a null in a non-null field — goes to the
normal executor instead, which then gives the normal answer (errors, masking and all)."""

from __future__ import annotations

import itertools
import keyword
from binascii import b2a_base64
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from inspect import isawaitable
from operator import attrgetter, methodcaller
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_argument_values,
    parse,
)
from graphql.pyutils import Undefined
from strawberry.schema import Schema

from schema.library_internals import (
    Call,
    Convert,
    core_schema,
    direct_resolver,
    execution_context,
    hooks_every_resolver,
    python_name,
    reads_attribute,
    resolve_info,
)
from schema.views import VIEWS

# Strawberry's DateTime, Date and Time scalars serialise with this (and graphql-core's Int
# with its serialize_int): values of the expected type are serialised inline.
ISOFORMAT = repr(methodcaller("isoformat"))
# Keys under which shared records keep their answers, one per generated completion.
_SHARED_KEYS = itertools.count()
# Not in a record's __dict__ (a reference the statement did not join).
_MISSING = object()
# How a field's value is read from its source object.
TYPENAME, ATTRIBUTE, RESOLVER, COUNT = range(4)


class Unplanned(Exception):
    """The planned answer could differ from the executor's: answer through the executor."""


@dataclass(frozen=True)
class Field:
    key: str  # the response key (alias or name)
    read: int  # TYPENAME, ATTRIBUTE, RESOLVER or COUNT
    # TYPENAME: the type name; ATTRIBUTE: the Python attribute; RESOLVER: resolve(source, None)
    source: Any
    non_null: bool
    serialize: Callable[[Any], Any] | None  # a leaf type's serialize; None for objects
    plain_str: bool  # a String or ID: a str value serialises to itself
    is_enum: bool
    lists: tuple[bool, ...]  # per list level, outermost first: are its items non-null?
    fields: tuple[Field, ...] = ()


@dataclass
class RootField:
    key: str
    field_def: GraphQLField
    node: FieldNode
    complete: Callable[[Any], Awaitable[dict[str, Any]]]
    # Strawberry's resolver wrapper in two steps (schema.library_internals.direct_resolver),
    # when the field allows it; None: the field's resolve, as the executor calls it.
    direct: tuple[Convert, Call] | None = None
    # The converted arguments when they are all literals (no variable): the same for every
    # request, converted once. (Strawberry input objects are only read by the resolvers.)
    constant: dict[str, Any] | None = None


@dataclass(frozen=True)
class OperationPlan:
    document: DocumentNode
    operation_name: str | None
    roots: tuple[RootField | str, ...]  # a str: the key of a root __typename


class _NotPlannable(Exception):
    pass


def _require(condition: bool) -> None:
    if not condition:
        raise _NotPlannable


def _unwrap(gtype: GraphQLOutputType) -> tuple[bool, tuple[bool, ...], Any]:
    """(non-null, per list level whether its items are non-null, the named type)."""
    non_null = isinstance(gtype, GraphQLNonNull)
    if non_null:
        gtype = gtype.of_type
    lists: list[bool] = []
    while isinstance(gtype, GraphQLList):
        gtype = gtype.of_type
        item_non_null = isinstance(gtype, GraphQLNonNull)
        if item_non_null:
            gtype = gtype.of_type
        lists.append(item_non_null)
    return non_null, tuple(lists), gtype


def _plain(node: FieldNode) -> None:
    _require(not node.directives and not node.arguments)


def _fields_of(
    parent: GraphQLObjectType, selection_set: SelectionSetNode | None, *, joined: bool
) -> tuple[Field, ...]:
    """The plan of an object's selection. ``joined``: these objects are the listed records,
    whose selected to-one references the list's statement joined in."""
    _require(selection_set is not None)
    assert selection_set is not None
    fields: list[Field] = []
    keys: set[str] = set()
    view = VIEWS.get(parent.name)
    for node in selection_set.selections:
        # Fragments would need graphql-core's field collection and merging rules.
        _require(isinstance(node, FieldNode))
        assert isinstance(node, FieldNode)
        _plain(node)
        key = node.alias.value if node.alias else node.name.value
        _require(key not in keys)  # merged duplicates: left to the executor
        keys.add(key)
        name = node.name.value
        if name == "__typename":
            fields.append(Field(key, TYPENAME, parent.name, True, None, False, False, ()))
            continue
        field_def = parent.fields.get(name)
        _require(field_def is not None)
        assert field_def is not None
        fields.append(_field(parent, view, key, name, field_def, node, joined=joined))
    return tuple(fields)


def _field(
    parent: GraphQLObjectType,
    view: Any,
    key: str,
    name: str,
    field_def: GraphQLField,
    node: FieldNode,
    *,
    joined: bool,
) -> Field:
    non_null, lists, named = _unwrap(field_def.type)
    resolve = field_def.resolve
    is_to_one = view is not None and name in view.to_one
    if name == "totalCount" and parent.name.endswith("Connection"):
        read, source = COUNT, None
    elif reads_attribute(field_def):
        # Strawberry's resolver of a field without one of its own: the attribute, by getattr.
        read, source = ATTRIBUTE, python_name(field_def)
    elif getattr(resolve, "info_free", False) and (joined or not is_to_one):
        # id, uuid, and to-one references already joined into the listed records.
        read, source = RESOLVER, resolve
    else:
        raise _NotPlannable
    if isinstance(named, GraphQLScalarType | GraphQLEnumType):
        _require(node.selection_set is None)
        plain_str = named is GraphQLString or named is GraphQLID
        is_enum = isinstance(named, GraphQLEnumType)
        return Field(key, read, source, non_null, named.serialize, plain_str, is_enum, lists)
    _require(isinstance(named, GraphQLObjectType))
    # Records reached by attribute (connection.nodes, edge.node) are the listed ones; below a
    # to-one reference nothing more is joined, its own references would need loaders.
    listed = named.name in VIEWS and not is_to_one
    fields = _fields_of(named, node.selection_set, joined=listed)
    return Field(key, read, source, non_null, None, False, False, lists, fields)


def plan_operation(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    strawberry_schema: Schema | None = None,
) -> OperationPlan | None:
    """The plan of the operation, or None when it has a shape the plan does not cover."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != len(document.definitions):
        return None  # fragment definitions
    if operation_name is None:
        chosen = operations if len(operations) == 1 else []
    else:
        chosen = [o for o in operations if o.name and o.name.value == operation_name]
    if len(chosen) != 1:
        return None
    operation = chosen[0]
    query_type = schema.query_type
    if operation.operation != OperationType.QUERY or operation.directives or query_type is None:
        return None
    if any(v.directives for v in operation.variable_definitions or ()):
        return None
    roots: list[RootField | str] = []
    keys: set[str] = set()
    try:
        for node in operation.selection_set.selections:
            _require(isinstance(node, FieldNode) and not node.directives)
            assert isinstance(node, FieldNode)
            key = node.alias.value if node.alias else node.name.value
            _require(key not in keys)
            keys.add(key)
            if node.name.value == "__typename":
                roots.append(key)
                continue
            field_def = query_type.fields.get(node.name.value)
            _require(field_def is not None)
            assert field_def is not None
            _, lists, named = _unwrap(field_def.type)
            # Root connections only: their resolver runs the list's one statement.
            _require(not lists and isinstance(named, GraphQLObjectType))
            _require(named.name.endswith("Connection") and "pageInfo" in named.fields)
            fields = _fields_of(named, node.selection_set, joined=False)
            direct = (
                None if strawberry_schema is None else direct_resolver(strawberry_schema, field_def)
            )
            roots.append(RootField(key, field_def, node, _connection(fields), direct))
    except _NotPlannable:
        return None
    return OperationPlan(document, operation_name, tuple(roots))


# --- running a plan ----------------------------------------------------------------------
# A plan's objects are compiled into closures once: per row, a field then costs one getter
# call and, for a leaf, its serialisation.

Complete = Callable[[Any], Any]


def _leaf(field: Field) -> Complete:
    serialize = field.serialize
    assert serialize is not None
    plain_str = field.plain_str
    # An enum's serialize is a pure function of a value from a small set: remember it, by
    # value, with the exact type it was worked out for (a str-valued enum's member and its
    # plain value hash alike, yet may serialise differently).
    known: dict[Any, tuple[type, Any]] | None = {} if field.is_enum else None

    def complete(value: Any) -> Any:
        if plain_str and type(value) is str:
            return value
        if known is not None:
            found = known.get(value)
            if found is not None and found[0] is type(value):
                return found[1]
        serialized = serialize(value)
        if serialized is None or serialized is Undefined:
            raise Unplanned  # graphql-core reports an error here
        if known is not None:
            known[value] = (type(value), serialized)
        return serialized

    complete.known = known  # type: ignore[attr-defined]
    return complete


def _inline_leaf(f: Field, i: int, env: dict[str, Any]) -> list[str]:
    """Statements giving ``d{i}``, the JSON value of the non-null ``v{i}``, for a leaf: the
    common cases inline (a str that is a String or ID, a remembered enum value, an Int in
    range, a datetime's isoformat), anything else by the leaf's own completion."""
    value, done, finish = f"v{i}", f"d{i}", f"finish{i}({'v' + str(i)})"
    if f.plain_str:
        return [f"{done} = {value} if type({value}) is str else {finish}"]
    if f.is_enum:
        env[f"known{i}"] = env[f"finish{i}"].known
        return [
            f"k{i} = known{i}.get({value})",
            f"{done} = k{i}[1] if k{i} is not None and k{i}[0] is type({value}) else {finish}",
        ]
    if f.serialize is GraphQLInt.serialize:
        # graphql-core's Int: a whole number within 32 bits serialises to itself.
        return [
            f"{done} = {value} if type({value}) is int and "
            f"-2147483648 <= {value} <= 2147483647 else {finish}"
        ]
    if isinstance(f.serialize, methodcaller) and repr(f.serialize) == ISOFORMAT:
        env["datetime"] = datetime
        return [f"{done} = {value}.isoformat() if type({value}) is datetime else {finish}"]
    return [f"{done} = {finish}"]


def _listed(item: Complete, items_non_null: bool) -> Complete:
    def complete(values: Any) -> list[Any]:
        out = []
        for value in values:
            if value is None:
                if items_non_null:
                    raise Unplanned
                out.append(None)
            else:
                out.append(item(value))
        return out

    return complete


def _getter(field: Field) -> Callable[[Any], Any]:
    if field.read == TYPENAME:
        name = field.source
        return lambda _source: name
    if field.read == ATTRIBUTE:
        return attrgetter(field.source)
    if field.read == RESOLVER:
        resolve = field.source
        return lambda source: resolve(source, None)
    raise _NotPlannable  # a count below the root connection


def _completer(field: Field) -> Complete | None:
    """How a non-null value of the field becomes JSON; None: as it is (__typename)."""
    if field.read == TYPENAME:
        return None
    if field.serialize is not None:
        complete = _leaf(field)
    else:
        # A reference (read by its resolver) is often one record shared by many rows of the
        # page (schema/views.py joins each once): its answer is made once and reused.
        complete = _compiled(field.fields, shared=field.read == RESOLVER and not field.lists)
    for items_non_null in reversed(field.lists):
        complete = _listed(complete, items_non_null)
    return complete


def _compiled(fields: tuple[Field, ...], *, shared: bool = False) -> Complete:
    """The completion of an object's selection as one generated function: per field an
    attribute read (or its resolver's call), the null check and the leaf's serialisation
    inline, and the answer as one dict display in the selection's order. A per-field loop
    over closures cost several calls per field of every row. ``shared``: the answer is kept
    on the object (which lives for one request) under a key of this function's own, and
    given again for the same object."""
    env: dict[str, Any] = {"Unplanned": Unplanned}
    body: list[str] = []
    if shared:
        kept = f"_planned_{next(_SHARED_KEYS)}"
        body.append(f"    done = source.__dict__.get({kept!r})\n    if done is not None:")
        body.append("        return done")
    entries: list[str] = []
    for i, f in enumerate(fields):
        if f.read == TYPENAME:
            entries.append(f"{f.key!r}: {f.source!r}")
            continue
        value = f"v{i}"
        if f.read == ATTRIBUTE and f.source.isidentifier() and not keyword.iskeyword(f.source):
            read = f"source.{f.source}"
        elif f.read == RESOLVER and isinstance(getattr(f.source, "global_id_of", None), str):
            # schema.ids.to_global_id, inline: base64 of "Type:uuid".
            env["b2a"] = b2a_base64
            prefix = f"{f.source.global_id_of}:"
            read = f"b2a(({prefix!r} + str(source.id)).encode(), newline=False).decode()"
        elif f.read == RESOLVER and isinstance(getattr(f.source, "joined_as", None), str):
            env[f"resolve{i}"] = f.source
            env["MISSING"] = _MISSING
            joined = f.source.joined_as
            read = (
                f"source.__dict__.get({joined!r}, MISSING)\n"
                f"    if {value} is MISSING:\n        {value} = resolve{i}(source, None)"
            )
        elif f.read == RESOLVER:
            env[f"resolve{i}"] = f.source
            read = f"resolve{i}(source, None)"
        else:
            env[f"get{i}"] = _getter(f)
            read = f"get{i}(source)"
        body.append(f"    {value} = {read}")
        env[f"finish{i}"] = _completer(f)
        if f.serialize is not None and not f.lists:
            steps = _inline_leaf(f, i, env)
        else:
            steps = [f"d{i} = finish{i}({value})"]
        if f.non_null:
            body.append(f"    if {value} is None:\n        raise Unplanned")
            body.extend(f"    {step}" for step in steps)
        else:
            body.append(f"    if {value} is None:\n        d{i} = None\n    else:")
            body.extend(f"        {step}" for step in steps)
        entries.append(f"{f.key!r}: d{i}")
    answer = f"{{{', '.join(entries)}}}"
    if shared:
        body.append(f"    done = source.__dict__[{kept!r}] = {answer}")
        answer = "done"
    source = "\n".join(["def complete(source):", *body, f"    return {answer}"])
    exec(compile(source, "<schema.fastpath plan>", "exec"), env)  # noqa: S102 - our own text
    return env["complete"]


def _connection(fields: tuple[Field, ...]) -> Callable[[Any], Awaitable[dict[str, Any]]]:
    counts = [(f.key, _leaf(f)) for f in fields if f.read == COUNT]
    rest = _compiled(tuple(f for f in fields if f.read != COUNT))
    keys = [f.key for f in fields]

    async def complete(connection: Any) -> dict[str, Any]:
        # The count runs after the page, as the executor runs it.
        counted = {key: finish(await connection._count()) for key, finish in counts}
        done = rest(connection)
        if not counted:
            return done
        return {key: counted[key] if key in counted else done[key] for key in keys}

    return complete


def _resolve(root: RootField, root_value: Any, info: Any, variables: dict[str, Any]) -> Any:
    """The root field's resolver called as the executor calls it."""
    if root.direct is None:
        arguments = get_argument_values(root.field_def, root.node, variables)
        return root.field_def.resolve(root_value, info, **arguments)
    convert, call = root.direct
    converted = root.constant
    if converted is None:
        converted = convert(get_argument_values(root.field_def, root.node, variables), info)
        if not _has_variables(root.node):
            root.constant = converted
    return call(root_value, info, converted)


def _has_variables(node: FieldNode) -> bool:
    stack: list[Any] = [argument.value for argument in node.arguments or ()]
    while stack:
        value = stack.pop()
        if isinstance(value, VariableNode):
            return True
        if isinstance(value, ObjectValueNode):
            stack.extend(field.value for field in value.fields)
        elif isinstance(value, ListValueNode):
            stack.extend(value.values)
    return False


class FastPath:
    """Plans by (document text, operation name), learned from clean normal answers; bounded."""

    def __init__(self, schema: Schema, *, size: int = 256) -> None:
        self.schema = schema
        self.size = size
        self._plans: OrderedDict[tuple[str, str | None], OperationPlan | None] = OrderedDict()
        # A schema extension hooking every resolver would be skipped by a plan.
        self.usable = not hooks_every_resolver(schema)
        self.answered = 0  # requests answered by a plan (tests and the benchmark read it)

    def plan(self, query: str | None, operation_name: str | None) -> OperationPlan | None:
        if query is None:
            return None
        plan = self._plans.get((query, operation_name))
        if plan is not None:
            self._plans.move_to_end((query, operation_name))
        return plan

    def learn(self, query: str, operation_name: str | None) -> None:
        """Called after the normal path answered ``query`` without any error: the document is
        then known to parse, to keep to the limits and to validate."""
        key = (query, operation_name)
        if not self.usable or key in self._plans:
            return
        document = parse(query, no_location=True)
        self._plans[key] = plan_operation(
            core_schema(self.schema), document, operation_name, self.schema
        )
        while len(self._plans) > self.size:
            self._plans.popitem(last=False)

    async def run(
        self,
        plan: OperationPlan,
        *,
        context: Any,
        root_value: Any,
        variables: dict[str, Any] | None,
        extensions: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """The ``data`` of the answer; Unplanned when the executor must answer instead."""
        graphql_schema = core_schema(self.schema)
        executor = execution_context(
            self.schema,
            plan.document,
            root_value=root_value,
            context=context,
            variables=variables,
            operation_name=plan.operation_name,
            extensions=extensions,
        )
        if isinstance(executor, list):
            raise Unplanned  # variables that do not coerce: the executor says why
        query_type = graphql_schema.query_type
        assert query_type is not None
        data: dict[str, Any] = {}
        for root in plan.roots:
            if isinstance(root, str):
                data[root] = query_type.name
                continue
            info = resolve_info(executor, root.field_def, root.node, query_type, root.key)
            try:
                connection = _resolve(root, root_value, info, executor.variable_values)
                if isawaitable(connection):
                    connection = await connection
                if connection is None or "_count" not in connection.__dict__:
                    raise Unplanned
                data[root.key] = await root.complete(connection)
            except Unplanned:
                raise
            except Exception as error:  # noqa: BLE001 - any error is the executor's to report
                raise Unplanned from error
        self.answered += 1
        return data
