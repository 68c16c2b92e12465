"""Running a mutation: one transaction around a domain call; a refusal becomes a UserError in
the payload (field + message + code), never an exception."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import DomainError
from api.i18n import _
from schema.context import Context, Info
from schema.errors import UserError

T = TypeVar("T")
logger = logging.getLogger(__name__)
P = TypeVar("P")


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
    except IntegrityError:
        # A check passed, then a concurrent request wrote first (a unique key, a reference):
        # the caller's to retry, not a failure of the server.
        logger.info("mutation refused by a database constraint", exc_info=True)
        message = _("another request changed the same records meanwhile: send it again")
        return None, [UserError(field=None, message=message, code="CONFLICT")]
    finally:
        context.fresh()
    return result, []


async def reload(info: Info, view_name: str, record_id: Any) -> Any:
    """The record as the payload shows it, read again after the commit."""
    if record_id is None:
        return None
    return await info.context.loaders.record(view_name).load(record_id)


async def mutate(
    info: Info,
    payload: Callable[..., P],
    work: Callable[[AsyncSession], Awaitable[Any]],
    client_mutation_id: str | None,
    **shown: str,
) -> P:
    """The usual mutation: ``work`` in one transaction (run_mutation), then ``payload`` with
    ``errors``, ``client_mutation_id`` and each field of ``shown`` (payload field -> view name)
    read again after the commit. ``work`` returns the record (or its id) for the one shown
    field, or a tuple of them in the order of ``shown``."""
    result, errors = await run_mutation(info, work)
    if result is None:
        records: tuple[Any, ...] = (None,) * len(shown)
    else:
        records = result if isinstance(result, tuple) else (result,)
    fields = {
        name: await reload(info, view, getattr(record, "id", record))
        for (name, view), record in zip(shown.items(), records, strict=True)
    }
    return payload(**fields, errors=errors, client_mutation_id=client_mutation_id)
