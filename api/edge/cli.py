"""The `gridlink` command: serve, worker, migrate, demo, create-user, create-token, vapid-keys."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.auth.models import TokenKind
from api.auth.tokens import issue_token
from api.config import Settings, SettingsError, parse_duration
from api.db import session_factory
from api.edge import session_hooks
from api.edge.admin_cli import run_with_engine
from api.edge.cli_language import (
    add_language_option,
    argparse_speaks_current_language,
    chosen_language,
)
from api.enterprises.codes import normalize_phone
from api.errors import DomainError, invalid
from api.grids.models import Grid
from api.i18n import _, use_language
from api.members.models import Member, Role
from api.members.service import create_member
from api.migrate import upgrade


async def _grid_ids(session: AsyncSession, refs: Sequence[str]) -> list[uuid.UUID]:
    """Grids named by code (SY-T01) or UUID."""
    ids: list[uuid.UUID] = []
    for ref in refs:
        try:
            grid = await session.get(Grid, uuid.UUID(ref))
        except ValueError:
            grid = await session.scalar(select(Grid).where(Grid.code == ref))
        if grid is None or grid.deleted:
            raise invalid("grid", _("no grid with code or id {ref!r}", ref=ref))
        ids.append(grid.id)
    return ids


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from api.demo import demo_accounts, load_demo

    async def work(engine: AsyncEngine) -> int:
        if args.migrate:
            await upgrade(engine)
        async with session_factory(engine)() as session, session.begin():
            if args.if_empty and await session.scalar(select(func.count()).select_from(Grid)):
                # A database with a county of its own must never get the demo mixed in.
                county = await session.scalar(select(Grid.code).where(Grid.code == "SY"))
                if county is None:
                    print(_("the database holds data of its own; demo not loaded"))
                    return 0
            summary = await load_demo(session)
        for line in summary.lines():
            print(line)
        print(_("Demo accounts:"))
        for account in demo_accounts():
            print(
                "  "
                + _(
                    "{role}  {phone}  password {password}",
                    role=account.role,
                    phone=account.phone,
                    password=account.password,
                )
            )
            print(f"    {account.name}: {account.sees}")
        return 0

    return run_with_engine(settings, work)


def cmd_create_user(settings: Settings, args: argparse.Namespace) -> int:
    password = args.password
    if password is None and not args.no_password:
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass()
    roles = [r for value in args.role for r in value.split(",") if r.strip()]

    async def work(engine: AsyncEngine) -> int:
        async with session_factory(engine)() as session, session.begin():
            member = await create_member(
                session,
                name=args.name,
                phone=args.phone,
                roles=roles,
                grid_ids=await _grid_ids(session, args.grid),
                password=password,
            )
        print(
            _(
                "created member {id} {name} {phone} roles={roles}",
                id=member.id,
                name=member.name,
                phone=member.phone,
                roles=[Role(role) for role in member.roles],
            )
        )
        return 0

    return run_with_engine(settings, work)


def cmd_create_token(settings: Settings, args: argparse.Namespace) -> int:
    lifetime = (
        timedelta(seconds=parse_duration("--expires", args.expires)) if args.expires else None
    )

    async def work(engine: AsyncEngine) -> int:
        async with session_factory(engine)() as session, session.begin():
            phone = normalize_phone(args.phone)
            member = await session.scalar(select(Member).where(Member.phone == phone))
            if member is None:
                raise invalid("phone", _("no member with phone {phone}", phone=phone))
            grants: dict[str, object] = {"readOnly": args.read_only}
            if args.grid:
                grants["grids"] = [str(g) for g in await _grid_ids(session, args.grid)]
            issued = await issue_token(
                session,
                member=member,
                kind=TokenKind.API,
                lifetime=lifetime,
                name=args.name,
                grants=grants,
            )
        # The token is shown once; only its hash is stored.
        print(issued.token)
        return 0

    return run_with_engine(settings, work)


def cmd_sync_prune(settings: Settings, args: argparse.Namespace) -> int:
    from api.attachments.storage import store_for
    from sync.prune import prune

    raw = args.older_than or f"{settings.sync_retention_seconds}s"
    older_than = timedelta(seconds=parse_duration("--older-than", raw))

    async def work(engine: AsyncEngine) -> int:
        async with session_factory(engine)() as session, session.begin():
            pruned = await prune(session, older_than=older_than, media=store_for(settings))
        print(
            _(
                "pruned {changes} change-log rows and {tombstones} tombstones older than {raw}; "
                "clients behind the horizon will be asked to reset",
                changes=pruned.changes,
                tombstones=pruned.tombstones,
                raw=older_than,
            )
        )
        return 0

    return run_with_engine(settings, work)


def cmd_vapid_keys(_settings: Settings, _args: argparse.Namespace) -> int:
    from sync.webpush import generate_vapid_keys

    private, public = generate_vapid_keys()
    # The private key goes into the environment; the public key is served by vapidPublicKey
    # (derived from the private one), shown here for checking a client's applicationServerKey.
    # Lines of an environment file, read by machines.
    print(f"GRIDLINK_VAPID_PRIVATE_KEY={private}")  # not a message
    # The key stands alone after a space, to be copied whole.
    print("# " + _("public key (the browser's applicationServerKey):") + " " + public)
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from api.edge.serve import serve

    host = args.host or settings.host
    port = args.port or settings.port
    return serve(settings, host=host, port=port, workers=args.workers or settings.workers)


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    import signal

    from api.edge.worker import registered_jobs, run_forever, run_once
    from api.ops.logs import configure_logging
    from api.rules.seed import seed_at_start
    from api.warnings.recompute import start_refresher

    configure_logging(settings)

    async def work(engine: AsyncEngine) -> int:
        sessions, jobs = session_factory(engine), registered_jobs(settings)
        if args.once:
            for name, count in (await run_once(sessions, jobs)).items():
                print(f"{name}: {count}")
            return 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        print(
            _("worker running: {value} (Ctrl-C stops)", value=", ".join(job.name for job in jobs))
        )
        await seed_at_start(sessions, settings.risk_rules)
        risk = start_refresher(sessions, fallback=settings.risk_rules)
        try:
            await run_forever(sessions, jobs, stop=stop)
        finally:
            await risk.stop()
        return 0

    return run_with_engine(settings, work)


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """An option's type: a whole number in [low, high], refused in words otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                _(
                    "a whole number from {low} to {high}, got {text!r}",
                    low=low,
                    high=high,
                    text=text,
                )
            )
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gridlink", description=_("Labour-relations early warning: API, sync and tools.")
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar=_("COMMAND"))

    serve = commands.add_parser("serve", help=_("serve the GraphQL API"))
    serve.add_argument("--host", help=_("bind address (default GRIDLINK_HOST or 127.0.0.1)"))
    serve.add_argument(
        "--port", type=whole_number(1, 65535), help=_("port (default GRIDLINK_PORT or 8000)")
    )
    serve.add_argument(
        "--workers",
        type=whole_number(1, 64),
        metavar="N",
        help=_("server processes sharing the port (default GRIDLINK_WORKERS or 1)"),
    )
    serve.set_defaults(handler=cmd_serve)

    worker = commands.add_parser("worker", help=_("run the timed jobs (deadlines, risk levels)"))
    worker.add_argument("--once", action="store_true", help=_("run each job once and exit"))
    worker.set_defaults(handler=cmd_worker)

    demo = commands.add_parser("demo", help=_("load the demo county (idempotent)"))
    demo.add_argument(
        "--no-migrate",
        dest="migrate",
        action="store_false",
        help=_("do not upgrade the database first"),
    )
    demo.add_argument(
        "--if-empty", action="store_true", help=_("load only into an empty database (make run)")
    )
    demo.set_defaults(handler=cmd_demo)

    user = commands.add_parser("create-user", help=_("create a member who can sign in"))
    user.add_argument("--name", required=True, help=_("the member's name"))
    user.add_argument("--phone", required=True, help=_("the phone number they sign in with"))
    user.add_argument(
        "--role", action="append", required=True, help=_("ADMIN, COUNTY_STAFF, TOWN_STAFF, ...")
    )
    user.add_argument("--grid", action="append", default=[], help=_("grid code or id served"))
    secret = user.add_mutually_exclusive_group()
    secret.add_argument("--password", help=_("(visible in the process list; prefer the prompt)"))
    secret.add_argument("--password-stdin", action="store_true", help=_("read it from stdin"))
    secret.add_argument("--no-password", action="store_true", help=_("a member who cannot sign in"))
    user.set_defaults(handler=cmd_create_user)

    token = commands.add_parser("create-token", help=_("issue an API token for a frontend"))
    token.add_argument("--phone", required=True, help=_("the member the token acts for"))
    token.add_argument(
        "--name", required=True, help=_("what the token is for, e.g. county-dashboard")
    )
    token.add_argument("--grid", action="append", default=[], help=_("limit to these grids"))
    token.add_argument(
        "--read-only", action="store_true", help=_("the token may read but not write")
    )
    token.add_argument("--expires", default="365d", help=_("lifetime such as 365d; '' for never"))
    token.set_defaults(handler=cmd_create_token)

    vapid = commands.add_parser("vapid-keys", help=_("generate a Web Push (VAPID) key pair"))
    vapid.set_defaults(handler=cmd_vapid_keys)
    prune = commands.add_parser("sync-prune", help=_("prune the sync change log and tombstones"))
    prune.add_argument(
        "--older-than", help=_("age such as 90d (default GRIDLINK_SYNC_RETENTION, 90d)")
    )
    prune.set_defaults(handler=cmd_sync_prune)

    from api.edge import admin_cli  # imports, accounts, backup, restore, doctor (issue 16)

    admin_cli.register(commands)
    from api.edge.report_commands import add_arguments as add_report_commands

    add_report_commands(commands, run_with_engine)
    from api.edge.rules_commands import add_arguments as add_rules_commands

    add_rules_commands(commands, run_with_engine)
    add_language_option(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # Help, output and refusals in one language, chosen before the help texts are made.
    with use_language(chosen_language(argv)), argparse_speaks_current_language():
        args = build_parser().parse_args(argv)
    # Every write of every command is versioned, logged for phones and fanned out.
    session_hooks.install()
    with use_language(args.lang):
        try:
            settings = Settings.from_env()
            return args.handler(settings, args)
        except SettingsError as error:
            print(_("gridlink: configuration error: {error}", error=error), file=sys.stderr)
            return 2
        except DomainError as error:
            where = f"{error.field}: " if error.field else ""
            print(
                _(
                    "gridlink {command}: error: {where}{message}",
                    command=args.command,
                    where=where,
                    message=error.message,
                ),
                file=sys.stderr,
            )
            return 2
        except (OSError, SQLAlchemyError) as error:
            # Most often the database is down or the URL points nowhere: say so, not a traceback.
            reason = str(getattr(error, "orig", None) or error).splitlines()[0]
            print(
                _(
                    "gridlink {command}: error: cannot use the database: {reason}",
                    command=args.command,
                    reason=reason,
                ),
                file=sys.stderr,
            )
            return 1


if __name__ == "__main__":
    sys.exit(main())
