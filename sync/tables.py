"""Every table of the sync layer, imported once so that the metadata is complete."""

from sync.push_models import PushDelivery, PushSubscription

__all__ = ["PushDelivery", "PushSubscription"]
