"""The one rule for times a caller gives: a moment with its UTC offset (a phone's clock zone is
not the server's, and a naive time would be read in neither). GraphQL, sync and the domain
all check through here. The county's local time zone is ``api.i18n.BEIJING``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.errors import invalid
from api.i18n import _


def with_offset(value: datetime, field: str) -> datetime:
    """``value`` if it carries its UTC offset; INVALID naming ``field`` if it does not."""
    if value.tzinfo is None:
        raise invalid(field, _("give the time with its UTC offset"))
    return value


def optional_with_offset(value: datetime | None, field: str) -> datetime | None:
    return None if value is None else with_offset(value, field)


def parse_time(value: Any, field: str) -> datetime:
    """A time from the wire (ISO 8601 text, or a datetime already parsed) with its offset."""
    if isinstance(value, datetime):
        return with_offset(value, field)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise invalid(
            field, _("{field} must be an ISO 8601 time with its UTC offset", field=field)
        ) from None
    return with_offset(parsed, field)


def parse_optional_time(value: Any, field: str) -> datetime | None:
    """As parse_time; an absent time (None) stays None."""
    return None if value is None else parse_time(value, field)
