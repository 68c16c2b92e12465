"""The import direction of the layers (docs/architecture.md, "Layers"): the domain areas (api/*
except api/edge) import neither the sync layer, the schema nor the edge; sync builds on the
domain; the GraphQL schema builds on both; only the edge (api/edge) composes all three. An
import running back up (a domain module that reaches into sync/ or schema/) would make the
domain depend on its callers, so this walks every import, those inside functions included."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Layer -> packages it may not import (a package forbids its subpackages too).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "api": ("sync", "schema", "api.edge"),
    "migrations": ("schema", "api.edge"),
    "sync": ("schema", "api.edge"),
    "schema": ("api.edge",),
    "api.edge": (),
}


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str | None:
    # The longest layer name that is the module or a package holding it: api.edge before api.
    for layer in sorted(FORBIDDEN, key=len, reverse=True):
        if module == layer or module.startswith(layer + "."):
            return layer
    return None


def imports_of(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in a file, relative ones resolved."""
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            # `from api import edge` imports the package api.edge itself.
            found.append((node.lineno, origin))
            found += [(node.lineno, f"{origin}.{alias.name}") for alias in node.names]
    return found


def violations(root: Path = ROOT) -> list[str]:
    found: dict[str, str] = {}
    for folder in ("api", "sync", "schema", "migrations"):
        for path in sorted((root / folder).rglob("*.py")):
            layer = layer_of(module_name(path, root))
            if layer is None:
                continue
            for line, target in imports_of(path, root):
                for banned in FORBIDDEN[layer]:
                    if target == banned or target.startswith(banned + "."):
                        where = f"{path.relative_to(root)}:{line}"
                        found.setdefault(where, f"{where} imports {target} ({layer} may not)")
    return list(found.values())


def test_layers_import_downwards_only() -> None:
    assert not violations(), "\n".join(violations())


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    # The walk itself, on a small tree: an import inside a function, a relative one, one of a
    # package's module by name; the edge may import anything.
    (tmp_path / "sync").mkdir()
    (tmp_path / "api" / "edge").mkdir(parents=True)
    (tmp_path / "sync" / "probe.py").write_text(
        "def f():\n    from schema import build\n"
        "from ..api.edge import app\nfrom api import edge\nfrom api.tickets import lifecycle\n",
        encoding="utf-8",
    )
    (tmp_path / "api" / "edge" / "probe.py").write_text("import schema, sync\n", "utf-8")
    found = violations(tmp_path)
    assert sorted(v.split(" ")[0] for v in found) == [
        "sync/probe.py:2",
        "sync/probe.py:3",
        "sync/probe.py:4",
    ], found
