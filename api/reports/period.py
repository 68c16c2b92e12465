"""A report's month, in Beijing time: November is from 1 November 00:00 to 1 December 00:00
in Beijing (UTC+8), whatever the server's clock zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from api.errors import invalid
from api.i18n import BEIJING, _


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=BEIJING).astimezone(UTC)

    @property
    def end(self) -> datetime:
        following = Month(self.year + self.month // 12, self.month % 12 + 1)
        return following.start

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def label(self) -> str:
        return _("{year}-{month:02d}", year=self.year, month=self.month)

    @classmethod
    def of(cls, moment: datetime) -> Month:
        local = moment.astimezone(BEIJING)
        return cls(local.year, local.month)


MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


def parse_month(raw: str, field: str = "month") -> Month:
    """``2026-11`` (a month in Beijing time)."""
    found = MONTH.match(raw.strip())
    if not found or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 2000:
        raise invalid(field, _("give the month as YYYY-MM, e.g. 2026-11; got {value}", value=raw))
    return Month(int(found.group(1)), int(found.group(2)))
