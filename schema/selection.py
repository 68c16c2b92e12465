"""What a query selected below a field, with fragments merged and aliases folded, so that a
list resolver reads only the columns and joins the client asked for (docs/api.md, "Performance")."""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLResolveInfo,
    InlineFragmentNode,
    SelectionSetNode,
)


class Selection(dict[str, "Selection"]):
    """Field name → what is selected below it (empty for a leaf)."""

    def at(self, *path: str) -> Selection:
        """The selection under a path of field names, empty when not selected."""
        node: Selection = self
        for name in path:
            node = node.get(name) or EMPTY
        return node


EMPTY = Selection()


def _merge(
    target: Selection, selection_set: SelectionSetNode | None, fragments: dict[str, Any]
) -> None:
    if selection_set is None:
        return
    for node in selection_set.selections:
        if isinstance(node, FieldNode):
            name = node.name.value
            if name == "__typename":
                continue
            child = target.get(name)
            if child is None:
                child = target[name] = Selection()
            _merge(child, node.selection_set, fragments)
        elif isinstance(node, InlineFragmentNode):
            _merge(target, node.selection_set, fragments)
        elif isinstance(node, FragmentSpreadNode):
            fragment = fragments.get(node.name.value)
            if fragment is not None:
                _merge(target, fragment.selection_set, fragments)


def selection_of(info: Any) -> Selection:
    """The merged selection below the field being resolved (Strawberry or graphql-core info).
    Directives (@skip/@include) are ignored: at worst a column too many is read."""
    raw: GraphQLResolveInfo = getattr(info, "_raw_info", info)
    result = Selection()
    for field_node in raw.field_nodes:
        _merge(result, field_node.selection_set, raw.fragments)
    return result
