"""The two evaluations of union chairs: by the town union against the standardisation
criteria, by the members of the chair's enterprise against the "model workers' home" criteria
(api/stations/criteria.py), and a chair's standing from both."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.scope import Scope
from api.enterprises.models import Enterprise
from api.errors import DomainError, forbidden, invalid, not_found
from api.i18n import _
from api.members.models import Member, Role
from api.records import add_unless_taken, utcnow
from api.rules.criteria import criteria_in_force
from api.stations.access import load_station
from api.stations.criteria import SCALE_MAX, SCALE_MIN
from api.stations.models import Evaluation, EvaluatorKind
from api.stations.periods import period_bounds, periods_overlap, quarter_start


def _scores(criteria: Mapping[str, str], scores: Mapping[str, Any]) -> dict[str, int]:
    if not isinstance(scores, Mapping):
        raise invalid("scores", _("scores are given per criterion"))
    unknown = sorted(set(scores) - set(criteria))
    if unknown:
        raise invalid(
            f"scores.{unknown[0]}",
            _(
                "{unknown} is not a criterion of this evaluation; the criteria are {criteria}",
                unknown=unknown[0],
                criteria=list(criteria),
            ),
        )
    clean: dict[str, int] = {}
    for code in criteria:
        if code not in scores:
            raise invalid(
                f"scores.{code}", _("score every criterion; {code} is missing", code=code)
            )
        value = scores[code]
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid(f"scores.{code}", _("{code} needs a whole number", code=code))
        if not SCALE_MIN <= value <= SCALE_MAX:
            raise invalid(
                f"scores.{code}",
                _(
                    "{code} is scored from {SCALE_MIN} to {SCALE_MAX}, got {value}",
                    code=code,
                    SCALE_MIN=SCALE_MIN,
                    SCALE_MAX=SCALE_MAX,
                    value=value,
                ),
            )
        clean[code] = value
    return clean


async def submit_evaluation(
    session: AsyncSession,
    *,
    scope: Scope,
    chair_id: uuid.UUID,
    evaluator_kind: EvaluatorKind,
    period: str,
    scores: Mapping[str, Any],
    station_id: uuid.UUID | None = None,
    comment: str | None = None,
    evaluation_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Evaluation:
    """The caller rates a chair for a period: as the town union (town or county staff) against
    the standardisation criteria, or as a member of the chair's enterprise against the "model
    workers' home" criteria. Once per evaluator, chair and period (a year and a quarter of it
    overlap); a period that has not begun cannot be rated."""
    now = now or utcnow()
    if scope.read_only or scope.member_id is None:
        raise forbidden(_("sign in as the evaluator to submit an evaluation"))
    kind = EvaluatorKind(evaluator_kind)
    year, quarter = period_bounds(period)
    if quarter_start(year, quarter or 1) > now:
        raise invalid("period", _("{period} has not begun; it cannot be rated yet", period=period))
    chair = await session.get(Member, chair_id)
    if chair is None or chair.deleted or not chair.has_role(Role.CHAIR):
        raise not_found("chairId", _("the union chair"))
    if chair.id == scope.member_id:
        raise invalid("chairId", _("a chair cannot rate itself"))
    enterprise = await session.get(Enterprise, chair.enterprise_id) if chair.enterprise_id else None
    if kind == EvaluatorKind.TOWN_UNION:
        staff = scope.has_role(Role.TOWN_STAFF, Role.COUNTY_STAFF, Role.ADMIN)
        sees = scope.everything or (enterprise is not None and scope.sees_grid(enterprise.grid_id))
        if not (staff and sees):
            raise forbidden(_("the town union of the chair's town rates it"), "evaluatorKind")
    else:
        evaluator = await session.get(Member, scope.member_id)
        if evaluator is None or enterprise is None or evaluator.enterprise_id != enterprise.id:
            raise forbidden(_("members rate the chair of their own enterprise"), "evaluatorKind")
    if station_id is not None:
        await load_station(session, station_id)
    clean = _scores((await criteria_in_force(session))[kind], scores)
    if comment is not None and len(comment) > 1000:
        raise invalid("comment", _("a comment has at most 1000 characters"))
    earlier = await session.scalars(
        select(Evaluation.period).where(
            Evaluation.chair_id == chair.id,
            Evaluation.evaluator_id == scope.member_id,
            Evaluation.evaluator_kind == kind,
            Evaluation.deleted_at.is_(None),
        )
    )
    for other in earlier:
        if periods_overlap(other, period):
            raise DomainError(
                "ALREADY_EVALUATED",
                _("you have already rated {name} for {other}", name=chair.name, other=other),
                "period",
            )
    evaluation = Evaluation(
        id=evaluation_id or uuid.uuid4(),
        chair_id=chair.id,
        evaluator_id=scope.member_id,
        evaluator_kind=kind,
        station_id=station_id,
        period=period,
        scores=clean,
        total=round(sum(clean.values()) / len(clean), 2),
        comment=comment.strip() if comment else None,
    )
    await add_unless_taken(
        session,
        evaluation,
        lambda: DomainError(
            "ALREADY_EVALUATED",
            _("you have already rated {name} for {period}", name=chair.name, period=period),
            "period",
        ),
    )
    return evaluation


@dataclass(frozen=True)
class StandingPart:
    """One side's evaluations of a chair: how many, the mean score, the mean per criterion."""

    evaluations: int
    average: float | None
    criteria: dict[str, float]


@dataclass(frozen=True)
class ChairStanding:
    chair_id: uuid.UUID
    period: str | None
    town_union: StandingPart
    members: StandingPart


def _part(evaluations: list[Evaluation], codes: Iterable[str]) -> StandingPart:
    if not evaluations:
        return StandingPart(0, None, {})
    # The criteria in force, and those of earlier versions the evaluations were scored on.
    codes = dict.fromkeys([*codes, *(code for e in evaluations for code in e.scores)])
    criteria = {
        code: round(sum(e.scores.get(code, 0) for e in evaluations) / len(evaluations), 2)
        for code in codes
    }
    average = round(sum(e.total for e in evaluations) / len(evaluations), 2)
    return StandingPart(len(evaluations), average, criteria)


async def chair_standing(
    session: AsyncSession, *, chair_id: uuid.UUID, period: str | None = None
) -> ChairStanding:
    """The town union's and the members' evaluations of a chair, aggregated separately (a
    year includes its quarters)."""
    if period is not None:
        period_bounds(period)
    rows = list(
        await session.scalars(
            select(Evaluation).where(
                Evaluation.chair_id == chair_id, Evaluation.deleted_at.is_(None)
            )
        )
    )
    if period is not None:
        rows = [e for e in rows if e.period == period or e.period.startswith(f"{period}-")]
    criteria = await criteria_in_force(session)
    return ChairStanding(
        chair_id=chair_id,
        period=period,
        town_union=_part(
            [e for e in rows if e.evaluator_kind == EvaluatorKind.TOWN_UNION],
            criteria[EvaluatorKind.TOWN_UNION],
        ),
        members=_part(
            [e for e in rows if e.evaluator_kind == EvaluatorKind.MEMBER],
            criteria[EvaluatorKind.MEMBER],
        ),
    )
