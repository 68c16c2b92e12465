"""Operations on the grid tree."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.scope import Scope
from api.errors import forbidden, invalid, not_found
from api.grids.models import Grid, GridKind
from api.i18n import _
from api.records import add_unless_taken

# Which kinds may hang under which: the tree the county actually has.
ALLOWED_PARENTS: dict[GridKind, set[GridKind | None]] = {
    GridKind.COUNTY: {None},
    GridKind.TOWN: {GridKind.COUNTY},
    GridKind.PARK: {GridKind.TOWN},
    GridKind.INDEPENDENT: {GridKind.TOWN, GridKind.PARK},
    GridKind.JOINT: {GridKind.TOWN, GridKind.PARK},
}


async def get_grid(session: AsyncSession, grid_id: uuid.UUID, *, field: str = "gridId") -> Grid:
    grid = await session.get(Grid, grid_id)
    if grid is None or grid.deleted:
        raise not_found(field, _("the grid"))
    return grid


def town_of(grid: Grid) -> uuid.UUID | None:
    """The town a grid belongs to (a town is its own town)."""
    return grid.id if grid.kind == GridKind.TOWN else grid.town_id


def may_add_grid(scope: Scope, kind: GridKind, parent_id: uuid.UUID | None) -> bool:
    top_level = kind in (GridKind.COUNTY, GridKind.TOWN)
    return scope.manages_county or (not top_level and scope.manages_grid(parent_id))


async def create_grid(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    kind: GridKind,
    parent_id: uuid.UUID | None,
    industry: str | None = None,
    grid_id: uuid.UUID | None = None,
    scope: Scope | None = None,
) -> Grid:
    """A new grid. ``scope``: the caller's, whose permission is checked here (county staff
    anywhere, town staff below the grids they manage); None only on an operator's path (CLI,
    import, demo) whose own door checked it."""
    if scope is not None and not may_add_grid(scope, kind, parent_id):
        raise forbidden(_("only county staff, or town staff within their town, add grids"))
    code, name = code.strip(), name.strip()
    if not code:
        raise invalid("code", _("a grid needs a code"))
    if not name:
        raise invalid("name", _("a grid needs a name"))
    parent = await get_grid(session, parent_id, field="parentId") if parent_id else None
    if (parent.kind if parent else None) not in ALLOWED_PARENTS[kind]:
        parents = sorted(ALLOWED_PARENTS[kind], key=lambda k: k.value if k else "")
        allowed = [k if k else _("none (a top grid)") for k in parents]
        raise invalid(
            "parentId", _("a {kind} grid must sit under: {allowed}", kind=kind, allowed=allowed)
        )
    if kind == GridKind.JOINT and not (industry and industry.strip()):
        raise invalid("industry", _("a joint grid groups one industry; give the industry"))
    existing = await session.scalar(select(Grid.id).where(Grid.code == code))
    if existing is not None:
        raise invalid("code", _("the grid code {code} is already used", code=code))
    grid = Grid(
        id=grid_id or uuid.uuid4(),
        code=code,
        name=name,
        kind=kind,
        parent_id=parent.id if parent else None,
        town_id=town_of(parent) if parent else None,
        industry=industry.strip() if industry else None,
    )
    # Only a grid of the same code created meanwhile (racing past the check) is refused here.
    await add_unless_taken(
        session, grid, lambda: invalid("code", _("the grid code {code} is already used", code=code))
    )
    return grid


async def grid_tree(session: AsyncSession) -> dict[uuid.UUID, uuid.UUID | None]:
    """child → parent for every live grid; the county has a few hundred, so one read is cheap."""
    rows = await session.execute(select(Grid.id, Grid.parent_id).where(Grid.deleted_at.is_(None)))
    return {row.id: row.parent_id for row in rows}


def descendants(tree: dict[uuid.UUID, uuid.UUID | None], roots: set[uuid.UUID]) -> set[uuid.UUID]:
    """The roots and every grid below them."""
    children: dict[uuid.UUID, list[uuid.UUID]] = {}
    for child, parent in tree.items():
        if parent is not None:
            children.setdefault(parent, []).append(child)
    found: set[uuid.UUID] = set()
    stack = [r for r in roots if r in tree]
    while stack:
        node = stack.pop()
        if node in found:
            continue
        found.add(node)
        stack.extend(children.get(node, ()))
    return found
