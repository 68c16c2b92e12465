"""Offline sync: the change log, pull, push with per-field merge, conflicts, the client ledger.

Importing the package registers nothing: the session hooks that log every write are switched
on by ``api.edge.session_hooks.install()``, which the app, the CLI and the worker call at
start."""
