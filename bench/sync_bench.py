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

Figures (function level, PostgreSQL 15, a loaded 2-core machine; `--repeat 3`, median ms;
the hand-SQL column is measured in the same run, so compare the ratios):

| operation                            | before ms | ratio | after ms | ratio |
| ------------------------------------ | --------: | ----: | -------: | ----: |
| pull   100 changes of    10,000 rows |      16.4 |  10.1 |      8.5 |  4.7 |
| pull  1000 changes of    10,000 rows |     168.8 |  10.4 |     36.2 |  4.2 |
| push   500 creates,    10,000 rows   |    5614.8 |  15.8 |   2305.0 | 12.2 |
| pull   100 changes of   300,000 rows |      18.3 |  10.5 |      7.6 |  4.2 |
| pull  1000 changes of   300,000 rows |     126.4 |  12.4 |     38.8 |  3.6 |
| push   500 creates,   300,000 rows   |    6625.7 |  10.6 |   3138.8 | 14.1 |
| pull   100 changes of 1,000,000 rows |      95   |  38   |      7.8 |  3.9 |
| pull  1000 changes of 1,000,000 rows |         — |     — |     44.6 |  3.7 |
| push   500 creates, 1,000,000 rows   |         — |     — |   2354.8 |  9.7 |

What changed: a pull reads Core rows of the wire columns straight into wire dicts (no ORM
instances), one statement per collection; the log positions come from one index range per
scope key merged in order (a single `key IN (...)` range had to be read whole and sorted,
O(changes after the checkpoint)); a push CREATE costs 9 statements instead of 13 (txid once
per transaction, deadline policies once per transaction, the ticket number in one upsert,
all stored results in one INSERT). The hand-SQL push still issues ~4 statements per
mutation and no savepoint; the rest of the gap is SQLAlchemy's per-statement cost.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.engine import make_url  # noqa: E402

import sync  # noqa: E402,F401
from api.auth.scope import scope_for  # noqa: E402
from api.config import Settings  # noqa: E402
from api.db import create_engine, session_factory  # noqa: E402
from api.grids.models import GridKind  # noqa: E402
from api.grids.service import create_grid  # noqa: E402
from api.members.service import create_member  # noqa: E402
from api.migrate import upgrade  # noqa: E402
from sync.pull import pull  # noqa: E402
from sync.push import MutationInput, push_in  # noqa: E402

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


def pg_url(base: str, database: str) -> str:
    return make_url(base).set(database=database).render_as_string(hide_password=False)


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
    name = f"gl_bench_{uuid.uuid4().hex[:8]}"
    admin_dsn = make_url(base_url).set(drivername="postgresql").render_as_string(False)
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = pg_url(base_url, name)
    engine = create_engine(Settings(database_url=url))
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        async with sessions() as session, session.begin():
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
        raw = await asyncpg.connect(
            make_url(url).set(drivername="postgresql").render_as_string(False)
        )
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

            results.append(
                (
                    f"pull {k:>5} changes of {rows:>9,} rows",
                    await timed(ours, repeat),
                    await timed(by_hand, repeat),
                )
            )

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
        results.append(
            (
                f"push   500 creates, {rows:>9,} rows",
                await timed(ours_push, max(1, repeat // 3)),
                await timed(by_hand_push, max(1, repeat // 3)),
            )
        )
        await raw.close()
        return results
    finally:
        await engine.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rows", type=int, action="append", help="table size (repeatable)")
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    sizes = args.rows or [10_000, 1_000_000]
    table: list[tuple[str, float, float]] = []
    for rows in sizes:
        print(f"table of {rows:,} rows")
        table += await bench_rows(args.url, rows, args.repeat)
    print()
    print(f"| {'operation':<36} | {'gridlink ms':>11} | {'hand SQL ms':>11} | {'ratio':>6} |")
    print(f"| {'-' * 36} | {'-' * 10}: | {'-' * 10}: | {'-' * 5}: |")
    for label, ours, hand in table:
        print(
            f"| {label:<36} | {ours * 1000:>11.1f} | {hand * 1000:>11.1f} | {ours / hand:>6.2f} |"
        )


if __name__ == "__main__":
    asyncio.run(main())
