"""The interop suite's server: a real `gridlink serve` process on the demo county, one per
database backend for the whole package (loading the demo is the slow part), with
GRIDLINK_CORS_ORIGINS listing the origin of one static page server and not of another, both
serving this folder (the cross-origin browser page and the graphql-ws browser build)."""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import BACKENDS, _pg_exec, _pg_url
from tests.helpers import free_port

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"
DEMO_PASSWORD = "gridlink-demo"
ASSIGN = """mutation($input: AssignTicketInput!) {
  assignTicket(input: $input) { errors { code message } } }"""


def gridlink_command() -> list[str]:
    return [sys.executable, "-m", "api.edge.cli"]


@dataclass
class DemoServer:
    url: str
    database_url: str
    allowed_origin: str
    refused_origin: str

    def post(self, token: str | None, query: str, variables: dict | None = None) -> dict:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers=headers,
        )
        return response.json()

    def data(self, token: str | None, query: str, variables: dict | None = None) -> dict:
        body = self.post(token, query, variables)
        assert "errors" not in body, body
        return body["data"]

    def sign_in(self, phone: str) -> str:
        data = self.data(
            None,
            "mutation($p: String!, $w: String!) { login(phone: $p, password: $w) "
            "{ token errors { code } } }",
            {"p": phone, "w": DEMO_PASSWORD},
        )
        token = data["login"]["token"]
        assert token, data
        return token

    def reassign_until(
        self, ticket: str, assignees: list[str], received: Callable[[float], Any]
    ) -> Any:
        """As the demo admin, assign the ticket to each assignee in turn until `received`
        (waiting up to the seconds given) returns an event: a subscription starts listening
        asynchronously, so the first writes may come before it; each round is a real change."""
        admin = self.sign_in("13800000000")
        for _ in range(20):
            for assignee in assignees:
                done = self.data(
                    admin, ASSIGN, {"input": {"ticketId": ticket, "assigneeId": assignee}}
                )
                assert done["assignTicket"]["errors"] == [], done
            event = received(0.5)
            if event:
                return event
        raise AssertionError("no event reached the subscriber")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass


def _static_server() -> tuple[ThreadingHTTPServer, str]:
    handler = functools.partial(_Quiet, directory=str(HERE))
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="package")
def page_servers() -> Iterator[tuple[str, str]]:
    allowed, allowed_origin = _static_server()
    refused, refused_origin = _static_server()
    yield allowed_origin, refused_origin
    for server in (allowed, refused):
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="package", params=BACKENDS)
def demo_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    page_servers: tuple[str, str],
) -> Iterator[DemoServer]:
    backend = request.param
    folder = tmp_path_factory.mktemp(f"interop-{backend}")
    if backend == "sqlite":
        path = folder / "gridlink.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        database_url = f"sqlite:///{path}"
    else:
        template = request.getfixturevalue("pg_template")
        name = f"gl_interop_{uuid.uuid4().hex[:10]}"
        asyncio.run(_pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        database_url = _pg_url(name)
    allowed_origin, refused_origin = page_servers
    port = free_port()
    env = {
        **os.environ,
        "GRIDLINK_DATABASE_URL": database_url,
        "GRIDLINK_ENV": "development",
        "GRIDLINK_PORT": str(port),
        "GRIDLINK_CORS_ORIGINS": allowed_origin,
        "GRIDLINK_RUN_WORKER_IN_PROCESS": "false",
    }
    subprocess.run(
        [*gridlink_command(), "demo", "--no-migrate"],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    log = (folder / "serve.log").open("w")
    process = subprocess.Popen(
        [*gridlink_command(), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, process, folder / "serve.log")
        yield DemoServer(url, database_url, allowed_origin, refused_origin)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        if backend == "postgresql":
            asyncio.run(_pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _wait_until_healthy(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gridlink serve exited: {log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gridlink serve did not answer: {log.read_text()}")


# --- what the clients need ---------------------------------------------------------------


@pytest.fixture(scope="session")
def node() -> str:
    """Node.js with this folder's packages installed, or the test is skipped saying how."""
    executable = shutil.which("node")
    if executable is None:
        pytest.skip("needs Node.js 20+ (apt-get install -y nodejs npm), then `make test`")
    if not (NODE_MODULES / "graphql-ws").is_dir():
        pytest.skip("needs the Node packages: `npm ci` in tests/interop (`make test` runs it)")
    return executable


@pytest.fixture(scope="session")
def chromium() -> str:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("needs Chromium: apt-get install -y chromium")
    return executable
