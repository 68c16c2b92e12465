"""The documentation keeps up with the code: every error code the API can answer with is listed
in docs/api.md, and no link in the repository points outside it (a reader offline, or on a
network that blocks foreign hosts, can follow every one)."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

from api.edge.graphql_view import HTTP_CODES

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {".git", ".venv", "node_modules", "var", ".pytest_cache", ".ruff_cache"}
# Where the server's codes are written: domain errors, payload errors, top-level errors.
CODE_PATTERNS = [
    re.compile(r'DomainError\(\s*"([A-Z][A-Z_]+)"'),
    re.compile(r'\bcode\s*=\s*"([A-Z][A-Z_]+)"'),
    re.compile(r'"code"\s*:\s*"([A-Z][A-Z_]+)"'),
    re.compile(r'coded_error\([^()]*,\s*"([A-Z][A-Z_]+)"\)'),
    re.compile(r'PersistedQueryError\(\s*"[^"]*",\s*"([A-Z][A-Z_]+)"'),
    re.compile(r'^\s+return "([A-Z][A-Z_]+)"$', re.M),  # api/edge/graphql_view.py's request codes
]
# The reference sync client's own failure codes are raised in the client, not sent by the API.
NOT_SERVER_CODE = {ROOT / "sync" / "client.py"}


def _files(pattern: str) -> list[Path]:
    return [
        path
        for path in ROOT.rglob(pattern)
        if not SKIP_DIRS.intersection(path.relative_to(ROOT).parts)
    ]


def server_codes() -> dict[str, str]:
    found = {code: "api/edge/graphql_view.py" for code in HTTP_CODES.values()}
    for folder in ("api", "schema", "sync"):
        for path in (ROOT / folder).rglob("*.py"):
            if path in NOT_SERVER_CODE:
                continue
            text = path.read_text(encoding="utf-8")
            for pattern in CODE_PATTERNS:
                for code in pattern.findall(text):
                    found.setdefault(code, str(path.relative_to(ROOT)))
    return found


def test_every_error_code_is_documented() -> None:
    api_doc = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    section = api_doc[api_doc.index("## Error codes") :]
    # The sync protocol's own refusals are documented with the protocol.
    section += (ROOT / "docs" / "sync-protocol.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`([A-Z][A-Z_]+)`", section))
    codes = server_codes()
    assert {"INVALID_CREDENTIALS", "BAD_USER_INPUT", "REQUEST_TOO_LARGE"} <= codes.keys()
    missing = {code: where for code, where in codes.items() if code not in documented}
    assert not missing, f"list these codes in docs/api.md's 'Error codes': {missing}"


FENCE = re.compile(r"^```.*?^```", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
MD_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
OUTSIDE = re.compile(r"\b(?:https?|ftp)://|^//|^mailto:", re.I)
HTML_LINK = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", re.I)


def _markdown_links(path: Path) -> list[str]:
    text = INLINE_CODE.sub("", FENCE.sub("", path.read_text(encoding="utf-8")))
    links = MD_LINK.findall(text)
    # A bare URL in prose is a link too (renderers make it one).
    links += re.findall(r"(?:https?|ftp)://\S+", MD_LINK.sub("", text))
    return links


def test_no_link_points_outside_the_repository() -> None:
    problems: list[str] = []
    for path in _files("*.md"):
        for target in _markdown_links(path):
            where = f"{path.relative_to(ROOT)}: {target}"
            if OUTSIDE.search(target):
                problems.append(f"{where} (outside the repository)")
                continue
            local = target.split("#", 1)[0]
            if not local:
                continue  # an anchor on the same page
            resolved = (path.parent / local).resolve()
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                problems.append(f"{where} (no such file in the repository)")
    for path in _files("*.html"):
        for target in HTML_LINK.findall(path.read_text(encoding="utf-8")):
            if OUTSIDE.search(target):
                problems.append(f"{path.relative_to(ROOT)}: {target} (outside the repository)")
    assert not problems, "\n".join(problems)


# --- references resolve: links, "docs/x.md#anchor" mentions, sections, invariant numbers ----

TEXT_SUFFIXES = {".py", ".js", ".mjs", ".sh", ".toml", ".cfg", ".ini", ".html", ".md", ".mako"}
# Vendored third-party files speak of their own repositories.
FOREIGN = {ROOT / "web" / "vendor", ROOT / "api" / "edge" / "graphiql" / "vendor"}
# A file named in prose or a comment: "docs/api.md", "README.md#the-two-commands", "notes.md".
MENTION = re.compile(r"(?<![\w./-])((?:[\w-]+/)*[\w.-]*\w\.md)(?:#([\w-]+))?\b")
# A section named after the file: docs/api.md "Visibility", (docs/sync-protocol.md, Attachments).
SECTION = re.compile(r"\b(docs/[\w-]+\.md),?\s+(?:\"([^\"\n]+)\"|([A-Z][\w -]*)\))")
INVARIANTS = re.compile(r"\b[Ii]nvariants?\s+(\d+(?:\s*[–-]\s*\d+)?(?:,\s*\d+(?:\s*[–-]\s*\d+)?)*)")
# Design notes kept outside the repository; a reader of the repository cannot follow them.
OUTSIDE_NOTES = re.compile(
    r"\.\./" + "shared|shared/" + r"(?:design|domain)|\b(?:SYNC|PERFORMANCE|BRIEF)\.md"
)


def _text_files() -> list[Path]:
    return [
        path
        for path in _files("*")
        if path.is_file()
        and (path.suffix in TEXT_SUFFIXES or path.name == "Makefile")
        and not any(path.is_relative_to(folder) for folder in FOREIGN)
    ]


def slug(heading: str) -> str:
    """The anchor a Markdown renderer gives a heading (GitHub's rule)."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def headings(path: Path) -> list[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return [match.strip() for match in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", text, re.M)]


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for heading in headings(path):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def prose(path: Path) -> str:
    """What a reader of a file reads as words: a Python module's comments and docstrings (its
    other strings are data, such as path parts), any other file whole."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".py":
        return text
    parts = [
        token.string
        for token in tokenize.generate_tokens(io.StringIO(text).readline)
        if token.type == tokenize.COMMENT
    ]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            parts.append(ast.get_docstring(node, clean=False) or "")
    return "\n".join(parts)


def _resolve(path: Path, target: str) -> Path | None:
    """A file named from `path`: relative to it, else to the repository root."""
    for base in (path.parent, ROOT):
        resolved = (base / target).resolve()
        if resolved.is_relative_to(ROOT) and resolved.exists():
            return resolved
    return None


def _anchor_problem(target: Path, anchor: str | None) -> str | None:
    if anchor and target.suffix == ".md" and anchor not in anchors(target):
        return f"no heading #{anchor} in {target.relative_to(ROOT)}"
    return None


def invariant_count() -> int:
    text = (ROOT / "docs" / "sync-protocol.md").read_text(encoding="utf-8")
    section = text[text.index("\n## Invariants") :].split("\n## ", 2)[1]
    return len(re.findall(r"^\d+\. ", section, re.M))


def reference_problems() -> list[str]:
    problems: list[str] = []
    invariants = invariant_count()
    for path in _text_files():
        if path == Path(__file__).resolve():
            continue  # its own examples of what it refuses
        raw = prose(path)
        name = str(path.relative_to(ROOT))
        if path.suffix == ".md":
            text = INLINE_CODE.sub("", FENCE.sub("", raw))
            for target in MD_LINK.findall(text):
                if OUTSIDE.search(target):
                    continue  # test_no_link_points_outside_the_repository says so
                local, _, anchor = target.partition("#")
                # A link is relative to its page (a renderer knows no other base).
                resolved = (path.parent / local).resolve() if local else path
                if not resolved.is_relative_to(ROOT) or not resolved.exists():
                    problems.append(f"{name}: link {target} (no such file)")
                elif problem := _anchor_problem(resolved, anchor or None):
                    problems.append(f"{name}: link {target} ({problem})")
        if match := OUTSIDE_NOTES.search(raw):
            problems.append(f"{name}: cites {match.group(0)}, which is not in the repository")
        # Mentions in prose, comments and docstrings; in Markdown only those from the root
        # (docs/…, README.md), since a relative mention there is usually a link's own text.
        for target, anchor in MENTION.findall(raw):
            if path.suffix == ".md" and not (target.startswith("docs/") or target == "README.md"):
                continue
            resolved = _resolve(path, target)
            if resolved is None:
                problems.append(f"{name}: mentions {target}, which is not in the repository")
            elif problem := _anchor_problem(resolved, anchor or None):
                problems.append(f"{name}: mentions {target}#{anchor} ({problem})")
        for target, quoted, bare in SECTION.findall(raw):
            wanted = (quoted or bare).strip().lower()
            if (ROOT / target).exists() and not any(
                wanted in heading.lower() for heading in headings(ROOT / target)
            ):
                problems.append(f"{name}: {target} has no section {quoted or bare!r}")
        for numbers in INVARIANTS.findall(raw):
            for number in re.findall(r"\d+", numbers):
                if not 1 <= int(number) <= invariants:
                    problems.append(f"{name}: invariant {number} is not in docs/sync-protocol.md")
    return problems


def test_every_reference_resolves() -> None:
    # Links and anchors in the docs, files and sections named in comments and docstrings, and
    # "invariant N" (docs/sync-protocol.md#invariants) all lead somewhere in the repository.
    problems = reference_problems()
    assert not problems, "\n".join(problems)


def test_the_reference_check_sees_dangling_ones(tmp_path: Path) -> None:
    assert slug("Merge rules per field (the three-way merge from `baseVersion`)") == (
        "merge-rules-per-field-the-three-way-merge-from-baseversion"
    )
    assert slug("5. 升级 · Upgrade") == "5-升级--upgrade"
    assert "invariants" in anchors(ROOT / "docs" / "sync-protocol.md")
    assert _resolve(ROOT / "api" / "x.py", "docs/nowhere.md") is None
    assert _anchor_problem(ROOT / "docs" / "api.md", "no-such-heading")
    assert OUTSIDE_NOTES.search("see " + "SYNC" + ".md invariant 4")
    assert SECTION.search('(docs/api.md, "Performance")') and INVARIANTS.findall(
        "invariants 1–3, 5"
    )
