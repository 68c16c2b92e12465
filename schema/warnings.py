"""GraphQL view of the early warning: the risk level of an enterprise or a grid, computed by
api.warnings from the open tickets and hazards (batched per list level)."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry

from api.rules.risk import risk_rules_in_force
from api.warnings.models import RiskLevel as RiskLevelValue
from api.warnings.rules import RiskAssessment
from api.warnings.service import risk_for_enterprises, risk_for_grids
from schema.context import Context, Info

RiskLevel = strawberry.enum(RiskLevelValue, description="GREEN, YELLOW, ORANGE or RED.")


@strawberry.type(description="One reason behind a risk level, with the points it adds.")
class RiskReason:
    text: str
    points: int


@strawberry.type(name="Risk", description="An early-warning level and why.")
class RiskType:
    level: RiskLevel  # type: ignore[valid-type]
    score: int
    reasons: list[RiskReason]


def to_risk(assessment: RiskAssessment) -> RiskType:
    return RiskType(
        level=assessment.level,
        score=assessment.score,
        reasons=[RiskReason(text=r.text, points=r.points) for r in assessment.reasons],
    )


def _loader(context: Context, compute: Any) -> Any:
    async def load(ids: list[uuid.UUID]) -> list[RiskType]:
        async with context.sessions() as session:
            rules = await risk_rules_in_force(session, context.settings.risk_rules)
            found = await compute(session, ids, context.now, rules=rules)
        return [to_risk(found[i]) for i in ids]

    return load


def enterprise_risk(info: Info, enterprise_id: uuid.UUID) -> Any:
    context = info.context
    return context.loaders.custom("enterprise.risk", _loader(context, risk_for_enterprises)).load(
        enterprise_id
    )


def grid_risk(info: Info, grid_id: uuid.UUID) -> Any:
    context = info.context
    return context.loaders.custom("grid.risk", _loader(context, risk_for_grids)).load(grid_id)
