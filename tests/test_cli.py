"""The `gridlink` command, run as a real process: good and bad input to each command."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from api.i18n import ZH_CN, render
from api.members.models import Role

ROOT = Path(__file__).resolve().parent.parent


def run(database_url: str, *args: str, env: dict[str, str] | None = None, stdin: str = ""):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLINK_")}
    environ["GRIDLINK_DATABASE_URL"] = database_url
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "api.edge.cli", *args],
        cwd=ROOT,
        env=environ,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_users_and_tokens(database_url: str) -> None:
    migrated = run(database_url, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    created = run(
        database_url,
        "create-user",
        "--name",
        "Li Ming",
        "--phone",
        "13900001111",
        "--role",
        "county_staff,admin",
        "--password-stdin",
        stdin="long enough secret\n",
    )
    assert created.returncode == 0, created.stderr
    # Roles by their labels (the CLI speaks Chinese by default), never raw.
    assert render(Role.COUNTY_STAFF, ZH_CN) in created.stdout
    assert render(Role.ADMIN, ZH_CN) in created.stdout
    token = run(database_url, "create-token", "--phone", "13900001111", "--name", "dashboard")
    assert token.returncode == 0, token.stderr
    assert token.stdout.strip().startswith("glk_")


@pytest.mark.parametrize(
    ("args", "stdin", "expected"),
    [
        (
            ["create-user", "--name", "X", "--phone", "123", "--role", "LIAISON", "--no-password"],
            "",
            "phone: ",  # the field at fault, then its message
        ),
        (
            [
                "create-user",
                "--name",
                "X",
                "--phone",
                "13900002222",
                "--role",
                "BOSS",
                "--no-password",
            ],
            "",
            "roles: ",
        ),
        (
            [
                "create-user",
                "--name",
                "X",
                "--phone",
                "13900002222",
                "--role",
                "LIAISON",
                "--grid",
                "NOPE",
                "--no-password",
            ],
            "",
            "grid: ",
        ),
        (
            [
                "create-user",
                "--name",
                "X",
                "--phone",
                "13900002222",
                "--role",
                "LIAISON",
                "--password-stdin",
            ],
            "short\n",
            "password: ",
        ),
        (
            ["create-token", "--phone", "13900009999", "--name", "x"],
            "",
            "phone: ",
        ),
        (
            ["create-token", "--phone", "13900009999", "--name", "x", "--expires", "soon"],
            "",
            "--expires ",
        ),
    ],
)
def test_bad_arguments_exit_non_zero_with_a_clear_line(database_url, args, stdin, expected):
    result = run(database_url, *args, stdin=stdin)
    assert result.returncode == 2, result
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_settings_and_usage(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    bad_port = run(url, "serve", env={"GRIDLINK_PORT": "http"})
    assert bad_port.returncode == 2 and "GRIDLINK_PORT" in bad_port.stderr
    bad_url = run("mysql://root@localhost/x", "migrate")
    assert bad_url.returncode == 2 and "GRIDLINK_DATABASE_URL" in bad_url.stderr
    missing = run(url, "create-user", "--name", "X")
    # argparse's own refusals in Chinese too (api/edge/cli_language.py).
    assert missing.returncode == 2 and "缺少必需的参数：--phone, --role" in missing.stderr
    unknown = run(url, "frobnicate")
    assert unknown.returncode == 2 and "无效的选择：'frobnicate'" in unknown.stderr
