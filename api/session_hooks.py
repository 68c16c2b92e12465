"""The session hooks, switched on by one explicit step instead of by importing modules.

The domain keeps records consistent in hooks on every SQLAlchemy ``Session`` (times and
versions, children deleted with their ticket, the deadline-policy cache); the sync layer adds
its own (change log, broadcast, access changes, push fan-out) in ``sync/session_hooks.py``.
A process that writes calls ``api.edge.session_hooks.install()`` once at start (the app
factory, the CLI, the worker); it registers the domain's hooks, then the sync layer's, in the
order listed, so that the order between hooks of one event is defined in code and not by
which module happened to be imported first.

Sessions come from ``api.db`` as ``HookedSession``: one that would write a synced record
before the hooks are installed raises ``HooksNotInstalled`` instead of writing a change that
no change-log row tells phones about."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from api.records import SyncedRecord, stamp_versions
from api.tickets import deadlines
from api.tickets.models import children_go_with_their_ticket
from api.warnings import recompute


@dataclass(frozen=True)
class Hook:
    """One listener on every ``Session``: the event's name and the function."""

    event: str
    listener: Callable[..., Any]


# The domain's hooks, in order. before_flush: the children of a deleted ticket are deleted
# first, so that the version stamp (next) and the change log (later, sync) treat them like any
# other change; the stamp comes before anything that bumps a version itself (sync's member
# bump for grids served checks whether the member is already modified).
DOMAIN_HOOKS: tuple[Hook, ...] = (
    Hook("before_flush", children_go_with_their_ticket),
    Hook("before_flush", stamp_versions),
    Hook("before_flush", deadlines.policies_written),
    Hook("after_begin", deadlines.new_transaction),
    Hook("after_soft_rollback", deadlines.rolled_back),
    # Risk levels recomputed soon after a ticket changes (noted at flush, scheduled at commit).
    Hook("after_flush", recompute.note_tickets),
    Hook("after_commit", recompute.committed),
    Hook("after_soft_rollback", recompute.rolled_back),
)

_installed: list[Hook] = []


class HooksNotInstalled(RuntimeError):
    """A session would write synced records, but the session hooks are not installed: the
    write would carry no version stamp and no change-log row (phones would never see it)."""


def install(hooks: Iterable[Hook]) -> None:
    """Register ``hooks`` on every Session, in the order given. Called once per process by
    ``api.edge.session_hooks.install`` (with the domain's hooks first); a second call with the
    same hooks does nothing."""
    wanted = list(hooks)
    if _installed:
        if _installed != wanted:
            raise RuntimeError("session hooks already installed with a different set")
        return
    for hook in wanted:
        event.listen(Session, hook.event, hook.listener)
    _installed.extend(wanted)


def installed() -> bool:
    return bool(_installed)


def require_installed() -> None:
    """The start-up assertion: raises unless the hooks are installed."""
    if not _installed:
        raise HooksNotInstalled(
            "session hooks not installed: call api.edge.session_hooks.install() at start-up"
        )


class HookedSession(Session):
    """The session class of every session gridlink opens (api/db.py): refuses to flush synced
    records while the hooks are not installed."""

    def flush(self, objects: Any = None) -> None:
        if not _installed and any(
            isinstance(obj, SyncedRecord) for obj in (*self.new, *self.dirty, *self.deleted)
        ):
            require_installed()
        super().flush(objects)
