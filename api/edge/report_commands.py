"""`gridlink report` and `gridlink export`: the same files as the download links, written to
disk. The server's operator sees the whole county; `--as PHONE` makes the file within that
member's scope instead."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.auth.scope import Scope, scope_for
from api.config import Settings
from api.db import session_factory
from api.enterprises.codes import normalize_phone
from api.errors import invalid
from api.i18n import _, render, use_language
from api.members.models import Member, Role
from api.records import utcnow
from api.reports.exports import EXPORTS, Format, export_chunks, stream_rows
from api.reports.monthly import monthly_report
from api.reports.pdf import report_pdf
from api.reports.period import parse_month
from api.reports.xlsx import report_xlsx
from api.rules.risk import risk_rules_in_force
from schema.context import Context
from schema.reports import export_statement, filename, report_subject

OPERATOR = Scope(member_id=None, roles=frozenset({Role.ADMIN}), everything=True)


async def caller_scope(session: AsyncSession, phone: str | None) -> tuple[Scope, str | None]:
    if not phone:
        return OPERATOR, None
    member = await session.scalar(select(Member).where(Member.phone == normalize_phone(phone)))
    if member is None or member.deleted or not member.is_active:
        raise invalid("as", _("no active member with phone {phone}", phone=phone))
    return await scope_for(session, member), member.name


def add_arguments(commands: Any, run: Any) -> None:
    """Register `report` and `export` (api/edge/cli.py calls this); ``run`` runs a coroutine."""
    report = commands.add_parser("report", help=_("write a monthly report (XLSX or PDF)"))
    report.add_argument("--month", required=True, help=_("YYYY-MM, in Beijing time"))
    where = report.add_mutually_exclusive_group()
    where.add_argument("--town", help=_("a town's name or code (default: the whole county)"))
    where.add_argument("--grid", help=_("a grid's code or id"))
    where.add_argument("--station", help=_("a station's name or id"))
    report.add_argument(
        "--format", choices=["xlsx", "pdf"], default="xlsx", help=_("file format (default xlsx)")
    )
    _common(report)
    report.set_defaults(handler=lambda settings, args: run(settings, _report(settings, args)))

    export = commands.add_parser("export", help=_("export tickets, enterprises or attendances"))
    export.add_argument("what", choices=sorted(EXPORTS), help=_("what to export"))
    export.add_argument(
        "--format",
        choices=[f.value for f in Format],
        default="csv",
        help=_("file format (default csv: UTF-8 with BOM, opens in Excel)"),
    )
    export.add_argument("--month", help=_("attendance: activities of this month (YYYY-MM)"))
    _common(export)
    export.set_defaults(handler=lambda settings, args: run(settings, _export(settings, args)))


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "-o", help=_("file to write (default: a name in this folder)"))
    parser.add_argument("--as", dest="as_phone", help=_("make it within this member's scope"))


def _report(settings: Settings, args: argparse.Namespace) -> Any:
    async def work(engine: AsyncEngine) -> int:
        with use_language(args.lang):
            month = parse_month(args.month)
            async with session_factory(engine)() as session:
                scope, author = await caller_scope(session, args.as_phone)
                params = {"month": str(month), "town": args.town, "gridId": args.grid}
                params["stationId"] = args.station
                subject, month = await report_subject(session, scope, params)
                document = await monthly_report(
                    session,
                    scope=scope,
                    subject=subject,
                    month=month,
                    now=utcnow(),
                    rules=await risk_rules_in_force(session, settings.risk_rules),
                    author=author,
                )
            body = report_pdf(document) if args.format == "pdf" else report_xlsx(document)
            path = Path(args.output or filename(document.title, args.format))
            path.write_bytes(body)
            print(_("wrote {path} ({size} bytes)", path=str(path), size=len(body)))
        return 0

    return work


def _export(settings: Settings, args: argparse.Namespace) -> Any:
    async def work(engine: AsyncEngine) -> int:
        export = EXPORTS[args.what]
        with use_language(args.lang) as language:
            sessions = session_factory(engine)
            async with sessions() as session:
                scope, _author = await caller_scope(session, args.as_phone)
            context = Context(
                request=None,  # type: ignore[arg-type]
                response=None,
                settings=settings,
                sessions=sessions,
                scope=scope,
            )
            params = {"month": args.month} if args.month else {}
            try:
                statement = await export_statement(context, export, params)
            finally:
                await context.close()
            path = Path(args.output or filename(render(export.title), args.format))
            size = 0
            with path.open("wb") as file:
                chunks = export_chunks(
                    export, Format(args.format), stream_rows(engine, statement), language
                )
                async for chunk in chunks:
                    file.write(chunk)
                    size += len(chunk)
            print(_("wrote {path} ({size} bytes)", path=str(path), size=size))
        return 0

    return work
