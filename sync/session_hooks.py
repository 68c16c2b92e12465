"""The one install step for the session hooks of a writing process: the domain's
(api/session_hooks.py), then the sync layer's, in this order. The app factory, the CLI and the
worker call ``install()`` at start; importing a module registers nothing.

Order within one event, and why:
- before_flush: the domain's hooks first (children of a deleted ticket, then the version
  stamp), then ``grids_served_change_the_member``, which bumps a member's version itself only
  when the stamp has not (a member whose served grids alone changed).
- after_flush: ``collect`` notes new ticket events and notifications for the broadcast,
  ``note_access_changes`` the access changes (published in that order at commit), then the
  change log, then the Web Push fan-out (independent of the others)."""

from __future__ import annotations

from api import session_hooks
from api.session_hooks import DOMAIN_HOOKS, Hook
from sync import access, broadcast, changelog, push_models

SYNC_HOOKS: tuple[Hook, ...] = (
    Hook("before_flush", changelog.grids_served_change_the_member),
    Hook("after_begin", changelog.new_transaction),
    Hook("after_flush", broadcast.collect),
    Hook("after_flush", access.note_access_changes),
    Hook("after_flush", changelog.log_changes),
    Hook("after_flush", push_models.fan_out_new_notifications),
    Hook("before_commit", broadcast.notify_in_transaction),
    Hook("after_commit", broadcast.deliver_locally),
    Hook("after_rollback", broadcast.forget),
)

ALL_HOOKS: tuple[Hook, ...] = (*DOMAIN_HOOKS, *SYNC_HOOKS)


def install() -> None:
    """Switch on every session hook (idempotent), and check that they are on."""
    session_hooks.install(ALL_HOOKS)
    session_hooks.require_installed()
