"""Every table of the sync layer, imported once so that the metadata is complete."""

from sync.models import ChangeKey, ChangeRow, StoredMutation, SyncClient, SyncConflict, SyncState
from sync.push_models import PushDelivery, PushSubscription

__all__ = [
    "ChangeKey",
    "ChangeRow",
    "PushDelivery",
    "PushSubscription",
    "StoredMutation",
    "SyncClient",
    "SyncConflict",
    "SyncState",
]
