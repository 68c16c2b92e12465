"""Who sees what: ONE declaration per table (``RULES``), from which every form is derived —
the SQL condition of GraphQL lists, node(id) and sync pulls (``Scope.visible``), and the keys
stored with each change-log row (``keys_of``). docs/api.md "Visibility" says it in words.

A record is seen by a caller whose scope holds one of its keys:

* ``grids``: columns holding a grid id — seen by whoever sees that grid (it or a grid above it
  is served, or an API token was issued for it);
* ``members``: columns holding a member id — seen by that member (a personal scope: a
  sign-in, or an API token not limited to some grids);
* ``stations``: columns holding a station id — seen by whoever serves that station or a grid
  it stands in;
* ``served_grids``: (members) seen wherever a grid it serves is seen;
* ``via``: seen wherever the record its column points at is seen (a comment with its ticket);
* ``county``: the whole-county roles that see every record of the table (their scope is not
  limited to some grids by the token)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from api.members.models import Role

# Roles that see the whole county.
COUNTY_WIDE = frozenset({Role.ADMIN, Role.COUNTY_STAFF})
ADMINS = frozenset({Role.ADMIN})


@dataclass(frozen=True)
class Via:
    column: str  # the foreign key on this table
    parent: str  # the table it points at


@dataclass(frozen=True)
class Rule:
    grids: tuple[str, ...] = ()
    members: tuple[str, ...] = ()
    stations: tuple[str, ...] = ()
    served_grids: bool = False
    via: tuple[Via, ...] = ()
    county: frozenset[str] = COUNTY_WIDE


_BY_TICKET = Rule(via=(Via("ticket_id", "ticket"),))
_BY_STATION = Rule(stations=("station_id",))

# THE declaration, by table name. A table on the sync wire or behind a GraphQL type must be
# here (tests/test_visibility.py checks).
RULES: dict[str, Rule] = {
    "grid": Rule(grids=("id", "parent_id", "town_id")),
    "enterprise": Rule(grids=("grid_id", "town_id")),
    # Oneself, the people serving a grid in scope, the staff of an enterprise in scope.
    "member": Rule(members=("id",), served_grids=True, via=(Via("enterprise_id", "enterprise"),)),
    # Its grid's people, its assignee, its reporter.
    "ticket": Rule(grids=("grid_id",), members=("assignee_id", "reporter_id")),
    "ticket_comment": _BY_TICKET,
    "ticket_event": _BY_TICKET,
    "ticket_attachment": _BY_TICKET,
    "station": Rule(grids=("grid_id",), stations=("id",)),
    "room": _BY_STATION,
    "station_activity": _BY_STATION,
    "attendance": _BY_STATION,
    "coaching_request": _BY_STATION,
    "evaluation": Rule(members=("chair_id", "evaluator_id"), stations=("station_id",)),
    # Only its recipient, whatever the role.
    "notification": Rule(members=("recipient_id",), county=frozenset()),
    # Its member's; admins see everyone's (they resolve them).
    "sync_conflict": Rule(members=("member_id",), county=ADMINS),
}


def county_key(roles: frozenset[str]) -> str | None:
    """The key a whole-county scope with these roles holds for tables seen by ``roles``."""
    if not roles:
        return None
    return "all" if roles == COUNTY_WIDE else "roles:" + "+".join(sorted(roles))


# Every distinct county key: a whole-county scope holds those whose roles it has.
COUNTY_ROLES: tuple[frozenset[str], ...] = tuple(
    sorted({r.county for r in RULES.values() if r.county}, key=sorted)
)


def table_name(model: Any) -> str:
    table = model if isinstance(model, sa.Table) else model.__table__
    return table.name


def rule_of(model: Any) -> Rule:
    name = model if isinstance(model, str) else table_name(model)
    try:
        return RULES[name]
    except KeyError:
        raise AssertionError(f"no visibility rule for table {name!r}") from None


def table_of(name: str) -> sa.Table:
    return SQLModel.metadata.tables[name]


# --- keys: the form stored with each change-log row ----------------------------------------


def _value(record: Any, column: str) -> Any:
    if isinstance(record, Mapping):
        return record.get(column)
    return getattr(record, column, None)


@functools.cache
def key_columns(rule: Rule) -> tuple[tuple[str, str], ...]:
    """(prefix, column) of each key a record has from its own columns: the key is
    ``prefix:value`` when the column holds a value. A reader with the values at hand (a pull's
    rows straight from the driver) forms the keys from these without own_keys' lookups."""
    columns = (("grid", rule.grids), ("member", rule.members), ("station", rule.stations))
    return tuple((prefix, name) for prefix, names in columns for name in names)


def own_keys(rule: Rule, record: Any) -> set[str]:
    """The keys a record has from its own columns (no served grids, no parent)."""
    keys: set[str] = set()
    for prefix, name in key_columns(rule):
        value = _value(record, name)
        if value is not None:
            keys.add(f"{prefix}:{value}")
    return keys


def record_keys(record: Any, name: str | None = None) -> set[str]:
    """All keys of a record whose rule needs no other row (a ticket, a grid, an activity)."""
    rule = rule_of(name or record)
    assert not rule.via and not rule.served_grids, "this table's keys need keys_of()"
    keys = own_keys(rule, record)
    county = county_key(rule.county)
    if county:
        keys.add(county)
    return keys


def _reach_keys(
    connection: sa.Connection,
    name: str,
    records: Sequence[Any],
    served: Mapping[Any, Iterable[Any]] | None,
) -> list[set[str]]:
    """Per record (in order), its keys without the county key."""
    rule = rule_of(name)
    keys = [own_keys(rule, r) for r in records]
    if rule.served_grids and records:
        known = dict(served or {})
        wanted = [_value(r, "id") for r in records if _value(r, "id") not in known]
        if wanted:
            link = table_of("member_grid")
            found: dict[Any, list[Any]] = {i: [] for i in wanted}
            rows = connection.execute(
                sa.select(link.c.member_id, link.c.grid_id).where(link.c.member_id.in_(wanted))
            )
            for member_id, grid_id in rows:
                found[member_id].append(grid_id)
            known.update(found)
        for index, record in enumerate(records):
            keys[index].update(f"grid:{g}" for g in known.get(_value(record, "id"), ()))
    for via in rule.via:
        parent_ids = {_value(r, via.column) for r in records} - {None}
        if not parent_ids:
            continue
        parent = table_of(via.parent)
        parent_rule = rule_of(via.parent)
        needed = {"id", *parent_rule.grids, *parent_rule.members, *parent_rule.stations}
        needed.update(v.column for v in parent_rule.via)
        rows = connection.execute(
            sa.select(*(parent.c[c] for c in sorted(needed))).where(
                parent.c.id.in_(list(parent_ids))
            )
        ).all()
        parent_keys = _reach_keys(connection, via.parent, [r._mapping for r in rows], None)
        by_parent = {row.id: k for row, k in zip(rows, parent_keys, strict=True)}
        for index, record in enumerate(records):
            keys[index].update(by_parent.get(_value(record, via.column), ()))
    return keys


def keys_of(
    connection: sa.Connection,
    model: Any,
    records: Sequence[Any],
    *,
    served: Mapping[Any, Iterable[Any]] | None = None,
) -> list[set[str]]:
    """The keys of each record of ``model`` (ORM instances, Core rows, mappings or any object
    with the columns as attributes), in order. ``served``: a member's grids served as they
    were (before a change), instead of reading member_grid."""
    name = model if isinstance(model, str) else table_name(model)
    county = county_key(rule_of(name).county)
    found = _reach_keys(connection, name, records, served)
    if county:
        for keys in found:
            keys.add(county)
    return found


def children_of(parent: str) -> list[tuple[str, Via]]:
    """The tables seen through ``parent`` (their records move when the parent's keys do)."""
    return [(name, via) for name, rule in RULES.items() for via in rule.via if via.parent == parent]


# --- SQL: the form GraphQL lists, node(id) and sync pulls use --------------------------------
# The caller's values are named parameters (``scope_*``, Scope.parameters()): a statement built
# for one caller serves another of the same Scope.shape when run with that caller's values.


def clause(scope: Any, model: Any, table: sa.FromClause | None = None) -> sa.ColumnElement[bool]:
    """Rows of ``model`` (its table, or ``table``: an alias of it) the scope sees; the same
    rule as ``Scope.sees_keys(keys_of(...))``."""
    name = model if isinstance(model, str) else table_name(model)
    rule = rule_of(name)
    if scope.everything and scope.roles & rule.county:
        return sa.true()
    return _reach(scope, rule, table if table is not None else table_of(name))


def _in(column: Any, name: str, values: Iterable[Any]) -> sa.ColumnElement[bool]:
    return column.in_(sa.bindparam(name, list(values), expanding=True))


def _reach(scope: Any, rule: Rule, table: sa.FromClause) -> sa.ColumnElement[bool]:
    c = table.c
    parts: list[sa.ColumnElement[bool]] = []
    # A whole-county scope is not held to its grids and stations: its county key decides.
    grids = scope.grid_ids if not scope.everything else ()
    stations = scope.station_ids if not scope.everything else ()
    if grids:
        parts.extend(_in(c[name], "scope_grids", grids) for name in rule.grids)
        if rule.served_grids:
            link = table_of("member_grid")
            serving = sa.select(link.c.member_id).where(_in(link.c.grid_id, "scope_grids", grids))
            parts.append(c.id.in_(serving))
    if stations:
        parts.extend(_in(c[name], "scope_stations", stations) for name in rule.stations)
    if scope.member_id is not None and scope.personal:
        for name in rule.members:
            column = c[name]
            parts.append(column == sa.bindparam("scope_member", scope.member_id, type_=column.type))
    for via in rule.via:
        parent = table_of(via.parent)
        inner = _reach(scope, rule_of(via.parent), parent)
        if inner is not _FALSE:
            parts.append(c[via.column].in_(sa.select(parent.c.id).where(inner)))
    return sa.or_(*parts) if parts else _FALSE


_FALSE = sa.false()
