"""Rules officers change (api/rules, schema/rules.py): versioned, validated field by field,
changed only by county staff and admins, and in force from the moment of the change — new
deadlines use the new policy, deadlines already set stay."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from api.auth.scope import scope_for
from api.members.models import Member
from api.records import utcnow
from api.rules.models import RuleKind, RuleVersion
from api.tickets import lifecycle
from api.tickets.models import Severity, Ticket, TicketSource
from tests.graphql_world import build_world
from tests.helpers import gql

CHANGE_DEADLINES = """mutation($input: ChangeDeadlinePoliciesInput!) {
  changeDeadlinePolicies(input: $input) {
    rules { version changedBy effectiveFrom changes { field before after }
            deadlinePolicies { tier severity source resolutionHours } }
    errors { field message code } } }"""
CHANGE_RISK = """mutation($input: ChangeRiskRulesInput!) {
  changeRiskRules(input: $input) {
    rules { version riskWeights { overduePoints enterpriseThresholds { name points } } }
    errors { field message code } } }"""
CHANGE_CRITERIA = """mutation($input: ChangeStationCriteriaInput!) {
  changeStationCriteria(input: $input) {
    rules { version stationCriteria { evaluator criteria { code text } } }
    errors { field message code } } }"""
HISTORY = """query($kind: RuleKind!) { ruleHistory(kind: $kind) {
  version changedBy note effectiveFrom changes { field before after } } }"""
IN_FORCE = """{ rules { deadlines { version } risk { version riskWeights { overduePoints } }
  stationCriteria { version stationCriteria { evaluator } } } }"""


async def _ticket_dues(sessions, ticket_id):
    async with sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        return ticket.first_response_due_at, ticket.resolution_due_at


async def test_a_policy_change_applies_to_new_deadlines_only(client, session_factory) -> None:
    world = await build_world(session_factory)
    before = await _ticket_dues(session_factory, world["t1"])
    started = utcnow()
    body = await gql(
        client,
        CHANGE_DEADLINES,
        {
            "input": {
                "policies": [
                    {"tier": "GRID", "severity": "HIGH", "resolutionHours": 10},
                    {
                        "tier": "GRID",
                        "severity": "HIGH",
                        "source": "RISK_HAZARD",
                        "firstResponseHours": 1,
                        "resolutionHours": 6,
                    },
                ],
                "note": "flood season",
            }
        },
        token=world.tokens["county"],
    )
    payload = body["data"]["changeDeadlinePolicies"]
    assert payload["errors"] == []
    rules = payload["rules"]
    # Version 1 is the table in force before the change (the seed); this is version 2.
    assert rules["version"] == 2
    fields = {c["field"]: c for c in rules["changes"]}
    assert fields["GRID.HIGH.ANY.resolution_seconds"]["after"] == 36000
    assert fields["GRID.HIGH.RISK_HAZARD.resolution_seconds"]["after"] == 6 * 3600
    assert "GRID.LOW.ANY.resolution_seconds" not in fields

    # The ticket whose deadlines were set before the change keeps them.
    assert await _ticket_dues(session_factory, world["t1"]) == before
    # A ticket reported from now on gets the new policy.
    async with session_factory() as session, session.begin():
        admin = await scope_for(session, await session.get(Member, world["admin"]))
        new = await lifecycle.create_ticket(
            session,
            scope=admin,
            title="Overtime unpaid",
            source=TicketSource.WORKER_REQUEST,
            enterprise_id=world["e1"],
            severity=Severity.HIGH,
        )
        hazard = await lifecycle.create_ticket(
            session,
            scope=admin,
            title="Blocked exit",
            source=TicketSource.RISK_HAZARD,
            enterprise_id=world["e1"],
            severity=Severity.HIGH,
        )
        new_due = new.resolution_due_at - new.reported_at
        hazard_due = (
            hazard.first_response_due_at - hazard.reported_at,
            hazard.resolution_due_at - hazard.reported_at,
        )
    assert abs(new_due - timedelta(hours=10)) < timedelta(seconds=5)
    assert abs(hazard_due[0] - timedelta(hours=1)) < timedelta(seconds=5)
    assert abs(hazard_due[1] - timedelta(hours=6)) < timedelta(seconds=5)

    history = await gql(client, HISTORY, {"kind": "DEADLINES"}, token=world.tokens["liaison1"])
    versions = history["data"]["ruleHistory"]
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["note"] == "flood season" and versions[0]["changedBy"]
    assert versions[1]["changedBy"] == "gridlink" and versions[1]["changes"] == []
    async with session_factory() as session:
        row = await session.scalar(select(RuleVersion).where(RuleVersion.version == 2))
        assert row.author_id == world["county"] and row.effective_from >= started


async def test_every_bad_field_is_named(client, session_factory) -> None:
    world = await build_world(session_factory)
    token = world.tokens["admin"]
    body = await gql(
        client,
        CHANGE_DEADLINES,
        {
            "input": {
                "policies": [
                    {"tier": "VILLAGE", "severity": "HUGE", "source": "FAX"},
                    {
                        "tier": "GRID",
                        "severity": "LOW",
                        "firstResponseHours": -2,
                        "resolutionHours": 0,
                        "warningPercent": 95,
                    },
                ]
            }
        },
        token=token,
    )
    errors = body["data"]["changeDeadlinePolicies"]["errors"]
    assert {e["field"] for e in errors} == {
        "policies.0.tier",
        "policies.0.severity",
        "policies.0.source",
        "policies.1.firstResponseHours",
        "policies.1.resolutionHours",
        "policies.1.warningPercent",
    }
    assert {e["code"] for e in errors} == {"INVALID"}
    # Resolution shorter than the first response kept from the table in force.
    body = await gql(
        client,
        CHANGE_DEADLINES,
        {"input": {"policies": [{"tier": "TOWN", "severity": "LOW", "resolutionHours": 1}]}},
        token=token,
    )
    errors = body["data"]["changeDeadlinePolicies"]["errors"]
    assert [e["field"] for e in errors] == ["policies.0.resolutionHours"]

    body = await gql(
        client,
        CHANGE_RISK,
        {
            "input": {
                "enterpriseThresholds": [{"name": "ORANGE", "points": 2}],
                "severityPoints": [{"name": "HIGH", "points": 500}, {"name": "HUGE", "points": 1}],
                "overduePoints": -1,
                "criticalFloor": "PINK",
            }
        },
        token=token,
    )
    errors = body["data"]["changeRiskRules"]["errors"]
    assert {e["field"] for e in errors} == {
        "enterpriseThresholds",
        "severityPoints.HIGH",
        "severityPoints.HUGE",
        "overduePoints",
        "criticalFloor",
    }
    body = await gql(
        client,
        CHANGE_CRITERIA,
        {
            "input": {
                "evaluator": "BOSS",
                "criteria": [
                    {"code": "CARE", "text": "x"},
                    {"code": "CARE", "text": " "},
                    {"code": "bad code", "text": "y"},
                ],
            }
        },
        token=token,
    )
    errors = body["data"]["changeStationCriteria"]["errors"]
    assert {e["field"] for e in errors} == {
        "evaluator",
        "criteria.1.code",
        "criteria.1.text",
        "criteria.2.code",
    }
    async with session_factory() as session:
        assert await session.scalar(select(RuleVersion.id)) is None  # nothing was saved


async def test_only_county_officers_change_and_everyone_reads(client, session_factory) -> None:
    world = await build_world(session_factory)
    change = {"input": {"overduePoints": 5}}
    for who in ("town1", "liaison1", "chair", "member", "api"):
        body = await gql(client, CHANGE_RISK, change, token=world.tokens[who])
        payload = body["data"]["changeRiskRules"]
        assert payload["rules"] is None
        assert [e["code"] for e in payload["errors"]] == ["FORBIDDEN"], who
    for who in ("town1", "liaison1", "chair", "member"):
        body = await gql(client, IN_FORCE, token=world.tokens[who])
        assert body["data"]["rules"]["risk"]["riskWeights"]["overduePoints"] == 3
    anonymous = await gql(client, IN_FORCE, expect_errors=True)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    body = await gql(client, CHANGE_RISK, change, token=world.tokens["county"])
    assert body["data"]["changeRiskRules"]["rules"]["version"] == 2
    # The same change again changes nothing, and says so.
    again = await gql(client, CHANGE_RISK, change, token=world.tokens["admin"])
    assert [e["code"] for e in again["data"]["changeRiskRules"]["errors"]] == ["INVALID"]
    body = await gql(client, IN_FORCE, token=world.tokens["member"])
    assert body["data"]["rules"]["risk"] == {"version": 2, "riskWeights": {"overduePoints": 5}}


async def test_risk_levels_follow_the_weights_in_force(client, session_factory) -> None:
    world = await build_world(session_factory)
    query = "query($id: ID!) { node(id: $id) { ... on Enterprise { riskLevel } } }"
    variables = {"id": world.gid("Enterprise", "e1")}
    before = await gql(client, query, variables, token=world.tokens["admin"])
    assert before["data"]["node"]["riskLevel"] != "GREEN"
    calm = [
        {"name": level, "points": points}
        for level, points in (("YELLOW", 900), ("ORANGE", 950), ("RED", 1000))
    ]
    body = await gql(
        client,
        CHANGE_RISK,
        {"input": {"enterpriseThresholds": calm, "criticalFloor": "GREEN"}},
        token=world.tokens["admin"],
    )
    assert body["data"]["changeRiskRules"]["errors"] == []
    after = await gql(client, query, variables, token=world.tokens["admin"])
    assert after["data"]["node"]["riskLevel"] == "GREEN"


async def test_new_criteria_for_new_evaluations(client, session_factory) -> None:
    world = await build_world(session_factory)
    body = await gql(
        client,
        CHANGE_CRITERIA,
        {
            "input": {
                "evaluator": "MEMBER",
                "criteria": [
                    {"code": "CARE", "text": "关心困难职工"},
                    {"code": "SAFETY", "text": "督促安全生产"},
                ],
            }
        },
        token=world.tokens["county"],
    )
    payload = body["data"]["changeStationCriteria"]
    assert payload["errors"] == []
    member = next(c for c in payload["rules"]["stationCriteria"] if c["evaluator"] == "MEMBER")
    assert [c["code"] for c in member["criteria"]] == ["CARE", "SAFETY"]
    town = next(c for c in payload["rules"]["stationCriteria"] if c["evaluator"] == "TOWN_UNION")
    assert len(town["criteria"]) == 6  # the other evaluator's criteria are kept
    async with session_factory() as session:
        kinds = set(await session.scalars(select(RuleVersion.kind)))
    assert kinds == {RuleKind.STATION_CRITERIA}


def _cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


async def test_the_variable_seeds_version_one_and_the_cli_lists_it(
    database_url, session_factory
) -> None:
    from tests.test_cli import run

    seeded = run(database_url, "migrate", env={"GRIDLINK_RISK_RULES": '{"overdue_points": 5}'})
    assert seeded.returncode == 0, seeded.stderr
    # Once a version exists the variable is not read again: the versions are the rule.
    again = run(database_url, "migrate", env={"GRIDLINK_RISK_RULES": '{"overdue_points": 9}'})
    assert again.returncode == 0, again.stderr
    async with session_factory() as session:
        rows = list(await session.scalars(select(RuleVersion)))
    assert {(r.kind, r.version) for r in rows} == {(k, 1) for k in RuleKind}
    risk = next(r for r in rows if r.kind == RuleKind.RISK)
    assert risk.content["overdue_points"] == 5 and risk.author_id is None

    shown = run(database_url, "rules", "show")
    assert shown.returncode == 0, shown.stderr
    assert _cjk(shown.stdout) and shown.stdout.count("\n") > 40
    english = run(database_url, "rules", "show", "--kind", "risk", "--lang", "en")
    assert english.returncode == 0 and not _cjk(english.stdout) and ": 5" in english.stdout


async def test_evaluations_from_then_on_use_the_new_criteria(client, session_factory) -> None:
    from api.errors import DomainError
    from api.stations.evaluations import chair_standing, submit_evaluation
    from api.stations.models import Evaluation, EvaluatorKind

    world = await build_world(session_factory)
    body = await gql(
        client,
        CHANGE_CRITERIA,
        {
            "input": {
                "evaluator": "TOWN_UNION",
                "criteria": [
                    {"code": "ORGANISATION", "text": "按期换届"},
                    {"code": "SAFETY", "text": "督促安全生产"},
                ],
            }
        },
        token=world.tokens["admin"],
    )
    assert body["data"]["changeStationCriteria"]["errors"] == []
    async with session_factory() as session, session.begin():
        admin = await scope_for(session, await session.get(Member, world["admin"]))
        old = {c: 4 for c in ("ORGANISATION", "RULES", "FUNDS")}
        try:
            async with session.begin_nested():
                await submit_evaluation(
                    session,
                    scope=admin,
                    chair_id=world["chair"],
                    evaluator_kind=EvaluatorKind.TOWN_UNION,
                    period="2025",
                    scores=old,
                )
        except DomainError as refused:
            assert refused.code == "INVALID" and refused.field.startswith("scores.")
        else:
            raise AssertionError("scores on criteria no longer in force were accepted")
        given = await submit_evaluation(
            session,
            scope=admin,
            chair_id=world["chair"],
            evaluator_kind=EvaluatorKind.TOWN_UNION,
            period="2025",
            scores={"ORGANISATION": 4, "SAFETY": 5},
        )
        assert given.total == 4.5
        standing = await chair_standing(session, chair_id=world["chair"])
        earlier = await session.get(Evaluation, world["evaluation"])
    # The evaluation given before the change keeps its scores; the standing shows both.
    assert earlier.scores == {"organisation": 4}
    assert {"ORGANISATION", "SAFETY", "organisation"} <= set(standing.town_union.criteria)
