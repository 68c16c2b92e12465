"""Several server processes on one database: `gridlink serve --workers N` shares its port,
moves the timed jobs into a `gridlink worker` process and counts its metrics together; and
what one process learns (a persisted query, a revoked token) holds on another."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from api.auth import throttle
from tests.conftest import POSTGRES_URL
from tests.graphql_world import build_world
from tests.helpers import free_port
from tests.test_graphql_subscriptions import ServerProcess
from tests.test_login_throttle import LOGIN
from tests.test_ops_http import metric

ROOT = Path(__file__).resolve().parent.parent


def children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the direct children of a process (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append((int(entry.name), cmdline))
    return found


def wait_healthy(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120  # a loaded 2-core machine
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited"
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


async def test_serve_with_two_workers(backend, database_url) -> None:
    if backend == "sqlite" and POSTGRES_URL:
        pytest.skip("three processes take long to start: once, on PostgreSQL, is enough")
    port = free_port()
    env = {
        **os.environ,
        "GRIDLINK_DATABASE_URL": database_url,
        "GRIDLINK_PORT": str(port),
        "GRIDLINK_LOG_FORMAT": "json",
    }
    serve = subprocess.Popen(
        [sys.executable, "-m", "api.edge.cli", "serve", "--workers", "2"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, serve)
        kinds = [command for _, command in children(serve.pid)]
        # Two server processes (multiprocessing spawn) and one timed-jobs worker.
        assert sum("api.edge.cli worker" in c for c in kinds) == 1, kinds
        assert sum("multiprocessing" in c for c in kinds) >= 2, kinds
        # Each request on a connection of its own: the kernel hands them to either process,
        # and /metrics (answered by either) counts both.
        for _ in range(24):
            with httpx.Client(base_url=url) as http:
                answer = http.post("/graphql", json={"query": "query Tiny { __typename }"})
                assert answer.status_code == 200 and answer.headers["x-request-id"]
        for _ in range(4):
            with httpx.Client(base_url=url) as http:
                text = http.get("/metrics").text
            assert metric(text, "gridlink_http_requests_total", operation="Tiny") == 24
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)
    assert children(serve.pid) == []


async def test_persisted_queries_revocation_and_login_throttle_across_processes(
    database_url, session_factory
) -> None:
    world = await build_world(session_factory)
    first, second = ServerProcess(database_url), ServerProcess(database_url)
    try:
        first.wait()
        second.wait()
        token = world.tokens["county"]
        headers = {"authorization": f"Bearer {token}"}
        query = "query Mine { me { name } }"
        ext = {
            "persistedQuery": {
                "version": 1,
                "sha256Hash": hashlib.sha256(query.encode()).hexdigest(),
            }
        }
        registered = httpx.post(
            first.url + "/graphql", json={"query": query, "extensions": ext}, headers=headers
        )
        assert registered.json()["data"]["me"]["name"]
        by_hash = httpx.post(second.url + "/graphql", json={"extensions": ext}, headers=headers)
        assert by_hash.json()["data"] == registered.json()["data"]

        # Signed out on one process: refused on the other at once.
        before = httpx.post(second.url + "/graphql", json={"query": query}, headers=headers)
        assert before.json()["data"]["me"] is not None
        out = httpx.post(
            first.url + "/graphql", json={"query": "mutation { logout { ok } }"}, headers=headers
        )
        assert out.json()["data"]["logout"]["ok"] is True
        after = httpx.post(
            second.url + "/graphql", json={"query": "mutation { logout { ok } }"}, headers=headers
        )
        assert after.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

        # Login failures count together: a phone's free failures spent on both processes,
        # the next attempt is held back whichever process it reaches. Counted apart, each
        # process would see every other attempt and hold none back before attempt 2 × free.
        # A loaded machine may take longer than the short wait between two attempts, so an
        # attempt let through after the free ones must have come after its wait had run out.
        codes: list[str] = []
        previous_sent = time.monotonic()
        while throttle.TOO_MANY_ATTEMPTS not in codes and len(codes) < 2 * throttle.PHONE.free:
            server = (first, second)[len(codes) % 2]
            sent = time.monotonic()
            answer = httpx.post(
                server.url + "/graphql",
                json={"query": LOGIN, "variables": {"p": "13700009999", "w": "wrong"}},
            ).json()
            code = (
                answer["errors"][0]["extensions"]["code"]
                if answer.get("errors")
                else answer["data"]["login"]["errors"][0]["code"]
            )
            if code == "INVALID_CREDENTIALS" and len(codes) >= throttle.PHONE.free:
                # From before the last failure was counted to after this answer: an upper
                # bound on the time the server saw between them.
                waited = time.monotonic() - previous_sent
                assert waited >= throttle.PHONE.wait_after(len(codes)), codes
            codes.append(code)
            previous_sent = sent
        free = throttle.PHONE.free
        assert codes[:free] == ["INVALID_CREDENTIALS"] * free
        assert codes[-1] == throttle.TOO_MANY_ATTEMPTS, codes
    finally:
        first.stop()
        second.stop()
