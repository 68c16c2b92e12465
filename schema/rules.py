"""GraphQL for the rules officers change: the deadline policies, the risk weights and
thresholds, the station evaluation criteria — the version in force, its history, and a
mutation per rule set. Anyone signed in reads them; county staff and admins change them
(api/rules, docs/rules.md "Changing the rules")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from api.errors import DomainError
from api.i18n import _
from api.rules import criteria as criteria_rules
from api.rules import deadlines as deadline_rules
from api.rules import risk as risk_rules
from api.rules.models import RuleKind as RuleKindValue
from api.rules.models import RuleVersion
from api.rules.service import Author, history, latest
from api.warnings.rules import RiskRules
from schema.context import Context, Info
from schema.errors import UserError, query_error
from schema.mutations import run_mutation

RuleKind = strawberry.enum(
    RuleKindValue, description="DEADLINES, RISK (weights and thresholds) or STATION_CRITERIA."
)
HOUR = 3600
MAX_NOTE = 500


@strawberry.type(
    description="The time limits of one tier, severity and source (ANY: every source)."
)
class DeadlinePolicyRule:
    tier: str
    severity: str
    source: str
    first_response_hours: float
    resolution_hours: float
    warning_percent: int = strawberry.field(
        description="The warning comes this share of the time limit before the deadline."
    )
    auto_escalate: bool = strawberry.field(
        description="A missed resolution deadline moves the ticket one tier up by itself."
    )


@strawberry.type(
    description="Points (or a threshold) for one value: a severity, a source, a level."
)
class NamedPoints:
    name: str
    points: int


@strawberry.type(description="The early warning's weights and thresholds (docs/rules.md).")
class RiskWeights:
    severity_points: list[NamedPoints]
    source_points: list[NamedPoints]
    overdue_points: int
    repeat_window_days: int
    repeat_threshold: int
    repeat_points: int
    hazard_window_days: int
    hazard_points: int
    critical_floor: str
    enterprise_thresholds: list[NamedPoints]
    grid_thresholds: list[NamedPoints]
    notify_at: str


@strawberry.type(description="One criterion of a chair's evaluation.")
class EvaluationCriterion:
    code: str
    text: str


@strawberry.type(description="The criteria one kind of evaluator scores a chair on.")
class StationCriteria:
    evaluator: str
    criteria: list[EvaluationCriterion]


@strawberry.type(description="One field a version changed, with its value before and after.")
class RuleChange:
    field: str
    before: JSON | None
    after: JSON | None


@strawberry.type(
    description="A version of a rule set: in force from effectiveFrom until the next version."
)
class RuleSet:
    kind: RuleKind  # type: ignore[valid-type]
    version: int | None = strawberry.field(
        description="Null while the built-in rules apply and no version is recorded yet."
    )
    effective_from: datetime | None
    changed_by: str = strawberry.field(description="Who made the change ('gridlink': the seed).")
    note: str
    changes: list[RuleChange]
    deadline_policies: list[DeadlinePolicyRule] | None = strawberry.field(
        description="For DEADLINES."
    )
    risk_weights: RiskWeights | None = strawberry.field(description="For RISK.")
    station_criteria: list[StationCriteria] | None = strawberry.field(
        description="For STATION_CRITERIA."
    )


def _named(values: dict[str, int]) -> list[NamedPoints]:
    return [NamedPoints(name=name, points=points) for name, points in values.items()]


def _content_view(kind: RuleKindValue, content: dict[str, Any]) -> dict[str, Any]:
    if kind == RuleKindValue.DEADLINES:
        policies = []
        for key, row in content.items():
            tier, severity, source = key.split(".")
            policies.append(
                DeadlinePolicyRule(
                    tier=tier,
                    severity=severity,
                    source=source,
                    first_response_hours=row["first_response_seconds"] / HOUR,
                    resolution_hours=row["resolution_seconds"] / HOUR,
                    warning_percent=row["warning_percent"],
                    auto_escalate=row["auto_escalate"],
                )
            )
        return {"deadline_policies": policies}
    if kind == RuleKindValue.RISK:
        weights = RiskWeights(
            **{attr: content[attr] for attr, _range in risk_rules.COUNTS.values()},
            **{attr: _named(content[attr]) for attr, _n, _r in risk_rules.TABLES.values()},
            **{attr: content[attr] for attr in risk_rules.LEVELS.values()},
        )
        return {"risk_weights": weights}
    return {
        "station_criteria": [
            StationCriteria(
                evaluator=evaluator,
                criteria=[EvaluationCriterion(code=c, text=t) for c, t in items.items()],
            )
            for evaluator, items in content.items()
        ]
    }


def to_rule_set(kind: RuleKindValue, row: RuleVersion | None, content: dict[str, Any]) -> RuleSet:
    return RuleSet(
        kind=kind,
        version=row.version if row else None,
        effective_from=row.effective_from if row else None,
        changed_by=row.author_label if row else "",
        note=row.note if row else "",
        changes=[RuleChange(**change) for change in row.changes] if row else [],
        **{"deadline_policies": None, "risk_weights": None, "station_criteria": None}
        | _content_view(kind, content),
    )


async def _built_in(session: Any, kind: RuleKindValue, fallback: RiskRules) -> dict[str, Any]:
    """The content in force when no version is recorded yet."""
    if kind == RuleKindValue.DEADLINES:
        return deadline_rules.content_of(await deadline_rules.table_in_force(session))
    if kind == RuleKindValue.RISK:
        return risk_rules.content_of(fallback)
    return criteria_rules.content_of(criteria_rules.criteria_of(None))


async def rule_set_in_force(session: Any, kind: RuleKindValue, context: Context) -> RuleSet:
    row = await latest(session, kind)
    if row is not None:
        return to_rule_set(kind, row, row.content)
    return to_rule_set(kind, None, await _built_in(session, kind, context.settings.risk_rules))


@strawberry.type(description="The rules in force now.")
class Rules:
    @strawberry.field
    async def deadlines(self, info: Info) -> RuleSet:
        return await _in_force(info, RuleKindValue.DEADLINES)

    @strawberry.field
    async def risk(self, info: Info) -> RuleSet:
        return await _in_force(info, RuleKindValue.RISK)

    @strawberry.field
    async def station_criteria(self, info: Info) -> RuleSet:
        return await _in_force(info, RuleKindValue.STATION_CRITERIA)


async def _in_force(info: Info, kind: RuleKindValue) -> RuleSet:
    async with info.context.reader.session() as session:
        return await rule_set_in_force(session, kind, info.context)


@strawberry.type
class RulesQuery:
    @strawberry.field(
        description="The deadline policies, risk weights and station criteria in force."
    )
    def rules(self, info: Info) -> Rules:
        info.context.require_member()
        return Rules()

    @strawberry.field(description="The versions of one rule set, newest first: who, when, what.")
    async def rule_history(
        self,
        info: Info,
        kind: RuleKind,  # type: ignore[valid-type]
        limit: int = 20,
    ) -> list[RuleSet]:
        info.context.require_member()
        if not 1 <= limit <= 100:
            raise query_error(
                DomainError(
                    "INVALID",
                    _("give a whole number from {least} to {most}", least=1, most=100),
                    "limit",
                )
            )
        async with info.context.reader.session() as session:
            rows = await history(session, kind, limit)
        return [to_rule_set(kind, row, row.content) for row in rows]


# --- changing the rules ----------------------------------------------------------------------


@strawberry.input(description="One policy to change; omitted values stay as they are.")
class DeadlinePolicyInput:
    tier: str
    severity: str
    source: str = deadline_rules.ANY_SOURCE
    first_response_hours: float | None = None
    resolution_hours: float | None = None
    warning_percent: int | None = None
    auto_escalate: bool | None = None


@strawberry.input(description="Deadline policies to change, in force from the moment saved.")
class ChangeDeadlinePoliciesInput:
    policies: list[DeadlinePolicyInput]
    note: str = ""


@strawberry.input(description="Points (or a threshold) for one severity, source or level.")
class NamedPointsInput:
    name: str
    points: int


@strawberry.input(description="Weights and thresholds to change; omitted ones stay as they are.")
class ChangeRiskRulesInput:
    severity_points: list[NamedPointsInput] | None = None
    source_points: list[NamedPointsInput] | None = None
    enterprise_thresholds: list[NamedPointsInput] | None = None
    grid_thresholds: list[NamedPointsInput] | None = None
    overdue_points: int | None = None
    repeat_window_days: int | None = None
    repeat_threshold: int | None = None
    repeat_points: int | None = None
    hazard_window_days: int | None = None
    hazard_points: int | None = None
    critical_floor: str | None = None
    notify_at: str | None = None
    note: str = ""


@strawberry.input(description="One criterion: a stable code (capital letters) and its text.")
class CriterionInput:
    code: str
    text: str


@strawberry.input(description="The whole list of criteria of one evaluator (TOWN_UNION or MEMBER).")
class ChangeStationCriteriaInput:
    evaluator: str
    criteria: list[CriterionInput]
    note: str = ""


@strawberry.type
class RulesPayload:
    rules: RuleSet | None = strawberry.field(description="The new version, or null if refused.")
    errors: list[UserError]


def _may_change(context: Context) -> bool:
    return context.scope.manages_county


def _refused(problems: list[DomainError]) -> RulesPayload:
    return RulesPayload(rules=None, errors=[UserError.from_domain(p) for p in problems])


def _note_problems(note: str) -> list[DomainError]:
    if len(note) <= MAX_NOTE:
        return []
    return [
        DomainError("INVALID", _("a note has at most {most} characters", most=MAX_NOTE), "note")
    ]


async def _change(
    info: Info,
    kind: RuleKindValue,
    problems: list[DomainError],
    change: Any,
) -> RulesPayload:
    """Refuse a caller who may not change the rules, then list every problem of the input at
    once, then save in one transaction (which checks again against the rules it reads)."""
    context = info.context
    member = context.require_member()
    if not _may_change(context):
        refusal = _("only county staff and admins may change the rules")
        return RulesPayload(
            rules=None, errors=[UserError(field=None, message=refusal, code="FORBIDDEN")]
        )
    if problems:
        return _refused(problems)
    author = Author(member.id, member.name)

    async def work(session: Any) -> RuleSet:
        row = await change(session, author)
        return to_rule_set(kind, row, row.content)

    saved, errors = await run_mutation(info, work, allowed=_may_change)
    return RulesPayload(rules=saved, errors=errors)


def _points(items: list[NamedPointsInput] | None) -> dict[str, int] | None:
    return None if items is None else {item.name: item.points for item in items}


@strawberry.type
class RulesMutation:
    @strawberry.mutation(
        description="Change deadline policies (county staff and admins). Deadlines set from "
        "now on use them; deadlines tickets already have stay as they were set."
    )
    async def change_deadline_policies(
        self, info: Info, input: ChangeDeadlinePoliciesInput
    ) -> RulesPayload:
        changes = [
            deadline_rules.PolicyChange(
                tier=p.tier,
                severity=p.severity,
                source=p.source,
                first_response_hours=p.first_response_hours,
                resolution_hours=p.resolution_hours,
                warning_percent=p.warning_percent,
                auto_escalate=p.auto_escalate,
            )
            for p in input.policies
        ]
        problems = deadline_rules.check_changes(changes) + _note_problems(input.note)
        if not problems and _may_change(info.context):
            async with info.context.reader.session() as session:
                problems = await deadline_rules.check_merged(session, changes)
        return await _change(
            info,
            RuleKindValue.DEADLINES,
            problems,
            lambda session, author: deadline_rules.change_deadline_policies(
                session,
                changes,
                author=author,
                note=input.note,
            ),
        )

    @strawberry.mutation(
        description="Change the early warning's weights and thresholds (county staff and "
        "admins); risk levels are computed with them from now on."
    )
    async def change_risk_rules(self, info: Info, input: ChangeRiskRulesInput) -> RulesPayload:
        given = {name: getattr(input, attr) for name, (attr, _r) in _input_names().items()}
        change = risk_rules.RiskChange(
            counts={n: v for n, v in given.items() if n in risk_rules.COUNTS and v is not None},
            tables={
                n: _points(getattr(input, risk_rules.TABLES[n][0]))  # type: ignore[misc]
                for n in risk_rules.TABLES
                if getattr(input, risk_rules.TABLES[n][0]) is not None
            },
            levels={n: v for n, v in given.items() if n in risk_rules.LEVELS and v is not None},
        )
        fallback = info.context.settings.risk_rules
        _rules, problems = risk_rules.apply_change(fallback, change)
        if not problems and _may_change(info.context):
            async with info.context.reader.session() as session:
                current = await risk_rules.risk_rules_in_force(session, fallback)
            problems = risk_rules.apply_change(current, change)[1]
        return await _change(
            info,
            RuleKindValue.RISK,
            problems + _note_problems(input.note),
            lambda session, author: risk_rules.change_risk_rules(
                session,
                change,
                fallback=fallback,
                author=author,
                note=input.note,
            ),
        )

    @strawberry.mutation(
        description="Replace the criteria of one evaluator (county staff and admins); "
        "evaluations given from now on are scored on them, earlier ones keep their scores."
    )
    async def change_station_criteria(
        self, info: Info, input: ChangeStationCriteriaInput
    ) -> RulesPayload:
        items = [criteria_rules.Criterion(code=c.code, text=c.text) for c in input.criteria]
        problems = criteria_rules.check_criteria(input.evaluator, items)
        return await _change(
            info,
            RuleKindValue.STATION_CRITERIA,
            problems + _note_problems(input.note),
            lambda session, author: criteria_rules.change_criteria(
                session,
                input.evaluator,
                items,
                author=author,
                note=input.note,
            ),
        )


def _input_names() -> dict[str, tuple[str, Any]]:
    """camelCase input field -> (snake_case attribute, range) for the plain values."""
    names: dict[str, tuple[str, Any]] = {n: (attr, r) for n, (attr, r) in risk_rules.COUNTS.items()}
    names.update({n: (attr, None) for n, attr in risk_rules.LEVELS.items()})
    return names
