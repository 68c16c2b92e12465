"""The admin's commands: import, account, migrate options, backup, restore, doctor. Registered by
api/cli.py; bodies here so that the shared CLI module stays small."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from api.accounts.service import Actor
from api.config import Settings
from api.db import create_engine, session_factory
from api.errors import invalid

Handler = Callable[[Settings, argparse.Namespace], int]


def _run(settings: Settings, work: Callable[[AsyncEngine], Awaitable[int]]) -> int:
    async def main() -> int:
        engine = create_engine(settings)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def cli_actor() -> Actor:
    """The command line acts as the operating-system user on this host (no member behind it)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return Actor(None, f"cli:{user}@{socket.gethostname()}")


# --- import ---------------------------------------------------------------------------------


def _source(path_text: str) -> Path:
    path = Path(path_text)
    if not path.is_file():
        raise invalid("FILE", f"文件不存在：{path_text} (no such file)")
    return path


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from api.imports.columns import KINDS
    from api.imports.enterprises import EnterpriseImporter
    from api.imports.grids import GridImporter
    from api.imports.members import MemberImporter
    from api.imports.run import run_import
    from api.imports.template import write_template

    if args.kind == "template":
        kind = KINDS.get(args.file)
        if kind is None:
            raise invalid(
                "KIND", f"模板种类应为 {'、'.join(KINDS)} 之一 (template kind), 不是 {args.file!r}"
            )
        out = Path(args.output or f"{kind.name}-template.xlsx")
        write_template(kind, out)
        print(f"模板已写入 {out} (template written)")
        return 0
    source = _source(args.file)
    importer: Any
    if args.kind == "enterprises":
        importer = EnterpriseImporter(allow_new_industries=args.allow_new_industries)
    elif args.kind == "members":
        importer = MemberImporter(actor=cli_actor())
    else:
        importer = GridImporter()

    def progress(rows: int) -> None:
        if args.progress:
            print(f"… {rows}", file=sys.stderr, flush=True)

    async def work(engine: AsyncEngine) -> int:
        report = await run_import(
            session_factory(engine), importer, source, apply=args.apply, on_row=progress
        )
        for line in report.lines(args.lang):
            print(line)
        if args.details:
            for outcome in report.outcomes:
                print("  " + outcome.line(args.lang))
        if report.written and report.codes and args.codes_out:
            with open(args.codes_out, "w", encoding="utf-8-sig") as out:
                out.write("姓名,手机号,一次性登录码\n")
                out.writelines(f"{c.name},{c.phone},{c.code}\n" for c in report.codes)
        return 0 if report.ok else 1

    return _run(settings, work)


def add_import(commands: Any) -> None:
    parser = commands.add_parser(
        "import",
        help="import grids, enterprises or members from XLSX/CSV (dry run unless --apply)",
        description="Dry run by default: reports what would be created, updated and moved and "
        "every problem (row, column, sentence), writing nothing. --apply writes it all in one "
        "transaction, or nothing when a problem is found.",
    )
    parser.add_argument("kind", choices=["grids", "enterprises", "members", "template"])
    parser.add_argument(
        "file", help="the .xlsx or .csv file (for template: enterprises|members|grids)"
    )
    parser.add_argument("--apply", action="store_true", help="write the changes")
    parser.add_argument(
        "--allow-new-industries", action="store_true", help="accept industries not yet known"
    )
    parser.add_argument("--details", action="store_true", help="one line per row with its grid")
    parser.add_argument("--codes-out", help="members: write the one-time codes to this CSV")
    parser.add_argument("--output", "-o", help="template: where to write the XLSX")
    parser.add_argument("--lang", choices=["zh", "en"], default="zh")
    parser.add_argument("--progress", action="store_true", help="print rows read to stderr")
    parser.set_defaults(handler=cmd_import)


# --- migrate --------------------------------------------------------------------------------


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from api.migrate import (
        current_revision,
        downgrade,
        head_revision,
        known_revision,
        offline_sql,
        pending_revisions,
        upgrade,
    )
    from api.tickets.deadlines import ensure_default_policies

    down = args.direction == "down"
    if args.direction not in (None, "down"):
        raise invalid(
            "ACTION", f"unknown action {args.direction!r}; use: gridlink migrate down REV"
        )
    target = args.revision if down else (args.to or "head")
    if down and not target:
        raise invalid("REV", "give the revision to go down to, e.g. gridlink migrate down 0005")
    if not known_revision(target):
        raise invalid("REV", f"no migration with revision {target!r}")
    if down and target == "head":
        raise invalid("REV", "down goes to an older revision, not head")

    async def work(engine: AsyncEngine) -> int:
        url = engine.url.render_as_string(hide_password=False)
        current = await current_revision(engine)
        if args.sql:
            # From the database's own revision: the SQL of what is pending, nothing more.
            if (current or "base") == (head_revision() if target == "head" else target):
                print(f"-- nothing to do: the database is at {current}")
                return 0
            span = f"{current or 'base'}:{target}"
            print(await asyncio.to_thread(offline_sql, url, span, down=down), end="")
            return 0
        if args.check:
            pending = pending_revisions(current)
            if pending:
                print(
                    f"迁移未完成：数据库在 {current or '空库'}，待执行 {', '.join(pending)}；"
                    f"运行 gridlink migrate。 (pending migrations: {', '.join(pending)})"
                )
                return 1
            print(f"数据库已是最新版本 {current} (database at head)")
            return 0
        if down:
            await downgrade(engine, target)
        else:
            await upgrade(engine, target)
        now = await current_revision(engine)
        shown = engine.url.render_as_string(hide_password=True)
        print(f"database at {now or 'base'}{' (head)' if now == head_revision() else ''}: {shown}")
        if now == head_revision():
            async with session_factory(engine)() as session, session.begin():
                added = await ensure_default_policies(session)
            if added:
                print(f"deadline policies: {added} default rows written")
        return 0

    return _run(settings, work)


def add_migrate(commands: Any) -> None:
    parser = commands.add_parser(
        "migrate",
        help="upgrade the database (options: --sql, --check, --to REV; down REV)",
        description="gridlink migrate: upgrade to the newest schema. --sql prints the SQL of "
        "the pending migrations for review and changes nothing; --check exits 1 when migrations "
        "are pending; --to REV stops at REV; 'gridlink migrate down REV' goes back to REV.",
    )
    parser.add_argument("direction", nargs="?", metavar="down", help="'down' to downgrade")
    parser.add_argument("revision", nargs="?", metavar="REV", help="the revision to go down to")
    parser.add_argument("--sql", action="store_true", help="print the SQL, change nothing")
    parser.add_argument("--check", action="store_true", help="exit 1 when migrations are pending")
    parser.add_argument("--to", metavar="REV", help="upgrade up to this revision")
    parser.set_defaults(handler=cmd_migrate)


def register(commands: Any) -> None:
    add_migrate(commands)
    add_import(commands)
