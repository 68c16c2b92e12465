"""Version 1 of each rule set, written at start-up from the rules in force then: the deadline
table (defaults overlaid with its rows), GRIDLINK_RISK_RULES (else the built-in weights) and
the built-in station criteria. A kind that already has versions is left alone: from then on
the versions are the rule and the variable is not read again (docs/rules.md says so)."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.rules import criteria, deadlines, risk
from api.rules.models import RuleKind
from api.rules.service import seed_version
from api.warnings.rules import RiskRules

log = logging.getLogger("gridlink.rules")


async def seed_rule_versions(session: AsyncSession, risk_rules: RiskRules) -> list[RuleKind]:
    """Returns the kinds seeded now."""
    contents = {
        RuleKind.DEADLINES: deadlines.content_of(await deadlines.table_in_force(session)),
        RuleKind.RISK: risk.content_of(risk_rules),
        RuleKind.STATION_CRITERIA: criteria.content_of(criteria.criteria_of(None)),
    }
    return [
        kind for kind, content in contents.items() if await seed_version(session, kind, content)
    ]


async def seed_at_start(sessions: async_sessionmaker[AsyncSession], risk_rules: RiskRules) -> None:
    try:
        async with sessions() as session, session.begin():
            await seed_rule_versions(session, risk_rules)
    except SQLAlchemyError:
        # A database not migrated yet: the rules fall back to the built-in ones (and the
        # variable) until the next start; `gridlink doctor` reports the missing migration.
        log.warning("rule versions not seeded: the database is not reachable or not migrated")
