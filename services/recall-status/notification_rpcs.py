"""gRPC methods of recall-status for subscriptions and webhook deliveries (mixin).

``RecallStatusServicer`` inherits :class:`NotificationRpcs`; these methods only translate
messages and call the domain in ``verinet.recall_status.notifications``. They use, on the
servicer instance:

``subscriptions``  a :class:`~verinet.recall_status.subscriptions.SubscriptionStore`
``notifier``       a :class:`~verinet.recall_status.notifications.Notifier` (the delivery log)
``recall_owner``   ``async (recall_id) -> owner partner id | None``, so that a recall's
                   manufacturer sees all its deliveries; when unset, only admin sees all
``now``            ``() -> datetime`` (UTC), the servicer's clock

Without ``subscriptions`` or ``notifier`` the methods answer UNAVAILABLE.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from verinet.callers import TRADING_ROLES
from verinet.common.v1 import common_pb2 as common_pb
from verinet.errors import Forbidden, Unavailable
from verinet.recall_status.notifications import (
    Delivery,
    Notifier,
    RecallOwner,
    validate_recall_id,
)
from verinet.recall_status.subscriptions import Subscription, SubscriptionStore
from verinet.recall_status.v1 import recall_status_pb2 as rs_pb
from verinet.rpc import RpcContext, translate_errors
from verinet.timestamps import utc_ms
from verinet.wire import caller_of, fields_of

#: Roles that may subscribe: every partner role but admin (admin receives no recalls).
SUBSCRIBER_ROLES = TRADING_ROLES


def subscription_message(subscription: Subscription) -> rs_pb.Subscription:
    return rs_pb.Subscription(**fields_of(subscription, "name", "partner_id", "url", "events", "updated_at"))


def delivery_message(delivery: Delivery) -> rs_pb.Delivery:
    return rs_pb.Delivery(
        **fields_of(
            delivery, "notification_id", "partner_id", "url", "attempt", "outcome", "http_status", "error", "drill"
        ),
        at=utc_ms(delivery.at),
    )


def require_subscriber(caller: common_pb.Caller) -> None:
    if not any(role in SUBSCRIBER_ROLES for role in caller.roles):
        raise Forbidden(
            f"Only partners with one of the roles {', '.join(SUBSCRIBER_ROLES)} subscribe to "
            "webhooks.",
            code="auth.role",
        )


class NotificationRpcs:
    """PutSubscription, ListSubscriptions and ListDeliveries; see the module docstring."""

    subscriptions: SubscriptionStore | None = None
    notifier: Notifier | None = None
    recall_owner: RecallOwner | None = None
    now: Callable[[], dt.datetime]

    def _subscription_store(self) -> SubscriptionStore:
        if self.subscriptions is None:
            raise Unavailable("Webhook subscriptions are not configured in this recall-status.")
        return self.subscriptions

    def _notifier(self) -> Notifier:
        if self.notifier is None:
            raise Unavailable("Webhook notifications are not configured in this recall-status.")
        return self.notifier

    @translate_errors
    async def PutSubscription(self, request: rs_pb.PutSubscriptionRequest, context: RpcContext) -> rs_pb.PutSubscriptionResponse:
        require_subscriber(request.caller)
        wanted = request.subscription
        subscription, created = await self._subscription_store().put(
            request.caller.partner_id, wanted.name, wanted.url, list(wanted.events), self.now()
        )
        return rs_pb.PutSubscriptionResponse(
            subscription=subscription_message(subscription), created=created
        )

    @translate_errors
    async def ListSubscriptions(self, request: rs_pb.ListSubscriptionsRequest, context: RpcContext) -> rs_pb.ListSubscriptionsResponse:
        require_subscriber(request.caller)
        subscriptions = await self._subscription_store().list(request.caller.partner_id)
        return rs_pb.ListSubscriptionsResponse(
            subscriptions=[subscription_message(s) for s in subscriptions]
        )

    @translate_errors
    async def ListDeliveries(self, request: rs_pb.ListDeliveriesRequest, context: RpcContext) -> rs_pb.ListDeliveriesResponse:
        recall_id = validate_recall_id(request.recall_id)
        owner = await self.recall_owner(recall_id) if self.recall_owner is not None else None
        deliveries = await self._notifier().deliveries_for(
            recall_id,
            viewer_id=request.caller.partner_id,
            is_admin=caller_of(request.caller).is_admin,
            owner_id=owner,
        )
        return rs_pb.ListDeliveriesResponse(deliveries=[delivery_message(d) for d in deliveries])
