"""Record views: how a GraphQL node type reads its table.

Each node type registers a ``View``: its table, the scope clause that limits it, the to-one
references it can join, and computed columns. List resolvers ask a view for a plan built from
the query's selection: one Core SELECT of exactly the columns needed (to-one references
LEFT JOINed), rows turned into plain instances of the Strawberry type without running its
``__init__``. Fields are then read by graphql-core with ``getattr``; the few that are not plain
attributes (``id``, ``uuid`` and to-one references) get tiny synchronous resolvers installed
straight into the graphql-core schema (``install_fast_resolvers``), so no field runs an
``async`` resolver or Strawberry's resolver machinery per row."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from graphql import GraphQLObjectType, GraphQLSchema

from api.auth.scope import Scope
from schema.ids import to_global_id
from schema.library_internals import replace_resolver
from schema.selection import Selection

if TYPE_CHECKING:
    from schema.context import Context

ComputedColumn = Callable[["Context"], sa.ColumnElement[Any]]


def snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


@dataclass(frozen=True)
class ToOne:
    """A reference to one record of another view through a foreign-key column."""

    fk: str
    target: str


@dataclass
class View:
    name: str
    model: Any
    to_one: dict[str, ToOne] = field(default_factory=dict)
    # GraphQL field → the columns a resolver of that field reads from the source object.
    needs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    computed: dict[str, ComputedColumn] = field(default_factory=dict)
    soft_delete: bool = True
    # Columns never read (secrets such as password hashes).
    hidden: frozenset[str] = frozenset()
    # Fields shown only when the record is in the caller's scope (null otherwise): a record
    # reached through a reference (a ticket's reporter) may lie outside it.
    guarded: frozenset[str] = frozenset()
    cls: type | None = None

    @property
    def table(self) -> sa.Table:
        return self.model.__table__

    def visible(self, scope: Scope) -> sa.ColumnElement[bool]:
        """The rows the caller sees: derived from the table's rule (api.auth.visibility)."""
        return scope.visible(self.model)

    def live(self) -> sa.ColumnElement[bool]:
        return self.table.c.deleted_at.is_(None) if self.soft_delete else sa.true()

    def column_keys(self, selection: Selection | None) -> list[str]:
        """Table columns a selection needs (all when ``selection`` is None); id always."""
        columns = self.table.c
        if selection is None:
            return [c.key for c in columns if c.key not in self.hidden]
        keys = ["id"]
        for name in selection:
            if name in self.computed:
                continue
            if (ref := self.to_one.get(name)) is not None:
                wanted: tuple[str, ...] = (ref.fk,)
            elif name in self.needs:
                wanted = self.needs[name]
            else:
                wanted = (snake(name),)
            keys.extend(
                k for k in wanted if k in columns and k not in keys and k not in self.hidden
            )
        return keys

    def computed_keys(self, selection: Selection | None) -> list[str]:
        if selection is None:
            return list(self.computed)
        return [name for name in self.computed if name in selection]

    def make(self, values: dict[str, Any]) -> Any:
        """A Strawberry instance from column values, without running the dataclass __init__."""
        assert self.cls is not None, f"{self.name} has no GraphQL type registered"
        obj = object.__new__(self.cls)
        obj.__dict__.update(values)
        return obj


VIEWS: dict[str, View] = {}


def register(view: View) -> View:
    VIEWS[view.name] = view
    return view


def view_of(name: str) -> View:
    return VIEWS[name]


def bind(name: str) -> Callable[[type], type]:
    """Class decorator: this Strawberry type is the GraphQL face of the view ``name``."""

    def decorate(cls: type) -> type:
        VIEWS[name].cls = cls
        return cls

    return decorate


# --- Plans: one SELECT for a list level, with the to-one references joined ---------------


@dataclass
class Plan:
    view: View
    columns: list[sa.ColumnElement[Any]]
    base: list[tuple[int, str]]
    # (field, target view, alias, [(row index, attribute)], index of the target's id)
    joins: list[tuple[str, View, sa.FromClause, list[tuple[int, str]], int]]
    from_clause: sa.FromClause
    # The statement keeps to the caller's scope (its records' guarded fields may show).
    scoped: bool = False
    # rows_to_objects as one generated function, for a plan its maker keeps (compile()).
    _make: Callable[[Sequence[Any]], list[Any]] | None = None

    def compile(self) -> None:
        """Make rows_to_objects one generated function with the indexes and keys written in:
        worth it for a plan run again and again (a list's, kept by schema/lists.py)."""
        env: dict[str, Any] = {"new": object.__new__, "cls": self.view.cls}
        lines = ["def make(rows):", "    out = []"]
        entries = [f"{IN_SCOPE!r}: True"] if self.scoped and self.view.guarded else []
        entries += [f"{key!r}: row[{index}]" for index, key in self.base]
        for n, (attr, target, _alias, _spec, _id_index) in enumerate(self.joins):
            env[f"cls{n}"] = target.cls
            lines.append(f"    shared{n} = {{}}")
            entries.append(f"{attr!r}: j{n}")
        lines.append("    for row in rows:")
        for n, (_attr, _target, _alias, spec, id_index) in enumerate(self.joins):
            joined = ", ".join(f"{key!r}: row[{index}]" for index, key in spec)
            lines += [
                f"        t{n} = row[{id_index}]",
                f"        if t{n} is None:",
                f"            j{n} = None",
                "        else:",
                f"            j{n} = shared{n}.get(t{n})",
                f"            if j{n} is None:",
                f"                j{n} = shared{n}[t{n}] = new(cls{n})",
                f"                j{n}.__dict__.update({{{joined}}})",
            ]
        lines += [
            "        obj = new(cls)",
            f"        obj.__dict__.update({{{', '.join(entries)}}})",
            "        out.append(obj)",
            "    return out",
        ]
        exec(compile("\n".join(lines), "<schema.views rows>", "exec"), env)  # noqa: S102
        self._make = env["make"]

    def rows_to_objects(self, rows: Sequence[sa.Row[Any]]) -> list[Any]:
        if self._make is not None:
            return self._make(rows)
        view = self.view
        cls = view.cls
        base = self.base
        joins = self.joins
        new = object.__new__
        out = []
        shared: dict[tuple[str, Any], Any] = {}
        in_scope = self.scoped and bool(view.guarded)
        for row in rows:
            obj = new(cls)
            values = obj.__dict__
            if in_scope:
                values[IN_SCOPE] = True
            for index, key in base:
                values[key] = row[index]
            for attr, target, _alias, spec, id_index in joins:
                target_id = row[id_index]
                if target_id is None:
                    values[attr] = None
                    continue
                cache_key = (attr, target_id)
                joined = shared.get(cache_key)
                if joined is None:
                    joined = new(target.cls)
                    joined_values = joined.__dict__
                    for index, key in spec:
                        joined_values[key] = row[index]
                    shared[cache_key] = joined
                values[attr] = joined
            out.append(obj)
        return out


_ALIASES: dict[tuple[str, str], sa.FromClause] = {}


def _alias(target: View, name: str) -> sa.FromClause:
    # Made once: an alias builds a proxy of every column of its table on first use.
    key = (target.name, name)
    alias = _ALIASES.get(key)
    if alias is None:
        alias = _ALIASES[key] = target.table.alias(f"j_{name}")
    return alias


def plan(
    view: View,
    selection: Selection | None,
    context: Context,
    *,
    join: bool = True,
    extra: Sequence[sa.ColumnElement[Any]] = (),
) -> Plan:
    """The SELECT for ``selection`` of ``view`` (None: every column), joining the selected
    to-one references when ``join``. ``extra`` columns come last, e.g. the sort key."""
    table = view.table
    joined = {
        name: ref
        for name, ref in view.to_one.items()
        if join and selection is not None and selection.get(name) is not None
    }
    # A reference joined through its foreign key gives the key's value as the joined id (the
    # constraint makes them equal, or both null): the column is not sent twice.
    by_join = {ref.fk for ref in joined.values() if _constrained(table, ref)}
    columns: list[sa.ColumnElement[Any]] = []
    base: list[tuple[int, str]] = []
    for key in view.column_keys(selection):
        if key in by_join:
            continue
        base.append((len(columns), key))
        columns.append(table.c[key])
    for key in view.computed_keys(selection):
        base.append((len(columns), snake(key)))
        columns.append(view.computed[key](context).label(f"c_{key}"))
    joins = []
    from_clause: sa.FromClause = table
    if joined:
        assert selection is not None
        for name, ref in joined.items():
            sub = selection[name]
            target = VIEWS[ref.target]
            alias = _alias(target, name)
            spec: list[tuple[int, str]] = []
            id_index = len(columns)
            if ref.fk in by_join:
                base.append((id_index, ref.fk))
            for key in target.column_keys(sub):
                spec.append((len(columns), key))
                columns.append(alias.c[key].label(f"j_{name}_{key}"))
            for key in target.computed_keys(sub):
                spec.append((len(columns), snake(key)))
                columns.append(target.computed[key](context).label(f"j_{name}_c_{key}"))
            if target.guarded & set(sub):
                # Whether the caller sees the referenced record, in the same statement.
                spec.append((len(columns), IN_SCOPE))
                seen = context.scope.visible(target.model, alias)
                columns.append(sa.case((seen, True), else_=False).label(f"j_{name}_in_scope"))
            from_clause = from_clause.outerjoin(alias, alias.c.id == table.c[ref.fk])
            joins.append((name, target, alias, spec, id_index))
    columns.extend(extra)
    return Plan(view, columns, base, joins, from_clause)


def _constrained(table: sa.Table, ref: ToOne) -> bool:
    """``ref``'s column is a foreign key to its target's id (so a join on it finds a row)."""
    column = table.c.get(ref.fk)
    target = VIEWS[ref.target].table.c.id
    return column is not None and any(fk.column is target for fk in column.foreign_keys)


def select_for(p: Plan) -> sa.Select[Any]:
    return sa.select(*p.columns).select_from(p.from_clause)


# --- Fast field resolvers, installed into the graphql-core schema -----------------------

_MISSING = object()
# Set on a record known to be in the caller's scope (read by a scoped statement).
IN_SCOPE = "_in_scope"


def _guarded_resolver(view: View, name: str) -> Callable[..., Any]:
    """The field's value when the record is in the caller's scope, else null. A record not
    known to be (a reference) is looked up in the scope (batched per request); the planned
    path (info None) leaves that to the executor."""

    def resolve_guarded(source: Any, info: Any) -> Any:
        values = source.__dict__
        seen = values.get(IN_SCOPE)
        if seen is not None:
            return values.get(name) if seen else None
        if info is None:
            from schema.fastpath import Unplanned

            raise Unplanned
        return _if_visible(view, source, info, name)

    return resolve_guarded


async def _if_visible(view: View, source: Any, info: Any, name: str) -> Any:
    seen = await info.context.loaders.visible(view.name).load(source.id)
    return source.__dict__.get(name) if seen is not None else None


def _id_resolver(type_name: str) -> Callable[..., Any]:
    def resolve_id(source: Any, _info: Any) -> str:
        return to_global_id(type_name, source.id)

    # schema.fastpath writes the same call inline.
    resolve_id.global_id_of = type_name  # type: ignore[attr-defined]
    return resolve_id


def _uuid_resolver(source: Any, _info: Any) -> str:
    return str(source.id)


def _to_one_resolver(name: str, ref: ToOne) -> Callable[..., Any]:
    def resolve_to_one(source: Any, info: Any) -> Any:
        values = source.__dict__
        value = values.get(name, _MISSING)
        if value is not _MISSING:
            return value
        target_id = values.get(ref.fk)
        if target_id is None:
            return None
        return info.context.loaders.record(ref.target).load(target_id)

    # schema.fastpath reads a joined reference inline (``__dict__[joined_as]``), and calls
    # the resolver only when it is not there.
    resolve_to_one.joined_as = name  # type: ignore[attr-defined]
    return resolve_to_one


def _info_free(resolver: Callable[..., Any]) -> Callable[..., Any]:
    # Marks a resolver schema.fastpath may call with info=None: id and uuid read only their
    # source, and a to-one reference does too on a listed record (its statement joined it).
    resolver.info_free = True  # type: ignore[attr-defined]
    return resolver


def install_fast_resolvers(schema: GraphQLSchema) -> None:
    """Replace Strawberry's per-field wrappers of id, uuid and to-one fields of every view's
    type with plain functions. Instances keep the record's UUID under ``id``; the resolver
    turns it into the global id, so the same instance serves ``id`` and ``uuid``."""
    for view in VIEWS.values():
        graphql_type = schema.type_map.get(view.name)
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        fields = graphql_type.fields
        if "id" in fields:
            replace_resolver(fields["id"], _info_free(_id_resolver(view.name)))
        if "uuid" in fields:
            replace_resolver(fields["uuid"], _info_free(_uuid_resolver))
        for name, ref in view.to_one.items():
            if name in fields:
                replace_resolver(fields[name], _info_free(_to_one_resolver(name, ref)))
        for name in view.guarded:
            if name in fields:
                replace_resolver(fields[name], _info_free(_guarded_resolver(view, name)))
