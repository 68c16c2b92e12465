"""Mutations in input/payload style: the domain rules answer through typed errors."""

from __future__ import annotations

import pytest

from tests.factories import credit_code
from tests.graphql_world import build_world
from tests.helpers import chinese, gql


@pytest.fixture
async def world(session_factory):
    return await build_world(session_factory)


TICKET = "ticket { id number status tier assignee { name } severity title events { kind } }"


async def test_ticket_lifecycle_through_mutations(client, world) -> None:
    liaison, town = world.tokens["liaison1"], world.tokens["town1"]
    created = await gql(
        client,
        f"""mutation($input: CreateTicketInput!) {{
          createTicket(input: $input) {{ clientMutationId errors {{ field message code }}
            {TICKET} }} }}""",
        {
            "input": {
                "title": "Overtime not paid",
                "source": "WORKER_REQUEST",
                "enterpriseId": world.gid("Enterprise", "e1"),
                "severity": "HIGH",
                "reporterName": "Zhao Lei",
                "clientMutationId": "m1",
            }
        },
        token=liaison,
    )
    payload = created["data"]["createTicket"]
    assert payload["errors"] == [] and payload["clientMutationId"] == "m1"
    ticket = payload["ticket"]
    assert ticket["status"] == "REPORTED" and ticket["events"] == [{"kind": "REPORTED"}]
    ticket_id = ticket["id"]

    async def call(name: str, input_type: str, values: dict, token: str) -> dict:
        body = await gql(
            client,
            f"""mutation($input: {input_type}!) {{ {name}(input: $input) {{
              errors {{ field message code }} {TICKET} }} }}""",
            {"input": values},
            token=token,
        )
        return body["data"][name]

    edited = await call(
        "updateTicket", "UpdateTicketInput", {"id": ticket_id, "title": "Overtime unpaid"}, town
    )
    assert edited["errors"] == [] and edited["ticket"]["title"] == "Overtime unpaid"
    null_title = await call(
        "updateTicket", "UpdateTicketInput", {"id": ticket_id, "title": None}, town
    )
    assert null_title["errors"][0]["field"] == "title"

    refused = await call(
        "assignTicket",
        "AssignTicketInput",
        {"ticketId": ticket_id, "assigneeId": world.gid("Member", "liaison2")},
        town,
    )
    assert refused["ticket"] is None
    assert refused["errors"][0]["field"] == "assigneeId"

    assigned = await call(
        "assignTicket",
        "AssignTicketInput",
        {"ticketId": ticket_id, "assigneeId": world.gid("Member", "liaison1")},
        town,
    )
    assert assigned["errors"] == []
    assert assigned["ticket"]["assignee"] == {"name": "Liaison1 Person"}
    illegal = await call(
        "transitionTicket",
        "TransitionTicketInput",
        {"ticketId": ticket_id, "status": "CLOSED"},
        liaison,
    )
    assert illegal["errors"][0]["code"] == "ILLEGAL_TRANSITION"
    working = await call(
        "transitionTicket",
        "TransitionTicketInput",
        {"ticketId": ticket_id, "status": "IN_PROGRESS"},
        liaison,
    )
    assert working["ticket"]["status"] == "IN_PROGRESS"
    escalated = await call(
        "escalateTicket",
        "EscalateTicketInput",
        {"ticketId": ticket_id, "reason": "Owner refuses"},
        town,
    )
    assert escalated["errors"] == [] and escalated["ticket"]["tier"] == "TOWN"
    for status, note in (("RESOLVED", "Paid in full"), ("CLOSED", None)):
        moved = await call(
            "transitionTicket",
            "TransitionTicketInput",
            {"ticketId": ticket_id, "status": status, "resolutionNote": note},
            town,
        )
        assert moved["errors"] == [], moved
    rated = await call(
        "rateTicket", "RateTicketInput", {"ticketId": ticket_id, "rating": 5}, liaison
    )
    assert rated["errors"] == []
    again = await call(
        "rateTicket", "RateTicketInput", {"ticketId": ticket_id, "rating": 4}, liaison
    )
    assert again["errors"][0] == {
        "field": "rating",
        "message": chinese("this ticket has already been rated"),
        "code": "INVALID",
    }

    commented = await gql(
        client,
        """mutation($input: AddTicketCommentInput!) { addTicketComment(input: $input) {
          errors { field code } comment { body author { name } }
          ticket { comments { body } } } }""",
        {"input": {"ticketId": ticket_id, "body": "Worker thanked us."}},
        token=liaison,
    )
    payload = commented["data"]["addTicketComment"]
    assert payload["comment"] == {
        "body": "Worker thanked us.",
        "author": {"name": "Liaison1 Person"},
    }
    assert payload["ticket"]["comments"] == [{"body": "Worker thanked us."}]


async def test_foreign_or_bad_ids_in_mutations(client, world) -> None:
    query = """mutation($input: TransitionTicketInput!) { transitionTicket(input: $input) {
      errors { field code message } ticket { id } } }"""
    foreign = await gql(
        client,
        query,
        {"input": {"ticketId": world.gid("Ticket", "t2"), "status": "IN_PROGRESS"}},
        token=world.tokens["liaison2"],
    )
    assert foreign["data"]["transitionTicket"]["errors"][0]["code"] == "NOT_FOUND"
    wrong_type = await gql(
        client,
        query,
        {"input": {"ticketId": world.gid("Grid", "g_town1"), "status": "IN_PROGRESS"}},
        token=world.tokens["county"],
    )
    assert wrong_type["data"]["transitionTicket"]["errors"][0]["field"] == "ticketId"
    anonymous = await gql(
        client,
        query,
        {"input": {"ticketId": world.gid("Ticket", "t1"), "status": "IN_PROGRESS"}},
        expect_errors=True,
    )
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    read_only = await gql(
        client,
        query,
        {"input": {"ticketId": world.gid("Ticket", "t3"), "status": "IN_PROGRESS"}},
        token=world.tokens["api"],
    )
    assert read_only["data"]["transitionTicket"]["errors"][0]["code"] == "FORBIDDEN"


REGISTER = """mutation($input: RegisterEnterpriseInput!) { registerEnterprise(input: $input) {
  errors { field message code }
  enterprise { name headcount grid { kind code } }
  placement { reason moved grid { kind } } } }"""
UPDATE = """mutation($input: UpdateEnterpriseInput!) { updateEnterprise(input: $input) {
  errors { field message code } enterprise { headcount grid { kind } }
  placement { reason moved grid { kind } } } }"""


async def test_register_and_update_enterprise_explain_the_grid(client, world) -> None:
    town = world.tokens["town1"]
    body = await gql(
        client,
        REGISTER,
        {
            "input": {
                "name": "Hede Knitwear",
                "creditCode": credit_code(),
                "headcount": 120,
                "industry": "Garments",
                "townId": world.gid("Grid", "g_town1"),
            }
        },
        token=town,
    )
    payload = body["data"]["registerEnterprise"]
    assert payload["errors"] == []
    assert payload["placement"]["grid"]["kind"] == "JOINT"
    assert "200" in payload["placement"]["reason"]  # the threshold the rule applied
    enterprise = await gql(
        client,
        '{ enterprises(filter: {search: "Knitwear"}) { nodes { id } } }',
        token=town,
    )
    enterprise_id = enterprise["data"]["enterprises"]["nodes"][0]["id"]
    grown = await gql(
        client, UPDATE, {"input": {"id": enterprise_id, "headcount": 260}}, token=town
    )
    payload = grown["data"]["updateEnterprise"]
    assert payload["errors"] == [] and payload["placement"]["moved"] is True
    assert payload["enterprise"]["grid"]["kind"] == "INDEPENDENT"
    assert "260" in payload["placement"]["reason"]  # the reason names the new headcount

    bad = await gql(
        client,
        REGISTER,
        {
            "input": {
                "name": "X",
                "creditCode": "nonsense",
                "headcount": 5,
                "industry": "Garments",
                "townId": world.gid("Grid", "g_town1"),
            }
        },
        token=town,
    )
    assert bad["data"]["registerEnterprise"]["errors"][0]["field"] == "creditCode"
    elsewhere = await gql(
        client,
        REGISTER,
        {
            "input": {
                "name": "Linhai Nets",
                "creditCode": credit_code(),
                "headcount": 5,
                "industry": "Nets",
                "townId": world.gid("Grid", "g_town2"),
            }
        },
        token=town,
    )
    assert elsewhere["data"]["registerEnterprise"]["errors"][0]["code"] == "FORBIDDEN"
    liaison = await gql(
        client,
        UPDATE,
        {"input": {"id": enterprise_id, "headcount": 10}},
        token=world.tokens["liaison1"],
    )
    assert liaison["data"]["updateEnterprise"]["errors"][0]["code"] in {"FORBIDDEN", "NOT_FOUND"}


async def test_create_grid_and_members(client, world) -> None:
    grid = await gql(
        client,
        """mutation($input: CreateGridInput!) { createGrid(input: $input) {
          errors { field code } grid { code kind parent { code } town { code } } } }""",
        {
            "input": {
                "code": "SY-T01-J09",
                "name": "Hede electronics",
                "kind": "JOINT",
                "industry": "Electronics",
                "parentId": world.gid("Grid", "g_town1"),
            }
        },
        token=world.tokens["town1"],
    )
    assert grid["data"]["createGrid"]["grid"] == {
        "code": "SY-T01-J09",
        "kind": "JOINT",
        "parent": {"code": "SY-T01"},
        "town": {"code": "SY-T01"},
    }
    town_by_town = await gql(
        client,
        """mutation { createGrid(input: {code: "SY-T99", name: "New", kind: TOWN}) {
          errors { code } grid { id } } }""",
        token=world.tokens["town1"],
    )
    assert town_by_town["data"]["createGrid"]["errors"] == [{"code": "FORBIDDEN"}]

    create = """mutation($input: CreateMemberInput!) { createMember(input: $input) {
      errors { field code message } member { id name phone roles grids { code } } } }"""
    made = await gql(
        client,
        create,
        {
            "input": {
                "name": "Zhou Min",
                "phone": "139 1234 5678",
                "roles": ["LIAISON"],
                "gridIds": [world.gid("Grid", "grid_e1")],
                "password": "a long password",
            }
        },
        token=world.tokens["town1"],
    )
    member = made["data"]["createMember"]["member"]
    assert member["phone"] == "13912345678" and member["grids"] == [{"code": "SY-T01-J01"}]
    staff = await gql(
        client,
        create,
        {"input": {"name": "Boss", "phone": "13912340000", "roles": ["COUNTY_STAFF"]}},
        token=world.tokens["town1"],
    )
    assert staff["data"]["createMember"]["errors"][0]["code"] == "FORBIDDEN"
    duplicate = await gql(
        client,
        create,
        {"input": {"name": "Again", "phone": "13912345678", "roles": ["MEMBER"]}},
        token=world.tokens["county"],
    )
    assert duplicate["data"]["createMember"]["errors"][0]["field"] == "phone"
    updated = await gql(
        client,
        """mutation($input: UpdateMemberInput!) { updateMember(input: $input) {
          errors { code } member { name roles } } }""",
        {
            "input": {
                "id": member["id"],
                "name": "Zhou Min (liaison)",
                "roles": ["LIAISON", "CHAIR"],
            }
        },
        token=world.tokens["town1"],
    )
    assert updated["data"]["updateMember"]["member"] == {
        "name": "Zhou Min (liaison)",
        "roles": ["LIAISON", "CHAIR"],
    }


async def test_station_mutations(client, world) -> None:
    county, chair = world.tokens["county"], world.tokens["chair"]
    created = await gql(
        client,
        """mutation($input: CreateStationActivityInput!) { createStationActivity(input: $input) {
          errors { field code message } activity { id title status room { kind } } } }""",
        {
            "input": {
                "stationId": world.gid("Station", "station"),
                "roomId": world.gid("Room", "room"),
                "kind": "BIG_POT_TRAINING",
                "title": "Collective wage consultation",
                "startsAt": "2026-01-10T09:00:00+08:00",
                "capacity": 1,
            }
        },
        token=county,
    )
    payload = created["data"]["createStationActivity"]
    assert payload["errors"] == [], payload
    activity = payload["activity"]
    assert activity["room"] == {"kind": "RIGHTS_PROTECTION"}
    signed = await gql(
        client,
        """mutation($input: RecordAttendanceInput!) { recordAttendance(input: $input) {
          errors { field code } attendance { attendeeName } activity { attendanceCount } } }""",
        {"input": {"activityId": activity["id"], "memberId": world.gid("Member", "chair")}},
        token=county,
    )
    assert signed["data"]["recordAttendance"]["activity"] == {"attendanceCount": 1}
    full = await gql(
        client,
        """mutation($input: RecordAttendanceInput!) { recordAttendance(input: $input) {
          errors { field code } attendance { attendeeName } } }""",
        {"input": {"activityId": activity["id"], "attendeeName": "A visitor"}},
        token=county,
    )
    assert full["data"]["recordAttendance"]["attendance"] is None
    assert full["data"]["recordAttendance"]["errors"]
    held = await gql(
        client,
        """mutation($input: UpdateStationActivityInput!) { updateStationActivity(input: $input) {
          errors { field code } activity { status outcome } } }""",
        {"input": {"id": activity["id"], "status": "HELD", "outcome": "40 chairs came"}},
        token=county,
    )
    assert held["data"]["updateStationActivity"]["activity"] == {
        "status": "HELD",
        "outcome": "40 chairs came",
    }
    evaluation = await gql(
        client,
        """mutation($input: SubmitEvaluationInput!) { submitEvaluation(input: $input) {
          errors { field code message } evaluation { period total chair { name } } } }""",
        {
            "input": {
                "chairId": world.gid("Member", "chair"),
                "evaluatorKind": "TOWN_UNION",
                "period": "2025",
                "scores": {
                    "ORGANISATION": 5,
                    "RULES": 4,
                    "COLLECTIVE_CONSULTATION": 4,
                    "DEMOCRATIC_MANAGEMENT": 3,
                    "RIGHTS_PROTECTION": 5,
                    "FUNDS": 4,
                },
            }
        },
        token=world.tokens["admin"],
    )
    payload = evaluation["data"]["submitEvaluation"]
    assert payload["errors"] == [], payload
    assert payload["evaluation"]["chair"] == {"name": "Chair Person"}
    coaching = await gql(
        client,
        """mutation($input: RequestCoachingInput!) { requestCoaching(input: $input) {
          errors { code message } coachingRequest { topic status enterprise { name } } } }""",
        {"input": {"stationId": world.gid("Station", "station"), "topic": "Collective contract"}},
        token=chair,
    )
    assert coaching["data"]["requestCoaching"]["coachingRequest"] == {
        "topic": "Collective contract",
        "status": "OPEN",
        "enterprise": {"name": "Linhai Garments"},
    }
    liaison = await gql(
        client,
        """mutation($input: CreateStationActivityInput!) { createStationActivity(input: $input) {
          errors { code } activity { id } } }""",
        {
            "input": {
                "stationId": world.gid("Station", "station"),
                "kind": "READING",
                "title": "Reading festival",
                "startsAt": "2026-02-01T09:00:00+08:00",
            }
        },
        token=world.tokens["liaison1"],
    )
    assert liaison["data"]["createStationActivity"]["errors"][0]["code"] in {
        "FORBIDDEN",
        "NOT_FOUND",
    }
