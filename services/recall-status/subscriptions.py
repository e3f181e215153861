"""Webhook subscriptions: where each partner wants which recall events posted.

Keys (the hash tag ``{subs}`` keeps a partner's subscriptions and the event indexes in one
Redis Cluster slot, so one script keeps them in step):

``subs:{subs}:<partner>``        hash    subscription name -> JSON {url, events, updated_at}
``subidx:{subs}:<event>``        hash    partner -> the name of its subscription to the event

A partner sends each event to at most one of its URLs, so "where does this partner want
``recall.closed``" has one answer. A subscriber's URL is shown whole only to that subscriber;
anyone else (the recall's manufacturer, the audit chain) sees it redacted by :func:`redact_url`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson
import redis.asyncio as aioredis

from verinet import lua_scripts
from verinet.errors import Conflict, InvalidInput, unexpected
from verinet.outbound import OutboundPolicy
from verinet.store import reply_bytes, reply_fields

__all__ = [
    "EVENTS",
    "Subscription",
    "SubscriptionStore",
    "redact_url",
    "require_event",
    "validate_subscription",
    "validate_url",
]

#: The events a partner may subscribe to.
EVENTS = ("recall.published", "recall.updated", "recall.closed", "recall.drill", "recall.responded", "recall.reminder", "recall.overdue")

MAX_URL_LENGTH = 2000
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

# Creates or replaces a subscription and keeps the event index in step (``lua/subscription_put.lua``).
PUT_SUBSCRIPTION = lua_scripts.source("verinet.recall_status", "subscription_put")


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
        expected = f"one of {', '.join(EVENTS)}"
        raise unexpected("read event", event, expected, code="subscription.event_unknown", field=field)
    return event


def validate_url(url: object) -> str:
    """An absolute http(s) URL with a host, no credentials and no fragment."""

    def fail(expected: str) -> InvalidInput:
        return unexpected("read webhook URL", url, expected, code="subscription.url", field="url")

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
        expected = "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        raise unexpected("read subscription name", name, expected, code="subscription.name", field="name")
    checked_url = validate_url(url)
    if not isinstance(events, Sequence) or isinstance(events, str) or not events:
        expected = f"a non-empty list of {', '.join(EVENTS)}"
        raise unexpected("read events", events, expected, code="subscription.events", field="events")
    seen: list[str] = []
    for i, event in enumerate(events):
        if not isinstance(event, str):
            raise unexpected(
                f"read events[{i}]", event, "a string", code="subscription.event_unknown", field=f"events[{i}]"
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
        self._put = redis.register_script(PUT_SUBSCRIPTION)

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
