"""The documentation keeps up with the code: every error code the API can answer with is listed
in docs/api.md, and no link in the repository points outside it (a reader offline, or on a
network that blocks foreign hosts, can follow every one)."""

from __future__ import annotations

import re
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
