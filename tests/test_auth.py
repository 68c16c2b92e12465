"""Sign-in: phone + password → bearer token; wrong password, expired and revoked tokens."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from api.auth.models import TokenKind
from api.auth.scope import scope_for
from api.auth.tokens import TokenRejected, authenticate, issue_token
from api.enterprises.service import register_enterprise
from api.grids.models import GridKind
from api.grids.service import create_grid
from api.members.models import Role
from api.members.service import create_member
from api.records import utcnow
from api.tickets.models import Ticket
from tests.factories import county_with_town, credit_code
from tests.helpers import chinese, english, gql

LOGIN = """mutation($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) {
    token expiresAt member { name roles uuid } errors { field message code }
  }
}"""
ME = "{ me { name phone roles } }"


async def _member(session_factory, *, roles=("LIAISON",), grid_ids=(), phone="13900000001"):
    async with session_factory() as session, session.begin():
        return await create_member(
            session,
            name="Wang Fang",
            phone=phone,
            roles=list(roles),
            grid_ids=list(grid_ids),
            password="correct horse",
        )


async def test_login_me_logout(client, session_factory) -> None:
    await _member(session_factory)
    body = await gql(client, LOGIN, {"phone": "139 0000 0001", "password": "correct horse"})
    payload = body["data"]["login"]
    assert payload["errors"] == [] and payload["token"].startswith("glk_")
    assert payload["member"]["roles"] == ["LIAISON"]
    token = payload["token"]

    me = await gql(client, ME, token=token)
    assert me["data"]["me"]["phone"] == "13900000001"

    out = await gql(client, "mutation { logout { ok } }", token=token)
    assert out["data"]["logout"]["ok"] is True
    after = await gql(client, "mutation { logout { ok } }", token=token, expect_errors=True)
    error = after["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert error["message"] == chinese("the token was revoked; sign in again")
    anonymous = await gql(client, ME, token=token)
    assert anonymous["data"]["me"] is None


@pytest.mark.parametrize(
    ("phone", "password"),
    [("13900000001", "wrong password"), ("13911112222", "correct horse"), ("not-a-phone", "x")],
)
async def test_wrong_credentials_get_one_answer(client, session_factory, phone, password) -> None:
    await _member(session_factory)
    body = await gql(client, LOGIN, {"phone": phone, "password": password})
    payload = body["data"]["login"]
    assert payload["token"] is None
    assert payload["errors"] == [
        {
            "field": None,
            "message": chinese("the phone number or password is wrong"),
            "code": "INVALID_CREDENTIALS",
        }
    ]


async def test_expired_and_revoked_tokens_are_refused(session_factory) -> None:
    member = await _member(session_factory)
    past = utcnow() - timedelta(days=2)
    async with session_factory() as session, session.begin():
        expired = await issue_token(
            session, member=member, kind=TokenKind.SESSION, lifetime=timedelta(days=1), now=past
        )
        live = await issue_token(
            session, member=member, kind=TokenKind.SESSION, lifetime=timedelta(days=1)
        )
    async with session_factory() as session:
        with pytest.raises(TokenRejected) as caught:
            await authenticate(session, expired.token)
        assert "expired" in english(caught.value.args[0])
        with pytest.raises(TokenRejected) as caught:
            await authenticate(session, live.token + "x")
        assert "unknown" in english(caught.value.args[0])
        with pytest.raises(TokenRejected) as caught:
            await authenticate(session, "Bearer nonsense")
        assert "not a gridlink token" in english(caught.value.args[0])
        found, _ = await authenticate(session, live.token)
        assert found.id == member.id
        # The token is valid right up to its expiry and not at it.
        assert live.record.expires_at is not None
        with pytest.raises(TokenRejected) as caught:
            await authenticate(session, live.token, now=live.record.expires_at)
        assert "expired" in english(caught.value.args[0])


async def test_expired_token_over_http_says_so(client, session_factory) -> None:
    member = await _member(session_factory)
    async with session_factory() as session, session.begin():
        expired = await issue_token(
            session,
            member=member,
            kind=TokenKind.SESSION,
            lifetime=timedelta(seconds=1),
            now=utcnow() - timedelta(hours=1),
        )
    body = await gql(client, "mutation { logout { ok } }", token=expired.token, expect_errors=True)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["errors"][0]["message"] == chinese("the token has expired; sign in again")


async def test_scope_by_role_grid_and_token_grants(session_factory) -> None:
    async with session_factory() as session, session.begin():
        county, town = await county_with_town(session)
        other_town = await create_grid(
            session, code="SY-T02", name="Linhai Town", kind=GridKind.TOWN, parent_id=county.id
        )
        placed = await register_enterprise(
            session,
            name="Hede Foods",
            credit_code=credit_code(),
            headcount=30,
            industry="Food",
            town_id=town.id,
        )
        joint = placed.placement.grid
        liaison = await create_member(
            session, name="L", phone="13900000011", roles=["LIAISON"], grid_ids=[joint.id]
        )
        town_staff = await create_member(
            session, name="T", phone="13900000012", roles=["TOWN_STAFF"], grid_ids=[town.id]
        )
        admin = await create_member(session, name="A", phone="13900000013", roles=["ADMIN"])
        limited = await issue_token(
            session,
            member=admin,
            kind=TokenKind.API,
            lifetime=None,
            grants={"grids": [str(other_town.id)], "readOnly": True},
        )
    async with session_factory() as session:
        liaison_scope = await scope_for(session, liaison)
        assert liaison_scope.grid_ids == {joint.id}
        assert not liaison_scope.can_dispatch
        assert liaison_scope.sees(placed.enterprise)

        town_scope = await scope_for(session, town_staff)
        assert town_scope.grid_ids == {town.id, joint.id}
        assert town_scope.can_dispatch and town_scope.sees(placed.enterprise)

        admin_scope = await scope_for(session, admin)
        assert admin_scope.everything and admin_scope.is_admin
        assert admin_scope.has_role(Role.ADMIN)

        token_scope = await scope_for(session, admin, limited.record)
        assert not token_scope.everything and token_scope.read_only
        assert token_scope.grid_ids == {other_town.id}
        assert not token_scope.sees(placed.enterprise)
        assert not token_scope.can_dispatch
        # Not even what is its owner's own outside the granted grids.
        owned = Ticket(
            number="X",
            title="x",
            source="WORKER_REQUEST",
            grid_id=joint.id,
            reporter_id=admin.id,
            assignee_id=admin.id,
        )
        assert not token_scope.sees(owned)
        assert (
            await session.scalar(
                select(func.count()).select_from(Ticket).where(token_scope.visible(Ticket))
            )
            == 0
        )
        assert (await scope_for(session, liaison)).sees(
            Ticket(
                number="Y",
                title="y",
                source="WORKER_REQUEST",
                grid_id=other_town.id,
                assignee_id=liaison.id,
            )
        )
