"""Checks of the station rules' inputs shared by activities, sign-ins and coaching: times
with their UTC offset, free text of bounded length."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.errors import invalid
from api.i18n import _

MAX_TITLE = 200
MAX_TEXT = 5_000


def aware(field: str, value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise invalid(field, _("{field} is not a date and time", field=field)) from None
    if not isinstance(value, datetime):
        raise invalid(field, _("{field} is not a date and time", field=field))
    if value.tzinfo is None:
        raise invalid(field, _("give the time with its UTC offset"))
    return value


def clean_text(field: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid(field, _("{field} must be text", field=field))
    if len(value) > MAX_TEXT:
        raise invalid(
            field, _("{field} has at most {MAX_TEXT} characters", field=field, MAX_TEXT=MAX_TEXT)
        )
    return value.strip()
