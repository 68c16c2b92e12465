"""The early-warning rule: points from a set of tickets, a level from the points, and the
sentences that explain them. Pure functions over plain rows; docs/rules.md explains the rule
and its default weights with an example.

Points:
- each open ticket: its severity's points plus its source's points;
- each open ticket past a running deadline (not while waiting on the worker): overdue points;
- an enterprise with at least `repeat_threshold` worker requests (requests and 12351 calls,
  open or not) reported in the last `repeat_window_days`: repeat points;
- each risk hazard or direct report reported in the last `hazard_window_days`, open or not:
  hazard points.
The level is the highest whose threshold the points reach. An open critical ticket keeps an
enterprise at least at `critical_floor`; a grid is at least as high as its riskiest enterprise."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from api.i18n import N_, Lazy, _
from api.tickets.deadlines import HAZARD_SOURCES, is_overdue
from api.tickets.models import OPEN_STATUSES, Severity, TicketSource, TicketStatus, Tier
from api.warnings.models import RiskLevel

REQUEST_SOURCES = frozenset({TicketSource.WORKER_REQUEST, TicketSource.HOTLINE_12351})
SEVERE = (Severity.CRITICAL, Severity.HIGH)
# What the reasons call each source, one and many (a message: Chinese has one form).
SOURCE_NOUNS = {
    TicketSource.WORKER_REQUEST: (N_("request"), N_("requests")),
    TicketSource.RISK_HAZARD: (N_("risk hazard"), N_("risk hazards")),
    TicketSource.HOTLINE_12351: (N_("12351 hotline call"), N_("12351 hotline calls")),
    TicketSource.DIRECT_REPORT: (N_("direct report"), N_("direct reports")),
}


def _frozen(values: Mapping) -> Mapping:  # type: ignore[type-arg]
    return MappingProxyType(dict(values))


@dataclass(frozen=True)
class RiskRules:
    """Weights and thresholds of the early warning (the defaults are the county's rule)."""

    severity_points: Mapping[Severity, int] = field(
        default_factory=lambda: _frozen(
            {Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 4, Severity.CRITICAL: 8}
        )
    )
    source_points: Mapping[TicketSource, int] = field(
        default_factory=lambda: _frozen(
            {
                TicketSource.WORKER_REQUEST: 0,
                TicketSource.HOTLINE_12351: 1,
                TicketSource.RISK_HAZARD: 2,
                TicketSource.DIRECT_REPORT: 2,
            }
        )
    )
    overdue_points: int = 3
    repeat_window_days: int = 90
    repeat_threshold: int = 3
    repeat_points: int = 4
    hazard_window_days: int = 30
    hazard_points: int = 2
    critical_floor: RiskLevel = RiskLevel.ORANGE
    # The points at which each level starts.
    enterprise_thresholds: Mapping[RiskLevel, int] = field(
        default_factory=lambda: _frozen(
            {RiskLevel.YELLOW: 3, RiskLevel.ORANGE: 8, RiskLevel.RED: 15}
        )
    )
    grid_thresholds: Mapping[RiskLevel, int] = field(
        default_factory=lambda: _frozen(
            {RiskLevel.YELLOW: 6, RiskLevel.ORANGE: 16, RiskLevel.RED: 30}
        )
    )
    # A rise to this level or above notifies the grid's liaisons and the town staff.
    notify_at: RiskLevel = RiskLevel.ORANGE

    @property
    def longest_window(self) -> timedelta:
        return timedelta(days=max(self.repeat_window_days, self.hazard_window_days))


DEFAULT_RULES = RiskRules()

_ENUM_KEYS = {
    "severity_points": Severity,
    "source_points": TicketSource,
    "enterprise_thresholds": RiskLevel,
    "grid_thresholds": RiskLevel,
}
_LEVEL_FIELDS = ("critical_floor", "notify_at")
_COUNTS = (
    "overdue_points",
    "repeat_window_days",
    "repeat_threshold",
    "repeat_points",
    "hazard_window_days",
    "hazard_points",
)


def rules_from_overrides(overrides: Mapping[str, Any]) -> RiskRules:
    """The default rule with some weights changed, e.g. {"overdue_points": 5,
    "enterprise_thresholds": {"RED": 20}}. ValueError names the key and the problem."""
    known = (*_COUNTS, *_ENUM_KEYS, *_LEVEL_FIELDS)
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key in _COUNTS:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{key} must be a whole number ≥ 0, got {value!r}")
            changes[key] = value
        elif key in _ENUM_KEYS:
            enum = _ENUM_KEYS[key]
            if not isinstance(value, Mapping):
                raise ValueError(f'{key} must be an object such as {{"HIGH": 4}}')
            merged = dict(getattr(DEFAULT_RULES, key))
            for name, points in value.items():
                if name not in enum.__members__:
                    allowed = ", ".join(enum.__members__)
                    raise ValueError(f"{key}: unknown {name!r}; use {allowed}")
                if not isinstance(points, int) or isinstance(points, bool) or points < 0:
                    raise ValueError(f"{key}.{name} must be a whole number ≥ 0, got {points!r}")
                merged[enum[name]] = points
            changes[key] = _frozen(merged)
        elif key in _LEVEL_FIELDS:
            if value not in RiskLevel.__members__:
                raise ValueError(f"{key} must be GREEN, YELLOW, ORANGE or RED, got {value!r}")
            changes[key] = RiskLevel[value]
        else:
            raise ValueError(f"unknown key {key!r}; the keys are {', '.join(known)}")
    return replace(DEFAULT_RULES, **changes)


@dataclass(frozen=True)
class TicketFacts:
    """The columns of a ticket the rule reads (selected rows, never ORM objects)."""

    id: uuid.UUID
    enterprise_id: uuid.UUID | None
    grid_id: uuid.UUID
    source: TicketSource
    severity: Severity
    category: str
    status: TicketStatus
    tier: Tier
    assignee_id: uuid.UUID | None
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    paused_seconds: int
    reported_at: datetime


@dataclass(frozen=True)
class RiskReason:
    text: str
    points: int


@dataclass(frozen=True)
class RiskAssessment:
    level: RiskLevel
    score: int
    reasons: tuple[RiskReason, ...] = ()

    def reasons_json(self) -> list[dict[str, object]]:
        return [{"text": r.text, "points": r.points} for r in self.reasons]


GREEN = RiskAssessment(RiskLevel.GREEN, 0, ())


def level_for(score: int, thresholds: Mapping[RiskLevel, int]) -> RiskLevel:
    reached = [level for level, at in thresholds.items() if score >= at]
    return max(reached, key=lambda level: level.rank, default=RiskLevel.GREEN)


def _plural(count: int, nouns: tuple[Lazy, Lazy]) -> str:
    return _("{count} {noun}", count=count, noun=nouns[0] if count == 1 else nouns[1])


# The ticket categories the county uses, by their words; another category is shown as its
# code in words (wage-arrears), as entered.
CATEGORY_WORDS: dict[str, Lazy] = {
    "WAGES": N_("wages", "TicketCategory"),
    "WAGE_ARREARS": N_("wage-arrears", "TicketCategory"),
    "OVERTIME": N_("overtime", "TicketCategory"),
    "SOCIAL_INSURANCE": N_("social-insurance", "TicketCategory"),
    "CONTRACT": N_("contract", "TicketCategory"),
    "WORK_INJURY": N_("work-injury", "TicketCategory"),
    "FOOD_SAFETY": N_("food-safety", "TicketCategory"),
    "SAFETY": N_("safety", "TicketCategory"),
    "FIRE": N_("fire", "TicketCategory"),
    "LEAVE": N_("leave", "TicketCategory"),
    "DISMISSAL": N_("dismissal", "TicketCategory"),
    "HOUSING": N_("housing", "TicketCategory"),
    "WORKING_HOURS": N_("working-hours", "TicketCategory"),
    "TRAINING": N_("training", "TicketCategory"),
    "COMMUTE": N_("commute", "TicketCategory"),
}


def _category_words(category: str) -> Lazy | str:
    return CATEGORY_WORDS.get(category) or category.lower().replace("_", "-")


def _open_reasons(
    tickets: Sequence[TicketFacts], now: datetime, rules: RiskRules
) -> list[RiskReason]:
    """One sentence per kind of open ticket: "3 open wage-arrears requests (1 high), 1 overdue"."""
    groups: dict[tuple[str, TicketSource], list[TicketFacts]] = {}
    for ticket in tickets:
        groups.setdefault((ticket.category, ticket.source), []).append(ticket)
    reasons = []
    for (category, source), group in groups.items():
        points = sum(
            rules.severity_points[t.severity] + rules.source_points[t.source] for t in group
        )
        overdue = sum(1 for t in group if is_overdue(t, now))
        points += overdue * rules.overdue_points
        nouns = SOURCE_NOUNS[source]
        noun = nouns[len(group) != 1]
        text = (
            _("{count} open {noun}", count=len(group), noun=noun)
            if category in {"", "OTHER"}
            else _(
                "{count} open {category} {noun}",
                count=len(group),
                category=_category_words(category),
                noun=noun,
            )
        )
        severe = Counter(t.severity for t in group if t.severity in SEVERE)
        if severe:
            counts = [
                _("{count} {severity}", count=severe[s], severity=s) for s in SEVERE if severe[s]
            ]
            text += _(" ({counts})", counts=counts)
        if overdue:
            text += _(", {count} overdue", count=overdue)
        reasons.append(RiskReason(text, points))
    return reasons


def assess(
    tickets: Iterable[TicketFacts],
    now: datetime,
    rules: RiskRules = DEFAULT_RULES,
    *,
    thresholds: Mapping[RiskLevel, int] | None = None,
    enterprise_names: Mapping[uuid.UUID, str] | None = None,
) -> RiskAssessment:
    """The level of a set of tickets (one enterprise's, or a grid's with its sub-grids).
    Repeated requests are counted per enterprise; ``enterprise_names`` names them in the
    reasons when the set spans several."""
    tickets = list(tickets)
    thresholds = thresholds or rules.enterprise_thresholds
    open_tickets = [t for t in tickets if t.status in OPEN_STATUSES]
    reasons = _open_reasons(open_tickets, now, rules)

    repeat_since = now - timedelta(days=rules.repeat_window_days)
    requests = Counter(
        t.enterprise_id
        for t in tickets
        if t.enterprise_id is not None
        and t.source in REQUEST_SOURCES
        and repeat_since < t.reported_at <= now
    )
    for enterprise_id, count in sorted(requests.items(), key=lambda item: -item[1]):
        if count >= rules.repeat_threshold:
            who = _("{name}: ", name=enterprise_names[enterprise_id]) if enterprise_names else ""
            text = _(
                "{who}{count} worker requests in the last {days} days",
                who=who,
                count=count,
                days=rules.repeat_window_days,
            )
            reasons.append(RiskReason(text, rules.repeat_points))

    hazard_since = now - timedelta(days=rules.hazard_window_days)
    hazards = Counter(
        t.source
        for t in tickets
        if t.source in HAZARD_SOURCES and hazard_since < t.reported_at <= now
    )
    if hazards:
        counted = str(_(" and ")).join(
            _plural(hazards[source], SOURCE_NOUNS[source])
            for source in (TicketSource.RISK_HAZARD, TicketSource.DIRECT_REPORT)
            if hazards[source]
        )
        text = _(
            "{counted} in the last {days} days", counted=counted, days=rules.hazard_window_days
        )
        reasons.append(RiskReason(text, hazards.total() * rules.hazard_points))

    score = sum(r.points for r in reasons)
    level = level_for(score, thresholds)
    critical = sum(1 for t in open_tickets if t.severity == Severity.CRITICAL)
    if critical and level.rank < rules.critical_floor.rank:
        level = rules.critical_floor
        reasons.append(
            RiskReason(
                _(
                    "an open critical ticket keeps the level at {level} or above",
                    level=rules.critical_floor,
                ),
                0,
            )
        )
    reasons.sort(key=lambda r: -r.points)
    return RiskAssessment(level, score, tuple(reasons))


def with_worst_enterprise(
    grid: RiskAssessment, worst: tuple[str, RiskAssessment] | None
) -> RiskAssessment:
    """A grid is at least as high as its riskiest enterprise."""
    if worst is None:
        return grid
    name, enterprise = worst
    if enterprise.level == RiskLevel.GREEN or enterprise.level.rank < grid.level.rank:
        return grid
    reason = RiskReason(_("{name} is {level}", name=name, level=enterprise.level), 0)
    return RiskAssessment(enterprise.level, grid.score, (reason, *grid.reasons))
