"""The one error type of the domain layer: a code, a sentence a person can act on, a field."""

from __future__ import annotations

from api.i18n import _


class DomainError(Exception):
    """A refused operation. ``code`` is stable for clients; ``message`` is for people."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, {self.message!r}, field={self.field!r})"


def invalid(field: str, message: str) -> DomainError:
    return DomainError("INVALID", message, field)


def not_found(field: str, what: str) -> DomainError:
    return DomainError("NOT_FOUND", _("{what} was not found", what=what), field)


def forbidden(message: str, field: str | None = None) -> DomainError:
    return DomainError("FORBIDDEN", message, field)
