"""`gridlink rules show` and `gridlink rules history`: the rules in force and their versions,
in Chinese unless told `--lang en` (api/cli.py registers them). Changing the rules is done
through GraphQL, where the change is checked against the caller's scope."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.config import Settings
from api.db import session_factory
from api.i18n import N_, Lazy, _, render, use_language
from api.rules import criteria, deadlines, risk
from api.rules.models import RuleKind, RuleVersion
from api.rules.service import history, latest
from api.stations.models import EvaluatorKind
from api.tickets.deadline_models import ANY_SOURCE
from api.tickets.models import Severity, TicketSource, Tier
from api.warnings.models import RiskLevel

KINDS = {
    "deadlines": RuleKind.DEADLINES,
    "risk": RuleKind.RISK,
    "criteria": RuleKind.STATION_CRITERIA,
}
TITLES: dict[RuleKind, Lazy] = {
    RuleKind.DEADLINES: N_("Deadline policies"),
    RuleKind.RISK: N_("Risk weights and thresholds"),
    RuleKind.STATION_CRITERIA: N_("Station evaluation criteria"),
}
# The risk rule's fields as an officer reads them, in the order docs/rules.md explains them.
RISK_FIELDS: dict[str, Lazy] = {
    "severity_points": N_("points per open ticket, by severity"),
    "source_points": N_("extra points per open ticket, by source"),
    "overdue_points": N_("points per overdue ticket"),
    "repeat_window_days": N_("window for repeated requests (days)"),
    "repeat_threshold": N_("requests that count as repeated"),
    "repeat_points": N_("points for repeated requests"),
    "hazard_window_days": N_("window for risk hazards (days)"),
    "hazard_points": N_("points per risk hazard"),
    "critical_floor": N_("lowest level while a critical ticket is open"),
    "enterprise_thresholds": N_("enterprise thresholds (points)"),
    "grid_thresholds": N_("grid thresholds (points)"),
    "notify_at": N_("notify from this level"),
}
ENUMS: dict[str, Any] = {
    "severity_points": Severity,
    "source_points": TicketSource,
    "enterprise_thresholds": RiskLevel,
    "grid_thresholds": RiskLevel,
    "critical_floor": RiskLevel,
    "notify_at": RiskLevel,
}


def add_arguments(commands: Any, run: Any) -> None:
    """Register `rules` (api/cli.py calls this); ``run`` runs a coroutine."""
    rules = commands.add_parser(
        "rules", help=_("show the rules officers change, and their history")
    )
    actions = rules.add_subparsers(dest="action", required=True, metavar=_("ACTION"))
    show = actions.add_parser("show", help=_("the deadline policies, risk weights and criteria"))
    show.add_argument("--kind", choices=sorted(KINDS), help=_("only this rule set"))
    show.set_defaults(handler=lambda settings, args: run(settings, _work(args, _show)))
    past = actions.add_parser("history", help=_("the versions of the rules: who, when, what"))
    past.add_argument("--kind", choices=sorted(KINDS), help=_("only this rule set"))
    past.add_argument("--limit", type=int, default=20, help=_("versions per rule set (default 20)"))
    past.set_defaults(handler=lambda settings, args: run(settings, _work(args, _history)))


def _work(args: argparse.Namespace, lines: Any) -> Any:
    async def work(engine: AsyncEngine) -> int:
        settings = Settings.from_env()
        kinds = [KINDS[args.kind]] if args.kind else list(KINDS.values())
        with use_language(args.lang):
            async with session_factory(engine)() as session:
                for kind in kinds:
                    for line in await lines(session, kind, args, settings):
                        print(line)
                    print()
        return 0

    return work


def _version_line(row: RuleVersion | None) -> str:
    if row is None:
        return render(_("built-in rules: no version recorded yet"))
    return render(
        _(
            "version {version}, in force since {since}, changed by {who}",
            version=row.version,
            since=row.effective_from,
            who=row.author_label,
        )
    )


async def _show(
    session: AsyncSession, kind: RuleKind, _args: argparse.Namespace, settings: Settings
) -> list[str]:
    row = await latest(session, kind)
    if row is not None:
        content = row.content
    elif kind == RuleKind.DEADLINES:
        content = deadlines.content_of(await deadlines.table_in_force(session))
    elif kind == RuleKind.RISK:
        content = risk.content_of(settings.risk_rules)
    else:
        content = criteria.content_of(criteria.criteria_of(None))
    body = {
        RuleKind.DEADLINES: _deadline_lines,
        RuleKind.RISK: _risk_lines,
        RuleKind.STATION_CRITERIA: _criteria_lines,
    }[kind](content)
    return [f"{render(TITLES[kind]())} ({_version_line(row)})", *body]


def _order(key: str) -> tuple[int, int, int]:
    """Tiers from the grid up, severities from low, the row for any source first."""
    tier, severity, source = key.split(".")
    sources = [ANY_SOURCE, *TicketSource]
    return (
        list(Tier).index(Tier(tier)),
        list(Severity).index(Severity(severity)),
        sources.index(source),
    )


def _duration(seconds: int) -> str:
    if seconds % 86400 == 0:
        return render(_("{days} days", days=seconds // 86400))
    hours = seconds / 3600
    return render(_("{hours} hours", hours=int(hours) if hours.is_integer() else round(hours, 2)))


def _deadline_lines(content: dict[str, Any]) -> Iterator[str]:
    yield render(_("tier · severity · source: first response / resolution, warning, escalation"))
    for key, row in sorted(content.items(), key=lambda item: _order(item[0])):
        tier, severity, source = key.split(".")
        where = render(ANY_SOURCE_LABEL()) if source == ANY_SOURCE else render(TicketSource(source))
        escalates = _("escalates by itself") if row["auto_escalate"] else _("escalated by a person")
        yield "  " + render(
            _(
                "{tier} · {severity} · {source}: {first} / {resolution}, warning {percent}% "
                "before, {escalation}",
                tier=Tier(tier),
                severity=Severity(severity),
                source=where,
                first=_duration(row["first_response_seconds"]),
                resolution=_duration(row["resolution_seconds"]),
                percent=row["warning_percent"],
                escalation=escalates,
            )
        )


ANY_SOURCE_LABEL = N_("any source")


def _risk_lines(content: dict[str, Any]) -> Iterator[str]:
    for name, label in RISK_FIELDS.items():
        value = content[name]
        enum = ENUMS.get(name)
        if isinstance(value, dict):
            value = ", ".join(f"{render(enum(k))} {v}" for k, v in value.items())
        elif enum is not None:
            value = render(enum(value))
        yield f"  {render(label())}: {value}"


def _criteria_lines(content: dict[str, Any]) -> Iterator[str]:
    for evaluator, items in content.items():
        yield f"  {render(EvaluatorKind(evaluator))}"
        for code, text in items.items():
            yield f"    {code}: {text}"


async def _history(
    session: AsyncSession, kind: RuleKind, args: argparse.Namespace, _settings: Settings
) -> list[str]:
    lines = [render(TITLES[kind]())]
    rows = await history(session, kind, max(1, args.limit))
    if not rows:
        lines.append("  " + render(_("built-in rules: no version recorded yet")))
    for row in rows:
        lines.append("  " + _version_line(row) + (f" — {row.note}" if row.note else ""))
        for change in row.changes:
            lines.append(f"    {change['field']}: {change['before']} → {change['after']}")
    return lines
