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
    # Plain strings where a person reads a message (path:line: the text).
    bare: list[str] = field(default_factory=list)


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


# Where a message goes: callee name -> the positional index of its message argument (None:
# only by keyword). Keywords named in MESSAGE_KEYWORDS are messages in any call.
MESSAGE_ARGUMENTS: dict[str, int | None] = {
    "DomainError": 1,
    "UploadRefused": 2,
    "invalid": 1,
    "not_found": 1,
    "forbidden": 0,
    "unauthenticated": 0,
    "coded_error": 0,
    "GraphQLError": 0,
    "TokenRejected": 0,
    "PersistedQueryError": 0,
    "SheetError": 0,
    "BackupError": 0,
    "SettingsError": 0,
    "Refused": 0,
    "UserError": None,
    "SyncError": None,
    "notify": None,
    "HTTPException": 1,
    "PlainTextResponse": 0,
}
MESSAGE_KEYWORDS = {"message", "reason", "title", "body", "what", "detail"}
# Exceptions of Python itself carry a developer's words (a bug, not a person's mistake).
DEVELOPER_ERRORS = {
    "ValueError",
    "TypeError",
    "RuntimeError",
    "KeyError",
    "AssertionError",
    "NotImplementedError",
    "LookupError",
    "AttributeError",
    "SystemExit",
}
# A line may say why its text is not a message (a machine format, a developer's note).
NOT_A_MESSAGE = "# not a message"
# Words in either language (a Chinese-only text in the code is as untranslatable).
LETTERS = re.compile(r"[A-Za-z]{2}|[\u4e00-\u9fff]")


def _is_text(node: ast.expr | None) -> bool:
    """A literal (or f-string, or either branch of a conditional) with words in it: a message
    written in English in the code instead of made by ``_()``."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(LETTERS.search(node.value))
    if isinstance(node, ast.JoinedStr):
        return any(_is_text(part) for part in node.values if isinstance(part, ast.Constant))
    if isinstance(node, ast.IfExp):
        return _is_text(node.body) or _is_text(node.orelse)
    if isinstance(node, ast.BoolOp):
        return any(_is_text(value) for value in node.values)
    if isinstance(node, ast.BinOp):
        return _is_text(node.left) or _is_text(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr == "format" and _is_text(node.func.value)
    return False


def _callee(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _message_arguments(node: ast.Call) -> list[ast.expr]:
    name = _callee(node)
    found = [k.value for k in node.keywords if k.arg in MESSAGE_KEYWORDS]
    if name in MESSAGE_ARGUMENTS:
        index = MESSAGE_ARGUMENTS[name]
        if index is not None and len(node.args) > index:
            found.append(node.args[index])
    elif name and name.endswith("Error") and name not in DEVELOPER_ERRORS and node.args:
        found.append(node.args[0])
    return found


def bare_messages(findings: Findings) -> None:
    """Messages a person reads that are plain English in the code: error messages and reasons,
    notification titles and bodies, what the CLI prints."""
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.parent.name == "i18n" and path.parent.parent.name == "api":
                continue
            source = path.read_text(encoding="utf-8")
            lines = source.splitlines()
            for node in ast.walk(ast.parse(source, filename=str(path))):
                candidates: list[ast.expr] = []
                if isinstance(node, ast.Dict):
                    # {"message": "..."}: an error body written by hand.
                    candidates = [
                        value
                        for key, value in zip(node.keys, node.values, strict=True)
                        if isinstance(key, ast.Constant) and key.value in {"message", "detail"}
                    ]
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    # def refuse(message: str = "..."): a default message.
                    arguments = node.args
                    named = [*arguments.args, *arguments.kwonlyargs]
                    defaults = [
                        *([None] * (len(arguments.args) - len(arguments.defaults))),
                        *arguments.defaults,
                        *arguments.kw_defaults,
                    ]
                    candidates = [
                        default
                        for argument, default in zip(named, defaults, strict=True)
                        if default is not None and argument.arg in MESSAGE_KEYWORDS
                    ]
                if not isinstance(node, ast.Call):
                    self_lineno = getattr(node, "lineno", 0)
                    for argument in candidates:
                        if _is_text(argument):
                            _report(findings, path, lines, self_lineno, argument)
                    continue
                candidates = _message_arguments(node)
                if _callee(node) == "print" and isinstance(node.func, ast.Name) and node.args:
                    candidates.append(node.args[0])
                for argument in candidates:
                    if _is_text(argument):
                        _report(findings, path, lines, node.lineno, argument)


def _report(
    findings: Findings, path: Path, lines: list[str], start: int, argument: ast.expr
) -> None:
    end = getattr(argument, "end_lineno", None) or argument.lineno
    if NOT_A_MESSAGE in "\n".join(lines[min(start, argument.lineno) - 1 : end]):
        return
    where = f"{path.relative_to(ROOT)}:{argument.lineno}"
    findings.bare.append(f"{where}: {lines[argument.lineno - 1].strip()}")


def check() -> Findings:
    findings = Findings()
    used_messages(findings)
    bare_messages(findings)
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
    for where in findings.bare:
        print(f"# a message not made by _(): {where}", file=sys.stderr)
    failed = findings.missing or findings.unused or findings.not_literal or findings.bare
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
