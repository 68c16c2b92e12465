"""Early-warning levels over GraphQL: enterprise.riskLevel, grid.riskLevel and the riskiest
enterprises of a dashboard, on the demo county (which has enterprises at every level)."""

from datetime import timedelta

from sqlalchemy import select

from api.auth.models import TokenKind
from api.auth.tokens import issue_token
from api.demo import load_demo
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
