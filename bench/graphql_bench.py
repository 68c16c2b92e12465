"""Benchmark: the liaison's "my open tickets" query (100 per page, with grid, enterprise and
assignee) through the GraphQL API, against the floor (bench/floor_app.py: the same rows by one
hand-written SQL join with asyncpg, serialised with orjson), in the same run, on PostgreSQL.

    GRIDLINK_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/graphql_bench.py [--duration 8] [--rounds 2] [--tickets 100000]

Two data sets: the demo county (`gridlink demo`), and the demo county grown to N tickets
(default 100 000). Each server is a real uvicorn process (one worker); load comes from
`wrk -t1 -c16` (apt-get install -y wrk). The API runs twice: as configured (hot queries
planned, schema/fastpath.py) and with GRIDLINK_GRAPHQL_FAST_PATH=false (graphql-core executes
every field). Prints a table of requests per second and the share of the floor, and the
server's CPU time per request (from /proc): on a machine shared with other work, requests per
second follow the CPU the scheduler grants, CPU per request does not.

When Node.js and npm are on PATH, PostGraphile 5 runs as a peer over the same tables:
``allTickets(first: 100, condition: {gridId}, orderBy: CREATED_AT_DESC)`` with each ticket's
grid, enterprise and assignee (one of the liaison's grids, every status; no authentication on
its side). It is installed with npm into a scratch folder outside the repository
(``--postgraphile-dir``, default /tmp/gridlink-postgraphile) on first use; Node 20 lacks
``Promise.withResolvers``, which a small polyfill given through ``NODE_OPTIONS=--require``
supplies. ``--no-postgraphile`` leaves it out.

The tables are analysed (ANALYZE, committed) as a deployed database's would be by autovacuum.
Both servers then run every statement with a custom plan for its parameter values
(``plan_cache_mode=force_custom_plan`` on their connections; api/db.py sets it for the API in
production too): asyncpg prepares each statement and, after five executions, PostgreSQL may
switch to a generic plan that ignores the values. For a list filtered by the caller's grids
and ordered by time, that generic plan walks the time index over every ticket (25 ms instead
of well under 1 ms at 100 000 tickets). Planning afresh costs a fraction of a millisecond.
``--keep`` reuses the databases of an earlier run (only a new token is issued).

Latest figures (issue #13; 2-core machine shared with other work, load 1-7 during the runs;
``--keep --rounds 3``; each line one round; req/s with the share of the floor and CPU ms per
request; "ratio" is gridlink / PostGraphile in req/s, then in CPU per request):

    latest: the FK columns of joined references not sent, the sort key processed once,
    cheaper ResponseLimits/SecurityHeaders, the database URL parsed once (load 5.8-6.9)
    | set    | floor       | executor | gridlink              | PostGraphile | ratio        |
    | demo   | 1,295 (.30) | 187      |   736 (.57) (0.64 ms) |   751 (0.85) | 0.98×; 1.32× |
    | demo   | 1,168 (.24) | 340      |   929 (.80) (0.67 ms) | 1,033 (0.79) | 0.90×; 1.18× |
    | demo   | 1,650 (.25) | 412      |   781 (.47) (0.67 ms) | 1,043 (0.79) | 0.75×; 1.17× |
    | 100k   |   641 (.70) |  72      |   260 (.40) (1.49 ms) |   128 (3.15) | 2.02×; 2.11× |
    | 100k   |   505 (.76) |  63      |   292 (.58) (1.52 ms) |   110 (3.31) | 2.65×; 2.18× |
    | 100k   |   587 (.74) |  61      |   360 (.61) (1.50 ms) |   136 (2.89) | 2.65×; 1.93× |
    and a second run (--big-only, load 5.9-6.8)
    | 100k   |   546 (.81) |  61      |   302 (.55) (1.66 ms) |   119 (3.37) | 2.53×; 2.02× |
    | 100k   |   628 (.73) |  89      |   478 (.76) (1.32 ms) |   175 (2.76) | 2.74×; 2.09× |
    | 100k   |   684 (.69) |  73      |   371 (.54) (1.40 ms) |   163 (2.74) | 2.28×; 1.96× |

    the round before: planned POSTs before Strawberry's view, pages on asyncpg, frozen heap,
    no pool churn (load 0.7-4.6)
    | set    | floor       | executor | gridlink              | PostGraphile | ratio        |
    | demo   | 2,564 (.24) | 645      | 1,176 (.46) (0.67 ms) | 1,244 (0.77) | 0.94×; 1.15× |
    | demo   | 2,426 (.24) | 534      |   911 (.38) (0.73 ms) | 1,142 (0.74) | 0.80×; 1.02× |
    | demo   | 1,979 (.25) | 511      | 1,029 (.52) (0.70 ms) | 1,301 (0.69) | 0.79×; 0.98× |
    | 100k   |   811 (.72) | 118      |   376 (.46) (1.62 ms) |   163 (3.16) | 2.31×; 1.95× |
    | 100k   |   775 (.71) | 117      |   382 (.49) (1.62 ms) |   186 (2.76) | 2.06×; 1.70× |
    | 100k   |   819 (.69) | 117      |   411 (.50) (1.54 ms) |   217 (2.69) | 1.90×; 1.75× |

    after, a second run (--big-only, load 3.5-5.8)
    | 100k   |   794 (.69) | 109      |   267 (.34) (1.62 ms) |   179 (2.87) | 1.49×; 1.77× |
    | 100k   |   688 (.72) | 115      |   383 (.56) (1.67 ms) |   191 (2.86) | 2.01×; 1.71× |
    | 100k   |   825 (.69) | 132      |   411 (.50) (1.50 ms) |   214 (2.68) | 1.92×; 1.78× |

    before: commit e6595dc, the same morning, --rounds 2
    | demo   | 2,228 (.25) | 279      |   273 (.12) (1.88 ms) | 1,138 (0.80) | 0.24×; 0.43× |
    | demo   | 2,233 (.25) | 330      |   377 (.17) (1.80 ms) | 1,204 (0.72) | 0.31×; 0.40× |
    | 100k   |   784 (.68) |  82      |   206 (.26) (3.53 ms) |   188 (2.97) | 1.10×; 0.84× |
    | 100k   |   724 (.71) |  53      |   114 (.16) (4.03 ms) |   162 (2.68) | 0.70×; 0.67× |

PostGraphile is not CPU-bound here (0.5-0.6 of a core): its requests per second follow what
the shared machine's PostgreSQL gives it, so the CPU ratio is the steadier of the two."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy import insert, select
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.auth.models import TokenKind  # noqa: E402
from api.auth.scope import scope_for  # noqa: E402
from api.auth.tokens import issue_token  # noqa: E402
from api.config import Settings  # noqa: E402
from api.db import create_engine, session_factory  # noqa: E402
from api.demo import load_demo  # noqa: E402
from api.edge import session_hooks  # noqa: E402
from api.enterprises.models import Enterprise  # noqa: E402
from api.members.models import Member, MemberGrid  # noqa: E402
from api.migrate import upgrade  # noqa: E402
from api.tickets.models import Severity, Ticket, TicketSource, TicketStatus  # noqa: E402

LIAISON_PHONE = "13800000003"
QUERY = """query MyOpenTickets {
  tickets(first: 100, filter: {open: true}) {
    nodes {
      id number title status severity createdAt
      grid { name kind }
      enterprise { name headcount }
      assignee { name phone }
    }
  }
}"""
# PostGraphile's generated schema (preset "amber"): the same page and references.
POSTGRAPHILE_QUERY = """query GridTickets($grid: UUID!) {
  allTickets(first: 100, condition: {gridId: $grid}, orderBy: CREATED_AT_DESC) {
    nodes {
      id number title status severity createdAt
      gridByGridId { name kind }
      enterpriseByEnterpriseId { name headcount }
      memberByAssigneeId { name phone }
    }
  }
}"""
POSTGRAPHILE_VERSION = "5.1.5"
PROMISE_POLYFILL = """if (typeof Promise.withResolvers !== "function") {
  Promise.withResolvers = function () {
    let resolve, reject;
    const promise = new this((yes, no) => { resolve = yes; reject = no; });
    return { promise, resolve, reject };
  };
}
"""
OPEN = [
    TicketStatus.REPORTED,
    TicketStatus.ASSIGNED,
    TicketStatus.IN_PROGRESS,
    TicketStatus.WAITING_ON_WORKER,
    TicketStatus.MEDIATING,
]


def admin_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(False)


def database_url(url: str, name: str) -> str:
    return make_url(url).set(drivername="postgresql", database=name).render_as_string(False)


async def recreate(url: str, name: str) -> None:
    connection = await asyncpg.connect(admin_dsn(url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def prepare(url: str, tickets: int | None, *, fresh: bool = True) -> dict[str, str]:
    """Migrate, load the demo, grow to ``tickets`` tickets (unless not ``fresh``: an earlier
    run's database); the liaison's token and scope."""
    engine = create_engine(Settings(database_url=url))
    sessions = session_factory(engine)
    if fresh:
        await upgrade(engine)
        async with sessions() as session, session.begin():
            await load_demo(session)
    async with sessions() as session, session.begin():
        liaison = await session.scalar(select(Member).where(Member.phone == LIAISON_PHONE))
        assert liaison is not None
        if tickets and fresh:
            await grow(session, liaison, tickets)
        issued = await issue_token(
            session, member=liaison, kind=TokenKind.API, lifetime=None, name="bench"
        )
        scope = await scope_for(session, liaison)
        served = list(
            await session.scalars(
                select(MemberGrid.grid_id).where(MemberGrid.member_id == liaison.id)
            )
        )
    async with engine.begin() as connection:  # committed: planner statistics, as deployed
        await connection.exec_driver_sql("ANALYZE")
    await engine.dispose()
    return {
        "token": issued.token,
        "member": str(liaison.id),
        "grids": ",".join(str(g) for g in sorted(scope.grid_ids) or served),
    }


async def grow(session, liaison: Member, target: int) -> None:  # noqa: ANN001
    """Add generated tickets until the county has ``target``: spread over every enterprise and
    two years, 30 % open; the liaison's own grid gets its share, assigned to it."""
    rng = random.Random(2023)
    existing = len(list(await session.scalars(select(Ticket.id))))
    enterprises = list(await session.execute(select(Enterprise.id, Enterprise.grid_id)))
    served = set(
        await session.scalars(select(MemberGrid.grid_id).where(MemberGrid.member_id == liaison.id))
    )
    now = datetime.now(UTC)
    rows = []
    for n in range(target - existing):
        enterprise_id, grid_id = rng.choice(enterprises)
        created = now - timedelta(seconds=rng.randrange(2 * 365 * 86400))
        is_open = rng.random() < 0.3
        status = rng.choice(OPEN) if is_open else TicketStatus.CLOSED
        mine = grid_id in served and status != TicketStatus.REPORTED
        rows.append(
            {
                "id": uuid.uuid4(),
                "version": 1,
                "created_at": created,
                "updated_at": created,
                "number": f"BN-{n:07d}",
                "title": f"Generated request {n}: overtime and wages",
                "description": "Generated for the benchmark.",
                "source": rng.choice(list(TicketSource)),
                "category": "WAGES",
                "severity": rng.choice(list(Severity)),
                "status": status,
                "tier": "GRID",
                "enterprise_id": enterprise_id,
                "grid_id": grid_id,
                "assignee_id": liaison.id if mine else None,
                "reported_at": created,
                "paused_seconds": 0,
                "rated_on_behalf": False,
            }
        )
        if len(rows) == 5000:
            await session.execute(insert(Ticket), rows)
            rows = []
    if rows:
        await session.execute(insert(Ticket), rows)


class Server:
    def __init__(
        self,
        app: str,
        env: dict[str, str],
        port: int,
        extra_args: tuple[str, ...] = (),
        command: list[str] | None = None,
    ) -> None:
        self.port = port
        self.process = subprocess.Popen(
            command
            or [
                sys.executable,
                "-m",
                "uvicorn",
                app,
                "--factory",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
                *extra_args,
            ],
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            cwd=ROOT,
            stdout=subprocess.DEVNULL if command else None,
        )

    def wait(self, path: str) -> None:
        deadline = time.monotonic() + 120  # a loaded machine starts slowly
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"server on port {self.port} did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def postgraphile_folder(folder: Path) -> Path | None:
    """The scratch folder with PostGraphile installed (npm, on first use), or None without
    Node.js. Outside the repository: nothing of it is part of gridlink."""
    if not (shutil.which("node") and shutil.which("npm")):
        return None
    if not (folder / "node_modules" / ".bin" / "postgraphile").exists():
        folder.mkdir(parents=True, exist_ok=True)
        print(f"installing PostGraphile {POSTGRAPHILE_VERSION} into {folder}", file=sys.stderr)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", f"postgraphile@{POSTGRAPHILE_VERSION}"],
            cwd=folder,
            check=True,
            capture_output=True,
        )
    (folder / "polyfill.cjs").write_text(PROMISE_POLYFILL)
    return folder


def postgraphile_server(folder: Path, url: str, port: int) -> Server:
    dsn = make_url(url).set(drivername="postgres").render_as_string(False)
    command = [
        "node",
        str(folder / "node_modules" / ".bin" / "postgraphile"),
        "-P",
        "postgraphile/presets/amber",
        "-c",
        dsn,
        "-s",
        "public",
        "-p",
        str(port),
        "-n",
        "127.0.0.1",
    ]
    env = {
        "NODE_OPTIONS": f"--require {folder / 'polyfill.cjs'}",
        "GRAPHILE_ENV": "production",
        "NODE_ENV": "production",
    }
    return Server("", env, port, command=command)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(
    url: str, body: str, headers: dict[str, str], duration: int, server: Server | None = None
) -> tuple[float, float]:
    """Requests per second, and the server's CPU milliseconds per request (0 without it)."""
    script = "wrk.method = 'POST'\n" + f"wrk.body = {json.dumps(body)}\n"
    for key, value in headers.items():
        script += f"wrk.headers[{json.dumps(key)}] = {json.dumps(value)}\n"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    cpu_before = cpu_seconds(server.process.pid) if server else 0.0
    out = subprocess.run(
        ["wrk", "-t1", "-c16", f"-d{duration}s", "-s", handle.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cpu = cpu_seconds(server.process.pid) - cpu_before if server else 0.0
    os.unlink(handle.name)
    if "Non-2xx" in out:
        raise RuntimeError(f"errors under load:\n{out}")
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), 1000 * cpu / requests


def check_same_rows(graphql: dict, floor: dict) -> int:
    ours = graphql["data"]["tickets"]["nodes"]
    theirs = floor["data"]["tickets"]["nodes"]
    assert [n["number"] for n in ours] == [n["number"] for n in theirs], "different rows"
    return len(ours)


def check_postgraphile(answer: dict) -> None:
    nodes = answer["data"]["allTickets"]["nodes"]
    assert nodes and all(n["gridByGridId"] for n in nodes), answer


def measure(
    name: str,
    url: str,
    info: dict[str, str],
    duration: int,
    rounds: int,
    peer: Path | None,
) -> list:
    env_api = {
        "GRIDLINK_DATABASE_URL": url,
        "GRIDLINK_ENV": "production",
        "GRIDLINK_RUN_WORKER_IN_PROCESS": "false",
    }
    env_floor = {
        "BENCH_DSN": make_url(url).set(drivername="postgresql").render_as_string(False),
        "BENCH_MEMBER": info["member"],
        "BENCH_GRIDS": info["grids"],
    }
    # The same API twice: with the planned execution of hot queries and without it.
    api = Server("api.edge.app:create_app", env_api, 18731)
    plain = Server(
        "api.edge.app:create_app", {**env_api, "GRIDLINK_GRAPHQL_FAST_PATH": "false"}, 18733
    )
    floor = Server("bench.floor_app:create_app", env_floor, 18732)
    postgraphile = postgraphile_server(peer, url, 18734) if peer else None
    servers = [s for s in (api, plain, floor, postgraphile) if s is not None]
    results = []
    try:
        api.wait("/healthz")
        plain.wait("/healthz")
        floor.wait("/tickets")
        body = json.dumps({"query": QUERY})
        headers = {"content-type": "application/json", "authorization": f"Bearer {info['token']}"}
        floor_body = httpx.post("http://127.0.0.1:18732/tickets").json()
        answers = []
        for port in (18731, 18733):
            graphql = httpx.post(f"http://127.0.0.1:{port}/graphql", content=body, headers=headers)
            assert graphql.status_code == 200 and "errors" not in graphql.json(), graphql.text
            rows = check_same_rows(graphql.json(), floor_body)
            answers.append(graphql.content)
            wrk(f"http://127.0.0.1:{port}/graphql", body, headers, 2)  # warm-up
        # The planned answer is the executor's, byte for byte.
        fast_answer = httpx.post("http://127.0.0.1:18731/graphql", content=body, headers=headers)
        assert fast_answer.content == answers[1], "the planned answer differs"
        wrk("http://127.0.0.1:18732/tickets", "", {}, 2)
        peer_body = ""
        peer_headers = {"content-type": "application/json"}
        if postgraphile is not None:
            postgraphile.wait("/graphql")
            grid = info["grids"].split(",")[0]
            peer_body = json.dumps({"query": POSTGRAPHILE_QUERY, "variables": {"grid": grid}})
            answer = httpx.post(
                "http://127.0.0.1:18734/graphql", content=peer_body, headers=peer_headers
            )
            assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
            check_postgraphile(answer.json())
            wrk("http://127.0.0.1:18734/graphql", peer_body, peer_headers, 2)
        for round_ in range(1, rounds + 1):
            floor_run = wrk("http://127.0.0.1:18732/tickets", "", {}, duration, floor)
            plain_run = wrk("http://127.0.0.1:18733/graphql", body, headers, duration, plain)
            api_run = wrk("http://127.0.0.1:18731/graphql", body, headers, duration, api)
            peer_run = None
            if postgraphile is not None:
                peer_url = "http://127.0.0.1:18734/graphql"
                peer_run = wrk(peer_url, peer_body, peer_headers, duration, postgraphile)
            results.append((name, rows, round_, floor_run, plain_run, api_run, peer_run))
    finally:
        for server in servers:
            server.stop()
    return results


def main() -> int:
    session_hooks.install()  # writes are versioned and logged, as in the product
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="reuse databases made before")
    parser.add_argument("--prefix", default="gl_bench", help="names of the bench's databases")
    parser.add_argument("--postgraphile-dir", type=Path, default=Path("/tmp/gridlink-postgraphile"))
    parser.add_argument("--no-postgraphile", action="store_true")
    parser.add_argument("--big-only", action="store_true", help="skip the demo county")
    args = parser.parse_args()
    base = os.environ.get("GRIDLINK_BENCH_POSTGRES_URL") or os.environ.get(
        "GRIDLINK_TEST_POSTGRES_URL"
    )
    if not base or not shutil.which("wrk"):
        print("needs GRIDLINK_BENCH_POSTGRES_URL (PostgreSQL) and wrk on PATH", file=sys.stderr)
        return 2
    peer = None if args.no_postgraphile else postgraphile_folder(args.postgraphile_dir)
    if peer is None and not args.no_postgraphile:
        print("Node.js/npm not found: PostGraphile left out", file=sys.stderr)
    sets = [
        ("demo county", f"{args.prefix}_demo", None),
        (f"{args.tickets:,} tickets", f"{args.prefix}_big", args.tickets),
    ]
    results = []
    for name, database, tickets in sets[1:] if args.big_only else sets:
        url = database_url(base, database)
        started = time.monotonic()
        if not args.keep:
            asyncio.run(recreate(base, database))
        info = asyncio.run(prepare(url, tickets, fresh=not args.keep))
        print(f"{name}: ready in {time.monotonic() - started:.0f}s", file=sys.stderr)
        results += measure(name, url, info, args.duration, args.rounds, peer)
    print()
    print(
        f"liaison's open tickets, 100 per page; wrk -t1 -c16 -d{args.duration}s; one process each"
    )
    print()
    print(
        "| data set | rows | round | floor req/s (CPU ms/req) | executor only req/s (share) "
        "| gridlink req/s (share) (CPU ms/req) | PostGraphile req/s (share) (CPU ms/req) "
        "| gridlink / PostGraphile (req/s; CPU) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, rows, round_, floor_run, plain_run, api_run, peer_run in results:
        (floor_rps, floor_cpu), (plain_rps, _), (api_rps, api_cpu) = floor_run, plain_run, api_run
        line = (
            f"| {name} | {rows} | {round_} | {floor_rps:,.0f} ({floor_cpu:.2f}) "
            f"| {plain_rps:,.0f} ({plain_rps / floor_rps:.2f}) "
            f"| {api_rps:,.0f} ({api_rps / floor_rps:.2f}) ({api_cpu:.2f}) "
        )
        if peer_run is None:
            line += "| — | — |"
        else:
            peer_rps, peer_cpu = peer_run
            line += (
                f"| {peer_rps:,.0f} ({peer_rps / floor_rps:.2f}) ({peer_cpu:.2f}) "
                f"| {api_rps / peer_rps:.2f}×; {peer_cpu / api_cpu:.2f}× |"
            )
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
