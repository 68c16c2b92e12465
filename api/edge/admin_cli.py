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
from api.i18n import _, render

Handler = Callable[[Settings, argparse.Namespace], int]


def run_with_engine(settings: Settings, work: Callable[[AsyncEngine], Awaitable[int]]) -> int:
    """Run ``work`` with an engine of ``settings``, disposed of afterwards (every command)."""

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
        raise invalid("FILE", _("no such file: {path}", path=path_text))
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
                "KIND",
                _(
                    "the template kind is one of {kinds}, not '{value}'",
                    kinds=list(KINDS),
                    value=args.file,
                ),
            )
        out = Path(args.output or f"{kind.name}-template.xlsx")
        write_template(kind, out)
        print(_("template written: {path}", path=str(out)))
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
                out.write(_("name,phone,one-time sign-in code") + "\n")
                out.writelines(f"{c.name},{c.phone},{c.code}\n" for c in report.codes)
        return 0 if report.ok else 1

    return run_with_engine(settings, work)


def add_import(commands: Any) -> None:
    parser = commands.add_parser(
        "import",
        help=_("import grids, enterprises or members from XLSX/CSV (dry run unless --apply)"),
        description=_(
            "Dry run by default: reports what would be created, updated and moved and "
            "every problem (row, column, sentence), writing nothing. --apply writes it all in one "
            "transaction, or nothing when a problem is found."
        ),
    )
    parser.add_argument(
        "kind",
        choices=["grids", "enterprises", "members", "template"],
        help=_("what the file holds, or template for an empty sheet to fill in"),
    )
    parser.add_argument(
        "file", help=_("the .xlsx or .csv file (for template: enterprises|members|grids)")
    )
    parser.add_argument("--apply", action="store_true", help=_("write the changes"))
    parser.add_argument(
        "--allow-new-industries", action="store_true", help=_("accept industries not yet known")
    )
    parser.add_argument("--details", action="store_true", help=_("one line per row with its grid"))
    parser.add_argument("--codes-out", help=_("members: write the one-time codes to this CSV"))
    parser.add_argument("--output", "-o", help=_("template: where to write the XLSX"))
    parser.add_argument("--progress", action="store_true", help=_("print rows read to stderr"))
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
            "ACTION",
            _("unknown action '{value}'; use: gridlink migrate down REV", value=args.direction),
        )
    target = args.revision if down else (args.to or "head")
    if down and not target:
        raise invalid("REV", _("give the revision to go down to, e.g. gridlink migrate down 0005"))
    if not known_revision(target):
        raise invalid("REV", _("no migration with revision '{value}'", value=target))
    if down and target == "head":
        raise invalid("REV", _("down goes to an older revision, not head"))

    async def work(engine: AsyncEngine) -> int:
        url = engine.url.render_as_string(hide_password=False)
        current = await current_revision(engine)
        if args.sql:
            # From the database's own revision: the SQL of what is pending, nothing more.
            if (current or "base") == (head_revision() if target == "head" else target):
                print(_("-- nothing to do: the database is at {current}", current=current))
                return 0
            span = f"{current or 'base'}:{target}"
            print(await asyncio.to_thread(offline_sql, url, span, down=down), end="")
            return 0
        if args.check:
            pending = pending_revisions(current)
            if pending:
                print(
                    _(
                        "pending migrations: the database is at {current}, {pending} to run; "
                        "run gridlink migrate.",
                        current=current or _("(empty)"),
                        pending=pending,
                    )
                )
                return 1
            print(_("database at head: {current}", current=current))
            return 0
        if down:
            await downgrade(engine, target)
        else:
            await upgrade(engine, target)
        now = await current_revision(engine)
        shown = engine.url.render_as_string(hide_password=True)
        if now == head_revision():
            print(_("database at {revision} (head): {url}", revision=now, url=shown))
        else:
            print(_("database at {revision}: {url}", revision=now or "base", url=shown))
        if now == head_revision():
            async with session_factory(engine)() as session, session.begin():
                added = await ensure_default_policies(session)
                seeded = await seed_rule_versions(session, settings.risk_rules)
            if added:
                print(_("deadline policies: {added} default rows written", added=added))
            if seeded:
                print(_("rule versions: version 1 of {rules} recorded", rules=seeded))
        return 0

    return run_with_engine(settings, work)


def add_migrate(commands: Any) -> None:
    parser = commands.add_parser(
        "migrate",
        help=_("upgrade the database (options: --sql, --check, --to REV; down REV)"),
        description=_(
            "gridlink migrate: upgrade to the newest schema. --sql prints the SQL of "
            "the pending migrations for review and changes nothing; --check exits 1 when "
            "migrations are pending; --to REV stops at REV; 'gridlink migrate down REV' goes "
            "back to REV."
        ),
    )
    parser.add_argument("direction", nargs="?", metavar="down", help=_("'down' to downgrade"))
    parser.add_argument("revision", nargs="?", metavar="REV", help=_("the revision to go down to"))
    parser.add_argument("--sql", action="store_true", help=_("print the SQL, change nothing"))
    parser.add_argument(
        "--check", action="store_true", help=_("exit 1 when migrations are pending")
    )
    parser.add_argument("--to", metavar="REV", help=_("upgrade up to this revision"))
    parser.set_defaults(handler=cmd_migrate)


# --- account --------------------------------------------------------------------------------


def _when(value: Any) -> str:
    """A time as a person reads it (Beijing time), or a dash for none."""
    return render(value) if value else "—"


def cmd_account(settings: Settings, args: argparse.Namespace) -> int:
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
                    _(
                        "{who} deactivated: {tokens} tokens revoked, {pushes} push "
                        "subscriptions removed.",
                        who=who,
                        tokens=done.tokens_revoked,
                        pushes=pushes,
                    )
                )
                if done.open_tickets:
                    print(_("{count} open tickets to reassign:", count=len(done.open_tickets)))
                    for ticket in done.open_tickets:
                        print(f"  {ticket.number} {render(ticket.status)} {ticket.title}")
                else:
                    print(_("no open tickets to reassign."))
            elif action == "reactivate":
                await service.reactivate(session, member.id, actor)
                print(
                    _(
                        "{who} reactivated; issue a one-time sign-in code "
                        "(gridlink account code {phone}).",
                        who=who,
                        phone=member.phone,
                    )
                )
            elif action == "code":
                purpose = (
                    CodePurpose.PASSWORD_RESET if member.password_hash else CodePurpose.NEW_MEMBER
                )
                issued = await service.issue_code(session, member, purpose, actor)
                print(
                    _(
                        "one-time sign-in code of {who}: {code} (valid until {until}, shown "
                        "only this once)",
                        who=who,
                        code=issued.code,
                        until=issued.expires_at,
                    )
                )
            elif action == "tokens":
                for token in await service.member_tokens(session, member.id):
                    state = _("revoked") if token.revoked_at else _("valid")
                    print(
                        f"{token.id}  {token.kind.value:<7} {token.name or '—':<20} {state}  "
                        + _(
                            "created {created}  expires {expires}  last used {used}",
                            created=_when(token.created_at),
                            expires=_when(token.expires_at),
                            used=_when(token.last_used_at),
                        )
                    )
            elif action == "revoke-token":
                token_id = _uuid(args.values[0] if args.values else None, "TOKEN_ID")
                await service.revoke_member_token(session, member.id, token_id, actor)
                print(_("token {id} revoked", id=str(token_id)))
            elif action == "devices":
                for device in await member_devices(session, member.id):
                    print(
                        f"{device.id}  {device.kind:<17} {device.label}  "
                        + _(
                            "first seen {first}  last seen {last}",
                            first=_when(device.first_seen_at),
                            last=_when(device.last_seen_at),
                        )
                    )
            elif action == "revoke-device":
                if not args.values:
                    raise invalid(
                        "DEVICE_ID", _("give the device id shown by: account devices PHONE")
                    )
                await revoke_device(session, member.id, args.values[0], actor)
                print(_("device {id} removed", id=args.values[0]))
            elif action == "set-roles":
                await service.change_access(session, member.id, actor, roles=args.values)
                print(_("roles of {who}: {roles}", who=who, roles=member.roles))
            elif action == "set-grids":
                from api.edge.cli import _grid_ids

                grid_ids = await _grid_ids(session, args.values)
                await service.change_access(session, member.id, actor, grid_ids=grid_ids)
                print(_("grids {who} serves: {grids}", who=who, grids=args.values or _("(none)")))
            else:  # log
                for event in await service.account_events(session, member.id):
                    by = str(event.actor_id) if event.actor_id else event.actor_label
                    print(
                        f"{_when(event.at)}  {event.action.value:<15} "
                        + _("by {who}", who=by)
                        + f"  {event.detail}"
                    )
        return 0

    return run_with_engine(settings, work)


def _uuid(text: str | None, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(text or "")
    except ValueError:
        raise invalid(field, _("not an id: '{value}'", value=text or "")) from None


ACCOUNT_ACTIONS = (
    "deactivate", "reactivate", "code", "tokens", "revoke-token", "devices", "revoke-device",
    "set-roles", "set-grids", "log",
)  # fmt: skip


def add_account(commands: Any) -> None:
    parser = commands.add_parser(
        "account",
        help=_(
            "run a member's account: deactivate, reactivate, code, tokens, devices, roles, grids"
        ),
        description=_(
            "Each change is recorded in the account log with who made it "
            "(the command line as cli:USER@HOST). 'code' issues a one-time sign-in code: for a new "
            "member, or a password reset."
        ),
    )
    parser.add_argument("action", choices=ACCOUNT_ACTIONS, help=_("what to do with the account"))
    parser.add_argument("phone", help=_("the member's phone number"))
    parser.add_argument(
        "values",
        nargs="*",
        help=_("token or device id; roles for set-roles; grid codes for set-grids"),
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
                    _(
                        "backup written: {path}  database {database} at {revision}, "
                        "{media} media files",
                        path=str(archive),
                        database=manifest.database,
                        revision=manifest.revision,
                        media=manifest.media_files,
                    )
                )
            else:
                manifest = await restore(settings, engine, archive)
                print(
                    _(
                        "restored: {path} → database at {revision}, {media} media files; run "
                        "gridlink migrate to reach the newest schema.",
                        path=str(archive),
                        revision=manifest["revision"],
                        media=manifest["media_files"],
                    )
                )
        except BackupError as error:
            print(
                _("gridlink {command}: error: {error}", command=args.command, error=error),
                file=sys.stderr,
            )
            return 1
        return 0

    return run_with_engine(settings, work)


def add_backup(commands: Any) -> None:
    dump = commands.add_parser(
        "backup",
        help=_("back up the database (and attachment media files) into one archive"),
        description=_(
            "pg_dump on PostgreSQL, SQLite's online backup API on SQLite; media files "
            "from GRIDLINK_MEDIA_DIR when it exists. FILE must not exist (.tar or .tar.gz)."
        ),
    )
    dump.add_argument("file", help=_("the archive to write, e.g. gridlink-2026-12-01.tar.gz"))
    dump.set_defaults(handler=cmd_backup)
    load = commands.add_parser(
        "restore",
        help=_("restore a backup into an empty database"),
        description=_("Refuses a database that holds any table: a restore never mixes into data."),
    )
    load.add_argument("file", help=_("an archive written by gridlink backup"))
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

    return run_with_engine(settings, work)


def add_doctor(commands: Any) -> None:
    parser = commands.add_parser(
        "doctor",
        help=_("check this deployment's health; each line says what to do"),
        description=_("Exit status 1 when a check fails (2 with --strict when one warns)."),
    )
    parser.add_argument("--strict", action="store_true", help=_("exit 2 on warnings too"))
    parser.set_defaults(handler=cmd_doctor)


def register(commands: Any) -> None:
    add_doctor(commands)
    add_backup(commands)
    add_migrate(commands)
    add_import(commands)
    add_account(commands)
