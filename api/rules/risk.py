"""Risk weights and thresholds as a versioned rule set. The newest version is the rule; before
any version exists (a database not yet seeded) the rule is the one GRIDLINK_RISK_RULES gives,
else the built-in default. Start-up writes that as version 1 (seed_rule_versions)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import DomainError, invalid
from api.i18n import _
from api.rules.models import RuleKind, RuleVersion
from api.rules.service import Author, latest, record_version
from api.tickets.models import Severity, TicketSource
from api.warnings.models import RiskLevel
from api.warnings.rules import DEFAULT_RULES, RiskRules, rules_from_overrides

# What an officer may set: points per ticket, days of a window, tickets for "repeated".
POINTS_RANGE = (0, 100)
DAYS_RANGE = (1, 365)
REPEAT_RANGE = (1, 100)
THRESHOLD_RANGE = (1, 1000)
RAISED_LEVELS = (RiskLevel.YELLOW, RiskLevel.ORANGE, RiskLevel.RED)
# Input field (camelCase, as GraphQL names it) -> the rule's attribute and its range.
COUNTS = {
    "overduePoints": ("overdue_points", POINTS_RANGE),
    "repeatPoints": ("repeat_points", POINTS_RANGE),
    "hazardPoints": ("hazard_points", POINTS_RANGE),
    "repeatWindowDays": ("repeat_window_days", DAYS_RANGE),
    "hazardWindowDays": ("hazard_window_days", DAYS_RANGE),
    "repeatThreshold": ("repeat_threshold", REPEAT_RANGE),
}
TABLES = {
    "severityPoints": ("severity_points", [s.value for s in Severity], POINTS_RANGE),
    "sourcePoints": ("source_points", [s.value for s in TicketSource], POINTS_RANGE),
    "enterpriseThresholds": (
        "enterprise_thresholds",
        [level.value for level in RAISED_LEVELS],
        THRESHOLD_RANGE,
    ),
    "gridThresholds": (
        "grid_thresholds",
        [level.value for level in RAISED_LEVELS],
        THRESHOLD_RANGE,
    ),
}
LEVELS = {"criticalFloor": "critical_floor", "notifyAt": "notify_at"}


@dataclass(frozen=True)
class RiskChange:
    """The weights to change, by input field; what is left out keeps its value."""

    counts: Mapping[str, int] = field(default_factory=dict)
    tables: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    levels: Mapping[str, str] = field(default_factory=dict)


def content_of(rules: RiskRules) -> dict[str, Any]:
    """The rule as JSON, in the shape GRIDLINK_RISK_RULES takes (rules_from_overrides)."""
    content: dict[str, Any] = {attr: getattr(rules, attr) for attr, _range in COUNTS.values()}
    for attr, _names, _range in TABLES.values():
        content[attr] = {key.value: points for key, points in getattr(rules, attr).items()}
    for attr in LEVELS.values():
        content[attr] = getattr(rules, attr).value
    return content


def rules_of(version: RuleVersion | None, fallback: RiskRules) -> RiskRules:
    return fallback if version is None else rules_from_overrides(version.content)


async def risk_rules_in_force(
    session: AsyncSession, fallback: RiskRules = DEFAULT_RULES
) -> RiskRules:
    """The weights the early warning uses now (one small row)."""
    with session.no_autoflush:
        return rules_of(await latest(session, RuleKind.RISK), fallback)


def _in_range(field_name: str, value: Any, bounds: tuple[int, int]) -> DomainError | None:
    least, most = bounds
    if isinstance(value, int) and not isinstance(value, bool) and least <= value <= most:
        return None
    return invalid(
        field_name, _("give a whole number from {least} to {most}", least=least, most=most)
    )


def apply_change(current: RiskRules, change: RiskChange) -> tuple[RiskRules, list[DomainError]]:
    """The rule with the change made, and every problem of the change, each naming its field."""
    problems: list[DomainError] = []
    content = content_of(current)
    if not (change.counts or change.tables or change.levels):
        problems.append(invalid("input", _("name at least one weight or threshold to change")))
    for name, value in change.counts.items():
        attr, bounds = COUNTS[name]
        if problem := _in_range(name, value, bounds):
            problems.append(problem)
        content[attr] = value
    for name, values in change.tables.items():
        attr, allowed, bounds = TABLES[name]
        for key, value in values.items():
            at = f"{name}.{key}"
            if key not in allowed:
                problems.append(
                    invalid(
                        at,
                        _(
                            "{value} is not known here; use one of {allowed}",
                            value=key,
                            allowed=", ".join(allowed),
                        ),
                    )
                )
                continue
            if problem := _in_range(at, value, bounds):
                problems.append(problem)
            content[attr][key] = value
    for name, value in change.levels.items():
        if value not in RiskLevel.__members__:
            allowed = ", ".join(RiskLevel.__members__)
            problems.append(
                invalid(
                    name,
                    _(
                        "{value} is not known here; use one of {allowed}",
                        value=value,
                        allowed=allowed,
                    ),
                )
            )
            continue
        content[LEVELS[name]] = value
    for name in ("enterpriseThresholds", "gridThresholds"):
        points = [content[TABLES[name][0]][level.value] for level in RAISED_LEVELS]
        if not all(isinstance(p, int) for p in points):
            continue
        if not points[0] < points[1] < points[2]:
            problems.append(
                invalid(name, _("the thresholds must rise: YELLOW below ORANGE below RED"))
            )
    if problems:
        return current, problems
    return rules_from_overrides(content), []


async def change_risk_rules(
    session: AsyncSession,
    change: RiskChange,
    *,
    fallback: RiskRules = DEFAULT_RULES,
    author: Author,
    note: str = "",
    now: datetime | None = None,
) -> RuleVersion:
    current = await risk_rules_in_force(session, fallback)
    rules, problems = apply_change(current, change)
    if problems:
        raise problems[0]
    return await record_version(
        session,
        RuleKind.RISK,
        content_of(rules),
        author=author,
        note=note,
        now=now,
        seed=content_of(current),
    )
