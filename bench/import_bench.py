"""What importing a county's enterprise register costs, in time and memory, as the file grows.

    GRIDLINK_DATABASE_URL=postgresql://.../bench .venv/bin/python \
        bench/import_bench.py [--rows 10000,100000] [--format xlsx|csv]

The database is emptied and migrated first (never point it at real data). For each size an
enterprise sheet is written (15 towns, 5 parks, 20 industries, one enterprise in ten with 200 or
more staff), then each phase runs in a process of its own so that its peak memory (max RSS) is
its own:
- read: reading every row of the file, nothing else;
- copy: reading the file and writing its rows as they are into a scratch table (COPY on
  PostgreSQL, multi-row INSERT on SQLite), in one transaction: the floor an import can reach;
- dry run: validation, matching and placement, written and rolled back;
- apply: the same, committed (grids, enterprises, grid history and the sync change log);
- re-import: the same file again, every row unchanged.
Ratios are against ``copy`` of the same size in the same run (the machine may be shared: the
ratio is the figure that travels); flat memory shows as about the same max RSS at 10 000 and at
100 000 rows.

Figures: see docs/operations.md ("How fast an import is") for the last measured table."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import api.tables  # noqa: E402, F401  (every table known)
from api.config import Settings  # noqa: E402
from api.db import create_engine, session_factory  # noqa: E402
from api.edge import session_hooks  # noqa: E402
from api.enterprises.codes import CREDIT_ALPHABET, credit_check_char  # noqa: E402
from api.imports.columns import ENTERPRISES, GRIDS  # noqa: E402

INDUSTRIES = [f"行业{i:02d}" for i in range(20)]
TOWNS = [(f"BT-T{i:02d}", f"基准镇{i:02d}") for i in range(1, 16)]
PARKS = [(f"BT-T{i:02d}-P1", f"基准园区{i:02d}", f"BT-T{i:02d}") for i in range(1, 6)]


def write_sheets(folder: Path, rows: int, fmt: str) -> tuple[Path, Path]:
    from openpyxl import Workbook

    grids = [["BT", "基准县", "县", ""]] + [[c, n, "镇", "BT"] for c, n in TOWNS]
    grids += [[c, n, "园区", t] for c, n, t in PARKS]
    rng = random.Random(16)

    def enterprise_rows():  # noqa: ANN202
        seen: set[str] = set()
        for i in range(rows):
            while True:
                body = "91320924" + "".join(rng.choice(CREDIT_ALPHABET) for _ in range(9))
                if body not in seen:
                    seen.add(body)
                    break
            town_index = rng.randrange(15)
            park = PARKS[town_index][1] if town_index < 5 and rng.random() < 0.3 else ""
            staff = rng.randint(200, 2000) if rng.random() < 0.1 else rng.randint(3, 199)
            yield [
                f"基准企业{i:06d}有限公司", body + credit_check_char(body), staff,
                rng.choice(INDUSTRIES), TOWNS[town_index][1], park, "", "是", "否",
            ]  # fmt: skip

    def write(path: Path, header: list[str], data) -> Path:  # noqa: ANN001
        if fmt == "csv":
            import csv

            with path.open("w", encoding="gbk", newline="") as out:
                writer = csv.writer(out)
                writer.writerow(header)
                writer.writerows(data)
            return path
        book = Workbook(write_only=True)
        sheet = book.create_sheet("Sheet1")
        sheet.append(header)
        for row in data:
            sheet.append(row)
        book.save(path)
        return path

    return (
        write(folder / f"grids.{fmt}", [c.zh for c in GRIDS.columns], grids),
        write(
            folder / f"enterprises.{fmt}", [c.zh for c in ENTERPRISES.columns], enterprise_rows()
        ),
    )


async def run_phase(phase: str, path: Path) -> dict:
    from api.imports.enterprises import EnterpriseImporter
    from api.imports.grids import GridImporter
    from api.imports.run import run_import
    from api.imports.sheets import read_sheet

    settings = Settings.from_env()
    engine = create_engine(settings)
    sessions = session_factory(engine)
    started = time.perf_counter()
    result: dict = {}
    try:
        if phase == "read":
            _, records = read_sheet(ENTERPRISES, path)
            result["rows"] = sum(1 for _ in records)
        elif phase == "copy":
            result["rows"] = await copy_rows(sessions, path)
        elif phase == "grids":
            report = await run_import(sessions, GridImporter(), path, apply=True)
            assert report.written, report.lines("en")
        else:
            report = await run_import(
                sessions,
                EnterpriseImporter(allow_new_industries=True),
                path,
                apply=phase != "dry-run",
            )
            assert report.ok, report.lines("en")[-5:]
            result.update(created=report.created, unchanged=report.unchanged, rows=report.rows)
    finally:
        await engine.dispose()
    result["seconds"] = time.perf_counter() - started
    result["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


async def copy_rows(sessions, path: Path) -> int:  # noqa: ANN001
    """The rows of the file into a scratch table as they are: no checks, no lookups."""
    from sqlalchemy import Column, MetaData, Table, Text, insert

    from api.imports.run import BATCH
    from api.imports.sheets import read_sheet

    keys = [c.key for c in ENTERPRISES.columns]
    table = Table("bench_copy", MetaData(), *(Column(k, Text) for k in keys))
    _, records = read_sheet(ENTERPRISES, path)
    count = 0
    async with sessions() as session, session.begin():
        connection = await session.connection()
        await connection.run_sync(lambda c: table.drop(c, checkfirst=True))
        await connection.run_sync(table.create)
        raw = (await connection.get_raw_connection()).driver_connection
        batch: list[dict] = []
        for _number, values in records:
            batch.append(values)
            if len(batch) == BATCH:
                count += await _copy(connection, raw, table, keys, batch, insert)
                batch = []
        count += await _copy(connection, raw, table, keys, batch, insert)
        await connection.run_sync(table.drop)
    return count


async def _copy(connection, raw, table, keys, batch, insert) -> int:  # noqa: ANN001
    if not batch:
        return 0
    if connection.dialect.name == "postgresql":
        await raw.copy_records_to_table(
            table.name, records=[tuple(v.get(k) for k in keys) for v in batch], columns=keys
        )
    else:
        await connection.execute(insert(table), [{k: v.get(k) for k in keys} for v in batch])
    return len(batch)


def phase_in_child(phase: str, path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--phase", phase, str(path)],
        capture_output=True, text=True, check=False, env=os.environ,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{phase} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


async def reset_database() -> None:
    from api.migrate import downgrade, upgrade

    engine = create_engine(Settings.from_env())
    try:
        await downgrade(engine, "base")
        await upgrade(engine)
    finally:
        await engine.dispose()


def main() -> None:
    session_hooks.install()  # writes are versioned and logged, as in the product
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="10000,100000")
    parser.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    parser.add_argument("--phase")
    parser.add_argument("file", nargs="?")
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(asyncio.run(run_phase(args.phase, Path(args.file)))))
        return
    print(f"database: {Settings.from_env().database_url}   format: {args.format}")
    print(f"{'rows':>8} {'phase':<10} {'seconds':>9} {'ratio':>7} {'rows/s':>8} {'max RSS MB':>11}")
    for size in (int(n) for n in args.rows.split(",")):
        asyncio.run(reset_database())
        with tempfile.TemporaryDirectory() as folder:
            grids, enterprises = write_sheets(Path(folder), size, args.format)
            phase_in_child("grids", grids)
            base = None
            for phase in ("read", "copy", "dry-run", "apply", "re-import"):
                result = phase_in_child(phase, enterprises)
                if phase == "copy":
                    base = result["seconds"]
                ratio = f"{result['seconds'] / base:.1f}" if base else "-"
                print(
                    f"{size:>8} {phase:<10} {result['seconds']:>9.1f} {ratio:>7} "
                    f"{size / result['seconds']:>8.0f} {result['max_rss_mb']:>11.0f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
