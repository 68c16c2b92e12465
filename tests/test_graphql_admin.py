"""Account administration and imports through GraphQL, for the staff who may and against those
who may not; every change lands in the account log with who made it."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.admin_support import ENTERPRISE_HEADERS, MEMBER_HEADERS, write_xlsx
from tests.factories import credit_code
from tests.graphql_world import build_world
from tests.helpers import gql


@pytest.fixture
async def world(session_factory):
    return await build_world(session_factory)


ERRORS = "errors { field code message }"
# Needs a signed-in caller (me alone answers null for an anonymous one).
ME = "{ members(first: 1) { edges { node { id } } } }"


async def test_deactivate_code_reactivate_and_the_account_log(client, world) -> None:
    county, liaison = world.tokens["county"], world.tokens["liaison1"]
    liaison_id = world.gid("Member", "liaison1")
    done = await gql(
        client,
        f"""mutation($id: ID!) {{ deactivateMember(memberId: $id) {{ {ERRORS}
              member {{ isActive }} tokensRevoked openTickets {{ id }} }} }}""",
        {"id": liaison_id},
        token=county,
    )
    payload = done["data"]["deactivateMember"]
    assert payload["errors"] == [] and payload["member"]["isActive"] is False
    assert payload["tokensRevoked"] == 1
    assert {t["id"] for t in payload["openTickets"]} == {
        world.gid("Ticket", "t1"), world.gid("Ticket", "t4")
    }  # fmt: skip
    # The liaison's token no longer works.
    refused = await gql(client, ME, token=liaison, expect_errors=True)
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    # Town staff may not run county staff; a liaison runs nobody.
    for token, target in (("town1", "county"), ("liaison2", "member")):
        denied = await gql(
            client,
            f"mutation($id: ID!) {{ issueSignInCode(memberId: $id) {{ code {ERRORS} }} }}",
            {"id": world.gid("Member", target)},
            token=world.tokens[token],
        )
        assert denied["data"]["issueSignInCode"]["errors"][0]["code"] in {"FORBIDDEN", "NOT_FOUND"}

    # A code for a deactivated account is refused until it is reactivated.
    early = await gql(
        client,
        f"mutation($id: ID!) {{ issueSignInCode(memberId: $id) {{ code {ERRORS} }} }}",
        {"id": liaison_id},
        token=county,
    )
    assert early["data"]["issueSignInCode"]["errors"][0]["field"] == "memberId"
    back = await gql(
        client,
        f"""mutation($id: ID!) {{ reactivateMember(memberId: $id) {{
              member {{ isActive }} {ERRORS} }} }}""",
        {"id": liaison_id},
        token=county,
    )
    assert back["data"]["reactivateMember"]["member"]["isActive"] is True
    issued = await gql(
        client,
        f"mutation($id: ID!) {{ issueSignInCode(memberId: $id) {{ code purpose {ERRORS} }} }}",
        {"id": liaison_id},
        token=county,
    )
    code = issued["data"]["issueSignInCode"]["code"]
    assert code and issued["data"]["issueSignInCode"]["purpose"] == "NEW_MEMBER"

    sign_in = """mutation($phone: String!, $code: String!, $pw: String!) {
        signInWithCode(phone: $phone, code: $code, newPassword: $pw) {
          token errors { field code } } }"""
    short = await gql(client, sign_in, {"phone": "13900000003", "code": code, "pw": "short"})
    assert short["data"]["signInWithCode"]["errors"] == [
        {"field": "newPassword", "code": "INVALID"}
    ]
    wrong = await gql(client, sign_in, {"phone": "13900000004", "code": code, "pw": "a new secret"})
    assert wrong["data"]["signInWithCode"]["errors"][0]["code"] == "INVALID_CODE"
    signed = await gql(
        client, sign_in, {"phone": "13900000003", "code": code.lower(), "pw": "a new secret"}
    )
    token = signed["data"]["signInWithCode"]["token"]
    assert token
    me = await gql(client, "{ me { phone } }", token=token)
    assert me["data"]["me"]["phone"] == "13900000003"
    again = await gql(client, sign_in, {"phone": "13900000003", "code": code, "pw": "another one"})
    assert again["data"]["signInWithCode"]["errors"][0]["code"] == "INVALID_CODE"
    login = await gql(
        client,
        'mutation { login(phone: "13900000003", password: "a new secret") { token } }',
    )
    assert login["data"]["login"]["token"]

    log = await gql(
        client,
        "query($id: ID!) { accountEvents(memberId: $id) { action actorId actorLabel detail } }",
        {"id": liaison_id},
        token=county,
    )
    events = log["data"]["accountEvents"]
    assert [e["action"] for e in events][::-1] == [
        "DEACTIVATED", "REACTIVATED", "CODE_ISSUED", "CODE_REDEEMED"
    ]  # fmt: skip
    county_uuid = str(world["county"])
    assert [e["actorId"] for e in events[1:]] == [county_uuid] * 3
    assert events[-1]["detail"]["openTickets"]


async def test_tokens_devices_roles_and_grids(client, world) -> None:
    admin = world.tokens["admin"]
    county_id = world.gid("Member", "county")
    tokens = await gql(
        client,
        "query($id: ID!) { memberTokens(memberId: $id) { id kind name revokedAt } }",
        {"id": county_id},
        token=admin,
    )
    listed = tokens["data"]["memberTokens"]
    api = next(t for t in listed if t["kind"] == "API")
    revoked = await gql(
        client,
        f"""mutation($m: ID!, $t: ID!) {{ revokeMemberToken(memberId: $m, tokenId: $t) {{
              {ERRORS} }} }}""",
        {"m": county_id, "t": api["id"]},
        token=admin,
    )
    assert revoked["data"]["revokeMemberToken"]["errors"] == []
    gone = await gql(client, ME, token=world.tokens["api"], expect_errors=True)
    assert gone["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    devices = await gql(
        client,
        "query($id: ID!) { memberDevices(memberId: $id) { id kind } }",
        {"id": county_id},
        token=admin,
    )
    assert devices["data"]["memberDevices"] == []
    missing = await gql(
        client,
        f"""mutation($m: ID!) {{ revokeMemberDevice(memberId: $m, deviceId: "nope") {{
              {ERRORS} }} }}""",
        {"m": county_id},
        token=admin,
    )
    assert missing["data"]["revokeMemberDevice"]["errors"][0]["field"] == "deviceId"

    changed = await gql(
        client,
        f"""mutation($m: ID!, $g: [ID!]) {{
              changeMemberAccess(memberId: $m, roles: [LIAISON], gridIds: $g) {{
                member {{ roles grids {{ code }} }} {ERRORS} }} }}""",
        {"m": world.gid("Member", "liaison2"), "g": [world.gid("Grid", "grid_e1")]},
        token=world.tokens["county"],
    )
    member = changed["data"]["changeMemberAccess"]["member"]
    assert member["roles"] == ["LIAISON"] and len(member["grids"]) == 1
    # Town staff may not make anyone county staff.
    denied = await gql(
        client,
        f"""mutation($m: ID!) {{ changeMemberAccess(memberId: $m, roles: [COUNTY_STAFF]) {{
              {ERRORS} }} }}""",
        {"m": world.gid("Member", "liaison1")},
        token=world.tokens["town1"],
    )
    assert denied["data"]["changeMemberAccess"]["errors"][0]["code"] == "FORBIDDEN"


IMPORT = """mutation($kind: ImportKind!, $file: String!, $apply: Boolean!) {
  importSpreadsheet(kind: $kind, fileBase64: $file, apply: $apply, allowNewIndustries: true) {
    applied created updated problemCount problems { row column code message }
    outcomes { row action grid reason } codes { phone code } summary } }"""


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


async def test_imports_through_graphql_within_scope(client, world, tmp_path: Path) -> None:
    rows = [
        ["合德新厂", credit_code(), 30, "Garments", "SY-T01", "", "", "否", "否"],
        ["临海新厂", credit_code(), 30, "Garments", "Linhai Town", "", "", "否", "否"],
    ]
    sheet = write_xlsx(tmp_path / "e.xlsx", ENTERPRISE_HEADERS, rows)
    variables = {"kind": "ENTERPRISES", "file": _b64(sheet), "apply": True}
    town = await gql(client, IMPORT, variables, token=world.tokens["town1"])
    report = town["data"]["importSpreadsheet"]
    assert not report["applied"]
    assert [(p["row"], p["column"], p["code"]) for p in report["problems"]] == [
        (3, "所属乡镇", "OUT_OF_SCOPE")
    ]
    county = await gql(client, IMPORT, variables, token=world.tokens["county"])
    report = county["data"]["importSpreadsheet"]
    assert report["applied"] and report["created"] == 2
    assert all(o["grid"] and o["reason"] for o in report["outcomes"])

    grids = write_xlsx(tmp_path / "g.xlsx", ["网格编码", "名称", "类型", "上级编码"], [])
    denied = await gql(
        client,
        IMPORT,
        {"kind": "GRIDS", "file": _b64(grids), "apply": False},
        token=world.tokens["town1"],
        expect_errors=True,
    )
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    people = write_xlsx(
        tmp_path / "m.xlsx", MEMBER_HEADERS,
        [["新网格员", "13700000001", "网格员", "SY-T01"],
         ["新县干", "13700000002", "县总工会", ""]],
    )  # fmt: skip
    by_town = await gql(
        client, IMPORT, {"kind": "MEMBERS", "file": _b64(people), "apply": True},
        token=world.tokens["town1"],
    )  # fmt: skip
    report = by_town["data"]["importSpreadsheet"]
    assert [(p["row"], p["code"]) for p in report["problems"]] == [(3, "ROLE_NOT_ALLOWED")]
    bad = await gql(
        client,
        IMPORT,
        {"kind": "MEMBERS", "file": "not base64!", "apply": False},
        token=world.tokens["county"],
        expect_errors=True,
    )
    assert bad["errors"][0]["extensions"]["code"] == "INVALID"
