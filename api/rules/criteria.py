"""Station evaluation criteria as a versioned rule set: per evaluator, the criteria (a stable
code and what the evaluator judges). New evaluations are scored against the criteria in force;
evaluations already given keep the scores they were given."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import DomainError, invalid
from api.i18n import _
from api.rules.models import RuleKind, RuleVersion
from api.rules.service import Author, latest, record_version
from api.stations.criteria import CRITERIA
from api.stations.models import EvaluatorKind

CODE = re.compile(r"^[A-Z][A-Z0-9_]{1,39}$")
MAX_CRITERIA = 20
MAX_TEXT = 200
Criteria = dict[EvaluatorKind, dict[str, str]]


@dataclass(frozen=True)
class Criterion:
    code: str
    text: str


def content_of(criteria: Criteria) -> dict[str, Any]:
    return {
        kind.value: {code: str(text) for code, text in items.items()}
        for kind, items in criteria.items()
    }


def criteria_of(version: RuleVersion | None) -> Criteria:
    if version is None:
        return {
            kind: {code: str(text) for code, text in items.items()}
            for kind, items in CRITERIA.items()
        }
    return {EvaluatorKind(kind): dict(items) for kind, items in version.content.items()}


async def criteria_in_force(session: AsyncSession) -> Criteria:
    with session.no_autoflush:
        return criteria_of(await latest(session, RuleKind.STATION_CRITERIA))


def check_criteria(evaluator: str, criteria: Sequence[Criterion]) -> list[DomainError]:
    problems: list[DomainError] = []
    if evaluator not in EvaluatorKind.__members__:
        allowed = ", ".join(EvaluatorKind.__members__)
        problems.append(
            invalid(
                "evaluator",
                _(
                    "{value} is not known here; use one of {allowed}",
                    value=evaluator,
                    allowed=allowed,
                ),
            )
        )
    if not 1 <= len(criteria) <= MAX_CRITERIA:
        problems.append(
            invalid(
                "criteria", _("give from {least} to {most} criteria", least=1, most=MAX_CRITERIA)
            )
        )
    seen: set[str] = set()
    for n, criterion in enumerate(criteria):
        if not CODE.match(criterion.code):
            problems.append(
                invalid(
                    f"criteria.{n}.code",
                    _("a code is 2 to 40 capital letters, digits or _, starting with a letter"),
                )
            )
        elif criterion.code in seen:
            problems.append(invalid(f"criteria.{n}.code", _("this code is given twice")))
        seen.add(criterion.code)
        if not 1 <= len(criterion.text.strip()) <= MAX_TEXT:
            problems.append(
                invalid(
                    f"criteria.{n}.text",
                    _("say what the evaluator judges, in at most {most} characters", most=MAX_TEXT),
                )
            )
    return problems


async def change_criteria(
    session: AsyncSession,
    evaluator: str,
    criteria: Sequence[Criterion],
    *,
    author: Author,
    note: str = "",
    now: datetime | None = None,
) -> RuleVersion:
    """Replace one evaluator's criteria, in force for evaluations given from ``now``."""
    if problems := check_criteria(evaluator, criteria):
        raise problems[0]
    current = await criteria_in_force(session)
    after = dict(current)
    after[EvaluatorKind(evaluator)] = {c.code: c.text.strip() for c in criteria}
    return await record_version(
        session,
        RuleKind.STATION_CRITERIA,
        content_of(after),
        author=author,
        note=note,
        now=now,
        seed=content_of(current),
    )
