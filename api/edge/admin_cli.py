"""The admin's commands: import, account, migrate options, backup, restore, doctor. Registered by
api/edge/cli.py; bodies here so that the shared CLI module stays small."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import socket
import sys
import uuid
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
    from api.rules.seed import seed_rule_versions
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
                seeded = await seed_rule_versions(session, settings.risk_rules)
            if added:
                print(f"deadline policies: {added} default rows written")
            if seeded:
                print(f"rule versions: version 1 of {', '.join(seeded)} recorded")
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


# --- account --------------------------------------------------------------------------------


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def cmd_account(settings: Settings, args: argparse.Namespace) -> int:
    import sync  # noqa: F401  (the change log sees is_active and grid changes)
    from api.accounts import service
    from api.accounts.models import CodePurpose
    from sync.devices import deactivate_account, member_devices, revoke_device

    actor = cli_actor()

    async def work(engine: AsyncEngine) -> int:
        async with session_factory(engine)() as session, session.begin():
            member = await service.member_by_phone(session, args.phone, "PHONE")
            who = f"{member.name} {member.phone}"
            action = args.action
            if action == "deactivate":
                done, pushes = await deactivate_account(session, member.id, actor)
                print(
                    f"已停用 {who}：撤销令牌 {done.tokens_revoked} 个，移除推送订阅 {pushes} 个。"
                )
                if done.open_tickets:
                    print(
                        f"需改派的未结工单 {len(done.open_tickets)} 件 (open tickets to reassign):"
                    )
                    for ticket in done.open_tickets:
                        print(f"  {ticket.number} {ticket.status.value} {ticket.title}")
                else:
                    print("没有需改派的未结工单 (no open tickets).")
            elif action == "reactivate":
                await service.reactivate(session, member.id, actor)
                print(
                    f"已恢复 {who}；请为其发放一次性登录码"
                    f"（gridlink account code {member.phone}）。"
                )
            elif action == "code":
                purpose = (
                    CodePurpose.PASSWORD_RESET if member.password_hash else CodePurpose.NEW_MEMBER
                )
                issued = await service.issue_code(session, member, purpose, actor)
                print(
                    f"{who} 的一次性登录码：{issued.code}"
                    f"（{_when(issued.expires_at)} 前有效，只显示这一次）"
                )
            elif action == "tokens":
                for token in await service.member_tokens(session, member.id):
                    state = "已撤销" if token.revoked_at else "有效"
                    print(
                        f"{token.id}  {token.kind.value:<7} {token.name or '—':<20} {state}  "
                        f"创建 {_when(token.created_at)}  到期 {_when(token.expires_at)}  "
                        f"最近使用 {_when(token.last_used_at)}"
                    )
            elif action == "revoke-token":
                token_id = _uuid(args.values[0] if args.values else None, "TOKEN_ID")
                await service.revoke_member_token(session, member.id, token_id, actor)
                print(f"已撤销令牌 {token_id} (revoked)")
            elif action == "devices":
                for device in await member_devices(session, member.id):
                    print(
                        f"{device.id}  {device.kind:<17} {device.label}  "
                        f"首次 {_when(device.first_seen_at)}  最近 {_when(device.last_seen_at)}"
                    )
            elif action == "revoke-device":
                if not args.values:
                    raise invalid("DEVICE_ID", "give the device id shown by: account devices PHONE")
                await revoke_device(session, member.id, args.values[0], actor)
                print(f"已移除设备 {args.values[0]} (device removed)")
            elif action == "set-roles":
                await service.change_access(session, member.id, actor, roles=args.values)
                print(f"{who} 的角色：{'、'.join(member.roles)}")
            elif action == "set-grids":
                from api.edge.cli import _grid_ids

                grid_ids = await _grid_ids(session, args.values)
                await service.change_access(session, member.id, actor, grid_ids=grid_ids)
                print(f"{who} 服务网格：{'、'.join(args.values) or '（无）'}")
            else:  # log
                for event in await service.account_events(session, member.id):
                    by = str(event.actor_id) if event.actor_id else event.actor_label
                    print(f"{_when(event.at)}  {event.action.value:<15} by {by}  {event.detail}")
        return 0

    return _run(settings, work)


def _uuid(text: str | None, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(text or "")
    except ValueError:
        raise invalid(field, f"not an id: {text!r}") from None


ACCOUNT_ACTIONS = (
    "deactivate", "reactivate", "code", "tokens", "revoke-token", "devices", "revoke-device",
    "set-roles", "set-grids", "log",
)  # fmt: skip


def add_account(commands: Any) -> None:
    parser = commands.add_parser(
        "account",
        help="run a member's account: deactivate, reactivate, code, tokens, devices, roles, grids",
        description="Each change is recorded in the account log with who made it "
        "(the command line as cli:USER@HOST). 'code' issues a one-time sign-in code: for a new "
        "member, or a password reset.",
    )
    parser.add_argument("action", choices=ACCOUNT_ACTIONS)
    parser.add_argument("phone", help="the member's phone number")
    parser.add_argument(
        "values",
        nargs="*",
        help="token or device id; roles for set-roles; grid codes for set-grids",
    )
    parser.set_defaults(handler=cmd_account)


# --- backup and restore ---------------------------------------------------------------------


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    from api.backup import BackupError, backup, restore

    archive = Path(args.file)

    async def work(engine: AsyncEngine) -> int:
        try:
            if args.command == "backup":
                manifest = await backup(settings, engine, archive)
                print(
                    f"备份完成 (backup written): {archive}  数据库 {manifest.database} "
                    f"版本 {manifest.revision}  附件文件 {manifest.media_files} 个"
                )
            else:
                manifest = await restore(settings, engine, archive)
                print(
                    f"恢复完成 (restored): {archive} → 数据库版本 {manifest['revision']}，"
                    f"附件文件 {manifest['media_files']} 个；请运行 gridlink migrate 升级到最新。"
                )
        except BackupError as error:
            print(f"gridlink {args.command}: error: {error}", file=sys.stderr)
            return 1
        return 0

    return _run(settings, work)


def add_backup(commands: Any) -> None:
    dump = commands.add_parser(
        "backup",
        help="back up the database (and attachment media files) into one archive",
        description="pg_dump on PostgreSQL, SQLite's online backup API on SQLite; media files "
        "from GRIDLINK_MEDIA_DIR when it exists. FILE must not exist (.tar or .tar.gz).",
    )
    dump.add_argument("file", help="the archive to write, e.g. gridlink-2026-12-01.tar.gz")
    dump.set_defaults(handler=cmd_backup)
    load = commands.add_parser(
        "restore",
        help="restore a backup into an empty database",
        description="Refuses a database that holds any table: a restore never mixes into data.",
    )
    load.add_argument("file", help="an archive written by gridlink backup")
    load.set_defaults(handler=cmd_backup)


# --- doctor ---------------------------------------------------------------------------------


def cmd_doctor(settings: Settings, args: argparse.Namespace) -> int:
    import sync.health  # noqa: F401  (registers the sync layer's checks)
    from api.doctor import Status, run_doctor

    async def work(engine: AsyncEngine) -> int:
        findings = await run_doctor(settings, engine)
        for finding in findings:
            for line in finding.lines(args.lang):
                print(line)
        worst = {f.status for f in findings}
        if Status.FAIL in worst:
            return 1
        return 2 if args.strict and Status.WARN in worst else 0

    return _run(settings, work)


def add_doctor(commands: Any) -> None:
    parser = commands.add_parser(
        "doctor",
        help="check this deployment's health; each line says what to do",
        description="Exit status 1 when a check fails (2 with --strict when one warns).",
    )
    parser.add_argument("--lang", choices=["zh", "en"], default="zh")
    parser.add_argument("--strict", action="store_true", help="exit 2 on warnings too")
    parser.set_defaults(handler=cmd_doctor)


def register(commands: Any) -> None:
    add_doctor(commands)
    add_backup(commands)
    add_migrate(commands)
    add_import(commands)
    add_account(commands)
