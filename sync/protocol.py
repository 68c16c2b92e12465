"""The sync protocol's version (docs/sync-protocol.md). A client sends the version it speaks in
the `X-Gridlink-Sync-Protocol` header (or the `protocolVersion` argument); one older than the
server still supports gets CLIENT_TOO_OLD instead of data it would misread."""

from __future__ import annotations

from api.errors import DomainError
from api.i18n import _

HEADER = "X-Gridlink-Sync-Protocol"
CURRENT = 1
# Raise when the wire changes in a way old clients would misread; they must then update.
MINIMUM = 1


def check_version(sent: int | str | None) -> int:
    """The version a request speaks; a missing one is taken as the current version."""
    if sent is None or sent == "":
        return CURRENT
    try:
        version = int(sent)
    except (TypeError, ValueError):
        raise DomainError(
            "INVALID",
            _("{HEADER} must be a whole number, got {sent!r}", HEADER=HEADER, sent=sent),
            "protocolVersion",
        ) from None
    if version < MINIMUM:
        raise DomainError(
            "CLIENT_TOO_OLD",
            _(
                "this app speaks sync protocol {version}; the server needs {MINIMUM} or newer. "
                "Update the app, then sync again — changes waiting on the phone are kept.",
                version=version,
                MINIMUM=MINIMUM,
            ),
            "protocolVersion",
        )
    if version > CURRENT:
        raise DomainError(
            "PROTOCOL_UNSUPPORTED",
            _(
                "this server speaks sync protocol up to {CURRENT}, the app sent {version}",
                CURRENT=CURRENT,
                version=version,
            ),
            "protocolVersion",
        )
    return version
