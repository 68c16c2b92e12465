"""Scale-out: throughput of `gridlink serve --workers N` for N = 1, 2, 4 on one PostgreSQL
database, with the liaison's "my open tickets" list (bench/graphql_bench.py's query, 100 per
page with grid, enterprise and assignee) as the representative read.

    GRIDLINK_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/scale_bench.py [--workers 1 2 4] [--duration 10] [--tickets 20000]

The server processes share one listening socket (uvicorn's workers: the kernel hands each new
connection to one of them); with N > 1 the timed jobs run in one `gridlink worker` process
beside them. Load: `wrk -t2 -c16 --timeout 30s` (keep-alive connections spread over the processes).
Prints requests per second per process count, the ratio to one process, and the CPU the
server processes used per request (from /proc; on a machine shared with other work, req/s
follow the CPU the scheduler grants, CPU per request does not). On a 2-core machine more
processes than cores cannot add throughput: the table shows where it flattens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.edge import session_hooks  # noqa: E402
from bench.graphql_bench import QUERY, cpu_seconds, database_url, prepare, recreate  # noqa: E402
from tests.helpers import free_port  # noqa: E402


def tree(pid: int) -> list[int]:
    """The process and all its descendants (Linux /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents.setdefault(int(stat.rpartition(")")[2].split()[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def tree_cpu(pid: int) -> float:
    total = 0.0
    for each in tree(pid):
        try:
            total += cpu_seconds(each)
        except OSError:
            continue
    return total


def start(url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "GRIDLINK_DATABASE_URL": url,
        "GRIDLINK_PORT": str(port),
        "GRIDLINK_LOG_LEVEL": "warning",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "api.edge.cli", "serve", "--workers", str(workers)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited"
        try:
            # Every process up: as many distinct answers as workers would need a marker;
            # waiting until /healthz answers steadily for a second is enough here.
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                time.sleep(2 + workers)
                return process, base
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("the server did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def load(base: str, token: str, duration: int, connections: int) -> tuple[float, int]:
    """wrk on the list query: requests per second and the number of requests."""
    body = json.dumps({"query": QUERY})
    script = (
        "wrk.method = 'POST'\n"
        f"wrk.body = {json.dumps(body)}\n"
        "wrk.headers['Content-Type'] = 'application/json'\n"
        f"wrk.headers['Authorization'] = {json.dumps('Bearer ' + token)}\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{connections}",
                f"-d{duration}s",
                "--timeout",
                "30s",
                "-s",
                handle.name,
                base + "/graphql",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(handle.name)
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"errors under load:\n{out}")
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), requests  # type: ignore[union-attr]


async def main() -> int:
    session_hooks.install()  # the prepared records are versioned and logged, as in the product
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url",
        default=os.environ.get(
            "GRIDLINK_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per run")
    parser.add_argument("--rounds", type=int, default=2, help="runs per process count (best)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--tickets", type=int, default=20_000, help="demo grown to N tickets")
    args = parser.parse_args()
    name = f"gl_scale_{uuid.uuid4().hex[:8]}"
    await recreate(args.url, name)
    url = database_url(args.url, name)
    try:
        info = await prepare(url, args.tickets)
        rows = []
        for workers in args.workers:
            process, base = start(url, workers)
            try:
                answer = httpx.post(
                    base + "/graphql",
                    json={"query": QUERY},
                    headers={"Authorization": f"Bearer {info['token']}"},
                )
                assert "errors" not in answer.json(), answer.text[:300]
                best = (0.0, 0.0)
                for _ in range(args.rounds):
                    cpu = tree_cpu(process.pid)
                    rate, requests = load(base, info["token"], args.duration, args.connections)
                    per_request = 1000 * (tree_cpu(process.pid) - cpu) / max(1, requests)
                    best = max(best, (rate, per_request))
                rows.append((workers, *best))
                print(f"  {workers} process(es): {best[0]:.0f} req/s, {best[1]:.1f} ms CPU/req")
            finally:
                stop(process)
    finally:
        import asyncpg

        from bench.graphql_bench import admin_dsn

        admin = await asyncpg.connect(admin_dsn(args.url))
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    one = rows[0][1] if rows else 1.0
    print()
    print(f"cores: {os.cpu_count()} (shared with other work); load: wrk -t2 -c{args.connections}")
    print(f"| {'processes':>9} | {'req/s':>7} | {'× one':>6} | {'CPU ms/req':>10} |")
    print(f"| {'-' * 8}: | {'-' * 6}: | {'-' * 5}: | {'-' * 9}: |")
    for workers, rate, cpu in rows:
        print(f"| {workers:>9} | {rate:>7.0f} | {rate / one:>6.2f} | {cpu:>10.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
