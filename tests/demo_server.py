"""A real `gridlink serve` process on the demo county, for the field app's Node and browser
tests (they talk to it over HTTP like a phone would)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parent.parent
GRIDLINK = Path(sys.executable).with_name("gridlink")


def _env(database_url: str, extra: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLINK_")}
    env.update(
        GRIDLINK_DATABASE_URL=database_url,
        GRIDLINK_ENV="development",
        GRIDLINK_PUSH_ALLOW_INSECURE_ENDPOINTS="true",
    )
    env.update(extra or {})
    return env


@contextlib.contextmanager
def demo_server(database_url: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """Load the demo county into a migrated database and serve it; yields the base URL."""
    environment = _env(database_url, env)
    subprocess.run(
        [str(GRIDLINK), "demo", "--no-migrate"],
        env=environment,
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    port = free_port()
    process = subprocess.Popen(
        [str(GRIDLINK), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=environment,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gridlink serve exited: {process.stderr.read().decode()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("gridlink serve did not answer in 30 s")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def need(tool: str) -> str:
    """The tool's path; a skip on a developer's machine without it, a failure in CI."""
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} is not installed"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def node_modules() -> Path:
    """web/node_modules installed from the lock file (npm ci) when missing."""
    web = ROOT / "web"
    if not (web / "node_modules" / "fake-indexeddb").is_dir():
        npm = need("npm")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=web, check=True)
    return web / "node_modules"
