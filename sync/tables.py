"""Every table of the sync layer, imported once so that the metadata is complete."""

from sync.models import ChangeKey, ChangeRow, StoredMutation, SyncClient, SyncConflict, SyncState

__all__ = ["ChangeKey", "ChangeRow", "StoredMutation", "SyncClient", "SyncConflict", "SyncState"]
