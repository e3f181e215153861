"""Webhook notifications: the queue in Redis Streams, the delivery log, and the recall's
audit chain they are recorded in. Subscriptions are :mod:`verinet.recall_status.subscriptions`,
delivering is :mod:`verinet.recall_status.delivery_worker`.

Keys (hash tags keep the keys that one script touches in one Redis Cluster slot):

``notify``                       stream  notifications to deliver (consumer group ``webhooks``)
``{notify}:retry``               zset    failed notifications, by the unix time they are due again
``{notify}:dead``                stream  notifications given up after the last attempt
``deliveries:{rc:<recall>}``     stream  one entry per delivery attempt of the recall
``audit:{rc:<recall>}``          stream  the recall's audit chain (entry, prev, hash)
``audithead:{rc:<recall>}``      string  hash of the chain's last entry

A key's cluster slot is the CRC16 of its hash tag, or of the whole name when it has none, so
``notify``, ``{notify}:retry`` and ``{notify}:dead`` share a slot and a script may move
notifications between them.

Only partners that hold units of a recall are notified of it (``recalls``), never a revoked
partner (a notification queued or retried for a partner revoked since is not posted but
logged as ``cancelled``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import redis.asyncio as aioredis
from prometheus_client import Counter

from verinet import lua_scripts
from verinet.errors import NotFound, unexpected
from verinet.partners import is_revoked
from verinet.recall_status import audit
from verinet.recall_status.key_families import tagged
from verinet.recall_status.subscriptions import SubscriptionStore, redact_url
from verinet.store import reply_entries, reply_text_fields
from verinet.timestamps import id_stamp, utc_ms

__all__ = [
    "DEAD_STREAM",
    "GROUP",
    "NOTIFY_STREAM",
    "RETRY_KEY",
    "Delivery",
    "Notification",
    "Notifier",
    "RecallAudit",
    "RecallOwner",
    "validate_recall_id",
]

log = logging.getLogger(__name__)

#: Events that notify a holder of a recall (the first delivered is its notice of record).
NOTICE_EVENTS = ("recall.published", "recall.updated", "recall.drill")
#: Delivery outcomes, as logged.
OUTCOMES = ("delivered", "failed", "dead", "cancelled")

NOTIFY_STREAM = "notify"
RETRY_KEY = "{notify}:retry"
DEAD_STREAM = "{notify}:dead"
GROUP = "webhooks"

MAX_LISTED_DELIVERIES = 10_000
_CHUNK = 1000
_RECALL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

#: The manufacturer (partner id) that owns a recall, or None when there is no such recall.
RecallOwner = Callable[[str], Awaitable[str | None]]
Clock = Callable[[], dt.datetime]

ENQUEUED = Counter(
    "verinet_webhook_notifications_total", "Webhook notifications queued, by event", ["event"]
)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)



# --- the recall audit chain ---------------------------------------------------------------

# The recall's chain uses the one append of recall_status.audit, so one verifier
# recomputes every chain.
APPEND_AUDIT = lua_scripts.source("verinet.recall_status", "audit_append")


def audit_key(recall_id: str) -> str:
    return audit.chain_key(recall_id=recall_id)


def audit_head_key(recall_id: str) -> str:
    return audit.head_key(audit_key(recall_id))


deliveries_key = tagged("deliveries", tag_prefix="rc:")  # by recall id


def validate_recall_id(recall_id: str) -> str:
    """Recall ids become part of key names: letters, digits, '.', '_' and '-' only."""
    if not isinstance(recall_id, str) or not _RECALL_ID.fullmatch(recall_id):
        expected = "1 to 100 letters, digits, '.', '_' or '-'"
        raise unexpected("read recall id", recall_id, expected, code="recall.id", field="recall_id")
    return recall_id


class RecallAudit:
    """Appends to recalls' audit chains, its script registered once on one Redis client."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._append = redis.register_script(APPEND_AUDIT)

    async def append(self, recall_id: str, entry: dict[str, Any]) -> str:
        """Appends ``entry`` (as compact JSON) to the recall's audit chain; returns its hash.

        Stored as fields ``entry``, ``prev`` and ``hash`` of ``audit:{rc:<recall_id>}``, with
        ``hash = sha1hex(prev + "\\n" + entry)`` and the new head in ``audithead:{rc:<recall_id>}``.
        """
        validate_recall_id(recall_id)
        head = await self._append(
            keys=[audit_key(recall_id), audit_head_key(recall_id)], args=[orjson.dumps(entry)]
        )
        return head.decode() if isinstance(head, bytes) else str(head)


@dataclass(frozen=True, slots=True)
class Notification:
    """One notification as queued; ``attempt`` counts from 1."""

    id: str
    recall_id: str
    partner_id: str
    url: str
    event: str
    payload: bytes  # JSON
    drill: bool
    attempt: int = 1

    def fields(self) -> dict[str, str]:
        return {
            "id": self.id,
            "recall_id": self.recall_id,
            "partner_id": self.partner_id,
            "url": self.url,
            "event": self.event,
            "payload": self.payload.decode(),
            "drill": "1" if self.drill else "0",
            "attempt": str(self.attempt),
        }

    @classmethod
    def from_fields(cls, raw: Mapping[bytes, bytes]) -> Notification:
        text = reply_text_fields(raw)
        orjson.loads(text["payload"])  # refuse what would not make a JSON body
        attempt = int(text["attempt"])
        if attempt < 1:
            raise ValueError(f"attempt {attempt} < 1")
        return cls(
            id=text["id"],
            recall_id=validate_recall_id(text["recall_id"]),
            partner_id=text["partner_id"],
            url=text["url"],
            event=text["event"],
            payload=text["payload"].encode(),
            drill=text["drill"] == "1",
            attempt=attempt,
        )

    def body(self, sent_at: dt.datetime) -> bytes:
        """The JSON body posted to the partner."""
        return orjson.dumps(
            {
                "id": self.id,
                "event": self.event,
                "recall_id": self.recall_id,
                "drill": self.drill,
                "data": orjson.Fragment(self.payload),
                "sent_at": utc_ms(sent_at),
            }
        )


def new_notification_id(now: dt.datetime) -> str:
    return f"nt_{id_stamp(now)}_{secrets.token_hex(6)}"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery attempt as logged; ``at`` is unix seconds."""

    notification_id: str
    recall_id: str
    partner_id: str
    url: str
    event: str
    attempt: int
    outcome: str
    http_status: int
    error: str
    at: float
    drill: bool
    latency_ms: float

    def log_fields(self) -> list[str]:
        return [
            "notification_id", self.notification_id,
            "partner_id", self.partner_id,
            "url", self.url,
            "event", self.event,
            "attempt", str(self.attempt),
            "outcome", self.outcome,
            "http_status", str(self.http_status),
            "error", self.error,
            "at", f"{self.at:.3f}",
            "drill", "1" if self.drill else "0",
            "latency_ms", f"{self.latency_ms:.1f}",
        ]  # fmt: skip

    @classmethod
    def from_log(cls, recall_id: str, raw: Mapping[bytes, bytes]) -> Delivery:
        text = reply_text_fields(raw)
        return cls(
            notification_id=text["notification_id"],
            recall_id=recall_id,
            partner_id=text["partner_id"],
            url=text["url"],
            event=text["event"],
            attempt=int(text["attempt"]),
            outcome=text["outcome"],
            http_status=int(text["http_status"]),
            error=text["error"],
            at=float(text["at"]),
            drill=text["drill"] == "1",
            latency_ms=float(text["latency_ms"]),
        )

    def seen_by_others(self) -> Delivery:
        """The attempt as anyone but its subscriber may see it: the URL redacted, also where
        the error text quotes it."""
        redacted = redact_url(self.url)
        return dataclasses.replace(self, url=redacted, error=self.error.replace(self.url, redacted))

    def audit_entry(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "action": f"notification.{self.outcome}",
            "recall": self.recall_id,
            "notification": self.notification_id,
            "partner": self.partner_id,
            "event": self.event,
            "url": redact_url(self.url),
            "attempt": self.attempt,
            "http_status": self.http_status,
            "error": self.error,
            "drill": self.drill,
        }


class Notifier:
    """Queues notifications for subscribed partners and reads the delivery log."""

    def __init__(
        self, redis: aioredis.Redis, subscriptions: SubscriptionStore, *, now: Clock = utc_now
    ) -> None:
        self.redis = redis
        self.subscriptions = subscriptions
        self.now = now

    async def enqueue(
        self, recall_id: str, partner_id: str, event: str, payload: dict[str, Any], *, drill: bool
    ) -> str | None:
        """Queues ``payload`` for the partner's subscription to ``event``; answers the
        notification id, or None when the partner has no such subscription."""
        validate_recall_id(recall_id)
        if await is_revoked(self.redis, partner_id):
            return None
        subscription = await self.subscriptions.for_event(partner_id, event)
        if subscription is None:
            return None
        notification = Notification(
            id=new_notification_id(self.now()),
            recall_id=recall_id,
            partner_id=partner_id,
            url=subscription.url,
            event=event,
            payload=orjson.dumps(payload),
            drill=drill,
        )
        await self.redis.xadd(NOTIFY_STREAM, notification.fields())  # type: ignore[arg-type]
        ENQUEUED.labels(event).inc()
        log.info(
            "Notification queued",
            extra={
                "notification_id": notification.id,
                "recall_id": recall_id,
                "partner_id": partner_id,
                "event": event,
            },
        )
        return notification.id

    async def subscribers(self, event: str) -> list[str]:
        """Partner ids subscribed to ``event``."""
        return await self.subscriptions.subscribers(event)

    async def deliveries(
        self, recall_id: str, *, limit: int = MAX_LISTED_DELIVERIES
    ) -> list[Delivery]:
        """Attempts of the recall's deliveries, oldest first."""
        key = deliveries_key(validate_recall_id(recall_id))
        found: list[Delivery] = []
        start = "-"
        while len(found) < limit:
            batch = reply_entries(
                await self.redis.xrange(key, min=start, count=min(_CHUNK, limit - len(found)))
            )
            found.extend(Delivery.from_log(recall_id, fields) for _, fields in batch)
            if len(batch) < _CHUNK:
                break
            start = "(" + batch[-1][0].decode()
        return found

    async def delivered_at(self, recall_id: str) -> dict[str, float]:
        """Per partner, the unix time its first notification of the recall was delivered."""
        first: dict[str, float] = {}
        for delivery in await self.deliveries(recall_id, limit=10 * MAX_LISTED_DELIVERIES):
            if delivery.outcome == "delivered" and delivery.event in NOTICE_EVENTS and delivery.partner_id not in first:
                first[delivery.partner_id] = delivery.at
        return first

    async def deliveries_for(
        self, recall_id: str, *, viewer_id: str, is_admin: bool, owner_id: str | None
    ) -> list[Delivery]:
        """What a partner may see: every attempt for admin and the recall's manufacturer (other
        partners' URLs redacted), its own deliveries for anyone else; a recall with nothing
        to show is not found."""
        deliveries = await self.deliveries(recall_id)
        if not (is_admin or (owner_id is not None and owner_id == viewer_id)):
            deliveries = [d for d in deliveries if d.partner_id == viewer_id]
            if not deliveries:
                raise NotFound(
                    f"No recall {recall_id!r} with deliveries to you.", code="recall.not_found"
                )
        elif owner_id is None and not deliveries:
            raise NotFound(f"No recall {recall_id!r} with deliveries.", code="recall.not_found")
        return [d if d.partner_id == viewer_id else d.seen_by_others() for d in deliveries]
