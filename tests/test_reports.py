"""Monthly reports (XLSX, PDF) of the demo county match the dashboard; download links are
short-lived and within the caller's scope; the PDF's Chinese is embedded and extractable."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import shutil
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pypdfium2
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from api import db
from api.auth.scope import Scope
from api.config import Settings
from api.dashboard.service import dashboard
from api.db import create_engine
from api.demo import DEMO_PASSWORD, load_demo
from api.enterprises.models import Enterprise
from api.grids.models import Grid
from api.i18n import EN, ZH_CN, use_language
from api.members.models import Role
from api.records import utcnow
from api.reports.links import DownloadLink
from api.reports.monthly import Subject, monthly_report
from api.reports.pdf import report_font, report_pdf
from api.reports.period import Month, parse_month
from api.stations.models import Attendance
from api.tickets.models import Ticket
from tests.conftest import _pg_exec, _pg_url
from tests.helpers import gql

HAN = re.compile(r"[\u4e00-\u9fff]")
COUNTY_STAFF, TOWN_STAFF, LIAISON = "13800000001", "13800000002", "13800000003"
EVERYTHING = Scope(member_id=None, roles=frozenset({Role.ADMIN}), everything=True)

LOGIN = """mutation($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) { token }
}"""
DASHBOARD = """query($gridId: ID!, $since: DateTime) {
  dashboard(gridId: $gridId, since: $since) {
    closedTickets openTickets overdueTickets ratedTickets satisfiedTickets satisfactionRate
    ratedOnBehalf activitiesHeld attendances chairs { evaluations }
  }
}"""
REPORT = """mutation($input: MonthlyReportInput!) {
  createMonthlyReportDownload(input: $input) {
    download { url path filename expiresAt } errors { field message code }
  }
}"""


async def _login(client: httpx.AsyncClient, phone: str) -> str:
    body = await gql(client, LOGIN, {"phone": phone, "password": DEMO_PASSWORD})
    return body["data"]["login"]["token"]


async def _grid_id(session_factory, code: str) -> uuid.UUID:
    async with session_factory() as session:
        return await session.scalar(select(Grid.id).where(Grid.code == code))


def _summary(workbook) -> dict[str, object]:
    sheet = workbook.worksheets[0]
    return {row[0]: row[1] for row in sheet.iter_rows(min_row=4, values_only=True) if row[0]}


async def _download(client: httpx.AsyncClient, token: str, variables: dict) -> httpx.Response:
    body = await gql(client, REPORT, {"input": variables}, token=token)
    payload = body["data"]["createMonthlyReportDownload"]
    assert payload["errors"] == [], payload
    # A plain GET: no Authorization header, as a browser following the link.
    response = await client.get(payload["download"]["path"])
    assert response.status_code == 200, response.text
    assert payload["download"]["url"].endswith(payload["download"]["path"])
    return response


@pytest.fixture(scope="session")
def demo_templates() -> Iterator[dict[str, str]]:
    """The demo county loaded once per backend; each test gets a copy (the load takes long)."""
    made: dict[str, str] = {}
    yield made
    if "postgresql" in made:
        asyncio.run(_pg_exec(f'DROP DATABASE IF EXISTS "{made["postgresql"]}" WITH (FORCE)'))


async def _load_demo(url: str) -> None:
    engine = create_engine(Settings(database_url=url))
    try:
        async with db.session_factory(engine)() as session, session.begin():
            await load_demo(session)
    finally:
        await engine.dispose()


@pytest.fixture
def database_url(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path, demo_templates: dict[str, str]
) -> Iterator[str]:
    if backend == "sqlite":
        if "sqlite" not in demo_templates:
            template = tmp_path.parent / f"demo-{uuid.uuid4().hex[:8]}.db"
            shutil.copyfile(request.getfixturevalue("sqlite_template"), template)
            asyncio.run(_load_demo(f"sqlite:///{template}"))
            demo_templates["sqlite"] = str(template)
        path = tmp_path / "gridlink.db"
        shutil.copyfile(demo_templates["sqlite"], path)
        yield f"sqlite:///{path}"
        return
    if "postgresql" not in demo_templates:
        template = f"gl_demo_{uuid.uuid4().hex[:10]}"
        base = request.getfixturevalue("pg_template")
        asyncio.run(_pg_exec(f'CREATE DATABASE "{template}" TEMPLATE "{base}"'))
        asyncio.run(_load_demo(_pg_url(template)))
        demo_templates["postgresql"] = template
    name = f"gl_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{demo_templates["postgresql"]}"'))
    yield _pg_url(name)
    asyncio.run(_pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def demo() -> None:
    """Marks the tests that read the demo county (every database of this module holds it)."""


async def test_the_monthly_report_matches_the_dashboard_in_xlsx_and_pdf(
    client: httpx.AsyncClient, session_factory, demo: None
) -> None:
    token = await _login(client, COUNTY_STAFF)
    month = Month.of(utcnow())
    for county in ("SY", "XS"):
        grid_id = await _grid_id(session_factory, county)
        board = (
            await gql(
                client,
                DASHBOARD,
                {"gridId": str(grid_id), "since": month.start.isoformat()},
                token=token,
            )
        )["data"]["dashboard"]
        response = await _download(
            client, token, {"month": str(month), "gridId": str(grid_id), "format": "XLSX"}
        )
        assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
        assert "filename*=UTF-8''" in response.headers["content-disposition"]
        workbook = load_workbook(io.BytesIO(response.content))
        titles = [sheet.title for sheet in workbook.worksheets]
        assert titles[0] == "概况" and "驿站活动" in titles, titles
        for sheet in workbook.worksheets:
            assert sheet.freeze_panes == "A4", sheet.title
        summary = _summary(workbook)
        rate = board["satisfactionRate"]
        assert summary["办结工单"] == board["closedTickets"]
        assert summary["当前未办结"] == board["openTickets"]
        assert summary["当前超时未办结"] == board["overdueTickets"]
        assert summary["职工已评价工单"] == board["ratedTickets"]
        assert summary["满意（4 或 5 分）"] == board["satisfiedTickets"]
        assert summary["满意率"] == (pytest.approx(rate) if rate is not None else None)
        assert summary["代职工评价数"] == board["ratedOnBehalf"]
        assert summary["驿站已举办活动"] == board["activitiesHeld"]
        assert summary["参加人次"] == board["attendances"]
        stations = workbook["驿站活动"]
        totals = list(stations.iter_rows(values_only=True))[-1]
        assert totals[:3] == ("合计", board["activitiesHeld"], board["attendances"])
        chairs = list(workbook["工会主席评议"].iter_rows(values_only=True))[-1]
        assert chairs[2] == sum(c["evaluations"] for c in board["chairs"])

        response = await _download(
            client, token, {"month": str(month), "gridId": str(grid_id), "format": "PDF"}
        )
        assert response.headers["content-type"] == "application/pdf"
        pdf = pypdfium2.PdfDocument(response.content)
        page = pdf[0]
        text = page.get_textpage().get_text_range()
        assert "月报" in text and "概况" in text and "办结工单" in text, text[:300]
        image = page.render(scale=1).to_pil()
        assert image.width > 500 and image.getextrema() != ((255, 255), (255, 255), (255, 255))


async def test_past_months_match_the_dashboard_of_the_same_period(
    session_factory, demo: None
) -> None:
    """Every month of the demo: the report's breakdowns add up to the dashboard's figures."""
    async with session_factory() as session:
        first = await session.scalar(select(Ticket.reported_at).order_by(Ticket.reported_at))
        for code in ("SY", "XS"):
            grid_id = await session.scalar(select(Grid.id).where(Grid.code == code))
            month = Month.of(first)
            while month <= Month.of(utcnow()):
                until = min(month.end, utcnow())
                board = await dashboard(
                    session, scope=EVERYTHING, grid_id=grid_id, since=month.start, until=until
                )
                with use_language(ZH_CN):
                    report = await monthly_report(
                        session,
                        scope=EVERYTHING,
                        subject=Subject(code, grid_id),
                        month=month,
                    )
                closed = report.table("closed")
                assert closed.totals[1] == board.closed, month
                assert closed.totals[2] + closed.totals[3] == board.closed
                stations = report.table("stations")
                assert stations.totals[1:3] == [board.activities_held, board.attendances], month
                assert report.table("satisfaction").rows[0][:2] == [
                    board.satisfaction.rated,
                    board.satisfaction.satisfied,
                ]
                month = Month.of(month.end)


async def test_reports_stay_within_the_callers_scope(
    client: httpx.AsyncClient, session_factory, demo: None
) -> None:
    month = str(Month.of(utcnow()))
    town_staff = await _login(client, TOWN_STAFF)
    other_county = await _grid_id(session_factory, "XS")
    body = await gql(
        client, REPORT, {"input": {"month": month, "gridId": str(other_county)}}, token=town_staff
    )
    [error] = body["data"]["createMonthlyReportDownload"]["errors"]
    assert (error["field"], error["code"]) == ("gridId", "NOT_FOUND")
    # Its own town, by the code or the name as the county enters it.
    response = await _download(client, town_staff, {"month": month, "town": "SY-T01"})
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.worksheets[0]["A1"].value.endswith("月报")

    for bad, field in (("2026-13", "month"), ("Nov 2026", "month"), ("2999-01", "month")):
        body = await gql(
            client, REPORT, {"input": {"month": bad, "town": "SY-T01"}}, token=town_staff
        )
        [error] = body["data"]["createMonthlyReportDownload"]["errors"]
        assert (error["field"], error["code"]) == (field, "INVALID"), bad


async def test_download_links_expire_and_die_with_their_token(
    client: httpx.AsyncClient, session_factory, demo: None
) -> None:
    token = await _login(client, TOWN_STAFF)
    variables = {"input": {"month": str(Month.of(utcnow())), "town": "SY-T01"}}
    body = await gql(client, REPORT, variables, token=token)
    path = body["data"]["createMonthlyReportDownload"]["download"]["path"]
    unknown = await client.get("/downloads/not-a-link")
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"

    assert (await client.get(path)).status_code == 200  # and again, within its minutes
    assert (await client.get(path)).status_code == 200
    async with session_factory() as session, session.begin():
        await session.execute(
            update(DownloadLink).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert (await client.get(path)).status_code == 404

    body = await gql(client, REPORT, variables, token=token)
    path = body["data"]["createMonthlyReportDownload"]["download"]["path"]
    await gql(client, "mutation { logout { ok } }", token=token)
    assert (await client.get(path)).status_code == 404  # signed out: its links are dead


def test_months_are_beijing_months() -> None:
    november = parse_month("2026-11")
    assert november.start.isoformat() == "2026-10-31T16:00:00+00:00"
    assert november.end.isoformat() == "2026-11-30T16:00:00+00:00"
    assert parse_month("2026-12").end.isoformat() == "2026-12-31T16:00:00+00:00"
    with use_language(EN):
        assert november.label() == "2026-11"
    assert november.label() == "2026年11月"


def test_the_pdf_embeds_its_chinese_font() -> None:
    from api.reports.tables import Column, Document, Table

    with use_language(ZH_CN):
        document = Document(
            "射阳县总工会月报",
            ["统计期间"],
            [Table("t", "驿站活动", [Column("驿站")], [["南河驿站"]])],
        )
        pdf = report_pdf(document)
    name, embedded = report_font()
    assert embedded, "the bundled Noto Sans SC was not found"
    assert b"/FontFile2" in pdf  # a TrueType font program inside the file
    text = pypdfium2.PdfDocument(pdf)[0].get_textpage().get_text_range()
    assert "南河驿站" in text and "射阳县总工会月报" in text
    assert HAN.search(text)


EXPORT = """mutation($input: ExportInput!) {
  createExportDownload(input: $input) {
    download { path filename } errors { field message code }
  }
}"""
TICKETS = """query($filter: TicketFilter) {
  tickets(filter: $filter, first: 100) { totalCount edges { node { number } } }
}"""


async def _export(client: httpx.AsyncClient, token: str, variables: dict) -> httpx.Response:
    body = await gql(client, EXPORT, {"input": variables}, token=token)
    payload = body["data"]["createExportDownload"]
    assert payload["errors"] == [], payload
    response = await client.get(payload["download"]["path"])
    assert response.status_code == 200, response.text
    return response


def _csv_rows(response: httpx.Response) -> list[list[str]]:
    assert response.content.startswith(b"\xef\xbb\xbf"), "CSV without its UTF-8 BOM"
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


async def test_ticket_exports_follow_the_list_filter_and_the_scope(
    client: httpx.AsyncClient, demo: None
) -> None:
    county, liaison = await _login(client, COUNTY_STAFF), await _login(client, LIAISON)
    ticket_filter = {"severity": ["HIGH", "CRITICAL"], "open": True}
    for token in (county, liaison):
        for filter_ in (ticket_filter, None):
            listed = (await gql(client, TICKETS, {"filter": filter_}, token=token))["data"][
                "tickets"
            ]
            numbers = {edge["node"]["number"] for edge in listed["edges"]}
            rows = _csv_rows(
                await _export(client, token, {"kind": "TICKETS", "ticketFilter": filter_})
            )
            assert rows[0][:3] == ["编号", "标题", "来源"]
            assert {row[0] for row in rows[1:]} == numbers
            assert len(rows) - 1 == listed["totalCount"]
            if filter_ is not None:
                assert {row[3] for row in rows[1:]} <= {"高", "紧急"}
    # The same as a workbook: numbers stay numbers, times are Beijing wall-clock times.
    response = await _export(
        client, county, {"kind": "TICKETS", "format": "XLSX", "ticketFilter": ticket_filter}
    )
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "编号" and len(rows) > 1

    body = await gql(
        client,
        EXPORT,
        {"input": {"kind": "TICKETS", "ticketFilter": {"gridId": "not-an-id"}}},
        token=county,
    )
    [error] = body["data"]["createExportDownload"]["errors"]
    assert (error["field"], error["code"]) == ("gridId", "INVALID")


async def test_enterprise_and_attendance_exports(
    client: httpx.AsyncClient, session_factory, demo: None
) -> None:
    town_staff = await _login(client, TOWN_STAFF)
    rows = _csv_rows(await _export(client, town_staff, {"kind": "ENTERPRISES"}))
    town = await _grid_id(session_factory, "SY-T01")
    async with session_factory() as session:
        codes = set(
            await session.scalars(
                select(Enterprise.credit_code).where(
                    Enterprise.town_id == town, Enterprise.deleted_at.is_(None)
                )
            )
        )
    assert rows[0][1] == "统一社会信用代码"
    assert {row[1] for row in rows[1:]} == codes

    chair = await _login(client, "13800000004")
    response = await _export(client, chair, {"kind": "ATTENDANCE", "format": "XLSX"})
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "驿站" and len(rows) > 1
    async with session_factory() as session:
        signed = await session.scalar(
            select(func.count()).select_from(Attendance).where(Attendance.deleted_at.is_(None))
        )
    assert len(rows) - 1 <= signed
    body = await gql(
        client, EXPORT, {"input": {"kind": "ATTENDANCE", "month": "13-2026"}}, token=chair
    )
    [error] = body["data"]["createExportDownload"]["errors"]
    assert (error["field"], error["code"]) == ("month", "INVALID")
