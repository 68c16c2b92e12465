"""The catalogue against the code: which messages the code makes (every ``_("...")`` and
``N_("...", "Context")`` in api/, sync/ and schema/), which lack their Chinese, which entries
no code uses. ``python -m api.i18n.check`` prints the missing ones as .po entries to fill in;
tests/test_i18n.py fails on any of them."""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.pofile import read_po

from api.i18n import CATALOGUES, ZH_CN, fields_of

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("api", "sync", "schema")
# function -> how many leading literal arguments it takes (the id, then the context)
MESSAGE_CALLS = {"_": 1, "N_": 2}
HAN = re.compile(r"[\u4e00-\u9fff]")

Key = tuple[str | None, str]


@dataclass
class Findings:
    used: dict[Key, str] = field(default_factory=dict)  # message -> first place it is made
    not_literal: list[str] = field(default_factory=list)
    missing: list[Key] = field(default_factory=list)
    unused: list[Key] = field(default_factory=list)
    untranslated: list[str] = field(default_factory=list)


def used_messages(findings: Findings) -> None:
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if not (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in MESSAGE_CALLS
                ):
                    continue
                args = node.args[: MESSAGE_CALLS[node.func.id]]
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                literal = all(
                    isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args
                )
                if not args or not literal:
                    findings.not_literal.append(where)
                    continue
                key = (args[1].value if len(args) > 1 else None, args[0].value)
                findings.used.setdefault(key, where)  # type: ignore[arg-type]


def check() -> Findings:
    findings = Findings()
    used_messages(findings)
    with CATALOGUES[ZH_CN].open("rb") as file:
        entries = [entry for entry in read_po(file) if entry.id]
    known = {(entry.context, str(entry.id)) for entry in entries}
    findings.missing = sorted(set(findings.used) - known, key=str)
    findings.unused = sorted(known - set(findings.used), key=str)
    for entry in entries:
        english, chinese = str(entry.id), str(entry.string)
        if not chinese or entry.fuzzy:
            findings.untranslated.append(f"{english!r}: no Chinese")
            continue
        letters = re.search(r"[A-Za-z]{2}", re.sub(r"\{[^}]*\}", "", english))
        if letters and not HAN.search(chinese):
            findings.untranslated.append(f"{english!r}: {chinese!r} is not Chinese")
        if fields_of(english) != fields_of(chinese):
            findings.untranslated.append(
                f"{english!r}: fields {sorted(fields_of(chinese))} != {sorted(fields_of(english))}"
            )
    return findings


def _po_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def main() -> int:
    findings = check()
    for where in findings.not_literal:
        print(f"# not a literal message id: {where}", file=sys.stderr)
    for context, msgid in findings.missing:
        print(f"#: {findings.used[(context, msgid)]}")
        if context:
            print(f"msgctxt {_po_string(context)}")
        print(f'msgid {_po_string(msgid)}\nmsgstr ""\n')
    for context, msgid in findings.unused:
        print(f"# unused: {context or ''} {msgid!r}", file=sys.stderr)
    for problem in findings.untranslated:
        print(f"# {problem}", file=sys.stderr)
    return 1 if (findings.missing or findings.unused or findings.not_literal) else 0


if __name__ == "__main__":
    sys.exit(main())
