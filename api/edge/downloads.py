"""GET /downloads/{token}: the file behind a download link (schema/reports.py issues them).
Reports are made whole (a few pages); exports stream as they are read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from api.auth.scope import scope_for
from api.errors import DomainError
from api.i18n import render, use_language
from api.reports.exports import EXPORTS, MEDIA_TYPES, Format, export_chunks, stream_rows
from api.reports.links import redeem
from api.reports.monthly import monthly_report
from api.reports.pdf import report_pdf
from api.reports.xlsx import report_xlsx
from api.rules.risk import risk_rules_in_force
from schema.context import Context
from schema.reports import export_statement, filename, report_subject


def content_disposition(name: str) -> str:
    """The file name for every browser: an ASCII fallback and the UTF-8 (Chinese) name."""
    ascii_name = name.encode("ascii", "ignore").decode() or "download"
    ascii_name = ascii_name.replace('"', "")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def _refused(error: DomainError, status: int) -> JSONResponse:
    extensions = {"code": error.code, **({"field": error.field} if error.field else {})}
    return JSONResponse(
        {"errors": [{"message": render(error.message), "extensions": extensions}]},
        status_code=status,
    )


async def download(request: Request) -> Response:
    settings = request.app.state.settings
    sessions = request.app.state.sessions
    engine = request.app.state.engine
    token = request.path_params["token"]
    async with sessions() as session:
        try:
            redeemed = await redeem(session, token)
        except DomainError as error:
            return _refused(error, 404)
        scope = await scope_for(session, redeemed.member, redeemed.auth_token)
    link = redeemed.link
    context = Context(
        request=request,
        response=None,
        settings=settings,
        sessions=sessions,
        member=redeemed.member,
        token=redeemed.auth_token,
        scope=scope,
    )
    with use_language(link.language) as language:
        try:
            if link.what == "report":
                async with sessions() as session:
                    subject, month = await report_subject(session, scope, link.params)
                    document = await monthly_report(
                        session,
                        scope=scope,
                        subject=subject,
                        month=month,
                        now=context.now,
                        rules=await risk_rules_in_force(session, settings.risk_rules),
                        author=redeemed.member.name,
                    )
                body = report_pdf(document) if link.format == "pdf" else report_xlsx(document)
                return Response(
                    body,
                    media_type=MEDIA_TYPES[link.format],
                    headers={
                        "content-disposition": content_disposition(
                            filename(document.title, link.format)
                        )
                    },
                )
            export = EXPORTS[link.what]
            statement = await export_statement(context, export, link.params)
        except DomainError as error:
            return _refused(error, 400)
        finally:
            await context.close()
        name = filename(render(export.title, language), link.format)

    async def chunks() -> AsyncIterator[bytes]:
        async for chunk in export_chunks(
            export, Format(link.format), stream_rows(engine, statement), language
        ):
            yield chunk

    return StreamingResponse(
        chunks(),
        media_type=MEDIA_TYPES[link.format],
        headers={"content-disposition": content_disposition(name)},
    )


ROUTES = [Route("/downloads/{token}", download, methods=["GET"])]
