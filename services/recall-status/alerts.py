"""Alerts raised by pack operations (NMVS level-5 exceptions), in Redis.

``alert:<id>`` hash holds one alert; ``alerts:all``, ``alerts:owner:<partner>`` and
``alerts:reporter:<partner>`` are sorted sets of ids by time, so a partner lists only the
alerts it raised or that concern its products without scanning everyone else's.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import redis.asyncio as aioredis
from redis.typing import EncodableT, FieldT

from verinet.errors import Conflict, InvalidInput, NotFound
from verinet.store import reply_scored, reply_text_fields
from verinet.timestamps import id_stamp

ALL_KEY = "alerts:all"
STATUSES = ("open", "closed")
MAX_LIMIT = 1000
MAX_REASON_LENGTH = 500


@dataclass(frozen=True, slots=True)
class Alert:
    id: str
    gtin: str
    serial: str
    lot: str
    expiry: str
    code: str
    message: str
    partner_id: str
    location_gln: str
    owner_partner_id: str
    operation: str
    status: str = "open"
    raised_at: str = ""
    close_reason: str = ""
    closed_at: str = ""
    closed_by: str = ""

    def seen_by(self, viewer_id: str, is_admin: bool) -> Alert:
        """The alert as ``viewer_id`` may see it: whole for admin and the product's
        manufacturer; for the partner that raised it, without another partner's id."""
        if is_admin or viewer_id == self.owner_partner_id:
            return self
        return replace(self, owner_partner_id="", closed_by=self.closed_by if self.closed_by == viewer_id else "")


def _hash(alert: Alert) -> dict[FieldT, EncodableT]:
    """The alert as the fields of its Redis hash."""
    return dict(asdict(alert).items())


def owner_key(partner_id: str) -> str:
    return f"alerts:owner:{partner_id}"


def reporter_key(partner_id: str) -> str:
    return f"alerts:reporter:{partner_id}"


def new_alert_id(now: dt.datetime) -> str:
    return f"al_{id_stamp(now)}_{secrets.token_hex(5)}"


class AlertStore:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def record(self, alerts: Sequence[Alert], now: dt.datetime) -> list[str]:
        stored = [replace(a, id=new_alert_id(now), raised_at=now.isoformat(), status="open") for a in alerts]
        score = now.timestamp()
        pipe = self.redis.pipeline(transaction=False)
        for alert in stored:
            pipe.hset(f"alert:{alert.id}", mapping=_hash(alert))
            pipe.zadd(ALL_KEY, {alert.id: score})
            pipe.zadd(reporter_key(alert.partner_id), {alert.id: score})
            if alert.owner_partner_id:
                pipe.zadd(owner_key(alert.owner_partner_id), {alert.id: score})
        await pipe.execute()
        return [a.id for a in stored]

    async def get(self, alert_id: str) -> Alert:
        fields = reply_text_fields(await self.redis.hgetall(f"alert:{alert_id}"))
        if not fields:
            raise NotFound(f"No alert with id {alert_id!r}.", code="alert.not_found")
        return Alert(**fields)

    async def list(
        self,
        *,
        viewer_id: str,
        is_admin: bool,
        gtin: str = "",
        partner_id: str = "",
        code: str = "",
        status: str = "",
        limit: int = 100,
    ) -> list[Alert]:
        if status and status not in STATUSES:
            raise InvalidInput(f"Unknown alert status {status!r}: expected open or closed.", field="status")
        limit = min(limit or 100, MAX_LIMIT)
        indexes = [ALL_KEY] if is_admin else [owner_key(viewer_id), reporter_key(viewer_id)]
        scored: dict[str, float] = {}
        for index in indexes:
            for member, score in reply_scored(
                await self.redis.zrevrange(index, 0, 20 * MAX_LIMIT, withscores=True)
            ):
                scored[member.decode()] = score
        ids = sorted(scored, key=lambda i: scored[i], reverse=True)
        found: list[Alert] = []
        for start in range(0, len(ids), 500):
            pipe = self.redis.pipeline(transaction=False)
            for alert_id in ids[start : start + 500]:
                pipe.hgetall(f"alert:{alert_id}")
            for raw in await pipe.execute():
                if not raw:
                    continue
                alert = Alert(**reply_text_fields(raw))
                if gtin and alert.gtin != gtin:
                    continue
                if partner_id and alert.partner_id != partner_id:
                    continue
                if code and alert.code != code:
                    continue
                if status and alert.status != status:
                    continue
                found.append(alert)
                if len(found) >= limit:
                    return found
        return found

    async def close(self, alert_id: str, *, by: str, is_admin: bool, reason: str, now: dt.datetime) -> Alert:
        if not reason.strip() or len(reason) > MAX_REASON_LENGTH:
            raise InvalidInput(
                f"Failed to read the close reason: expected 1 to {MAX_REASON_LENGTH} characters.",
                code="alert.reason",
                field="reason",
            )
        alert = await self.get(alert_id)
        if not is_admin and by not in (alert.partner_id, alert.owner_partner_id):
            # Answer as if it did not exist: alerts of others are not disclosed.
            raise NotFound(f"No alert with id {alert_id!r}.", code="alert.not_found")
        if alert.status == "closed":
            raise Conflict(f"Alert {alert_id} is already closed.", code="alert.closed")
        closed = replace(alert, status="closed", close_reason=reason, closed_at=now.isoformat(), closed_by=by)
        await self.redis.hset(f"alert:{alert_id}", mapping=_hash(closed))
        return closed
