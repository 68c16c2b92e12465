"""Transfer benchmark: the county officer's (13800000001) first sync of the demo county over a
thin link, plain and compressed, and what the compression costs the server.

    .venv/bin/python bench/transfer_bench.py [--rate 50000] [--rtt 300] [--repeat 5]
    .venv/bin/python bench/transfer_bench.py --url postgresql://postgres@127.0.0.1:5432/postgres

The server is a real uvicorn process on a scratch database holding the demo (SQLite by
default; with --url a scratch PostgreSQL database, dropped afterwards). The phone is the
reference client (sync/client.py, pages of 500) behind a throttling TCP proxy on loopback
(bench/netlink.py: --rate bytes per second each way, --rtt milliseconds of round trip), once
without Accept-Encoding and once per encoding. The table gives the bytes on the wire (both
directions, headers included), the share of the plain transfer and the time.

The CPU cost: the same first sync straight to the server, --repeat times per encoding, with
the server's CPU time per request read from /proc; and the compression alone of the very
pages the server sent (same library and level as api/ops/app.py), as a share of the CPU the
server spends on the plain request.

Figures (SQLite demo, 2-core machine shared with other work, `--repeat 3`; 50 KB/s, 300 ms
round trip; first sync = 10 pages, 4 342 changes, 2 605 515 bytes of JSON). Columns: bytes
on the wire, share of plain, time s, server CPU ms/request, compression ms/request (its share
of the request's CPU):

| encoding | wire bytes | share | time s | CPU ms/req | compression ms/req (share) |
| --- | ---: | ---: | ---: | ---: | ---: |
| none | 2,613,929 | 100.0% | 57.7 | 44.0 | 0.0 (0.0%) |
| gzip | 386,271 | 14.8% | 13.2 | 43.0 | 3.0 (6.3%) |
| br | 329,555 | 12.6% | 13.4 | 49.0 | 1.7 (3.7%) |
| zstd | 339,419 | 13.0% | 13.4 | 44.0 | 0.6 (1.2%) |

CPU per request comes from /proc in clock ticks (10 ms) over a few runs: noisy; the
compression column, timed alone on the same pages, is the reliable one.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import brotli
import httpx
import zstandard
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.edge.serve import KEEP_ALIVE  # noqa: E402
from api.ops.app import BROTLI_QUALITY, GZIP_LEVEL, ZSTD_LEVEL  # noqa: E402
from bench.graphql_bench import Server, cpu_seconds  # noqa: E402
from bench.netlink import ThrottledLink  # noqa: E402
from sync.client import PULL, SyncClient  # noqa: E402

OFFICER = "13800000001"
PASSWORD = "gridlink-demo"
LOGIN = """mutation($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) { token } }"""
ENCODINGS = [None, "gzip", "br", "zstd"]
COMPRESS = {
    "gzip": lambda body: gzip.compress(body, GZIP_LEVEL),
    "br": lambda body: brotli.compress(body, quality=BROTLI_QUALITY),
    "zstd": lambda body: zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(body),
}


def prepare_database(base: str | None, workdir: Path) -> tuple[str, str | None]:
    """A database with the demo county; returns its URL and the PostgreSQL name to drop."""
    if base is None:
        url, scratch = f"sqlite:///{workdir / 'demo.db'}", None
    else:
        scratch = f"gl_transfer_{uuid.uuid4().hex[:8]}"
        asyncio.run(_pg(base, f'CREATE DATABASE "{scratch}"'))
        url = make_url(base).set(database=scratch).render_as_string(hide_password=False)
    env = {**os.environ, "GRIDLINK_DATABASE_URL": url}
    gridlink = [sys.executable, "-m", "api.edge.cli"]
    subprocess.run([*gridlink, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run(
        [*gridlink, "demo", "--no-migrate"], env=env, cwd=ROOT, check=True, capture_output=True
    )
    return url, scratch


@contextmanager
def demo_server(base: str | None, port: int, *, worker: bool) -> Iterator[Server]:
    """`gridlink serve` (production settings) over a scratch copy of the demo county, up and
    healthy; stopped, and a scratch PostgreSQL database dropped, on the way out."""
    with tempfile.TemporaryDirectory() as workdir:
        url, scratch = prepare_database(base, Path(workdir))
        env = {
            "GRIDLINK_DATABASE_URL": url,
            "GRIDLINK_ENV": "production",
            "GRIDLINK_RUN_WORKER_IN_PROCESS": "true" if worker else "false",
        }
        # As `gridlink serve`: connections kept open between a phone's pages on a slow link.
        server = Server(
            "api.edge.app:create_app", env, port, ("--timeout-keep-alive", str(KEEP_ALIVE))
        )
        try:
            server.wait("/healthz")
            yield server
        finally:
            server.stop()
            if scratch is not None:
                asyncio.run(_pg(base, f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))


async def _pg(base: str, sql: str) -> None:
    connection = await asyncpg.connect(
        make_url(base).set(drivername="postgresql").render_as_string(False)
    )
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def client(base_url: str, encoding: str | None) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=base_url, timeout=600)
    if encoding is None:
        del http.headers["accept-encoding"]
    else:
        http.headers["accept-encoding"] = encoding
    return http


async def first_sync(base_url: str, token: str, encoding: str | None) -> tuple[int, int]:
    """Changes received and pages asked for."""
    async with client(base_url, encoding) as http:
        phone = SyncClient(http, token=token, client_id=f"bench-{uuid.uuid4().hex[:6]}")
        pages = 0
        original = phone._call

        async def counted(query: str, variables: dict) -> dict:
            nonlocal pages
            pages += 1
            return await original(query, variables)

        phone._call = counted  # type: ignore[method-assign]
        changes = await phone.pull()
        return changes, pages


async def over_the_link(port: int, token: str, args: argparse.Namespace) -> list[tuple]:
    rows = []
    for encoding in ENCODINGS:
        link = ThrottledLink(port, rate=args.rate, rtt=args.rtt / 1000)
        await link.start()
        started = time.perf_counter()
        changes, pages = await first_sync(f"http://127.0.0.1:{link.port}", token, encoding)
        elapsed = time.perf_counter() - started
        await link.stop()
        rows.append((encoding or "none", link.counters.up + link.counters.down, elapsed))
        print(f"  {encoding or 'none'}: {changes} changes, {pages} pages", file=sys.stderr)
    return rows


async def plain_pages(port: int, token: str) -> list[bytes]:
    """The bodies of a first sync as the server sends them uncompressed."""
    bodies: list[bytes] = []
    checkpoint = None
    async with client(f"http://127.0.0.1:{port}", None) as http:
        while True:
            answer = await http.post(
                "/graphql",
                json={"query": PULL, "variables": {"checkpoint": checkpoint, "limit": 500}},
                headers={"authorization": f"Bearer {token}"},
            )
            bodies.append(answer.content)
            page = answer.json()["data"]["syncPull"]
            checkpoint = page["checkpoint"]
            if not page["hasMore"]:
                return bodies


async def server_cpu(server: Server, token: str, repeat: int) -> dict[str, float]:
    """Server CPU milliseconds per request of a first sync, median of `repeat`, by encoding."""
    url = f"http://127.0.0.1:{server.port}"
    per_request: dict[str, list[float]] = {e or "none": [] for e in ENCODINGS}
    for _ in range(repeat):
        for encoding in ENCODINGS:  # interleaved, so that a busy moment hits every encoding
            before = cpu_seconds(server.process.pid)
            _, pages = await first_sync(url, token, encoding)
            spent = cpu_seconds(server.process.pid) - before
            per_request[encoding or "none"].append(1000 * spent / pages)
    return {name: statistics.median(values) for name, values in per_request.items()}


def compression_ms(bodies: list[bytes], repeat: int) -> dict[str, float]:
    """Milliseconds per request spent compressing the pages alone, median of `repeat`."""
    costs: dict[str, float] = {"none": 0.0}
    for name, compress in COMPRESS.items():
        runs = []
        for _ in range(repeat):
            started = time.process_time()
            for body in bodies:
                compress(body)
            runs.append(1000 * (time.process_time() - started) / len(bodies))
        costs[name] = statistics.median(runs)
    return costs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="PostgreSQL base URL (default: a scratch SQLite file)")
    parser.add_argument("--rate", type=float, default=50_000, help="bytes per second each way")
    parser.add_argument("--rtt", type=float, default=300, help="round trip in milliseconds")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--port", type=int, default=18741)
    args = parser.parse_args()
    with demo_server(args.url, args.port, worker=False) as server:
        login = httpx.post(
            f"http://127.0.0.1:{args.port}/graphql",
            json={"query": LOGIN, "variables": {"phone": OFFICER, "password": PASSWORD}},
        )
        token = login.json()["data"]["login"]["token"]
        bodies = asyncio.run(plain_pages(args.port, token))
        link_rows = asyncio.run(over_the_link(args.port, token, args))
        cpu = asyncio.run(server_cpu(server, token, args.repeat))
        compress = compression_ms(bodies, args.repeat)
    plain_bytes = link_rows[0][1]
    backend = "PostgreSQL" if args.url else "SQLite"
    print()
    print(
        f"county officer's first sync of the demo ({backend}): {len(bodies)} pages, "
        f"{sum(map(len, bodies)):,} bytes of JSON; link {args.rate / 1000:.0f} KB/s, "
        f"{args.rtt:.0f} ms round trip"
    )
    print()
    print(
        "| encoding | bytes on the wire | share | time s | server CPU ms/request "
        "| compression ms/request (share of CPU) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for encoding, wire, elapsed in link_rows:
        share = compress[encoding] / (cpu["none"] + compress[encoding])
        print(
            f"| {encoding} | {wire:,} | {wire / plain_bytes:.1%} | {elapsed:.1f} "
            f"| {cpu[encoding]:.1f} | {compress[encoding]:.1f} ({share:.1%}) |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
