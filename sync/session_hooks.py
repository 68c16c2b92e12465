"""The sync layer's session hooks: the change log, access changes, the broadcast of new ticket
events and notifications, the Web Push fan-out. Installed, after the domain's, by the edge's
one install step (api/edge/session_hooks.py); importing a module registers nothing.

Order within one event, and why:
- before_flush: ``grids_served_change_the_member`` comes after the domain's version stamp: it
  bumps a member's version itself only when the stamp has not (served grids alone changed).
- after_flush: ``collect`` notes new ticket events and notifications for the broadcast,
  ``note_access_changes`` the access changes (published in that order at commit), then the
  change log, then the Web Push fan-out (independent of the others)."""

from __future__ import annotations

from api.session_hooks import Hook
from sync import access, broadcast, changelog, push_models

SYNC_HOOKS: tuple[Hook, ...] = (
    Hook("before_flush", changelog.grids_served_change_the_member),
    Hook("after_begin", changelog.new_transaction),
    Hook("after_flush", broadcast.collect),
    Hook("after_flush", access.note_access_changes),
    Hook("after_flush", changelog.log_changes),
    Hook("do_orm_execute", changelog.log_bulk_inserts),
    Hook("after_flush", push_models.fan_out_new_notifications),
    Hook("before_commit", broadcast.notify_in_transaction),
    Hook("after_commit", broadcast.deliver_locally),
    Hook("after_rollback", broadcast.forget),
    # Access changes told to this process's own listeners once committed.
    Hook("after_commit", access.tell_this_process),
    Hook("after_rollback", access.forget),
)
