"""Early-warning levels over GraphQL: enterprise.riskLevel, grid.riskLevel and the riskiest
enterprises of a dashboard, on the demo county (which has enterprises at every level)."""

from dataclasses import replace
from datetime import timedelta

import httpx
from sqlalchemy import select

from api.auth.models import TokenKind
from api.auth.tokens import issue_token
from api.demo import load_demo
from api.edge.app import create_app
from api.grids.models import Grid
from api.members.models import Member
from schema.ids import to_global_id
from tests.helpers import gql

ORDER = {"GREEN": 0, "YELLOW": 1, "ORANGE": 2, "RED": 3}
RISKIEST = """query($grid: ID!, $limit: Int!) { dashboard(gridId: $grid) {
  riskiestEnterprises(limit: $limit) {
    enterprise { name riskLevel grid { code riskLevel } }
    risk { level score reasons { text points } }
  }
} }"""


async def test_riskiest_enterprises_and_levels(client, session_factory) -> None:
    async with session_factory() as session, session.begin():
        await load_demo(session)
        admin = await session.scalar(select(Member).where(Member.phone == "13800000000"))
        county = await session.scalar(select(Grid).where(Grid.code == "SY"))
        issued = await issue_token(
            session, member=admin, kind=TokenKind.SESSION, lifetime=timedelta(hours=1)
        )
    body = await gql(
        client, RISKIEST, {"grid": to_global_id("Grid", county.id), "limit": 8}, token=issued.token
    )
    ranked = body["data"]["dashboard"]["riskiestEnterprises"]
    assert 0 < len(ranked) <= 8
    levels = [ORDER[r["risk"]["level"]] for r in ranked]
    assert levels == sorted(levels, reverse=True) and ranked[0]["risk"]["level"] == "RED"
    for row in ranked:
        assert row["enterprise"]["riskLevel"] == row["risk"]["level"]
        assert row["risk"]["reasons"] and all(r["text"] for r in row["risk"]["reasons"])
        # A grid is at least as worried as its most worrying enterprise.
        assert ORDER[row["enterprise"]["grid"]["riskLevel"]] >= ORDER[row["risk"]["level"]]

    refused = await gql(
        client,
        RISKIEST,
        {"grid": to_global_id("Grid", county.id), "limit": 0},
        token=issued.token,
        expect_errors=True,
    )
    assert refused["errors"][0]["extensions"]["field"] == "limit"


async def test_the_weights_come_from_the_settings(settings, engine, session_factory) -> None:
    # With thresholds no enterprise reaches and no floor, every enterprise is GREEN.
    calm = replace(
        settings,
        risk_rules_json='{"enterprise_thresholds": {"YELLOW": 1000, "ORANGE": 2000, '
        '"RED": 3000}, "critical_floor": "GREEN"}',
    )
    async with session_factory() as session, session.begin():
        await load_demo(session)
        admin = await session.scalar(select(Member).where(Member.phone == "13800000000"))
        county = await session.scalar(select(Grid).where(Grid.code == "SY"))
        issued = await issue_token(
            session, member=admin, kind=TokenKind.SESSION, lifetime=timedelta(hours=1)
        )
    transport = httpx.ASGITransport(app=create_app(calm, engine=engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        body = await gql(
            http,
            RISKIEST,
            {"grid": to_global_id("Grid", county.id), "limit": 5},
            token=issued.token,
        )
    ranked = body["data"]["dashboard"]["riskiestEnterprises"]
    assert ranked and {r["risk"]["level"] for r in ranked} == {"GREEN"}
    assert {r["enterprise"]["riskLevel"] for r in ranked} == {"GREEN"}
