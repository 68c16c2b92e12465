"""A list page's SELECT run straight on asyncpg (PostgreSQL), past SQLAlchemy's execution layer.

A page statement is built once per shape and values (schema/lists.py keeps it); running it
through SQLAlchemy still costs, per request, about a millisecond of Python at 100 rows: the
greenlet hop, the compiled-cache key, expanding the IN lists, the cursor adapter and the result
wrapper. Here the statement is compiled once; per number of values in each of its expanding
parameters (the caller's grids, say) SQLAlchemy expands it once, and the recipe of its
positional arguments (a constant, or one value of the caller's parameters, each through the
type's bind processor) is kept. A request then gives asyncpg the SQL text (prepared and cached
by asyncpg per connection) and its arguments, and each row's values go through the columns'
result processors, so the rows hold exactly what SQLAlchemy would have made of them
(tests/test_graphql_statements.py compares them)."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from api.db import DRIVER_LISTENERS

# Hear each statement run here (SQLAlchemy's own before_cursor_execute listeners do not):
# the listeners of every statement run on the driver itself (api/db.py).
LISTENERS = DRIVER_LISTENERS

# One positional argument: (the caller's parameter it comes from, or None for a constant;
# the index into that parameter's list, or None for a single value; the bind processor; the
# constant's value, already processed).
Argument = tuple[str | None, int | None, Callable[[Any], Any] | None, Any]


@dataclass
class Variant:
    sql: str
    arguments: tuple[Argument, ...]
    # asyncpg's records to SQLAlchemy's row values, made from the column types asyncpg reports
    # on the first run.
    rows: Callable[[Sequence[Any]], list[tuple[Any, ...]]] | None = None


@dataclass
class PreparedSelect:
    """A SELECT compiled for asyncpg once; its variants per length of each expanding list."""

    statement: sa.Select[Any]
    dialect: Dialect
    compiled: Any = None
    variants: dict[tuple[int, ...], Variant] = field(default_factory=dict)
    expanding: tuple[str, ...] = ()
    # Per selected column of the statement, the column of the SQL sent that holds its value:
    # a table column selected twice (a list's sort key is often one of its columns, selected
    # again as "sort_key") is sent once, decoding a timestamp costs asyncpg more than the
    # rest of its row's fields.
    sources: tuple[int, ...] = ()

    def variant(self, parameters: Mapping[str, Any]) -> Variant:
        if self.compiled is None:
            sent, self.sources = _distinct_columns(self.statement)
            self.compiled = sent.compile(dialect=self.dialect)
            self.expanding = tuple(
                name
                for name, bind in self.compiled.binds.items()
                if bind.expanding and name in parameters
            )
        lengths = tuple(len(parameters[name]) for name in self.expanding)
        found = self.variants.get(lengths)
        if found is None:
            found = self.variants[lengths] = self._expand(parameters)
        return found

    def _expand(self, parameters: Mapping[str, Any]) -> Variant:
        state = self.compiled.construct_expanded_state(dict(parameters))
        assert state.positiontup is not None  # asyncpg's numeric_dollar style is positional
        origin: dict[str, tuple[str, int | None]] = {}
        for name, expanded in state.parameter_expansion.items():
            for index, key in enumerate(expanded):
                origin[key] = (name, index)
        arguments: list[Argument] = []
        for key in state.positiontup:
            processor = state.processors.get(key)
            source, index = origin.get(key, (key, None))
            if source in parameters:
                arguments.append((source, index, processor, None))
            else:
                value = state.parameters[key]
                arguments.append((None, None, None, processor(value) if processor else value))
        return Variant(state.statement, tuple(arguments))


def _distinct_columns(statement: sa.Select[Any]) -> tuple[sa.Select[Any], tuple[int, ...]]:
    """The statement with each table column selected once, and where each of its selected
    columns went."""
    columns = list(statement.selected_columns)
    kept: list[Any] = []
    first: dict[Any, int] = {}
    sources = []
    for column in columns:
        inner = column.element if isinstance(column, sa.Label) else column
        if isinstance(inner, sa.Column) and inner in first:
            sources.append(first[inner])
            continue
        if isinstance(inner, sa.Column):
            first[inner] = len(kept)
        sources.append(len(kept))
        kept.append(column)
    if len(kept) == len(columns):
        return statement, tuple(sources)
    return statement.with_only_columns(*kept, maintain_column_froms=True), tuple(sources)


def arguments_of(variant: Variant, parameters: Mapping[str, Any]) -> list[Any]:
    out = []
    for source, index, processor, constant in variant.arguments:
        if source is None:
            out.append(constant)
            continue
        value = parameters[source]
        if index is not None:
            value = value[index]
        out.append(processor(value) if processor is not None else value)
    return out


class _Memo(dict[Any, Any]):
    """An enum column's values as SQLAlchemy makes them, each worked out once: a few
    distinct values, each an immutable enum member, read on every row."""

    def __init__(self, process: Callable[[Any], Any]) -> None:
        super().__init__()
        self.process = process

    def __missing__(self, key: Any) -> Any:
        value = self[key] = self.process(key)
        return value


def row_maker(
    prepared: PreparedSelect, type_oids: Sequence[int]
) -> Callable[[Sequence[Any]], list[tuple[Any, ...]]]:
    """asyncpg's records to the tuples SQLAlchemy's rows would hold (indexed alike): per column
    its type's result processor, as SQLAlchemy's result applies it; one generated function, so
    a column without a processor costs an index and one with a call, nothing more."""
    columns = list(prepared.statement.selected_columns)
    sources = prepared.sources
    assert len(columns) == len(sources) and max(sources) + 1 == len(type_oids)
    dialect = prepared.dialect
    env: dict[str, Any] = {}
    items = []
    # A value sent once for two columns of one type (a sort key) is processed once.
    done: dict[tuple[int, type, str], str] = {}
    for i, (column, j) in enumerate(zip(columns, sources, strict=True)):
        process = column.type.dialect_impl(dialect).result_processor(dialect, type_oids[j])
        same = (j, type(column.type), repr(column.type))
        if process is None:
            items.append(f"r[{j}]")
        elif same in done:
            items.append(done[same])
        elif isinstance(column.type, sa.Enum):
            env[f"m{i}"] = _Memo(process)
            items.append(f"(v{i} := m{i}[r[{j}]])")
            done[same] = f"v{i}"
        else:
            env[f"p{i}"] = process
            items.append(f"(v{i} := p{i}(r[{j}]))")
            done[same] = f"v{i}"
    text = f"def make(records):\n    return [({', '.join(items)},) for r in records]"
    exec(compile(text, "<schema.prepared rows>", "exec"), env)  # noqa: S102 - our own text
    return env["make"]


# Statements kept by their makers (schema/lists.py's page cache) and their prepared forms.
_PREPARED: weakref.WeakKeyDictionary[sa.Select[Any], PreparedSelect] = weakref.WeakKeyDictionary()


def prepared(statement: sa.Select[Any], dialect: Dialect) -> PreparedSelect:
    found = _PREPARED.get(statement)
    if found is None:
        found = _PREPARED[statement] = PreparedSelect(statement, dialect)
    return found
