"""The command line speaks Chinese first: its help, its output, its refusals and argparse's own
texts ("usage:", section titles, "the following arguments are required").

The language is chosen before the parser is built (the help texts are made as the parser is
built): ``--lang en`` anywhere on the command line, else ``GRIDLINK_LANG``, else Chinese.

argparse makes its own texts through gettext's default domain, which reads only compiled .mo
files from a locale folder; gridlink's catalogue is one .po file read at start (api/i18n). So
while a command line is parsed, argparse's module-level ``_`` and ``ngettext`` — the names its
functions look up when they make a text — point at the catalogue. This is the one place that
touches argparse's internals; tests/test_cli_language.py names both and fails if a Python
release renames them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence

from api.i18n import EN, N_, ZH_CN, Lazy, _, current_language, supported, translate

ENVIRONMENT_VARIABLE = "GRIDLINK_LANG"
_CONTEXT = "argparse"

# The texts argparse shows a person (Python 3.11–3.13), in the catalogue under the context
# "argparse"; its texts for programming mistakes (a parser built wrongly) stay English.
ARGPARSE_TEXTS: tuple[Lazy, ...] = (
    N_("usage: ", "argparse"),
    N_("positional arguments", "argparse"),
    N_("options", "argparse"),
    N_("show this help message and exit", "argparse"),
    N_("%(prog)s: error: %(message)s\n", "argparse"),
    N_("argument %(argument_name)s: %(message)s", "argparse"),
    N_("the following arguments are required: %s", "argparse"),
    N_("one of the arguments %s is required", "argparse"),
    N_("unrecognized arguments: %s", "argparse"),
    N_("not allowed with argument %s", "argparse"),
    N_("ignored explicit argument %r", "argparse"),
    N_("expected one argument", "argparse"),
    N_("expected at most one argument", "argparse"),
    N_("expected at least one argument", "argparse"),
    N_("expected %s argument", "argparse"),
    N_("expected %s arguments", "argparse"),
    N_("ambiguous option: %(option)s could match %(matches)s", "argparse"),
    N_("unexpected option string: %s", "argparse"),
    N_("invalid %(type)s value: %(value)r", "argparse"),
    N_("invalid choice: %(value)r (choose from %(choices)s)", "argparse"),
    N_("can't open '%(filename)s': %(error)s", "argparse"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)", "argparse"),
)


def chosen_language(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> str:
    """The language of this command line: its ``--lang`` (the last one given), else
    ``GRIDLINK_LANG``, else Chinese. A value gridlink does not speak counts as not given
    (the parser then refuses it, in Chinese)."""
    given: str | None = None
    for position, word in enumerate(argv):
        if word == "--":
            break
        if word == "--lang" and position + 1 < len(argv):
            given = argv[position + 1]
        elif word.startswith("--lang="):
            given = word.partition("=")[2]
    environ = os.environ if environ is None else environ
    for value in (given, environ.get(ENVIRONMENT_VARIABLE)):
        language = supported(value) if value else None
        if language is not None:
            return language
    return ZH_CN


def language_value(value: str) -> str:
    """``--lang``'s type: zh, zh-CN, en (any case, _ or -) -> ZH_CN or EN."""
    language = supported(value)
    if language is None:
        raise argparse.ArgumentTypeError(_("choose one of {languages}", languages="zh-CN, en"))
    return language


def add_language_option(parser: argparse.ArgumentParser) -> None:
    """``--lang`` on every command that runs (not on those that only group others)."""
    subcommands = [
        action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    ]
    if subcommands:
        for sub in subcommands:
            for child in dict.fromkeys(sub.choices.values()):
                add_language_option(child)
        return
    parser.add_argument(
        "--lang",
        type=language_value,
        default=ZH_CN,
        metavar="{zh-CN,en}",
        help=_("output language: zh-CN (default) or en; or set GRIDLINK_LANG"),
    )


def _argparse_text(message: str) -> str:
    return translate(current_language(), message, _CONTEXT, {})


def _argparse_plural(singular: str, plural: str, count: int) -> str:
    return _argparse_text(singular if count == 1 else plural)


@contextlib.contextmanager
def argparse_speaks_current_language() -> Iterator[None]:
    """argparse's own texts in the current language while the block runs."""
    saved = argparse._, argparse.ngettext  # type: ignore[attr-defined]
    argparse._ = _argparse_text  # type: ignore[attr-defined]
    argparse.ngettext = _argparse_plural  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved  # type: ignore[attr-defined]


__all__ = [
    "ARGPARSE_TEXTS",
    "EN",
    "ZH_CN",
    "add_language_option",
    "argparse_speaks_current_language",
    "chosen_language",
    "language_value",
]
