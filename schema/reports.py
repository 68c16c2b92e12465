"""GraphQL for reports and exports: a mutation checks what is asked, within the caller's scope,
and answers a short-lived download link (GET, no headers needed: a browser can open it).
The same making of files serves the link (api/edge/downloads.py) and the CLI
(api/reports/cli.py)."""

from __future__ import annotations

import dataclasses
import typing
import uuid
from datetime import datetime
from enum import Enum
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
import strawberry
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.scope import Scope
from api.errors import DomainError, invalid
from api.i18n import _, current_language
from api.reports.exports import EXPORTS, Export, Format
from api.reports.links import issue_link
from api.reports.monthly import Subject, find_subject
from api.reports.period import Month, parse_month
from api.stations.models import StationActivity
from schema.context import Context, Info
from schema.errors import UserError
from schema.grids import subtree
from schema.ids import parse_id
from schema.tickets import TicketFilter, ticket_conditions


@strawberry.enum(description="The file of a monthly report.")
class ReportFormat(Enum):
    XLSX = "xlsx"
    PDF = "pdf"


@strawberry.enum(description="The file of an export.")
class ExportFormat(Enum):
    CSV = "csv"
    XLSX = "xlsx"


@strawberry.enum(description="What an export lists.")
class ExportKind(Enum):
    TICKETS = "tickets"
    ENTERPRISES = "enterprises"
    ATTENDANCE = "attendance"


@strawberry.input(
    description="A monthly report of the county (nothing named), a town, a grid or a station."
)
class MonthlyReportInput:
    month: str = strawberry.field(description="The month in Beijing time, as YYYY-MM.")
    town: str | None = strawberry.field(default=None, description="A town's name or code.")
    grid_id: strawberry.ID | None = None
    station_id: strawberry.ID | None = None
    format: ReportFormat = ReportFormat.XLSX


@strawberry.input(description="An export of what you may see, as CSV (UTF-8 with BOM) or XLSX.")
class ExportInput:
    kind: ExportKind
    format: ExportFormat = ExportFormat.CSV
    ticket_filter: TicketFilter | None = strawberry.field(
        default=None, description="Tickets: the same filter as the tickets list."
    )
    grid_id: strawberry.ID | None = strawberry.field(
        default=None, description="Enterprises: in this grid or below it."
    )
    month: str | None = strawberry.field(
        default=None, description="Attendance: of activities in this month (YYYY-MM)."
    )
    station_id: strawberry.ID | None = strawberry.field(
        default=None, description="Attendance: at this station."
    )


@strawberry.type(description="A file to fetch with a plain GET before it expires.")
class Download:
    url: str = strawberry.field(description="Absolute URL of the file (no headers needed).")
    path: str = strawberry.field(description="The same, relative to the server.")
    filename: str
    expires_at: datetime


@strawberry.type
class DownloadPayload:
    download: Download | None
    errors: list[UserError]


# --- the ticket filter, kept with the link and used again when the file is made ----------


def filter_to_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {
            f.name: filter_to_json(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if getattr(value, f.name) is not None
        }
    if isinstance(value, list):
        return [filter_to_json(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def filter_from_json(data: dict[str, Any]) -> TicketFilter:
    hints = typing.get_type_hints(TicketFilter)
    values: dict[str, Any] = {}
    for name, raw in data.items():
        kinds = [a for a in typing.get_args(hints[name]) if a is not type(None)]
        kind = kinds[0] if kinds else hints[name]
        inner = typing.get_args(kind)
        if typing.get_origin(kind) is list and inner and isinstance(inner[0], type):
            values[name] = [inner[0](v) for v in raw]
        elif kind is datetime:
            values[name] = datetime.fromisoformat(raw)
        else:
            values[name] = raw
    return TicketFilter(**values)


# --- making the select of an export --------------------------------------------------------


async def export_statement(context: Context, export: Export, params: dict[str, Any]) -> sa.Select:
    """The export's select for the context's caller, with the asked conditions."""
    statement = export.select(context.scope)
    info = SimpleNamespace(context=context)  # ticket_conditions reads only the context
    if export.key == "tickets" and params.get("ticketFilter"):
        conditions = await ticket_conditions(
            info,  # type: ignore[arg-type]
            filter_from_json(params["ticketFilter"]),
        )
        statement = statement.where(*conditions)
    if export.key == "enterprises" and params.get("gridId"):
        from api.enterprises.models import Enterprise

        grids = await subtree(context, uuid.UUID(params["gridId"]))
        statement = statement.where(
            sa.or_(Enterprise.grid_id.in_(grids), Enterprise.town_id.in_(grids))
        )
    if export.key == "attendance":
        from api.stations.models import Attendance

        if params.get("month"):
            month = parse_month(params["month"])
            statement = statement.where(
                StationActivity.starts_at >= month.start, StationActivity.starts_at < month.end
            )
        if params.get("stationId"):
            statement = statement.where(Attendance.station_id == uuid.UUID(params["stationId"]))
    return statement


async def report_subject(
    session: AsyncSession, scope: Scope, params: dict[str, Any]
) -> tuple[Subject, Month]:
    month = parse_month(params["month"])
    subject = await find_subject(
        session,
        scope,
        town=params.get("town"),
        grid=params.get("gridId"),
        station=params.get("stationId"),
    )
    return subject, month


def filename(stem: str, extension: str) -> str:
    cleaned = "".join(ch if ch not in '\\/:*?"<>|' else "_" for ch in stem).strip()
    return f"{cleaned or 'gridlink'}.{extension}"


# --- the mutations ---------------------------------------------------------------------------


def _user_error(error: DomainError | GraphQLError) -> UserError:
    if isinstance(error, DomainError):
        return UserError.from_domain(error)
    extensions = error.extensions or {}
    return UserError(
        field=extensions.get("field"),  # type: ignore[arg-type]
        message=error.message,
        code=str(extensions.get("code", "INVALID")),
    )


async def _issue(
    info: Info, what: str, format: str, params: dict[str, Any], name: str
) -> DownloadPayload:
    context = info.context
    member = context.require_member()
    async with context.sessions() as session, session.begin():
        issued = await issue_link(
            session,
            member_id=member.id,
            auth_token_id=context.token.id if context.token is not None else None,
            what=what,
            format=format,
            params=params,
            language=current_language(),
        )
    base = str(context.request.base_url).rstrip("/")
    return DownloadPayload(
        download=Download(
            url=f"{base}{issued.path}",
            path=issued.path,
            filename=filename(name, format),
            expires_at=issued.expires_at,
        ),
        errors=[],
    )


@strawberry.type
class ReportMutation:
    @strawberry.mutation(
        description="A monthly report (XLSX or PDF, in the request's language) as a download "
        "link valid for 10 minutes; figures within your scope."
    )
    async def create_monthly_report_download(
        self, info: Info, input: MonthlyReportInput
    ) -> DownloadPayload:
        context = info.context
        context.require_member()
        params: dict[str, Any] = {"month": input.month.strip()}
        try:
            if input.grid_id is not None:
                params["gridId"] = str(parse_id(input.grid_id, "gridId", ["Grid"]))
            if input.station_id is not None:
                params["stationId"] = str(parse_id(input.station_id, "stationId", ["Station"]))
            if input.town is not None:
                params["town"] = input.town.strip()
            async with context.reader.session() as session:
                subject, month = await report_subject(session, context.scope, params)
                if month.start > context.now:
                    raise invalid("month", _("the month {month} has not begun", month=str(month)))
        except DomainError as error:
            return DownloadPayload(download=None, errors=[_user_error(error)])
        name = _("{subject} monthly report, {month}", subject=subject.name, month=month.label())
        return await _issue(info, "report", input.format.value, params, name)

    @strawberry.mutation(
        description="An export of tickets (with the list's filter), enterprises or attendances "
        "as a download link valid for 10 minutes; only what you may see."
    )
    async def create_export_download(self, info: Info, input: ExportInput) -> DownloadPayload:
        context = info.context
        context.require_member()
        export = EXPORTS[input.kind.value]
        params: dict[str, Any] = {}
        try:
            if input.ticket_filter is not None:
                # Checked now, so that a bad filter is refused here with its field.
                await ticket_conditions(info, input.ticket_filter)
                params["ticketFilter"] = filter_to_json(input.ticket_filter)
            if input.grid_id is not None:
                params["gridId"] = str(parse_id(input.grid_id, "gridId", ["Grid"]))
                if await context.loaders.visible("Grid").load(uuid.UUID(params["gridId"])) is None:
                    raise DomainError("NOT_FOUND", _("the grid was not found"), "gridId")
            if input.station_id is not None:
                params["stationId"] = str(parse_id(input.station_id, "stationId", ["Station"]))
            if input.month is not None:
                params["month"] = str(parse_month(input.month))
        except (DomainError, GraphQLError) as error:
            return DownloadPayload(download=None, errors=[_user_error(error)])
        return await _issue(info, export.key, input.format.value, params, str(export.title))


__all__ = ["Format", "ReportMutation", "export_statement", "report_subject"]
