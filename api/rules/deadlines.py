"""Deadline policies as a versioned rule set. The table ``deadline_policy`` stays what the
deadline code reads (api/tickets/deadlines.py, load_policies); a change writes its rows and a
version in one transaction, so that deadlines set after the commit use the new policy and the
deadlines tickets already have are left as they were set."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import DomainError, invalid
from api.i18n import _
from api.records import utcnow
from api.rules.models import RuleKind, RuleVersion
from api.rules.service import Author, record_version
from api.tickets.deadline_models import ANY_SOURCE, DeadlinePolicy
from api.tickets.deadlines import Policy, PolicyBook, PolicyKey
from api.tickets.models import Severity, TicketSource, Tier

# The longest time limit an officer may set: a year.
MAX_HOURS = 24 * 365
SOURCES = (ANY_SOURCE, *(s.value for s in TicketSource))


@dataclass(frozen=True)
class PolicyChange:
    """One row of the table to change; None keeps the value in force (for a new source row:
    the value of the row for every source)."""

    tier: str
    severity: str
    source: str = ANY_SOURCE
    first_response_hours: float | None = None
    resolution_hours: float | None = None
    warning_percent: int | None = None
    auto_escalate: bool | None = None


def key_text(key: PolicyKey) -> str:
    tier, severity, source = key
    return f"{tier.value}.{severity.value}.{source}"


def content_of(table: dict[PolicyKey, Policy]) -> dict[str, Any]:
    return {
        key_text(key): {
            "first_response_seconds": int(policy.first_response.total_seconds()),
            "resolution_seconds": int(policy.resolution.total_seconds()),
            "warning_percent": policy.warning_percent,
            "auto_escalate": policy.auto_escalate,
        }
        for key, policy in sorted(table.items(), key=lambda item: key_text(item[0]))
    }


async def table_in_force(session: AsyncSession) -> dict[PolicyKey, Policy]:
    """The built-in defaults overlaid with the county's rows, as deadlines are set now."""
    with session.no_autoflush:
        return PolicyBook(await session.scalars(select(DeadlinePolicy))).table


def _choice(field: str, value: str, allowed: Sequence[str]) -> DomainError | None:
    if value in allowed:
        return None
    return invalid(
        field,
        _(
            "{value} is not known here; use one of {allowed}",
            value=value,
            allowed=", ".join(allowed),
        ),
    )


def _hours(field: str, value: float | None) -> DomainError | None:
    if value is None or 0 < value <= MAX_HOURS:
        return None
    return invalid(field, _("give a number of hours above 0 and at most {most}", most=MAX_HOURS))


def check_changes(changes: Sequence[PolicyChange]) -> list[DomainError]:
    """Every problem of the input, each naming its field (policies.<n>.<field>)."""
    if not changes:
        return [invalid("policies", _("name at least one policy to change"))]
    problems: list[DomainError] = []
    seen: set[tuple[str, str, str]] = set()
    for n, change in enumerate(changes):
        at = f"policies.{n}"
        for problem in (
            _choice(f"{at}.tier", change.tier, [t.value for t in Tier]),
            _choice(f"{at}.severity", change.severity, [s.value for s in Severity]),
            _choice(f"{at}.source", change.source, SOURCES),
            _hours(f"{at}.firstResponseHours", change.first_response_hours),
            _hours(f"{at}.resolutionHours", change.resolution_hours),
        ):
            if problem is not None:
                problems.append(problem)
        percent = change.warning_percent
        if percent is not None and not 1 <= percent <= 90:
            problems.append(
                invalid(
                    f"{at}.warningPercent",
                    _("give a whole number from {least} to {most}", least=1, most=90),
                )
            )
        key = (change.tier, change.severity, change.source)
        if key in seen:
            problems.append(invalid(at, _("this policy is given twice")))
        seen.add(key)
    return problems


def _merged(
    table: dict[PolicyKey, Policy], changes: Sequence[PolicyChange]
) -> tuple[dict[PolicyKey, Policy], list[DomainError]]:
    merged = dict(table)
    problems: list[DomainError] = []
    for n, change in enumerate(changes):
        tier, severity = Tier(change.tier), Severity(change.severity)
        key = (tier, severity, change.source)
        base = merged.get(key) or merged[(tier, severity, ANY_SOURCE)]
        first = (
            timedelta(hours=change.first_response_hours)
            if change.first_response_hours is not None
            else base.first_response
        )
        resolution = (
            timedelta(hours=change.resolution_hours)
            if change.resolution_hours is not None
            else base.resolution
        )
        if resolution < first:
            problems.append(
                invalid(
                    f"policies.{n}.resolutionHours",
                    _("the time to resolve cannot be shorter than the time to first respond"),
                )
            )
        merged[key] = Policy(
            timedelta(seconds=round(first.total_seconds())),
            timedelta(seconds=round(resolution.total_seconds())),
            change.warning_percent if change.warning_percent is not None else base.warning_percent,
            change.auto_escalate if change.auto_escalate is not None else base.auto_escalate,
        )
    return merged, problems


async def change_deadline_policies(
    session: AsyncSession,
    changes: Sequence[PolicyChange],
    *,
    author: Author,
    note: str = "",
    now: datetime | None = None,
) -> RuleVersion:
    """Write the changed rows and the new version; in force from ``now`` for every deadline
    set from then on. Raises the first problem (check_changes lists them all)."""
    now = now or utcnow()
    if problems := check_changes(changes):
        raise problems[0]
    before = await table_in_force(session)
    after, problems = _merged(before, changes)
    if problems:
        raise problems[0]
    rows = {
        (row.tier, row.severity, row.source): row
        for row in await session.scalars(select(DeadlinePolicy))
    }
    for key, policy in after.items():
        if before.get(key) == policy and key in rows:
            continue
        row = rows.get(key) or DeadlinePolicy(
            tier=key[0],
            severity=key[1],
            source=key[2],
            first_response_seconds=1,
            resolution_seconds=1,
        )
        row.first_response_seconds = int(policy.first_response.total_seconds())
        row.resolution_seconds = int(policy.resolution.total_seconds())
        row.warning_percent = policy.warning_percent
        row.auto_escalate = policy.auto_escalate
        row.updated_at = now
        session.add(row)
    version = await record_version(
        session,
        RuleKind.DEADLINES,
        content_of(after),
        author=author,
        note=note,
        now=now,
        seed=content_of(before),
    )
    return version


async def check_merged(session: AsyncSession, changes: Sequence[PolicyChange]) -> list[DomainError]:
    """The problems only the table in force shows (a resolution shorter than a kept first
    response), for a payload that lists every problem at once."""
    if check_changes(changes):
        return []
    return _merged(await table_in_force(session), changes)[1]
