"""Checkpoints: opaque to clients, a small versioned record to the server.

Two phases. A first sync walks the records of the caller's scope (the snapshot phase: the
caller's own assigned tickets first, then each collection by id) and then follows the change
log from the position taken when the snapshot began. The log phase is a position (txid, seq)."""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass

from api.auth.scope import Scope

FORMAT = "c1"
# Snapshot steps are a short list of collections; anything far beyond is not ours.
MAX_STEP = 1_000


class BadCheckpoint(ValueError):
    """A checkpoint this server did not make (or made by a different format)."""


@dataclass(frozen=True)
class Checkpoint:
    txid: int
    seq: int
    scope: str  # fingerprint of the scope the checkpoint was made for
    snapshot_step: int | None = None  # None: log phase
    after_id: uuid.UUID | None = None  # last id sent in the snapshot step

    @property
    def in_snapshot(self) -> bool:
        return self.snapshot_step is not None

    def encode(self) -> str:
        parts = [FORMAT, str(self.txid), str(self.seq), self.scope]
        if self.snapshot_step is not None:
            parts += [str(self.snapshot_step), self.after_id.hex if self.after_id else ""]
        raw = ".".join(parts).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Checkpoint:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            parts = raw.split(".")
            if parts[0] != FORMAT or len(parts) not in (4, 6):
                raise ValueError(raw)
            txid, seq, scope = _position(parts[1]), _position(parts[2]), parts[3]
            if len(parts) == 4:
                return cls(txid, seq, scope)
            after = uuid.UUID(parts[5]) if parts[5] else None
            step = int(parts[4])
            if not 0 <= step <= MAX_STEP:
                raise ValueError(step)
            return cls(txid, seq, scope, step, after)
        except (ValueError, UnicodeDecodeError, IndexError) as error:
            raise BadCheckpoint(str(error)) from None


def _position(text: str) -> int:
    """A log position (txid or seq): a BIGINT the database can compare, and never negative."""
    value = int(text)
    if not 0 <= value < 2**63:
        raise ValueError(value)
    return value


def scope_fingerprint(scope: Scope) -> str:
    """A checkpoint is only good for the scope it was made for: when a liaison's grids change,
    its next pull starts over (resetRequired) instead of missing the new grids' records."""
    digest = hashlib.sha256("|".join(sorted(scope.keys())).encode()).hexdigest()
    return digest[:12]
