"""Running a mutation: one transaction around a domain call; a refusal becomes a UserError in
the payload (field + message + code), never an exception."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import DomainError
from api.i18n import _
from schema.context import Context, Info
from schema.errors import UserError

T = TypeVar("T")


class Refused(Exception):
    """Carries a DomainError out of the transaction so that it rolls back."""


async def run_mutation(
    info: Info,
    work: Callable[[AsyncSession], Awaitable[T]],
    *,
    allowed: Callable[[Context], bool] | None = None,
    refusal: str = "you may not do this",
) -> tuple[T | None, list[UserError]]:
    """Run ``work`` in one transaction for a signed-in, writing caller. Returns its result and
    no errors, or None and the errors. Loaders are reset afterwards so that the payload shows
    the records as they now are. ``work`` reads through its session, never through the
    request's loaders: on SQLite the writing transaction holds the one write lock."""
    context = info.context
    context.require_member()
    if context.scope.read_only:
        return None, [UserError(field=None, message=_("this token is read-only"), code="FORBIDDEN")]
    if allowed is not None and not allowed(context):
        return None, [UserError(field=None, message=refusal, code="FORBIDDEN")]
    try:
        async with context.sessions() as session, session.begin():
            result = await work(session)
    except DomainError as error:
        return None, [UserError.from_domain(error)]
    finally:
        context.fresh()
    return result, []


async def reload(info: Info, view_name: str, record_id: Any) -> Any:
    """The record as the payload shows it, read again after the commit."""
    if record_id is None:
        return None
    return await info.context.loaders.record(view_name).load(record_id)
