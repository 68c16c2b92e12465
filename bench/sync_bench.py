"""Sync benchmark on PostgreSQL: syncPull of 100 and 1 000 changes out of a table of N rows,
and a syncPush of 500 mutations, each as a ratio to the same reads and writes done by hand-
written SQL in the same run.

    python bench/sync_bench.py --url postgresql://postgres@127.0.0.1:5432/postgres \
        --rows 10000 --rows 1000000

Each --rows makes a scratch database, fills it with N tickets (and N change-log rows) by
INSERT ... SELECT generate_series, and drops it afterwards. The sync side is measured at the
function level (sync.pull.pull / sync.push.push_in: the SQL and the Python around it, without
HTTP or GraphQL); the baseline is the minimal SQL a hand-written server would issue for the
same result: one indexed range read of the log joined to the records; and for the push, per
mutation one INSERT of the ticket, one of its change-log row and one of the stored result.

Uploads (`--uploads 100`, on by default; 0 skips): 100 photos of 2 MB, each a record made by
syncPush and then its bytes by `PUT /attachments/{id}` over real HTTP to a uvicorn server
(whole file, and in 3 resumable pieces), against a plain file copy of the same 100 files on
the same disk in the same run — the floor for storing bytes on that disk.

Round 1 figures (function level, PostgreSQL 15, a 2-core machine shared with the lead's test runs;
the hand-SQL column is measured in the same run, so compare the ratios). Before: the branch
point of issue #13 (goals 2, 3), `--rows 10000 --rows 300000 --repeat 3 --uploads 0`, load
average ~2. After: `--rows 10000 --rows 300000 --rows 1000000 --repeat 6 --uploads 0`, load
average 2.3-2.5 (at load ~4 the same run gave ratios from 2.5 to 7.3 for the pulls: the
hand-SQL medians themselves move; read single ratios with that noise in mind):

| operation                            | before ms | hand ms | ratio | after ms | hand ms | ratio |
| ------------------------------------ | --------: | ------: | ----: | -------: | ------: | ----: |
| pull   100 changes of    10,000 rows |       8.8 |     1.3 |   6.7 |      7.0 |     1.5 |   4.6 |
| pull  1000 changes of    10,000 rows |      54.1 |    13.5 |   4.0 |     30.3 |     7.2 |   4.2 |
| push   500 creates,    10,000 rows   |      2589 |     275 |   9.4 |     1722 |     285 |   6.0 |
| push   500 mixed updates, 10,000     |      2674 |     311 |   8.6 |     1345 |     265 |   5.1 |
| pull   100 changes of   300,000 rows |       7.9 |     1.5 |   5.3 |      5.2 |     1.4 |   3.6 |
| pull  1000 changes of   300,000 rows |      47.1 |     9.4 |   5.0 |     31.7 |     9.1 |   3.5 |
| push   500 creates,   300,000 rows   |      2571 |     297 |   8.7 |     1441 |     288 |   5.0 |
| push   500 mixed updates, 300,000    |      2802 |     422 |   6.6 |     1335 |     279 |   4.8 |
| pull   100 changes of 1,000,000 rows |         — |       — |     — |      5.6 |     1.5 |   3.8 |
| pull  1000 changes of 1,000,000 rows |         — |       — |     — |     33.3 |    10.4 |   3.2 |
| push   500 creates, 1,000,000 rows   |         — |       — |     — |     1405 |     298 |   4.7 |
| push   500 mixed updates, 1,000,000  |         — |       — |     — |     1284 |     294 |   4.4 |

Round 2 (a pull's statements on generic plans; a push's savepoints left open until COMMIT):
before = 0180c05, after = 9486e7b, `--rows 10000 --rows 300000 --repeat 6 --uploads 0`, three
runs of each interleaved (load average 0.7-5.4 as the lead's tests came and went), medians of
the three; ms ours / hand, ratio. The same code's push swung 1 207-2 630 ms between runs and
the hand SQL's 265-620 ms: the push difference is within that noise; the pull of 100 changes
on 10 000 rows was 4.1-4.2 ms in every after-run and 5.3-5.4 in every before-run:

| operation                            | before ms   | ratio | after ms    | ratio |
| ------------------------------------ | ----------: | ----: | ----------: | ----: |
| pull   100 changes of    10,000 rows |   5.4 / 1.4 |   3.9 |   4.1 / 1.4 |   2.9 |
| pull  1000 changes of    10,000 rows |  24.1 / 7.3 |   3.3 |  26.7 / 7.0 |   3.9 |
| push   500 creates,    10,000 rows   |  1386 / 368 |   3.7 |  1592 / 359 |   4.7 |
| push   500 mixed updates, 10,000     |  1367 / 343 |   4.1 |  1275 / 421 |   3.6 |
| pull   100 changes of   300,000 rows |   4.8 / 1.4 |   3.3 |   5.7 / 1.5 |   3.7 |
| pull  1000 changes of   300,000 rows |  27.6 / 7.8 |   3.6 | 32.3 / 12.6 |   2.5 |
| push   500 creates,   300,000 rows   |  1526 / 374 |   4.1 |  1629 / 378 |   4.3 |
| push   500 mixed updates, 300,000    |  1404 / 379 |   3.5 |  1363 / 328 |   4.2 |

Timed apart from the bench, interleaved, at load ~0.7 (the pull alone, 60 and 20 runs): 100
changes 5.3-6.3 ms before, 4.0-4.2 after; 1000 changes 23-26 ms before, 22.6-24.7 after. The
page statement alone on asyncpg: 1.2 ms planned per run, 0.6 ms on its generic plan.

What the time is spent on, counted rather than timed (`--profile 30`, one run each): a pull of
100 changes makes 5 round trips (BEGIN, SET LOCAL plan_cache_mode, the page, its records,
COMMIT; 4 in round 1, 6 at the start) and 5 400 Python calls (17 800 at the start); of 1000
changes 38 800 (138 000). A push of 500 creates makes 2 518 round trips (3 018 in round 1,
6 543 at the start) and 1.80 M calls (1.88 M, 2.70 M); of 500 mixed updates 2 018 (2 518,
9 262) and 1.72 M (1.80 M, 3.03 M). The hand SQL makes about 5 round trips per mutation and
no Python work.

What changed (issue #13): on PostgreSQL a log page is one statement (its positions, the
horizon and bound, whether each position is its record's last, whether changes wait behind
the bound), run with the records' statement on generic plans, and records are read with the
driver's own values, times formatted by the database; a push's savepoints repeat a few
statement texts per depth (SQLAlchemy named each anew, and asyncpg prepared each: two extra
round trips per mutation) and are left open until COMMIT (no RELEASE), its events go out in one
pg_notify at commit, the batch's tickets are locked and loaded in one statement and read for
update from the session, its merge checks' log rows are read in one statement, an edit opens
an inner savepoint only when the server moved and more than details changed, and known-new
ids and the batch's grids are not read again per CREATE. What is left is the ORM's unit of
work per mutation (an instance, a flush, the session hooks: ~2 ms of Python per mutation
under cProfile); see docs/performance.md.

Round 3: on PostgreSQL a pull's log page reads its tickets' records in its own statement and
runs on asyncpg itself, every value as the wire carries it (sync/pull.py _PAGE_PG,
_page_changes); a push writes a run of new tickets together (one savepoint, one flush, the
run's numbers in one statement: sync/push.py _create_together); this bench sets the collector
as a serving process does (api/ops/heap.py). Before = 8bf5170 (the branch point, exported with
`git archive`, run by this bench file), after = the perf3 branch, `--rows 10000 --rows 300000
--repeat 6 --uploads 0`, three runs of each interleaved at load ~1; medians of the three, ms
ours / hand (the median ratio; the single runs' ratios in docs/performance.md):

| operation       | 10,000 rows: before → after       | 300,000 rows: before → after      |
| --------------- | --------------------------------- | --------------------------------- |
| pull 100        | 4.6/1.5 (3.06) → 2.7/1.5 (1.68)   | 4.9/1.6 (2.99) → 2.9/1.6 (1.77)   |
| pull 1000       | 22.2/5.9 (3.64) → 12.5/5.9 (2.09) | 27.5/7.2 (3.86) → 16.4/7.8 (2.12) |
| push creates    | 1787/358 (4.94) → 285/353 (0.82)  | 1820/375 (4.85) → 299/352 (0.84)  |
| push edits      | 1434/338 (4.25) → 1416/324 (4.39) | 1456/341 (4.32) → 1396/346 (4.19) |

Three earlier interleaved runs at load 3.3-4.8 with the default collector gave, at 10,000 /
300,000 rows, pull 100 3.55 / 4.27 → 1.79 / 1.60, pull 1000 3.72 / 2.38 → 2.06 / 1.62, push
creates 16.1 / 11.7 → 2.18 / 1.63, edits 7.70 / 9.20 → 6.14 / 6.20.

Counted (`--profile 400`, 10 000 rows, one run each, before → after): a pull of 100 changes
5 round trips and 5 431 Python calls → 4 and 1 429; of 1000 changes 5 and 38 781 → 4 and
5 129; a push of 500 creates 2 518 round trips and 1.80 M calls → 24 and 1.00 M; of 500 mixed
updates 2 018 and 1.72 M → unchanged (the edits still go one at a time through the ORM).

Round 3, edits: a run of ticket details edits (merged ones and conflicts included) is written
together (sync/push.py _edit_together: one savepoint, one flush). Before = d654808 (exported
with `git archive`, run by this file), after = the perf4 branch, `--rows 10000 --repeat 6
--uploads 0`, five runs of each interleaved at load 2.2-3.1: push of 500 mixed updates
2 064 / 398 ms (ratio 5.35) → 552 / 306 ms (1.80), medians; the single ratios 3.9-6.4 →
0.9-2.6; at 300 000 rows (two runs) 7.68, 7.70 → 2.13, 2.18. Counted (`--profile 400`):
2 018 round trips and 1.72 M Python calls → ~266 (252 of them UPDATEs: SQLAlchemy batches
only consecutive rows changing the same columns) and 1.08 M.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession  # noqa: E402

from api.auth.models import TokenKind  # noqa: E402
from api.auth.scope import scope_for  # noqa: E402
from api.auth.tokens import issue_token  # noqa: E402
from api.config import Settings  # noqa: E402
from api.db import create_engine, session_factory  # noqa: E402
from api.edge import session_hooks  # noqa: E402
from api.edge.app import create_app  # noqa: E402
from api.grids.models import Grid, GridKind  # noqa: E402
from api.grids.service import create_grid  # noqa: E402
from api.members.models import Member  # noqa: E402
from api.members.service import create_member  # noqa: E402
from api.migrate import upgrade  # noqa: E402
from api.ops.heap import settle_after_start  # noqa: E402
from sync.pull import pull  # noqa: E402
from sync.push import MutationInput, push_in  # noqa: E402
from tests.attachment_support import photo  # noqa: E402

FILL = """
WITH g AS (SELECT generate_series(1, $1) AS n)
INSERT INTO ticket (id, version, created_at, updated_at, number, title, description, source,
    category, severity, status, tier, grid_id, reported_at, paused_seconds, rated_on_behalf)
SELECT md5('t' || n)::uuid, 1, now(), now(), 'BENCH-' || n, 'Bench ticket ' || n, '',
    'RISK_HAZARD', 'OTHER', 'MEDIUM', 'REPORTED', 'GRID', $2::uuid, now(), 0, false
FROM g;
"""
FILL_LOG = """
INSERT INTO sync_change (txid, collection, record_id, version, deleted, keys_after, keys_before,
    fields, at)
SELECT 1, 'tickets', md5('t' || n)::uuid, 1, false,
    json_build_array('all', 'grid:' || $2), '[]'::json, '[]'::json, now()
FROM generate_series(1, $1) AS n ORDER BY n;
"""
FILL_KEYS = """
INSERT INTO sync_change_key (key, txid, seq)
SELECT k, 1, seq FROM sync_change, unnest(ARRAY['all', 'grid:' || $1]) AS k;
"""
BASELINE_PULL = """
SELECT c.txid, c.seq, t.*
FROM (SELECT DISTINCT txid, seq FROM sync_change_key
      WHERE key = ANY($1::text[]) AND (txid, seq) > ($2, $3)
        AND txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
      ORDER BY txid, seq LIMIT $4) k
JOIN sync_change c ON c.seq = k.seq
JOIN ticket t ON t.id = c.record_id
ORDER BY c.txid, c.seq
"""


@contextlib.asynccontextmanager
async def scratch_database(base_url: str) -> AsyncIterator[str]:
    """A fresh database on the server of `base_url`, dropped afterwards; yields its URL."""
    name = f"gl_bench_{uuid.uuid4().hex[:8]}"
    admin_dsn = make_url(base_url).set(drivername="postgresql").render_as_string(False)
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_url(base_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def pg_url(base: str, database: str) -> str:
    return make_url(base).set(database=database).render_as_string(hide_password=False)


# --profile: each gridlink operation is also run once under cProfile (top entries printed).
PROFILE: list[int] = [0]


async def profiled(label: str, fn: Callable[[], Awaitable[object]]) -> None:
    import cProfile
    import pstats

    profile = cProfile.Profile()
    profile.enable()
    await fn()
    profile.disable()
    print(f"--- profile: {label} (cumulative, top {PROFILE[0]})")
    pstats.Stats(profile).strip_dirs().sort_stats("cumulative").print_stats(PROFILE[0])
    pstats.Stats(profile).strip_dirs().sort_stats("tottime").print_stats(PROFILE[0])


async def timed(fn: Callable[[], Awaitable[object]], repeat: int) -> float:
    """Median seconds of `repeat` runs after one warm-up."""
    await fn()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        await fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


async def bench_rows(base_url: str, rows: int, repeat: int) -> list[tuple[str, float, float]]:
    async with scratch_database(base_url) as url:
        engine = create_engine(Settings(database_url=url))
        try:
            return await _bench_rows(engine, url, rows, repeat)
        finally:
            await engine.dispose()


async def liaison_in_one_grid(session: AsyncSession) -> tuple[Grid, Member]:
    """The bench's county: one town, one grid and its liaison (every sync bench starts here)."""
    county = await create_grid(
        session, code="B", name="Bench", kind=GridKind.COUNTY, parent_id=None
    )
    town = await create_grid(
        session, code="B-T", name="Town", kind=GridKind.TOWN, parent_id=county.id
    )
    grid = await create_grid(
        session, code="B-T-G", name="Grid", kind=GridKind.INDEPENDENT, parent_id=town.id
    )
    member = await create_member(
        session, name="Bench", phone="13911112222", roles=["LIAISON"], grid_ids=[grid.id]
    )
    return grid, member


async def _bench_rows(
    engine: AsyncEngine, url: str, rows: int, repeat: int
) -> list[tuple[str, float, float]]:
    await upgrade(engine)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        grid, member = await liaison_in_one_grid(session)
    raw = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    start = time.perf_counter()
    await raw.execute(FILL, rows, str(grid.id))
    await raw.execute(FILL_LOG, rows, str(grid.id))
    await raw.execute(FILL_KEYS, str(grid.id))
    await raw.execute("ANALYZE")
    print(f"  filled {rows:,} tickets and log rows in {time.perf_counter() - start:.1f}s")
    async with sessions() as session:
        scope = await scope_for(session, member)
    keys = sorted(scope.keys())
    head = await raw.fetchval("SELECT max(seq) FROM sync_change")
    results: list[tuple[str, float, float]] = []
    for k in (100, 1000):
        start_seq = head - k - 1000  # K changes near the end of the log, as a phone sees
        from sync.checkpoint import Checkpoint, scope_fingerprint

        checkpoint = Checkpoint(1, start_seq, scope_fingerprint(scope)).encode()

        async def ours(k: int = k, checkpoint: str = checkpoint) -> None:
            async with sessions() as session, session.begin():
                page = await pull(session, scope=scope, checkpoint=checkpoint, limit=k)
            assert len(page.changes) == k, len(page.changes)

        async def by_hand(k: int = k, start_seq: int = start_seq) -> None:
            async with raw.transaction():
                found = await raw.fetch(BASELINE_PULL, keys, 1, start_seq, k)
            assert len(found) == k

        label = f"pull {k:>5} changes of {rows:>9,} rows"
        results.append((label, await timed(ours, repeat), await timed(by_hand, repeat)))
        if PROFILE[0]:
            await profiled(label, ours)

    async def ours_push() -> None:
        mutations = [
            MutationInput(
                mutation_id=uuid.uuid4().hex,
                collection="tickets",
                id=str(uuid.uuid4()),
                op="CREATE",
                base_version=None,
                fields={
                    "title": f"pushed {i}",
                    "source": "RISK_HAZARD",
                    "gridId": str(grid.id),
                },
            )
            for i in range(500)
        ]
        async with sessions() as session, session.begin():
            out = await push_in(session, scope=scope, client_id="bench", mutations=mutations)
        assert all(r["status"] == "APPLIED" for r in out)

    async def by_hand_push() -> None:
        async with raw.transaction():
            txid = await raw.fetchval("SELECT pg_current_xact_id()::text::bigint")
            for i in range(500):
                tid = uuid.uuid4()
                number = await raw.fetchval(
                    "UPDATE counter SET value = value + 1 WHERE name = 'bench' RETURNING value"
                )
                await raw.execute(
                    "INSERT INTO ticket (id, version, created_at, updated_at, number, title,"
                    " description, source, category, severity, status, tier, grid_id,"
                    " reported_at, paused_seconds, rated_on_behalf) VALUES ($1, 1, now(),"
                    " now(), $2, $3, '', 'RISK_HAZARD', 'OTHER', 'MEDIUM', 'REPORTED',"
                    " 'GRID', $4, now(), 0, false)",
                    tid,
                    f"H-{number}",
                    f"pushed {i}",
                    grid.id,
                )
                seq = await raw.fetchval(
                    "INSERT INTO sync_change (txid, collection, record_id, version, deleted,"
                    " keys_after, keys_before, fields, at) VALUES ($1, 'tickets', $2, 1,"
                    " false, '[]', '[]', '[]', now()) RETURNING seq",
                    txid,
                    tid,
                )
                await raw.executemany(
                    "INSERT INTO sync_change_key (key, txid, seq) VALUES ($1, $2, $3)",
                    [("all", txid, seq), (f"grid:{grid.id}", txid, seq)],
                )
                await raw.execute(
                    "INSERT INTO sync_mutation (id, client_id, mutation_id, member_id,"
                    " collection, record_id, op, status, result, at) VALUES ($1, 'hand',"
                    " $2, $3, 'tickets', $4, 'CREATE', 'APPLIED', '{}', now())",
                    uuid.uuid4(),
                    uuid.uuid4().hex,
                    member.id,
                    str(tid),
                )

    await raw.execute("INSERT INTO counter (name, value) VALUES ('bench', 0)")
    label = f"push   500 creates, {rows:>9,} rows"
    results.append(
        (
            label,
            await timed(ours_push, max(1, repeat // 3)),
            await timed(by_hand_push, max(1, repeat // 3)),
        )
    )
    if PROFILE[0]:
        await profiled(label, ours_push)
    results.append(await _bench_updates(raw, sessions, scope, member.id, rows, repeat))
    await raw.close()
    return results


# The liaison's 500 assigned tickets, each edited in one field per push. Half the mutations
# start from the current version (APPLIED); half from the version before the last push,
# whose change (by another client) was in the other field: the merge check reads the log
# and lets both stand (MERGED).
UPDATED = 500


async def _bench_updates(
    raw: asyncpg.Connection,
    sessions: Any,
    scope: Any,
    member_id: uuid.UUID,
    rows: int,
    repeat: int,
) -> tuple[str, float, float]:
    targets = [
        r["id"]
        for r in await raw.fetch(
            "UPDATE ticket SET assignee_id = $1 WHERE id IN"
            " (SELECT id FROM ticket WHERE number LIKE 'BENCH-%' ORDER BY id LIMIT $2)"
            " RETURNING id",
            member_id,
            UPDATED,
        )
    ]
    versions = {
        r["id"]: r["version"]
        for r in await raw.fetch(
            "SELECT id, version FROM ticket WHERE id = ANY($1::uuid[])", targets
        )
    }
    run = [0]

    def plan() -> list[tuple[uuid.UUID, str, str, int]]:
        """(ticket, field, value, baseVersion) of this run's mutations."""
        run[0] += 1
        out = []
        for i, tid in enumerate(targets):
            name = "title" if (i + run[0]) % 2 else "description"
            stale = i % 2 == 1 and versions[tid] > 1
            out.append((tid, name, f"r{run[0]}-{i}", versions[tid] - 1 if stale else versions[tid]))
        return out

    async def ours() -> None:
        mutations = [
            MutationInput(uuid.uuid4().hex, "tickets", str(tid), "UPDATE", base, {camel: value})
            for tid, camel, value, base in plan()
        ]
        async with sessions() as session, session.begin():
            out = await push_in(
                session, scope=scope, client_id=f"bench-{run[0]}", mutations=mutations
            )
        statuses = {r["status"] for r in out}
        assert statuses <= {"APPLIED", "MERGED"}, [
            r for r in out if r["status"] not in ("APPLIED", "MERGED")
        ][:1]
        for tid, r in zip(targets, out, strict=True):
            versions[tid] = r["version"]

    async def by_hand() -> None:
        client = f"hand-{run[0]}"
        async with raw.transaction():
            txid = await raw.fetchval("SELECT pg_current_xact_id()::text::bigint")
            stored = []
            for tid, camel, value, base in plan():
                current = await raw.fetchrow("SELECT * FROM ticket WHERE id = $1 FOR UPDATE", tid)
                if base < current["version"]:
                    changed = await raw.fetch(
                        "SELECT version, fields, client_id FROM sync_change"
                        " WHERE record_id = $1 AND version > $2",
                        tid,
                        base,
                    )
                    assert changed
                column = "title" if camel == "title" else "description"
                row = await raw.fetchrow(
                    f"UPDATE ticket SET {column} = $2, version = version + 1, updated_at = now()"
                    " WHERE id = $1 RETURNING *",
                    tid,
                    value,
                )
                seq = await raw.fetchval(
                    "INSERT INTO sync_change (txid, collection, record_id, version, deleted,"
                    " keys_after, keys_before, fields, client_id, at) VALUES ($1, 'tickets',"
                    " $2, $3, false, $4, $4, $5, $6, now()) RETURNING seq",
                    txid,
                    tid,
                    row["version"],
                    f'["all", "grid:{row["grid_id"]}", "member:{member_id}"]',
                    f'["{camel}"]',
                    client,
                )
                await raw.executemany(
                    "INSERT INTO sync_change_key (key, txid, seq) VALUES ($1, $2, $3)",
                    [
                        (k, txid, seq)
                        for k in ("all", f"grid:{row['grid_id']}", f"member:{member_id}")
                    ],
                )
                versions[tid] = row["version"]
                stored.append((uuid.uuid4(), client, uuid.uuid4().hex, member_id, str(tid)))
            await raw.executemany(
                "INSERT INTO sync_mutation (id, client_id, mutation_id, member_id, collection,"
                " record_id, op, status, result, at) VALUES ($1, $2, $3, $4, 'tickets', $5,"
                " 'UPDATE', 'APPLIED', '{}', now())",
                stored,
            )

    label = f"push   500 mixed updates, {rows:>9,}"
    # Alternate so that each side's stale bases point at the other's last change.
    times_ours, times_hand = [], []
    await ours()
    await by_hand()
    for _ in range(max(1, repeat // 3)):
        start = time.perf_counter()
        await ours()
        times_ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        await by_hand()
        times_hand.append(time.perf_counter() - start)
    if PROFILE[0]:
        await profiled(label, ours)
    return (label, statistics.median(times_ours), statistics.median(times_hand))


class _Server:
    """The app under uvicorn on a free port, in a thread of its own."""

    def __init__(self, settings: Settings) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


async def bench_uploads(base_url: str, count: int, size: int) -> list[tuple[str, float, float]]:
    """`count` photos of `size` bytes uploaded over HTTP, against copying the same files."""
    async with scratch_database(base_url) as url:
        work = Path(tempfile.mkdtemp(prefix="gl_bench_media_"))
        settings = Settings(
            database_url=url, media_dir=str(work / "media"), run_worker_in_process=False
        )
        engine = create_engine(settings)
        try:
            return await _bench_uploads(engine, settings, work, count, size)
        finally:
            await engine.dispose()
            shutil.rmtree(work, ignore_errors=True)


async def _bench_uploads(
    engine: AsyncEngine, settings: Settings, work: Path, count: int, size: int
) -> list[tuple[str, float, float]]:
    await upgrade(engine)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        county = await create_grid(
            session, code="B", name="Bench", kind=GridKind.COUNTY, parent_id=None
        )
        member = await create_member(
            session, name="Bench", phone="13911112222", roles=["ADMIN"], grid_ids=[]
        )
        token = (
            await issue_token(session, member=member, kind=TokenKind.SESSION, lifetime=None)
        ).token
        scope = await scope_for(session, member)
    files = [photo(960, 720, pad_to=size, seed=n) for n in range(count)]
    source = work / "source"
    source.mkdir()
    for n, data in enumerate(files):
        (source / f"{n}.jpg").write_bytes(data)

    async def records() -> list[str]:
        ids = [str(uuid.uuid4()) for _ in files]
        ticket = str(uuid.uuid4())
        mutations = [
            MutationInput(
                uuid.uuid4().hex,
                "tickets",
                ticket,
                "CREATE",
                None,
                {"title": "photos", "source": "RISK_HAZARD", "gridId": str(county.id)},
            )
        ] + [
            MutationInput(
                uuid.uuid4().hex,
                "ticketAttachments",
                attachment_id,
                "CREATE",
                None,
                {
                    "ticketId": ticket,
                    "kind": "PHOTO",
                    "contentType": "image/jpeg",
                    "byteSize": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                },
            )
            for attachment_id, data in zip(ids, files, strict=True)
        ]
        async with sessions() as session, session.begin():
            out = await push_in(session, scope=scope, client_id="bench", mutations=mutations)
        assert all(r["status"] == "APPLIED" for r in out), out[:2]
        return ids

    results: list[tuple[str, float, float]] = []
    with _Server(settings) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            auth = {"Authorization": f"Bearer {token}"}
            for pieces in (1, 3):
                ids = await records()
                start = time.perf_counter()
                for attachment_id, data in zip(ids, files, strict=True):
                    step = -(-len(data) // pieces)
                    for first in range(0, len(data), step):
                        last = min(first + step, len(data)) - 1
                        answer = await http.put(
                            f"/attachments/{attachment_id}",
                            content=data[first : last + 1],
                            headers={
                                **auth,
                                "Content-Range": f"bytes {first}-{last}/{len(data)}",
                            },
                        )
                        assert answer.status_code in (201, 202), answer.text
                ours = time.perf_counter() - start
                target = work / f"copy-{pieces}"
                target.mkdir()
                start = time.perf_counter()
                for n in range(count):
                    shutil.copyfile(source / f"{n}.jpg", target / f"{n}.jpg")
                copy = time.perf_counter() - start
                label = f"upload {count} x {size / 2**20:.0f} MB, {pieces} piece(s)"
                results.append((label, ours, copy))
    return results


async def main() -> None:
    session_hooks.install()  # writes are versioned and logged, as in the product
    # The collector set as a serving process sets it once started (api/ops/heap.py): what is
    # made at start frozen out of collection, young collections every 10 000 new objects.
    # Without it a pull of 1000 changes paid ~1 ms of collections the server does not.
    settle_after_start()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rows", type=int, action="append", help="table size (repeatable)")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--uploads", type=int, default=100, help="photos to upload (0: none)")
    parser.add_argument("--upload-bytes", type=int, default=2 * 1024 * 1024)
    parser.add_argument("--no-rows", action="store_true", help="only the upload table")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="cProfile each operation (top N)"
    )
    args = parser.parse_args()
    PROFILE[0] = args.profile
    sizes = [] if args.no_rows else args.rows or [10_000, 1_000_000]
    table: list[tuple[str, float, float]] = []
    for rows in sizes:
        print(f"table of {rows:,} rows")
        table += await bench_rows(args.url, rows, args.repeat)
    if args.uploads:
        print(f"{args.uploads} uploads of {args.upload_bytes:,} bytes")
        uploads = await bench_uploads(args.url, args.uploads, args.upload_bytes)
        print()
        print(
            f"| {'operation':<36} | {'gridlink s':>10} | {'MB/s':>6} | {'file copy s':>11} "
            f"| {'MB/s':>6} | {'ratio':>6} |"
        )
        print(f"| {'-' * 36} | {'-' * 9}: | {'-' * 5}: | {'-' * 10}: | {'-' * 5}: | {'-' * 5}: |")
        volume = args.uploads * args.upload_bytes / 2**20
        for label, ours, copy in uploads:
            print(
                f"| {label:<36} | {ours:>10.2f} | {volume / ours:>6.0f} | {copy:>11.3f} "
                f"| {volume / copy:>6.0f} | {ours / copy:>6.1f} |"
            )
    if not table:
        return
    print()
    print(f"| {'operation':<36} | {'gridlink ms':>11} | {'hand SQL ms':>11} | {'ratio':>6} |")
    print(f"| {'-' * 36} | {'-' * 10}: | {'-' * 10}: | {'-' * 5}: |")
    for label, ours, hand in table:
        print(
            f"| {label:<36} | {ours * 1000:>11.1f} | {hand * 1000:>11.1f} | {ours / hand:>6.2f} |"
        )


if __name__ == "__main__":
    asyncio.run(main())
