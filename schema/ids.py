"""Global ids: base64("<Type>:<uuid>"), the encoding Strawberry's relay uses, so that clients
and tools built for Relay read them; arguments also take the bare UUID the sync layer uses."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterable

from api.errors import invalid
from api.i18n import _


def to_global_id(type_name: str, record_id: uuid.UUID | str) -> str:
    return base64.b64encode(f"{type_name}:{record_id}".encode()).decode()


def split_global_id(value: str) -> tuple[str, uuid.UUID] | None:
    """(type name, uuid) of a global id, or None when it is not one of ours."""
    try:
        decoded = base64.b64decode(value.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    type_name, sep, raw = decoded.partition(":")
    if not sep or not type_name:
        return None
    try:
        return type_name, uuid.UUID(raw)
    except ValueError:
        return None


def parse_id(value: str, field: str, types: Iterable[str]) -> uuid.UUID:
    """The UUID behind an id argument: a global id of one of ``types``, or a bare UUID.
    Anything else is refused with a message naming the field."""
    allowed = tuple(types)
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        pass
    parsed = split_global_id(value) if isinstance(value, str) else None
    if parsed is None:
        raise invalid(
            field, _("{value!r} is not an id: give the global id or the UUID", value=value)
        )
    type_name, record_id = parsed
    if type_name not in allowed:
        raise invalid(
            field,
            _(
                "expected the id of a {value}, got a {type_name} id",
                value=" or ".join(allowed),
                type_name=type_name,
            ),
        )
    return record_id


def parse_optional_id(value: str | None, field: str, types: Iterable[str]) -> uuid.UUID | None:
    return None if value is None else parse_id(value, field, types)


def parse_client_uuid(value: str | None, field: str = "id") -> uuid.UUID | None:
    """The UUID a client chose for a new record (as sync uses it), or None to let the server
    choose."""
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise invalid(field, _("give a UUID")) from None
