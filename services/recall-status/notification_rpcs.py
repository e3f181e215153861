"""gRPC methods of recall-status for subscriptions and webhook deliveries (mixin)."""

from __future__ import annotations


class NotificationRpcs:
    """Filled in by the notifications work: PutSubscription, ListSubscriptions, ListDeliveries."""
