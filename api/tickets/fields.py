"""One validator per ticket input, shared by reporting a ticket (api/tickets/service.py) and
editing it (api/tickets/lifecycle.py:update_ticket), whether the input came from GraphQL or a
phone's sync push. Each returns the value as stored or raises INVALID naming the field; the
limits are the columns' (api/tickets/models.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api.errors import invalid
from api.i18n import _
from api.tickets.models import Severity

MAX_TITLE = 200
MAX_DESCRIPTION = 10_000
MAX_CATEGORY = 64
MAX_REPORTER_NAME = 100
MAX_REPORTER_PHONE = 20


def _text(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise invalid(field, _("{field} must be text", field=field))
    return value.strip()


def title(value: Any) -> str:
    text = _text("title", value)
    if not text:
        raise invalid("title", _("a ticket needs a title"))
    if len(text) > MAX_TITLE:
        raise invalid("title", _("a title has at most {MAX_TITLE} characters", MAX_TITLE=MAX_TITLE))
    return text


def description(value: Any) -> str:
    text = _text("description", value)
    if len(text) > MAX_DESCRIPTION:
        raise invalid(
            "description",
            _(
                "a description has at most {MAX_DESCRIPTION} characters",
                MAX_DESCRIPTION=MAX_DESCRIPTION,
            ),
        )
    return text


def category(value: Any) -> str:
    text = _text("category", value).upper() or "OTHER"
    if len(text) > MAX_CATEGORY:
        raise invalid(
            "category",
            _("a category has at most {MAX_CATEGORY} characters", MAX_CATEGORY=MAX_CATEGORY),
        )
    return text


def severity(value: Any) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        raise invalid("severity", _("severity is LOW, MEDIUM, HIGH or CRITICAL")) from None


def _optional_text(field: str, limit: int) -> Callable[[Any], str | None]:
    def clean(value: Any) -> str | None:
        if value in (None, ""):
            return None
        text = str(value).strip()
        if len(text) > limit:
            raise invalid(
                field, _("{field} has at most {limit} characters", field=field, limit=limit)
            )
        return text or None

    return clean


reporter_name = _optional_text("reporterName", MAX_REPORTER_NAME)
reporter_phone = _optional_text("reporterPhone", MAX_REPORTER_PHONE)

# The editable details by their wire names (camelCase, as clients send them).
BY_FIELD: dict[str, Callable[[Any], Any]] = {
    "title": title,
    "description": description,
    "category": category,
    "severity": severity,
    "reporterName": reporter_name,
    "reporterPhone": reporter_phone,
}
