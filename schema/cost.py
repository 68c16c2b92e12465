"""Query cost: an upper bound on the work a document can ask for, checked before it runs.

Depth and alias limits alone do not bound work when lists nest (a grid's enterprises' grid's
enterprises ... grows by a page per level). So every field costs 1, and a list multiplies
the cost of what it selects by the most items it can return:

- a field with a page-size argument (``first``, ``last``, ``limit``) by that argument — a
  literal's value, a variable's default, else (a variable without a default, an argument
  left out that has no default) the server's cap; a Relay connection asked for without
  ``first`` or ``last`` by its default page (20);
- the lists of a connection (``edges``, ``nodes``) and of other pages (``SyncPull.changes``)
  by their parent field's page size;
- ``nodes(ids:)`` by the number of ids given;
- any other list of objects by the page-size cap (``GRIDLINK_MAX_PAGE_SIZE``), which is what
  the API's plain lists are limited to.

Lists of leaves (``roles``) cost 1, and introspection (development only) costs nothing: both
are bounded by the schema, not by data. Variables count at their worst, so a document's cost
does not depend on the values sent with it: it is checked once with the other validation
rules (and cached with them), and the planned fast path (schema/fastpath.py), which only
plans documents that passed validation, cannot run anything costlier than the limit."""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
)

from api.i18n import EN, N_, translate
from schema.pagination import DEFAULT_PAGE_SIZE

# Arguments that say how many items a list returns.
SIZE_ARGUMENTS = ("first", "last", "limit")
# The connection types' lists take their size from the field that returns the connection.
COST_CODE = "QUERY_TOO_COSTLY"


def _named(gtype: GraphQLOutputType) -> tuple[bool, Any]:
    """(is a list, the named type)."""
    is_list = False
    while isinstance(gtype, GraphQLNonNull | GraphQLList):
        if isinstance(gtype, GraphQLList):
            is_list = True
        gtype = gtype.of_type
    return is_list, gtype


class _Costing:
    def __init__(self, context: ValidationContext, cap: int, variables: dict[str, int | None]):
        self.context = context
        self.cap = cap
        self.variables = variables  # an Int variable's default, None when it has none

    def _int(self, node: Any) -> int | None:
        """The most a size argument can be: a literal, a variable's default, else the cap."""
        if isinstance(node, IntValueNode):
            return max(0, int(node.value))
        if isinstance(node, VariableNode):
            default = self.variables.get(node.name.value)
            return self.cap if default is None else default
        return None

    def size_of(self, field: GraphQLField, node: FieldNode) -> int | None:
        """The page size a field asks for, or None when it has no size argument."""
        given = {a.name.value: a.value for a in node.arguments or ()}
        if node.name.value == "nodes" and "ids" in given:
            ids = given["ids"]
            return len(ids.values) if isinstance(ids, ListValueNode) else self.cap
        sized = [name for name in SIZE_ARGUMENTS if name in field.args]
        if not sized:
            return None
        asked = [self._int(given[name]) for name in sized if name in given]
        if asked:
            return max(self.cap if value is None else value for value in asked)
        if "first" in sized and "last" in sized:
            return min(DEFAULT_PAGE_SIZE, self.cap)  # a Relay connection's default page
        defaults = [field.args[name].default_value for name in sized]
        return max(d if isinstance(d, int) else self.cap for d in defaults)

    def selection(
        self,
        parent: Any,
        selection_set: SelectionSetNode | None,
        page: int | None,
        spreads: frozenset[str],
    ) -> int:
        """The cost of a selection on ``parent``; ``page``: the size the parent field asked for,
        which its own lists (a connection's edges and nodes) return at most."""
        if selection_set is None:
            return 0
        total = 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                total += self.field(parent, node, page, spreads)
            elif isinstance(node, InlineFragmentNode):
                on = parent
                if node.type_condition is not None:
                    on = self.context.schema.get_type(node.type_condition.name.value) or parent
                total += self.selection(on, node.selection_set, page, spreads)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = self.context.get_fragment(name)
                if fragment is None or name in spreads:
                    continue  # unknown or cyclic: other rules report it
                on = self.context.schema.get_type(fragment.type_condition.name.value) or parent
                total += self.selection(on, fragment.selection_set, page, spreads | {name})
        return total

    def field(self, parent: Any, node: FieldNode, page: int | None, spreads: frozenset[str]) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 0 if name in ("__schema", "__type") else 1
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 1  # a union's fields are only reached through fragments
        definition = parent.fields.get(name)
        if definition is None:
            return 1  # unknown field: another rule reports it
        is_list, named = _named(definition.type)
        size = self.size_of(definition, node)
        if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
            return 1
        if is_list:
            items = size if size is not None else (page if page is not None else self.cap)
            return 1 + items * self.selection(named, node.selection_set, None, spreads)
        return 1 + self.selection(named, node.selection_set, size, spreads)


def operation_cost(context: ValidationContext, operation: OperationDefinitionNode, cap: int) -> int:
    variables: dict[str, int | None] = {}
    for definition in operation.variable_definitions or ():
        default = definition.default_value
        variables[definition.variable.name.value] = (
            max(0, int(default.value)) if isinstance(default, IntValueNode) else None
        )
    root = context.schema.get_root_type(operation.operation)
    costing = _Costing(context, cap, variables)
    return costing.selection(root, operation.selection_set, None, frozenset())


# Written in English like graphql-core's own messages, and translated like them where errors
# are formatted (api/edge/graphql_messages.py): the validation cache keeps this error with its
# document for requests in every language.
COST_MESSAGE = N_(
    "query cost {cost} exceeds the limit {limit}: ask for fewer items per page,"
    " fewer nested lists or fewer aliases"
)


def cost_message(cost: int, limit: int) -> str:
    return translate(EN, COST_MESSAGE.msgid, COST_MESSAGE.context, {"cost": cost, "limit": limit})


def cost_rule(limit: int, cap: int) -> type[ValidationRule]:
    """A validation rule refusing each operation whose cost is above ``limit``; ``cap``: the
    most items a list without a size argument returns (the page-size cap)."""

    class QueryCostRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            cost = operation_cost(self.context, node, cap)
            if cost > limit:
                self.report_error(
                    GraphQLError(
                        cost_message(cost, limit),
                        node,
                        extensions={"code": COST_CODE, "cost": cost, "limit": limit},
                    )
                )

    return QueryCostRule


__all__ = ["COST_CODE", "COST_MESSAGE", "cost_rule", "operation_cost"]
