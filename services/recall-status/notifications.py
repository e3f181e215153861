"""Webhook notifications: partner subscriptions, a queue in Redis Streams, signed deliveries.

Keys (hash tags keep the keys that one script touches in one Redis Cluster slot):

``subs:{subs}:<partner>``        hash    subscription name -> JSON {url, events, updated_at}
``subidx:{subs}:<event>``        hash    partner -> the name of its subscription to the event
``notify``                       stream  notifications to deliver (consumer group ``webhooks``)
``{notify}:retry``               zset    failed notifications, by the unix time they are due again
``{notify}:dead``                stream  notifications given up after the last attempt
``deliveries:{rc:<recall>}``     stream  one entry per delivery attempt of the recall
``audit:{rc:<recall>}``          stream  the recall's audit chain (entry, prev, hash)
``audithead:{rc:<recall>}``      string  hash of the chain's last entry

A key's cluster slot is the CRC16 of its hash tag, or of the whole name when it has none, so
``notify``, ``{notify}:retry`` and ``{notify}:dead`` share a slot and a script may move
notifications between them. A partner sends each event to at most one of its URLs, so
"where does this partner want ``recall.closed``" has one answer.

Delivery is at least once: the worker reads with XREADGROUP, posts, records the attempt (log
and audit chain in one script), and only then acknowledges the stream entry, in the same
script that schedules the retry or dead-letters it. Entries of consumers that died on the way
are taken over with XAUTOCLAIM. Receivers deduplicate on the notification ``id``.

Only partners that hold units of a recall are notified of it (``recalls``), never a revoked
partner: a notification queued or retried for a partner revoked since is not posted but
logged as ``cancelled``. A subscriber's URL is shown whole only to that subscriber; anyone
else (the recall's manufacturer, the audit chain) sees it redacted by :func:`redact_url`.

Signing is not done here: the worker is given ``sign(method, url, body) -> headers``; in
production that asks the verifier (the only holder of the key), in tests a local signer.

Past 500 lines, three ideas: subscriptions (``SubscriptionStore``), the queue and delivery log
(``Notification``, ``Notifier``), and the delivery worker (``DeliveryWorker``). It would be cut
there.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import os
import random
import re
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson
import redis.asyncio as aioredis
from prometheus_client import Counter, Histogram
from redis.exceptions import RedisError, ResponseError

from verinet.errors import Conflict, InvalidInput, NotFound
from verinet.outbound import OutboundPolicy
from verinet.outbound_http import GuardedConnector, connect_failure
from verinet.partners import is_revoked
from verinet.recall_status import audit
from verinet.store import reply_bytes, reply_entries, reply_fields, reply_streams
from verinet.timestamps import id_stamp, utc_ms

__all__ = [
    "DEAD_STREAM",
    "EVENTS",
    "GROUP",
    "NOTIFY_STREAM",
    "RETRY_KEY",
    "Delivery",
    "DeliverySettings",
    "DeliveryWorker",
    "Notification",
    "Notifier",
    "RecallOwner",
    "Sign",
    "Subscription",
    "SubscriptionStore",
    "append_recall_audit",
    "backoff_delay",
    "redact_url",
    "validate_recall_id",
    "validate_subscription",
]

log = logging.getLogger(__name__)

#: The events a partner may subscribe to.
EVENTS = ("recall.published", "recall.updated", "recall.closed", "recall.drill", "recall.responded", "recall.reminder", "recall.overdue")
#: Events that notify a holder of a recall (the first delivered is its notice of record).
NOTICE_EVENTS = ("recall.published", "recall.updated", "recall.drill")
#: Delivery outcomes, as logged.
OUTCOMES = ("delivered", "failed", "dead", "cancelled")

NOTIFY_STREAM = "notify"
RETRY_KEY = "{notify}:retry"
DEAD_STREAM = "{notify}:dead"
GROUP = "webhooks"

MAX_URL_LENGTH = 2000
MAX_ERROR_LENGTH = 300
MAX_LISTED_DELIVERIES = 10_000
_CHUNK = 1000
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_RECALL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

#: Signs an outbound request: (method, url, body) -> headers to send.
Sign = Callable[[str, str, bytes], Awaitable[dict[str, str]]]
#: The manufacturer (partner id) that owns a recall, or None when there is no such recall.
RecallOwner = Callable[[str], Awaitable[str | None]]
Clock = Callable[[], dt.datetime]

ENQUEUED = Counter(
    "verinet_webhook_notifications_total", "Webhook notifications queued, by event", ["event"]
)
DELIVERIES = Counter(
    "verinet_webhook_deliveries_total",
    "Webhook delivery attempts by outcome (delivered, failed and retried, dead)",
    ["outcome"],
)
DELIVERY_SECONDS = Histogram(
    "verinet_webhook_delivery_seconds",
    "Time from signing a webhook delivery to its answer or failure, by outcome",
    ["outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- the recall audit chain ---------------------------------------------------------------

# The recall's chain uses the one append of recall_status.audit, so one verifier
# recomputes every chain.
APPEND_AUDIT_SCRIPT = audit.APPEND_SCRIPT

# One delivery attempt: its log entry and its audit entry, atomically (one slot: {rc:<id>}).
# KEYS: audit stream, audit head, deliveries stream. ARGV: audit entry JSON, then the log
# entry's field/value pairs.
RECORD_ATTEMPT_SCRIPT = "redis.call('XADD', KEYS[3], '*', unpack(ARGV, 2))\n" + APPEND_AUDIT_SCRIPT

# Acknowledges a processed entry and, only if this call acknowledged it (a slow consumer and
# the one that took its entry over cannot both), schedules its retry or dead-letters it.
# KEYS: notify, retry zset, dead stream. ARGV: group, entry id, mode (ack, retry or dead),
# due time, retry member (JSON list of field/value pairs), then the dead entry's pairs.
FINISH_SCRIPT = r"""
local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if acked == 0 then return 0 end
if ARGV[3] == 'retry' then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
elseif ARGV[3] == 'dead' then
  redis.call('XADD', KEYS[3], '*', unpack(ARGV, 6))
end
return 1
"""

# Moves retries that are due back to the stream. KEYS: retry zset, notify. ARGV: now, limit.
MOVE_DUE_SCRIPT = r"""
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', unpack(cjson.decode(member)))
  redis.call('ZREM', KEYS[1], member)
end
return #due
"""

# Creates or replaces a subscription and keeps the event index in step, refusing an event
# that another subscription of the partner already carries.
# KEYS: the partner's subscriptions, then the index of each event in EVENTS order.
# ARGV: partner, name, subscription JSON, then "1" or "0" per event in EVENTS order.
PUT_SUBSCRIPTION_SCRIPT = r"""
for i = 2, #KEYS do
  if ARGV[i + 2] == '1' then
    local holder = redis.call('HGET', KEYS[i], ARGV[1])
    if holder and holder ~= ARGV[2] then return {'taken', tostring(i - 1), holder} end
  end
end
local existed = redis.call('HEXISTS', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
for i = 2, #KEYS do
  if ARGV[i + 2] == '1' then
    redis.call('HSET', KEYS[i], ARGV[1], ARGV[2])
  elseif redis.call('HGET', KEYS[i], ARGV[1]) == ARGV[2] then
    redis.call('HDEL', KEYS[i], ARGV[1])
  end
end
return {'ok', tostring(existed)}
"""


def audit_key(recall_id: str) -> str:
    return audit.chain_key(recall_id=recall_id)


def audit_head_key(recall_id: str) -> str:
    return audit.head_key(audit_key(recall_id))


def deliveries_key(recall_id: str) -> str:
    return f"deliveries:{{rc:{recall_id}}}"


def validate_recall_id(recall_id: str) -> str:
    """Recall ids become part of key names: letters, digits, '.', '_' and '-' only."""
    if not isinstance(recall_id, str) or not _RECALL_ID.fullmatch(recall_id):
        raise InvalidInput(
            f"Failed to read recall id {recall_id!r}: expected 1 to 100 letters, digits, '.', "
            "'_' or '-'.",
            code="recall.id",
            field="recall_id",
        )
    return recall_id


async def append_recall_audit(redis: aioredis.Redis, recall_id: str, entry: dict[str, Any]) -> str:
    """Appends ``entry`` (as compact JSON) to the recall's audit chain; returns its hash.

    Stored as fields ``entry``, ``prev`` and ``hash`` of ``audit:{rc:<recall_id>}``, with
    ``hash = sha1hex(prev + "\\n" + entry)`` and the new head in ``audithead:{rc:<recall_id>}``.
    """
    validate_recall_id(recall_id)
    script = redis.register_script(APPEND_AUDIT_SCRIPT)
    head = await script(
        keys=[audit_key(recall_id), audit_head_key(recall_id)], args=[orjson.dumps(entry)]
    )
    return head.decode() if isinstance(head, bytes) else str(head)


# --- subscriptions ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subscription:
    """Where a partner wants some recall events posted."""

    name: str
    partner_id: str
    url: str
    events: tuple[str, ...]
    updated_at: str = ""

    def to_json(self) -> bytes:
        return orjson.dumps(
            {"url": self.url, "events": list(self.events), "updated_at": self.updated_at}
        )

    @classmethod
    def from_json(cls, partner_id: str, name: str, raw: bytes) -> Subscription:
        data = orjson.loads(raw)
        return cls(name, partner_id, data["url"], tuple(data["events"]), data.get("updated_at", ""))


def subscriptions_key(partner_id: str) -> str:
    return f"subs:{{subs}}:{partner_id}"


def event_index_key(event: str) -> str:
    return f"subidx:{{subs}}:{event}"


def require_event(event: str, field: str = "event") -> str:
    if event not in EVENTS:
        raise InvalidInput(
            f"Failed to read event {event!r}: expected one of {', '.join(EVENTS)}.",
            code="subscription.event_unknown",
            field=field,
        )
    return event


def validate_url(url: object) -> str:
    """An absolute http(s) URL with a host, no credentials and no fragment."""

    def fail(expected: str) -> InvalidInput:
        return InvalidInput(
            f"Failed to read webhook URL {url!r}: expected {expected}.",
            code="subscription.url",
            field="url",
        )

    if not isinstance(url, str) or not url:
        raise fail("an http or https URL")
    if len(url) > MAX_URL_LENGTH:
        raise fail(f"at most {MAX_URL_LENGTH} characters, got {len(url)}")
    if not url.isascii() or not url.isprintable() or " " in url:
        raise fail("printable ASCII without spaces (percent-encode the rest)")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise fail(f"the scheme http or https, got {parts.scheme or 'none'!r}")
    if not parts.hostname:
        raise fail("a host")
    if parts.username is not None or parts.password is not None:
        raise fail("no user or password in the URL (verify our signature instead)")
    if parts.fragment or url.endswith("#"):
        raise fail("no fragment")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise fail("a port from 0 to 65535") from None
    return url


def redact_url(url: str) -> str:
    """A subscriber's URL as others may see it: no user, password, query or fragment.

    >>> redact_url("https://user:pw@hooks.example.com:8443/in/recalls?key=s3cret#x")
    'https://hooks.example.com:8443/in/recalls'
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme}://{host}{f':{port}' if port is not None else ''}{parts.path}"


def validate_subscription(
    name: object, url: object, events: object
) -> tuple[str, str, tuple[str, ...]]:
    """Checks a subscription as given by a partner; each error names its field."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInput(
            f"Failed to read subscription name {name!r}: expected 1 to 64 letters, digits, '.', "
            "'_' or '-', starting with a letter or digit.",
            code="subscription.name",
            field="name",
        )
    checked_url = validate_url(url)
    if not isinstance(events, Sequence) or isinstance(events, str) or not events:
        raise InvalidInput(
            f"Failed to read events {events!r}: expected a non-empty list of {', '.join(EVENTS)}.",
            code="subscription.events",
            field="events",
        )
    seen: list[str] = []
    for i, event in enumerate(events):
        if not isinstance(event, str):
            raise InvalidInput(
                f"Failed to read events[{i}] {event!r}: expected a string.",
                code="subscription.event_unknown",
                field=f"events[{i}]",
            )
        require_event(event, f"events[{i}]")
        if event in seen:
            raise InvalidInput(
                f"Failed to read events: {event!r} is listed twice.",
                code="subscription.event_duplicate",
                field=f"events[{i}]",
            )
        seen.append(event)
    return name, checked_url, tuple(seen)


class SubscriptionStore:
    """Per-partner named subscriptions and, per event, which partners want it where."""

    def __init__(self, redis: aioredis.Redis, policy: OutboundPolicy | None = None) -> None:
        self.redis = redis
        #: Where webhook URLs may point; public unicast only unless the operator allows more.
        self.policy = policy or OutboundPolicy()
        self._put = redis.register_script(PUT_SUBSCRIPTION_SCRIPT)

    async def put(
        self, partner_id: str, name: str, url: str, events: Sequence[str], now: dt.datetime
    ) -> tuple[Subscription, bool]:
        """Creates or replaces ``name``; answers the subscription and whether it is new."""
        name, url, checked = validate_subscription(name, url, events)
        await self.policy.check_url(url, field="url", code="subscription.url_not_public")
        subscription = Subscription(name, partner_id, url, checked, now.isoformat())
        answer = await self._put(
            keys=[subscriptions_key(partner_id), *(event_index_key(e) for e in EVENTS)],
            args=[
                partner_id,
                name,
                subscription.to_json(),
                *("1" if e in checked else "0" for e in EVENTS),
            ],
        )
        status = answer[0].decode()
        if status == "taken":
            event = EVENTS[int(answer[1]) - 1]
            holder = answer[2].decode()
            raise Conflict(
                f"Failed to subscribe {name!r} to {event!r}: your subscription {holder!r} already "
                "receives it and each event goes to one URL; change the URL or the events of "
                f"{holder!r} instead.",
                code="subscription.event_taken",
                field=f"events[{checked.index(event)}]",
            )
        return subscription, answer[1] == b"0"

    async def for_event(self, partner_id: str, event: str) -> Subscription | None:
        """The partner's subscription that receives ``event``, if any."""
        require_event(event)
        name = reply_bytes(await self.redis.hget(event_index_key(event), partner_id))
        if name is None:
            return None
        raw = reply_bytes(await self.redis.hget(subscriptions_key(partner_id), name))
        return Subscription.from_json(partner_id, name.decode(), raw) if raw is not None else None

    async def subscribers(self, event: str) -> list[str]:
        require_event(event)
        return sorted(reply_bytes(p).decode() for p in await self.redis.hkeys(event_index_key(event)))

    async def list(self, partner_id: str) -> list[Subscription]:  # last: it shadows list
        """The partner's subscriptions by name."""
        raw = reply_fields(await self.redis.hgetall(subscriptions_key(partner_id)))
        return sorted(
            (Subscription.from_json(partner_id, k.decode(), v) for k, v in raw.items()),
            key=lambda s: s.name,
        )


# --- notifications and the delivery log -----------------------------------------------------


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
        text = {k.decode(): v.decode() for k, v in raw.items()}
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
        text = {k.decode(): v.decode() for k, v in raw.items()}
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
        self, redis: aioredis.Redis, subscriptions: SubscriptionStore, *, now: Clock = _utc_now
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


# --- the delivery worker ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """How the worker delivers; ``recall_status.settings`` reads them from the environment."""

    backoff_base: float = 5.0
    backoff_max: float = 3600.0
    max_attempts: int = 15
    delivery_timeout: float = 10.0
    sign_timeout: float = 0.8
    concurrency: int = 32
    claim_idle: float = 60.0
    poll_interval: float = 1.0
    #: Checked again on every connection: a name may resolve elsewhere than when it was set.
    outbound: OutboundPolicy = dataclasses.field(default_factory=OutboundPolicy)


def backoff_delay(attempt: int, base: float, maximum: float, rng: random.Random) -> float:
    """Seconds to wait after failed attempt ``attempt`` (from 1): exponential, capped, with
    "equal jitter" (half fixed, half random) so retries of one outage spread out.

    >>> backoff_delay(3, 1.0, 60.0, random.Random(0)) <= 4.0
    True
    """
    ceiling = min(maximum, base * 2.0 ** min(attempt - 1, 62))
    return ceiling / 2 + rng.uniform(0.0, ceiling / 2)


def _short(text: str) -> str:
    return text if len(text) <= MAX_ERROR_LENGTH else text[: MAX_ERROR_LENGTH - 1] + "…"


class DeliveryWorker:
    """Delivers queued notifications with at most ``concurrency`` in flight: one loop takes
    work (stale entries of dead consumers, then new ones), one moves due retries back to the
    stream. ``start()``, then ``drain(grace)`` on shutdown."""

    def __init__(
        self,
        redis: aioredis.Redis,
        sign: Sign,
        settings: DeliverySettings,
        *,
        consumer: str | None = None,
        now: Clock = _utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self.redis = redis
        self.sign = sign
        self.settings = settings
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.now = now
        self.rng = rng or random.Random()
        self._record = redis.register_script(RECORD_ATTEMPT_SCRIPT)
        self._finish = redis.register_script(FINISH_SCRIPT)
        self._move_due = redis.register_script(MOVE_DUE_SCRIPT)
        self._stopping = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._inflight: dict[asyncio.Task[None], bytes] = {}
        self._next_claim = 0.0
        self._session: aiohttp.ClientSession | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        await self.ensure_group(self.redis)
        self._session = aiohttp.ClientSession(
            connector=GuardedConnector(self.settings.outbound),
            headers={"User-Agent": "verinet-webhooks/1"},
            timeout=aiohttp.ClientTimeout(total=self.settings.delivery_timeout),
            trust_env=False,  # no proxy from the environment: it would connect for us, unchecked
        )
        self._loops = [
            asyncio.create_task(self._forever(self._take_once), name="webhooks-take"),
            asyncio.create_task(self._forever(self._move_due_once), name="webhooks-retry"),
        ]
        log.info("Webhook worker started", extra={"consumer": self.consumer})

    @staticmethod
    async def ensure_group(redis: aioredis.Redis) -> None:
        try:
            await redis.xgroup_create(NOTIFY_STREAM, GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def drain(self, grace: float) -> None:
        """Takes no new work, lets deliveries in flight finish within ``grace`` seconds and
        leaves the rest pending for another consumer to take over."""
        self._stopping.set()
        if self._loops:
            _, late = await asyncio.wait(self._loops, timeout=self.settings.poll_interval + 1.0)
            for task in late:
                task.cancel()
            await asyncio.gather(*self._loops, return_exceptions=True)
        if self._inflight:
            _, unfinished = await asyncio.wait(list(self._inflight), timeout=grace)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
            if unfinished:
                log.warning(
                    "Drain left %d deliveries pending for another consumer", len(unfinished)
                )
        if self._session is not None:
            await self._session.close()
            self._session = None
        try:
            pending = await self.redis.xpending_range(
                NOTIFY_STREAM, GROUP, min="-", max="+", count=1, consumername=self.consumer
            )
            if not pending:
                await self.redis.xgroup_delconsumer(NOTIFY_STREAM, GROUP, self.consumer)
        except RedisError as error:
            log.warning("Could not remove consumer %s: %s", self.consumer, error)
        log.info("Webhook worker drained", extra={"consumer": self.consumer})

    async def _forever(self, step: Callable[[], Awaitable[float]]) -> None:
        """Runs ``step`` until draining; a step answers how long to wait before the next."""
        while not self._stopping.is_set():
            try:
                pause = await step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Webhook worker step %s failed; retrying", step.__name__)
                pause = self.settings.poll_interval
            if pause > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), pause)

    # -- taking work ----------------------------------------------------------------------

    def _free(self) -> int:
        return self.settings.concurrency - len(self._inflight)

    async def _take_once(self) -> float:
        """Fills free delivery slots: first (now and then) with entries that another consumer
        read but never finished because it died, then with new entries."""
        free = self._free()
        if free <= 0:
            await asyncio.wait(
                list(self._inflight),
                timeout=self.settings.poll_interval,
                return_when=asyncio.FIRST_COMPLETED,
            )
            return 0.0
        if time.monotonic() >= self._next_claim:
            self._next_claim = time.monotonic() + max(
                self.settings.poll_interval, self.settings.claim_idle / 4
            )
            free -= await self._claim_stale(free)
            if free <= 0:
                return 0.0
        try:
            replies = await self.redis.xreadgroup(
                GROUP,
                self.consumer,
                {NOTIFY_STREAM: ">"},
                count=free,
                block=max(1, int(self.settings.poll_interval * 1000)),
            )
        except ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            log.warning(
                "The stream %s or its group was removed; creating them again", NOTIFY_STREAM
            )
            await self.ensure_group(self.redis)
            return 0.0
        for _, entries in reply_streams(replies) or []:
            for entry_id, fields in entries:
                self._spawn(entry_id, fields)
        return 0.0

    async def _claim_stale(self, count: int) -> int:
        answer = await self.redis.xautoclaim(
            NOTIFY_STREAM,
            GROUP,
            self.consumer,
            min_idle_time=int(self.settings.claim_idle * 1000),
            start_id="0-0",
            count=count,
        )
        taken = 0
        for entry_id, fields in answer[1]:
            if entry_id is None:
                continue
            if fields is None:  # deleted while pending: nothing left to deliver
                await self.redis.xack(NOTIFY_STREAM, GROUP, entry_id)
                continue
            if entry_id in self._inflight.values():
                continue
            log.info("Took over a stale notification", extra={"entry_id": entry_id.decode()})
            self._spawn(entry_id, fields)
            taken += 1
        return taken

    async def _move_due_once(self) -> float:
        limit = 500
        moved = await self._move_due(
            keys=[RETRY_KEY, NOTIFY_STREAM], args=[f"{self.now().timestamp():.3f}", limit]
        )
        return (
            0.0
            if int(moved) >= limit
            else min(self.settings.poll_interval, self.settings.backoff_base)
        )

    def _spawn(self, entry_id: bytes, fields: Mapping[bytes, bytes]) -> None:
        task = asyncio.create_task(
            self._handle(entry_id, fields), name=f"webhook-{entry_id.decode()}"
        )
        self._inflight[task] = entry_id
        task.add_done_callback(self._inflight.pop)

    # -- one delivery ---------------------------------------------------------------------

    async def _handle(self, entry_id: bytes, fields: Mapping[bytes, bytes]) -> None:
        try:
            notification = Notification.from_fields(fields)
        except (KeyError, ValueError, UnicodeDecodeError, InvalidInput) as error:
            log.error("Dead-lettering a malformed notification %s: %s", entry_id, error)
            raw = [item.decode(errors="replace") for pair in fields.items() for item in pair]
            await self._finish(
                keys=[NOTIFY_STREAM, RETRY_KEY, DEAD_STREAM],
                args=[GROUP, entry_id, "dead", 0, "", *raw, "dead_error", f"malformed: {error}"],
            )
            return
        try:
            await self.deliver(entry_id, notification)
        except RedisError as error:
            # The outcome may not be recorded: the entry stays pending and is taken over.
            log.warning("Could not record delivery %s: %s", notification.id, error)

    async def deliver(self, entry_id: bytes, notification: Notification) -> Delivery:
        """Posts one notification, records the attempt, then acknowledges it with its
        follow-up: nothing (delivered), a retry when due, or the dead-letter stream."""
        started = time.perf_counter()
        revoked = await is_revoked(self.redis, notification.partner_id)
        if revoked:
            status, error = 0, "The partner was revoked: the notification is not delivered."
        else:
            status, error = await self._post(notification)
        latency = time.perf_counter() - started
        if revoked:
            outcome = "cancelled"
        elif 200 <= status < 300:
            outcome = "delivered"
        elif notification.attempt >= self.settings.max_attempts:
            outcome = "dead"
        else:
            outcome = "failed"
        delivery = Delivery(
            notification_id=notification.id,
            recall_id=notification.recall_id,
            partner_id=notification.partner_id,
            url=notification.url,
            event=notification.event,
            attempt=notification.attempt,
            outcome=outcome,
            http_status=status,
            error=_short(error),
            at=self.now().timestamp(),
            drill=notification.drill,
            latency_ms=latency * 1000,
        )
        recall_id = notification.recall_id
        await self._record(
            keys=[audit_key(recall_id), audit_head_key(recall_id), deliveries_key(recall_id)],
            args=[orjson.dumps(delivery.audit_entry()), *delivery.log_fields()],
        )
        due = 0.0
        member = ""
        if outcome == "failed":
            due = delivery.at + backoff_delay(
                notification.attempt,
                self.settings.backoff_base,
                self.settings.backoff_max,
                self.rng,
            )
            retry = dataclasses.replace(notification, attempt=notification.attempt + 1)
            member = orjson.dumps(
                [item for pair in retry.fields().items() for item in pair]
            ).decode()
        dead = (
            [item for pair in notification.fields().items() for item in pair]
            + [
                "dead_at",
                f"{delivery.at:.3f}",
                "dead_error",
                delivery.error,
                "dead_http_status",
                str(status),
            ]
            if outcome == "dead"
            else []
        )
        mode = {"delivered": "ack", "failed": "retry", "dead": "dead", "cancelled": "ack"}[outcome]
        await self._finish(
            keys=[NOTIFY_STREAM, RETRY_KEY, DEAD_STREAM],
            args=[GROUP, entry_id, mode, f"{due:.3f}", member, *dead],
        )
        DELIVERIES.labels(outcome).inc()
        DELIVERY_SECONDS.labels(outcome).observe(latency)
        log.log(
            logging.INFO if outcome == "delivered" else logging.WARNING,
            "Webhook %s",
            outcome,
            extra={
                "notification_id": notification.id,
                "recall_id": recall_id,
                "partner_id": notification.partner_id,
                "attempt": notification.attempt,
                "http_status": status,
                "error": delivery.error,
                "retry_at": utc_ms(due) if due else None,
            },
        )
        return delivery

    async def _post(self, notification: Notification) -> tuple[int, str]:
        """POSTs the signed body; answers (HTTP status or 0, error text)."""
        body = notification.body(self.now())
        try:
            headers = dict(
                await asyncio.wait_for(
                    self.sign("POST", notification.url, body), self.settings.sign_timeout
                )
            )
        except TimeoutError:
            return 0, f"Failed to sign the delivery within {self.settings.sign_timeout:g} s."
        except Exception as error:  # noqa: BLE001 - any signing failure is a failed attempt
            # Logged, not shown: the partner reads the delivery log, and the error may name
            # our internal addresses.
            log.warning("Signing webhook delivery %s failed: %r", notification.id, error)
            return 0, "Failed to sign the delivery: verinet's signer did not answer."
        if notification.drill:
            headers["Verinet-Drill"] = "true"
        if self._session is None:
            raise RuntimeError("DeliveryWorker.start() was not called")
        try:
            async with self._session.post(
                notification.url, data=body, headers=headers, allow_redirects=False
            ) as answer:
                status = answer.status
        except TimeoutError:
            return 0, f"No answer within {self.settings.delivery_timeout:g} s."
        except (aiohttp.ClientError, OSError, ValueError) as error:
            # The partner reads this in its delivery log: words, never the raw connect error
            # (addresses, ports and errno would map the inside of our network).
            log.info("Webhook delivery %s failed: %r", notification.id, error)
            return 0, f"Failed to deliver: {connect_failure(error)}."
        if 200 <= status < 300:
            return status, ""
        return status, f"HTTP {status}"
