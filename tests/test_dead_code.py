"""No dead code: vulture over the product, its tests and benches ([tool.vulture] in
pyproject.toml), with tests/dead_code_allowlist.py naming what only a framework calls. Code
left behind by a change (a helper nobody calls any more) fails here, so it is removed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_no_dead_code() -> None:
    found = subprocess.run(
        [sys.executable, "-m", "vulture"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert found.returncode == 0, "remove it, or allow-list what only a framework calls:\n" + (
        found.stdout + found.stderr
    )
