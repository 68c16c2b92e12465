"""Helpers for the admin tests: spreadsheets written the way a county's Excel writes them, and an
export of a database's county (grids and enterprises) to such sheets."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from api.enterprises.models import Enterprise
from api.grids.models import Grid, GridKind

ENTERPRISE_HEADERS = [
    "企业名称", "统一社会信用代码", "职工人数", "行业", "所属乡镇", "所属园区", "地址", "是否建会",
    "是否直报点",
]  # fmt: skip
GRID_HEADERS = ["网格编码", "名称", "类型", "上级编码"]
MEMBER_HEADERS = ["姓名", "手机号", "角色", "服务网格"]


def cli(
    database_url: str, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``gridlink ARGS`` run in this process through ``api.edge.cli.main``: the same parser,
    handlers, messages and exit code as the real command (tests.test_cli.run), without the
    seconds a new Python process costs. For bad-argument and account checks, where a process of
    its own proves nothing more; the tests keep a few real processes."""
    from api.edge.cli import main

    saved = {k: v for k, v in os.environ.items() if k.startswith("GRIDLINK_")}
    for key in saved:
        del os.environ[key]
    os.environ.update({"GRIDLINK_DATABASE_URL": database_url, **(env or {})})
    out, err = io.StringIO(), io.StringIO()
    stdin_before = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exit_:  # argparse refuses with exit status 2
                code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        sys.stdin = stdin_before
        for key in [k for k in os.environ if k.startswith("GRIDLINK_")]:
            del os.environ[key]
        os.environ.update(saved)
    return subprocess.CompletedProcess(["gridlink", *args], code, out.getvalue(), err.getvalue())


def write_xlsx(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Sheet1")
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def write_csv(
    path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]], encoding: str
) -> Path:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(text.getvalue().encode(encoding))
    return path


async def export_county(session: AsyncSession, county_code: str) -> tuple[list, list]:
    """The county's grid rows (county, towns, parks) and enterprise rows, as sheets hold them."""
    county = await session.scalar(select(Grid).where(Grid.code == county_code))
    assert county is not None
    grids: list[list[Any]] = [[county.code, county.name, "县", ""]]
    towns = list(
        await session.scalars(
            select(Grid).where(Grid.parent_id == county.id, Grid.kind == GridKind.TOWN)
            .order_by(Grid.code)
        )
    )  # fmt: skip
    grids += [[t.code, t.name, "镇", county.code] for t in towns]
    town_ids = [t.id for t in towns]
    parks = await session.scalars(
        select(Grid).where(Grid.kind == GridKind.PARK, Grid.parent_id.in_(town_ids))
        .order_by(Grid.code)
    )  # fmt: skip
    by_id = {t.id: t for t in towns}
    grids += [[p.code, p.name, "园区", by_id[p.parent_id].code] for p in parks]
    town, park = aliased(Grid), aliased(Grid)
    rows = await session.execute(
        select(Enterprise, town.name, park.name)
        .join(town, town.id == Enterprise.town_id)
        .outerjoin(park, park.id == Enterprise.park_id)
        .where(Enterprise.town_id.in_(town_ids))
        .order_by(Enterprise.credit_code)
    )
    enterprises = [
        [
            e.name, e.credit_code, e.headcount, e.industry, town_name, park_name or "",
            e.address, "是" if e.has_union else "否", "是" if e.is_direct_report_point else "否",
        ]
        for e, town_name, park_name in rows
    ]  # fmt: skip
    return grids, enterprises


async def placements(session: AsyncSession, county_code: str) -> dict[str, tuple]:
    """Each enterprise's grid, described without generated codes: (kind, parent code, industry)
    for joint grids, the code for independent ones."""
    parent = aliased(Grid)
    rows = await session.execute(
        select(Enterprise.credit_code, Grid.kind, Grid.code, Grid.industry, parent.code)
        .join(Grid, Grid.id == Enterprise.grid_id)
        .join(parent, parent.id == Grid.parent_id)
    )
    found = {}
    for code, kind, grid_code, industry, parent_code in rows:
        if parent_code.startswith(county_code):
            key = grid_code if kind == GridKind.INDEPENDENT else industry
            found[code] = (kind.value, parent_code, key)
    return found
