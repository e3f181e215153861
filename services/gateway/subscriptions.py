"""Webhook subscriptions and delivery logs (routes declared here).

The gateway checks the shape of the input; recall-status checks names, URLs and events and
answers coded errors (``subscription.url``, ``subscription.event_unknown``, ...).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from verinet.callers import ALL_ROLES, TRADING_ROLES
from verinet.errors import InvalidInput
from verinet.gateway.api import json_response
from verinet.gateway.app_keys import CLIENTS
from verinet.gateway.inputs import json_object
from verinet.gateway.lms import caller_message
from verinet.gateway.routing import RouteTable
from verinet.partners import Partner
from verinet.recall_status.v1 import recall_status_pb2 as rs_pb

routes = RouteTable()

#: Every partner role but admin: admin receives no recalls, so it has nothing to subscribe.
SUBSCRIBER_ROLES = TRADING_ROLES

SUBSCRIPTION_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["url", "events"],
                "properties": {
                    "url": {
                        "type": "string",
                        "format": "uri",
                        "description": "http(s) URL receiving signed POSTs",
                    },
                    "events": {
                        "type": "array",
                        "items": {
                            "type": "string",
                            "enum": [
                                "recall.published",
                                "recall.updated",
                                "recall.closed",
                                "recall.drill",
                                "recall.responded",
                                "recall.reminder",
                                "recall.overdue",
                            ],
                        },
                    },
                },
            }
        }
    },
}


def subscription_json(subscription: rs_pb.Subscription) -> dict[str, Any]:
    return {
        "name": subscription.name,
        "partner": subscription.partner_id,
        "url": subscription.url,
        "events": list(subscription.events),
        "updated_at": subscription.updated_at,
    }


def delivery_json(delivery: rs_pb.Delivery) -> dict[str, Any]:
    return {
        "notification_id": delivery.notification_id,
        "partner": delivery.partner_id,
        "url": delivery.url,
        "attempt": delivery.attempt,
        "outcome": delivery.outcome,
        "http_status": delivery.http_status or None,
        "error": delivery.error,
        "at": delivery.at,
        "drill": delivery.drill,
    }


@routes.route(
    "PUT",
    "/v1/subscriptions/{name}",
    roles=SUBSCRIBER_ROLES,
    tag="Webhooks",
    summary="Create or replace a webhook subscription: URL and recall events",
    request_body=SUBSCRIPTION_BODY,
)
async def put_subscription(request: web.Request, partner: Partner) -> web.Response:
    body = await json_object(request)
    url = body.get("url")
    if not isinstance(url, str):
        raise InvalidInput(
            'Failed to read "url": expected an http or https URL as a string.',
            code="subscription.url",
            field="url",
        )
    events = body.get("events")
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise InvalidInput(
            'Failed to read "events": expected a list of event names such as "recall.published".',
            code="subscription.events",
            field="events",
        )
    subscription = rs_pb.Subscription(name=request.match_info["name"], url=url, events=events)
    message = rs_pb.PutSubscriptionRequest(caller=caller_message(partner), subscription=subscription)
    clients = request.app[CLIENTS]
    answer = await clients.ask(clients.recall_status.PutSubscription, message)
    return json_response(
        subscription_json(answer.subscription), status=201 if answer.created else 200
    )


@routes.route("GET", "/v1/subscriptions", roles=SUBSCRIBER_ROLES, tag="Webhooks", summary="Your webhook subscriptions")
async def list_subscriptions(request: web.Request, partner: Partner) -> web.Response:
    clients = request.app[CLIENTS]
    answer = await clients.ask(clients.recall_status.ListSubscriptions, rs_pb.ListSubscriptionsRequest(caller=caller_message(partner)))
    return json_response({"subscriptions": [subscription_json(s) for s in answer.subscriptions]})


@routes.route("GET", "/v1/recalls/{id}/deliveries", roles=ALL_ROLES, tag="Webhooks", summary="Webhook delivery attempts of a recall (all to its manufacturer and admin; your own to others)")
async def list_deliveries(request: web.Request, partner: Partner) -> web.Response:
    recall_id = request.match_info["id"]
    clients = request.app[CLIENTS]
    answer = await clients.ask(clients.recall_status.ListDeliveries, rs_pb.ListDeliveriesRequest(caller=caller_message(partner), recall_id=recall_id))
    return json_response(
        {"recall_id": recall_id, "deliveries": [delivery_json(d) for d in answer.deliveries]}
    )
