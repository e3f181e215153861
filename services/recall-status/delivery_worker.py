"""The webhook delivery worker: takes queued notifications, signs and posts them, records
each attempt, and retries with backoff or dead-letters.

Delivery is at least once: the worker reads with XREADGROUP, posts, records the attempt (log
and audit chain in one script), and only then acknowledges the stream entry, in the same
script that schedules the retry or dead-letters it. Entries of consumers that died on the way
are taken over with XAUTOCLAIM. Receivers deduplicate on the notification ``id``.

Signing is not done here: the worker is given ``sign(method, url, body) -> headers``; in
production that asks the verifier (the only holder of the key), in tests a local signer.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import random
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import aiohttp
import orjson
import redis.asyncio as aioredis
from prometheus_client import Counter
from redis.exceptions import RedisError, ResponseError

from verinet import lua_scripts
from verinet.backoff import Backoff
from verinet.errors import InvalidInput
from verinet.metrics import Histogram
from verinet.outbound import OutboundPolicy
from verinet.outbound_http import GuardedConnector, connect_failure
from verinet.partners import is_revoked
from verinet.recall_status.notifications import (
    DEAD_STREAM,
    GROUP,
    NOTIFY_STREAM,
    RETRY_KEY,
    Clock,
    Delivery,
    Notification,
    audit_head_key,
    audit_key,
    deliveries_key,
    utc_now,
)
from verinet.store import reply_streams
from verinet.timestamps import utc_ms

__all__ = ["DeliverySettings", "DeliveryWorker", "Sign"]

log = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 300

#: Signs an outbound request: (method, url, body) -> headers to send.
Sign = Callable[[str, str, bytes], Awaitable[dict[str, str]]]

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

# The worker's scripts (``lua/notification_*.lua``): a delivery attempt's log and audit entry
# in one step; finishing an entry (acknowledge, then retry or dead-letter); moving due retries.
RECORD_ATTEMPT = lua_scripts.source("verinet.recall_status", "notification_record_attempt")
FINISH = lua_scripts.source("verinet.recall_status", "notification_finish")
MOVE_DUE = lua_scripts.source("verinet.recall_status", "notification_move_due")


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """How the worker delivers; ``recall_status.settings`` reads them from the environment."""

    #: Between attempts of one delivery, with jitter so that one receiver's outage spreads out.
    backoff: Backoff = Backoff(base=5.0, maximum=3600.0)
    max_attempts: int = 15
    delivery_timeout: float = 10.0
    sign_timeout: float = 0.8
    concurrency: int = 32
    claim_idle: float = 60.0
    poll_interval: float = 1.0
    #: Checked again on every connection: a name may resolve elsewhere than when it was set.
    outbound: OutboundPolicy = dataclasses.field(default_factory=OutboundPolicy)


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
        now: Clock = utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self.redis = redis
        self.sign = sign
        self.settings = settings
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.now = now
        self.rng = rng or random.Random()
        self._record = redis.register_script(RECORD_ATTEMPT)
        self._finish = redis.register_script(FINISH)
        self._move_due = redis.register_script(MOVE_DUE)
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
            else min(self.settings.poll_interval, self.settings.backoff.base)
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
            due = delivery.at + self.settings.backoff.delay(notification.attempt, self.rng)
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
