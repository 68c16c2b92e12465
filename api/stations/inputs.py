"""Checks of the station rules' inputs shared by activities, sign-ins and coaching: free text
of bounded length (times with their UTC offset: api/times.py)."""

from __future__ import annotations

from typing import Any

from api.errors import invalid
from api.i18n import _

MAX_TITLE = 200
MAX_TEXT = 5_000


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
