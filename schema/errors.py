"""GraphQL errors: typed errors in mutation payloads, and coded top-level errors."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from sqlalchemy.exc import SQLAlchemyError
from strawberry.extensions import MaskErrors

from api.errors import DomainError
from api.i18n import _


@strawberry.type(description="A refused input: which field, what is wrong, a stable code.")
class UserError:
    field: str | None = strawberry.field(
        description="The input field at fault (camelCase), or null when it is the whole request."
    )
    message: str = strawberry.field(description="What is wrong, in words a person can act on.")
    code: str = strawberry.field(
        description="Stable machine code: INVALID, NOT_FOUND, FORBIDDEN, CONFLICT, ..."
    )

    @classmethod
    def from_domain(cls, error: DomainError) -> UserError:
        return cls(field=error.field, message=error.message, code=error.code)


def coded_error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def unauthenticated(reason: str | None = None) -> GraphQLError:
    message = reason or _("sign in first: send Authorization: Bearer <token>")
    return coded_error(message, "UNAUTHENTICATED")


def forbidden(message: str | None = None) -> GraphQLError:
    return coded_error(message or _("you may not do this"), "FORBIDDEN")


def query_error(error: DomainError) -> GraphQLError:
    """A refused query argument as a top-level error: the code and the field it names."""
    extensions: dict[str, str] = {"code": error.code}
    if error.field:
        extensions["field"] = error.field
    return GraphQLError(error.message, extensions=extensions)


class CodedMaskErrors(MaskErrors):
    """A masked failure still carries a code (INTERNAL_ERROR), so that clients can tell it
    from their own mistakes."""

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL_ERROR"}
        return masked


def database_failure(error: GraphQLError) -> bool:
    """The database's own words (statements, table names): never shown, also in development."""
    return isinstance(getattr(error, "original_error", None), SQLAlchemyError)
