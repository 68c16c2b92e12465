"""The field app's sync engine (web/sync/) and message catalogue under Node's test runner,
against a real `gridlink serve` with the demo county: paging, the outbox, replay, conflicts,
reset, attachment upload with resume."""

from __future__ import annotations

import os
import subprocess

from tests.demo_server import ROOT, demo_server, need, node_modules


def test_sync_engine_under_node(database_url: str) -> None:
    node = need("node")
    node_modules()
    with demo_server(database_url) as url:
        run = subprocess.run(
            [node, "--test", "--test-reporter=spec", "test/engine.test.js", "test/i18n.test.js"],
            cwd=ROOT / "web",
            env={**os.environ, "GRIDLINK_URL": url},
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "# fail 0" in run.stdout or "ℹ fail 0" in run.stdout, run.stdout
