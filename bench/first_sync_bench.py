"""First sync of a large scope through a real server process: pages of syncPull until the
snapshot is sent, with the server's resident memory sampled from /proc/<pid>/status.

    python bench/first_sync_bench.py --url postgresql://postgres@127.0.0.1:5432/postgres \
        --rows 1000000

Makes a scratch database (dropped afterwards), fills it with N tickets in one liaison's grid
by INSERT ... SELECT generate_series, starts `uvicorn api.edge.app:create_app --factory` (one
process) on it and pulls from `checkpoint: null` with `limit` per page over HTTP until the
first page of the log phase (or `--pages` pages: on a loaded machine a whole million takes
long; the pages of a million-record scope cost what the first ones cost). Prints the RSS
curve (at every tenth of the records) and the time. Flat memory means each page costs the
same whatever the scope's size: the snapshot reads `ORDER BY id LIMIT n` after the last id
sent (keyset), never the whole scope.

Last run (2-core machine shared with two other jobs, load ~2.5, the bench under `nice`):
1,000,003 records in 1,002 pages of 1000 in 146.3 s (6,835 records/s, 939 MiB of JSON);
server RSS 193.0 MiB before, 193.0-193.7 MiB during (288 samples), the same in the first and
the last tenth of the time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy.engine import make_url  # noqa: E402

from api.auth.models import TokenKind  # noqa: E402
from api.auth.tokens import issue_token  # noqa: E402
from api.config import Settings  # noqa: E402
from api.db import create_engine, session_factory  # noqa: E402
from api.edge import session_hooks  # noqa: E402
from api.migrate import upgrade  # noqa: E402
from bench.sync_bench import FILL, liaison_in_one_grid, scratch_database  # noqa: E402
from tests.helpers import free_port  # noqa: E402

PULL = """query First($checkpoint: String, $limit: Int) {
  syncPull(checkpoint: $checkpoint, limit: $limit, clientId: "first-sync-bench") {
    changes { collection id version data }
    checkpoint hasMore resetRequired
  }
}"""


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Sampler:
    """The server's RSS every `every` seconds, in a thread."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start = time.monotonic()
        while not self._stop.is_set():
            self.samples.append((time.monotonic() - start, rss_kib(self.pid)))
            self._stop.wait(self.every)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


async def prepare(url: str, rows: int) -> str:
    """The database filled; returns a liaison's session token."""
    engine = create_engine(Settings(database_url=url))
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        async with sessions() as session, session.begin():
            grid, member = await liaison_in_one_grid(session)
            token = await issue_token(session, member=member, kind=TokenKind.SESSION, lifetime=None)
    finally:
        await engine.dispose()
    raw = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    start = time.perf_counter()
    await raw.execute(FILL, rows, str(grid.id))
    await raw.execute("ANALYZE")
    await raw.close()
    print(f"filled {rows:,} tickets in {time.perf_counter() - start:.1f}s")
    return token.token


def start_server(url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "GRIDLINK_DATABASE_URL": url}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.edge.app:create_app", "--factory"]
        + ["--port", str(port), "--log-level", "warning"],
        env=env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300  # a busy shared machine
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start")


def first_sync(base: str, token: str, rows: int, limit: int, pid: int, pages_max: int) -> None:
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"}
    checkpoint = None
    records = pages = wire = 0
    marks: list[tuple[int, float, int]] = []  # (records, seconds, RSS KiB) at each tenth
    next_mark = 0
    before = rss_kib(pid)
    with httpx.Client(base_url=base, headers=headers, timeout=120) as http, Sampler(pid) as rss:
        start = time.perf_counter()
        while True:
            answer = http.post(
                "/graphql",
                json={"query": PULL, "variables": {"checkpoint": checkpoint, "limit": limit}},
            )
            body = answer.json()
            assert "errors" not in body, body["errors"]
            page = body["data"]["syncPull"]
            pages += 1
            wire += len(answer.content)
            records += len(page["changes"])
            checkpoint = page["checkpoint"]
            if records >= next_mark:
                marks.append((records, time.perf_counter() - start, rss_kib(pid)))
                next_mark += max(1, min(rows, pages_max * limit or rows) // 10)
            if not page["changes"] and page["hasMore"] is False:
                break
            if not page["changes"]:
                break  # the log phase reached: the snapshot is complete
            if pages_max and pages >= pages_max:
                break
        elapsed = time.perf_counter() - start
    marks.append((records, elapsed, rss_kib(pid)))
    samples = [kib for _, kib in rss.samples]
    print()
    print(f"| {'records sent':>12} | {'seconds':>8} | {'server RSS MiB':>14} |")
    print(f"| {'-' * 11}: | {'-' * 7}: | {'-' * 13}: |")
    for count, seconds, kib in marks:
        print(f"| {count:>12,} | {seconds:>8.1f} | {kib / 1024:>14.1f} |")
    print()
    print(
        f"{records:,} records in {pages:,} pages of {limit} in {elapsed:.1f}s "
        f"({records / elapsed:,.0f} records/s, {wire / 2**20:,.0f} MiB of JSON)"
    )
    print(
        f"server RSS before {before / 1024:.1f} MiB; during: min {min(samples) / 1024:.1f}, "
        f"max {max(samples) / 1024:.1f} MiB over {len(samples)} samples"
    )
    tenth = max(1, len(samples) // 10)
    early = max(samples[:tenth]) / 1024
    late = max(samples[-tenth:]) / 1024
    print(f"peak RSS in the first tenth of the time {early:.1f} MiB, in the last {late:.1f} MiB")


async def main() -> None:
    session_hooks.install()  # the filled records are versioned and logged, as in the product
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--limit", type=int, default=1000, help="records per page (max 1000)")
    parser.add_argument(
        "--pages", type=int, default=0, help="stop after this many pages (0: the whole scope)"
    )
    args = parser.parse_args()
    async with scratch_database(args.url) as url:
        token = await prepare(url, args.rows)
        process, base = start_server(url)
        try:
            await asyncio.to_thread(
                first_sync, base, token, args.rows, args.limit, process.pid, args.pages
            )
        finally:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    asyncio.run(main())
