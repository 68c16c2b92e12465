"""The admin's commands: migrate options, import, template, account, and bad input to each (a
message naming the argument, row or column, and a non-zero exit). Most run in this process
through the CLI's main() (tests.admin_support.cli: same parser, handlers and exit codes); a few
run as real processes (tests.test_cli.run), as a deploy script would."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from api.migrate import head_revision
from tests.admin_support import (
    ENTERPRISE_HEADERS,
    GRID_HEADERS,
    MEMBER_HEADERS,
    cli,
    write_xlsx,
)
from tests.test_cli import run


def test_migrate_check_sql_to_and_down(empty_database_url: str) -> None:
    url = empty_database_url
    pending = run(url, "migrate", "--check")  # a real process: what a deploy script sees
    assert pending.returncode == 1 and "0001" in pending.stdout
    sql = cli(url, "migrate", "--sql")
    assert sql.returncode == 0, sql.stderr
    assert "CREATE TABLE grid" in sql.stdout and "CREATE TABLE account_event" in sql.stdout
    if url.startswith("postgresql"):
        assert "SET lock_timeout" in sql.stdout and "CONCURRENTLY" in sql.stdout
    assert cli(url, "migrate", "--check").returncode == 1  # --sql changed nothing

    to = cli(url, "migrate", "--to", "0005")
    assert to.returncode == 0 and "0005" in to.stdout, to.stderr
    rest = cli(url, "migrate", "--sql")
    assert "CREATE TABLE account_event" in rest.stdout and "CREATE TABLE grid " not in rest.stdout
    up = cli(url, "migrate", "--lang", "en")
    assert up.returncode == 0 and f"{head_revision()} (head)" in up.stdout
    assert cli(url, "migrate", "--check").returncode == 0
    assert cli(url, "migrate", "--sql").stdout.startswith("-- ")  # an SQL comment: nothing

    down_sql = cli(url, "migrate", "down", "0005", "--sql")
    assert "DROP TABLE account_event" in down_sql.stdout
    down = cli(url, "migrate", "down", "0005")
    assert down.returncode == 0 and "0005" in down.stdout, down.stderr
    assert cli(url, "migrate", "--check").returncode == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["migrate", "--to", "9999"], "REV: 没有版本为“9999”的迁移"),
        (["migrate", "down"], "REV: "),
        (["migrate", "sideways", "0001"], "ACTION: "),
        (["import", "enterprises", "/nonexistent.xlsx"], "FILE: 文件不存在"),
        (["import", "template", "tickets"], "KIND: 模板种类"),
        (["import", "template", "tickets", "--lang", "en"], "KIND: the template kind is one"),
    ],
)
def test_bad_arguments(tmp_path: Path, args: list[str], expected: str) -> None:
    # Refused before the database is touched: one backend is enough.
    done = cli(f"sqlite:///{tmp_path / 'x.db'}", *args)
    assert done.returncode != 0
    assert expected in done.stderr


def test_import_commands_end_to_end(database_url: str, tmp_path: Path) -> None:
    template = run(
        database_url, "import", "template", "enterprises", "-o", str(tmp_path / "t.xlsx")
    )
    assert template.returncode == 0, template.stderr
    book = load_workbook(tmp_path / "t.xlsx")
    assert [c.value for c in book.worksheets[0][1]] == ENTERPRISE_HEADERS
    assert book.worksheets[0].max_row == 2 and book.sheetnames[1] == "填写说明"

    grids = write_xlsx(
        tmp_path / "g.xlsx",
        GRID_HEADERS,
        [["TC", "测试县", "县", ""], ["TC-T01", "合德镇", "镇", "TC"]],
    )
    dry = cli(database_url, "import", "grids", str(grids))
    assert dry.returncode == 0 and "试运行" in dry.stdout, dry.stderr
    assert cli(database_url, "import", "grids", str(grids), "--apply").returncode == 0

    # The template's own example row imports (its town exists now, its industry is new).
    example = tmp_path / "t.xlsx"
    refused = cli(database_url, "import", "enterprises", str(example))
    assert refused.returncode == 1 and "第 2 行“行业”列" in refused.stdout
    applied = cli(
        database_url, "import", "enterprises", str(example), "--apply",
        "--allow-new-industries", "--details",
    )  # fmt: skip
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "已新建 1 条" in applied.stdout and "TC-T01-J01" in applied.stdout

    members = write_xlsx(
        tmp_path / "m.xlsx", MEMBER_HEADERS, [["张三", "13900000011", "网格员", "TC-T01-J01"]]
    )
    codes = tmp_path / "codes.csv"
    done = run(
        database_url, "import", "members", str(members), "--apply", "--codes-out", str(codes)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "13900000011" in codes.read_text(encoding="utf-8-sig")


def test_account_commands(database_url: str) -> None:
    created = run(  # a real process: the password comes on its standard input
        database_url, "create-user", "--name", "网格员甲", "--phone", "13900002222",
        "--role", "LIAISON", "--password-stdin", stdin="long enough secret\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert (
        cli(database_url, "create-token", "--phone", "13900002222", "--name", "x").returncode == 0
    )
    tokens = cli(database_url, "account", "tokens", "13900002222")
    assert tokens.returncode == 0 and "API" in tokens.stdout
    token_id = tokens.stdout.split()[0]
    revoked = cli(database_url, "account", "revoke-token", "13900002222", token_id)
    assert revoked.returncode == 0, revoked.stderr
    off = cli(database_url, "account", "deactivate", "13900002222")
    assert off.returncode == 0 and "已停用" in off.stdout, off.stderr
    again = cli(database_url, "account", "deactivate", "13900002222")
    assert again.returncode == 2 and "memberId: 该账号已是停用状态" in again.stderr
    english = cli(database_url, "account", "deactivate", "13900002222", "--lang", "en")
    assert "memberId: the account is already deactivated" in english.stderr
    assert cli(database_url, "account", "reactivate", "13900002222").returncode == 0
    code = cli(database_url, "account", "code", "13900002222")
    assert code.returncode == 0 and "一次性登录码" in code.stdout
    roles = cli(database_url, "account", "set-roles", "13900002222", "TOWN_STAFF")
    assert roles.returncode == 0 and "TOWN_STAFF" in roles.stdout
    log = cli(database_url, "account", "log", "13900002222")
    # Each line: when (Beijing time), the action's code, who, details.
    actions = [re.search(r"\b[A-Z][A-Z_]+\b", line).group() for line in log.stdout.splitlines()]
    assert actions == [
        "ROLES_CHANGED",
        "CODE_ISSUED",
        "REACTIVATED",
        "DEACTIVATED",
        "TOKEN_REVOKED",
    ]
    assert "操作人 cli:" in log.stdout
    for args, expected in (
        (["account", "tokens", "12345"], "PHONE: "),
        (["account", "tokens", "13900009999"], "PHONE: "),
        (["account", "revoke-token", "13900002222", "nope"], "TOKEN_ID: "),
        (["account", "set-roles", "13900002222", "KING"], "roles: "),
    ):
        done = cli(database_url, *args, "--lang", "en")
        assert done.returncode == 2 and expected in done.stderr, done.stderr
