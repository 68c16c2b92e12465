"""The one install step for the session hooks of a process that writes: the domain's
(api/session_hooks.py) first, then the sync layer's (sync/session_hooks.py). The edge composes
them because it is the layer that knows both; the app factory, the CLI and the worker call
``install()`` at start. The order across the two layers matters in before_flush: the domain
deletes a ticket's children and stamps versions before sync bumps a member whose served grids
changed (it checks whether the stamp already did)."""

from __future__ import annotations

from api import session_hooks
from api.session_hooks import DOMAIN_HOOKS, Hook
from sync.session_hooks import SYNC_HOOKS

ALL_HOOKS: tuple[Hook, ...] = (*DOMAIN_HOOKS, *SYNC_HOOKS)


def install() -> None:
    """Switch on every session hook (idempotent), then assert that they are on."""
    session_hooks.install(ALL_HOOKS)
    session_hooks.require_installed()
