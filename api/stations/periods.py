"""The periods of the station calendar: a year or a quarter ("2026", "2026-Q3"), in Beijing
time (the quarterly lesson is set at 09:00 local time)."""

from __future__ import annotations

import re
from datetime import datetime

from api.errors import invalid
from api.i18n import BEIJING, _

PERIOD = re.compile(r"^(?P<year>\d{4})(?:-Q(?P<quarter>[1-4]))?$")


def period_bounds(period: str) -> tuple[int, int | None]:
    match = PERIOD.match(period or "")
    if match is None:
        raise invalid("period", _("a period is a year such as 2026 or a quarter such as 2026-Q3"))
    quarter = match.group("quarter")
    return int(match.group("year")), int(quarter) if quarter else None


def quarter_start(year: int, quarter: int) -> datetime:
    return datetime(year, 3 * quarter - 2, 1, tzinfo=BEIJING)


def quarter_end(year: int, quarter: int) -> datetime:
    return quarter_start(year + 1, 1) if quarter == 4 else quarter_start(year, quarter + 1)


def periods_overlap(a: str, b: str) -> bool:
    (year_a, quarter_a), (year_b, quarter_b) = period_bounds(a), period_bounds(b)
    return year_a == year_b and (quarter_a is None or quarter_b is None or quarter_a == quarter_b)
