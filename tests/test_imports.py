"""Imports from a county's spreadsheets: the demo county round trip, every kind of bad row, dry
run versus --apply, idempotent re-import, members with one-time codes, CSV in UTF-8 and GBK."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.accounts.models import SignInCode
from api.accounts.service import Actor
from api.config import Settings
from api.db import create_engine
from api.db import session_factory as make_sessions
from api.demo import load_demo
from api.enterprises.codes import credit_check_char
from api.enterprises.models import Enterprise, GridMove
from api.grids.models import Grid, GridKind
from api.imports.enterprises import EnterpriseImporter
from api.imports.grids import GridImporter
from api.imports.members import MemberImporter
from api.imports.run import run_import
from api.members.models import Member, MemberGrid
from api.migrate import upgrade
from api.tables import metadata
from tests.admin_support import (
    ENTERPRISE_HEADERS,
    GRID_HEADERS,
    MEMBER_HEADERS,
    export_county,
    placements,
    write_csv,
    write_xlsx,
)


def code(body: str) -> str:
    return body + credit_check_char(body)


async def _row_counts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        return {
            t.name: int(await session.scalar(select(func.count()).select_from(t)) or 0)
            for t in metadata.sorted_tables
        }


async def test_demo_county_exported_to_xlsx_imports_into_an_empty_database(
    session_factory: async_sessionmaker[AsyncSession], empty_database_url: str, tmp_path: Path
) -> None:
    async with session_factory() as session, session.begin():
        await load_demo(session)
    async with session_factory() as session:
        grid_rows, enterprise_rows = await export_county(session, "SY")
        expected = await placements(session, "SY")
    assert len(enterprise_rows) == 539
    grids_file = write_xlsx(tmp_path / "grids.xlsx", GRID_HEADERS, grid_rows)
    enterprises_file = write_xlsx(
        tmp_path / "enterprises.xlsx", ENTERPRISE_HEADERS, enterprise_rows
    )

    engine = create_engine(Settings(database_url=empty_database_url))
    try:
        await upgrade(engine)
        sessions = make_sessions(engine)
        report = await run_import(sessions, GridImporter(), grids_file, apply=True)
        assert report.ok and report.written, report.lines("en")
        assert report.created == 1 + 15 + 5

        before = await _row_counts(sessions)
        dry = await run_import(
            sessions, EnterpriseImporter(allow_new_industries=True), enterprises_file, apply=False
        )
        assert dry.ok and not dry.written
        assert (dry.created, dry.updated, len(dry.grids_created)) == (539, 0, 29 + 62)
        assert await _row_counts(sessions) == before  # the dry run wrote nothing

        report = await run_import(
            sessions, EnterpriseImporter(allow_new_industries=True), enterprises_file, apply=True
        )
        assert report.written and report.created == 539
        async with sessions() as session:
            sy_grids = select(func.count()).select_from(Grid).where(Grid.code.like("SY-%"))
            independent = await session.scalar(sy_grids.where(Grid.kind == GridKind.INDEPENDENT))
            joint = await session.scalar(sy_grids.where(Grid.kind == GridKind.JOINT))
            independent = await session.scalar(
                select(func.count()).select_from(Grid).where(Grid.kind == GridKind.INDEPENDENT)
            )
            assert (independent, joint) == (29, 62)
            assert await placements(session, "SY") == expected
        # Every placement carries the rule's explanation.
        assert all(o.grid and o.reason for o in report.outcomes)

        # Re-importing the same file changes nothing.
        before = await _row_counts(sessions)
        again = await run_import(
            sessions, EnterpriseImporter(allow_new_industries=False), enterprises_file, apply=True
        )
        assert again.ok and (again.created, again.updated, again.unchanged) == (0, 0, 539)
        assert await _row_counts(sessions) == before
    finally:
        await engine.dispose()


async def _small_county(sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    grids = write_xlsx(
        tmp_path / "g.xlsx",
        GRID_HEADERS,
        [
            ["TC", "测试县", "县", ""],
            ["TC-T01", "东镇", "镇", "TC"],
            ["TC-T02", "西镇", "镇", "TC"],
            ["TC-T01-P1", "东镇工业园", "园区", "TC-T01"],
        ],
    )
    report = await run_import(sessions, GridImporter(), grids, apply=True)
    assert report.written, report.lines("en")


GOOD = code("91320924MA1TEAT01")
BIG = code("91320924MA1TEAT02")


async def test_every_kind_of_bad_row_is_reported_and_nothing_is_written(
    session_factory: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await _small_county(session_factory, tmp_path)
    seed = write_xlsx(
        tmp_path / "seed.xlsx",
        ENTERPRISE_HEADERS,
        [["种子企业", GOOD, 50, "纺织", "东镇", "", "", "否", "否"]],
    )
    assert (await run_import(
        session_factory, EnterpriseImporter(allow_new_industries=True), seed, apply=True
    )).written  # fmt: skip
    wrong_check = GOOD[:17] + ("A" if GOOD[17] != "A" else "B")
    rows = [
        ["好企业", BIG, 250, "纺织", "东镇", "", "", "是", "否"],  # row 2: fine
        ["", code("91320924MA1TEAT03"), 10, "纺织", "东镇", "", "", "", ""],  # 3: no name
        ["短代码", "9132092", 10, "纺织", "东镇", "", "", "", ""],  # 4: length
        ["错字符", "91320924MA1TESTOI1", 10, "纺织", "东镇", "", "", "", ""],  # 5: chars (O, I)
        ["校验错", wrong_check, 10, "纺织", "东镇", "", "", "", ""],  # 6: check character
        ["重复", BIG, 10, "纺织", "东镇", "", "", "", ""],  # 7: duplicate in file
        ["人数错", code("91320924MA1TEAT04"), "很多", "纺织", "东镇", "", "", "", ""],  # 8
        ["人数负", code("91320924MA1TEAT05"), -3, "纺织", "东镇", "", "", "", ""],  # 9
        ["无此镇", code("91320924MA1TEAT06"), 10, "纺织", "北镇", "", "", "", ""],  # 10
        ["无此园", code("91320924MA1TEAT07"), 10, "纺织", "东镇", "南园", "", "", ""],  # 11
        ["园不在镇", code("91320924MA1TEAT08"), 10, "纺织", "西镇", "东镇工业园", "", "", ""],
        ["新行业", code("91320924MA1TEAT09"), 10, "纺识", "东镇", "", "", "", ""],  # 13
        ["是否错", code("91320924MA1TEAT10"), 10, "纺织", "东镇", "", "", "也许", ""],  # 14
    ]
    bad = write_xlsx(tmp_path / "bad.xlsx", ENTERPRISE_HEADERS, rows)
    before = await _row_counts(session_factory)
    report = await run_import(session_factory, EnterpriseImporter(), bad, apply=True)
    assert not report.written
    found = {(p.row, p.column, p.code) for p in report.problems}
    assert found == {
        (3, "企业名称", "REQUIRED"),
        (4, "统一社会信用代码", "CREDIT_LENGTH"),
        (5, "统一社会信用代码", "CREDIT_CHARS"),
        (6, "统一社会信用代码", "CREDIT_CHECK"),
        (7, "统一社会信用代码", "CREDIT_DUPLICATE"),
        (8, "职工人数", "HEADCOUNT_NUMBER"),
        (9, "职工人数", "HEADCOUNT_RANGE"),
        (10, "所属乡镇", "TOWN_UNKNOWN"),
        (11, "所属园区", "PARK_UNKNOWN"),
        (12, "所属园区", "PARK_TOWN"),
        (13, "行业", "INDUSTRY_UNKNOWN"),
        (14, "是否建会", "YES_NO"),
    }
    # Each problem reads as a Chinese sentence naming row and column.
    lines = report.lines("zh")
    assert any(line.strip().startswith("第 6 行“统一社会信用代码”列：") for line in lines)
    assert await _row_counts(session_factory) == before
    # The good row was processed too (the report says what would happen) but not kept.
    assert report.created == 1


async def test_missing_headers_unknown_columns_and_unreadable_files(
    session_factory: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    no_code = write_xlsx(
        tmp_path / "a.xlsx", ["企业名称", "职工人数", "行业", "所属乡镇", "备注"], []
    )
    report = await run_import(session_factory, EnterpriseImporter(), no_code, apply=False)
    assert [(p.code, p.column) for p in report.problems] == [("HEADER_MISSING", "统一社会信用代码")]
    assert [w.code for w in report.warnings] == ["HEADER_UNKNOWN"]
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    assert [p.code for p in (await run_import(
        session_factory, EnterpriseImporter(), xls, apply=False
    )).problems] == ["FILE_XLS"]  # fmt: skip
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04not really a zip")
    assert [p.code for p in (await run_import(
        session_factory, EnterpriseImporter(), broken, apply=False
    )).problems] == ["FILE_UNREADABLE"]  # fmt: skip
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"\xff\xfe\x00\xd8 not text")
    assert [p.code for p in (await run_import(
        session_factory, EnterpriseImporter(), latin, apply=False
    )).problems] == ["FILE_ENCODING"]  # fmt: skip


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk"])
async def test_csv_in_utf8_or_gbk_with_english_headers_and_a_grid_move(
    session_factory: async_sessionmaker[AsyncSession], tmp_path: Path, encoding: str
) -> None:
    await _small_county(session_factory, tmp_path)
    english = ["Name", "Credit code", "Headcount", "Industry", "Town", "Park"]
    first = write_csv(
        tmp_path / "1.csv",
        english,
        [["东镇纺织厂", GOOD, 120, "纺织", "东镇", "东镇工业园"]],
        encoding,
    )
    report = await run_import(
        session_factory, EnterpriseImporter(allow_new_industries=True), first, apply=True
    )
    assert report.written and report.created == 1, report.lines("en")
    # The same enterprise grows past 200: matched by credit code, updated and moved.
    grown = write_csv(
        tmp_path / "2.csv",
        english,
        [["东镇纺织厂", GOOD, 260, "纺织", "东镇", "东镇工业园"]],
        encoding,
    )
    report = await run_import(session_factory, EnterpriseImporter(), grown, apply=True)
    assert (report.created, report.updated, report.moved) == (0, 1, 1)
    assert report.outcomes[0].action == "MOVED" and report.outcomes[0].grid == f"IND-{GOOD}"
    async with session_factory() as session:
        enterprise = await session.scalar(select(Enterprise).where(Enterprise.credit_code == GOOD))
        assert enterprise is not None and enterprise.name == "东镇纺织厂"
        moves = await session.scalar(
            select(func.count())
            .select_from(GridMove)
            .where(GridMove.enterprise_id == enterprise.id)
        )
        assert moves == 2


async def test_members_import_issues_one_time_codes_and_is_idempotent(
    session_factory: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await _small_county(session_factory, tmp_path)
    rows = [
        ["张网格", "13900000001", "网格员", "TC-T01"],
        ["王镇干", "139 0000 0002", "镇工会", "东镇、西镇"],
        ["李某", "12345", "网格员", "TC-T01"],  # bad phone
        ["赵某", "13900000003", "队长", "TC-T01"],  # unknown role
        ["钱某", "13900000004", "网格员", "TC-T09"],  # unknown grid
        ["孙某", "13900000001", "会员", ""],  # duplicate phone
    ]
    bad = write_xlsx(tmp_path / "m.xlsx", MEMBER_HEADERS, rows)
    actor = Actor(None, "test")
    report = await run_import(session_factory, MemberImporter(actor=actor), bad, apply=True)
    assert not report.written
    assert {(p.row, p.code) for p in report.problems} == {
        (4, "PHONE_INVALID"), (5, "ROLE_UNKNOWN"), (6, "GRID_UNKNOWN"), (7, "PHONE_DUPLICATE"),
    }  # fmt: skip
    good = write_xlsx(tmp_path / "m2.xlsx", MEMBER_HEADERS, rows[:2])
    report = await run_import(session_factory, MemberImporter(actor=actor), good, apply=True)
    assert report.written and report.created == 2 and len(report.codes) == 2
    async with session_factory() as session:
        liaison = await session.scalar(select(Member).where(Member.phone == "13900000001"))
        assert (
            liaison is not None and liaison.roles == ["LIAISON"] and liaison.password_hash is None
        )
        staff = await session.scalar(select(Member).where(Member.phone == "13900000002"))
        assert staff is not None
        served = await session.scalars(
            select(Grid.code).join(MemberGrid, MemberGrid.grid_id == Grid.id)
            .where(MemberGrid.member_id == staff.id)
        )  # fmt: skip
        assert sorted(served) == ["TC-T01", "TC-T02"]
        assert await session.scalar(select(func.count()).select_from(SignInCode)) == 2
    again = await run_import(session_factory, MemberImporter(actor=actor), good, apply=True)
    assert (again.created, again.updated, again.unchanged, again.codes) == (0, 0, 2, [])
