"""Offline sync: the change log, pull, push with per-field merge, conflicts, the client ledger.

Importing the package registers the change-log session hooks (sync.changelog); the app, the
CLI and the worker import it so that every write path is logged."""

from sync import access as _access  # noqa: F401  (registers the session hooks)
from sync import changelog as _changelog  # noqa: F401  (registers the session hooks)
