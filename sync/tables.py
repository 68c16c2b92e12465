"""Every table of the sync layer, imported once so that the metadata is complete."""

import sync.outbox  # noqa: F401  (the notification fan-out hook rides with its tables)
from sync.push_models import PushDelivery, PushSubscription

__all__ = ["PushDelivery", "PushSubscription"]
