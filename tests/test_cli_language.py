"""The command line speaks Chinese first: every command's help, argparse's own texts and its
refusals; ``--lang en`` or ``GRIDLINK_LANG=en`` switch all of it to English."""

from __future__ import annotations

import argparse
import inspect
import re
import subprocess
import sys

import pytest

from api.edge.cli import build_parser, main
from api.edge.cli_language import (
    ARGPARSE_TEXTS,
    argparse_speaks_current_language,
    chosen_language,
)
from api.i18n import EN, ZH_CN, use_language

HAN = re.compile(r"[\u4e00-\u9fff]")


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):  # noqa: ANN202
    """(command path, parser) for every command that runs."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        yield path, parser
    for group in groups:
        for name, child in group.choices.items():
            yield from _commands(child, (*path, name))


def test_the_argparse_internals_the_translation_needs_are_there() -> None:
    # cli_language points these module-level names at the catalogue while a command line is
    # parsed; a Python release that renames them breaks the Chinese help, and this test says so.
    assert callable(argparse._) and callable(argparse.ngettext)
    assert isinstance(build_parser()._actions, list)
    assert issubclass(argparse._SubParsersAction, argparse.Action)
    source = inspect.getsource(argparse)
    for text in ARGPARSE_TEXTS:
        assert repr(text.msgid)[1:-1] in source, f"argparse no longer says {text.msgid!r}"


def test_the_patch_is_undone_after_parsing() -> None:
    before = argparse._
    with pytest.raises(SystemExit):
        main(["report"])
    assert argparse._ is before


@pytest.mark.parametrize(
    ("argv", "environment", "expected"),
    [
        ([], {}, ZH_CN),
        (["report", "--lang", "en"], {}, EN),
        (["report", "--lang=en"], {}, EN),
        (["report", "--lang", "EN-gb"], {}, EN),
        (["report"], {"GRIDLINK_LANG": "en"}, EN),
        (["report", "--lang", "zh"], {"GRIDLINK_LANG": "en"}, ZH_CN),
        (["report", "--lang", "fr"], {}, ZH_CN),
        (["report", "--", "--lang", "en"], {}, ZH_CN),
    ],
)
def test_the_language_is_chosen_before_parsing(
    argv: list[str], environment: dict[str, str], expected: str
) -> None:
    assert chosen_language(argv, environment) == expected


def test_every_command_and_option_has_chinese_help_and_takes_lang() -> None:
    with use_language(ZH_CN), argparse_speaks_current_language():
        parser = build_parser()
    commands = list(_commands(parser))
    assert len(commands) >= 17, [path for path, _ in commands]
    for path, command in commands:
        options = {o for action in command._actions for o in action.option_strings}
        assert "--lang" in options, path
        for action in command._actions:
            assert action.help and HAN.search(action.help), (path, action.dest, action.help)
        if command.description:
            assert HAN.search(command.description), path
    for group in (a for a in parser._actions if isinstance(a, argparse._SubParsersAction)):
        for choice in group._choices_actions:
            assert HAN.search(choice.help), choice.dest


def test_help_and_refusals_in_chinese_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--help"])
    assert stopped.value.code == 0
    shown = capsys.readouterr().out
    assert shown.startswith("用法：gridlink") and "显示本帮助并退出" in shown, shown[:200]
    assert "提供 GraphQL API 服务" in shown

    with pytest.raises(SystemExit) as stopped:
        main(["report"])
    assert stopped.value.code == 2
    assert "gridlink report：错误：缺少必需的参数：--month" in capsys.readouterr().err

    with pytest.raises(SystemExit):
        main(["serve", "--workers", "100"])
    assert "参数 --workers：应为 1 到 64 之间的整数" in capsys.readouterr().err

    with pytest.raises(SystemExit):
        main(["rules", "show", "--kind", "nonsense"])
    assert "无效的选择：'nonsense'" in capsys.readouterr().err


def test_english_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["report", "--lang", "en"])
    assert "gridlink report: error: the following arguments are required: --month" in (
        capsys.readouterr().err
    )
    with pytest.raises(SystemExit):
        main(["import", "--help", "--lang", "en"])
    shown = capsys.readouterr().out
    assert shown.startswith("usage: gridlink import") and not HAN.search(shown), shown


def test_the_installed_command_follows_gridlink_lang() -> None:
    # The real entry point in its own process, as an admin's shell runs it.
    english = subprocess.run(
        [sys.executable, "-m", "api.edge.cli", "migrate", "--to"],
        capture_output=True,
        text=True,
        env={"GRIDLINK_LANG": "en", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert english.returncode == 2
    assert "argument --to: expected one argument" in english.stderr, english.stderr
    chinese = subprocess.run(
        [sys.executable, "-m", "api.edge.cli", "migrate", "--to"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert "参数 --to：应当跟一个值" in chinese.stderr, chinese.stderr
