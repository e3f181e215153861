"""``transaction_id`` makes a pack request idempotent: a retry gets the first answer.

``txn:<partner>:<transaction id>`` holds ``pending|<fingerprint>`` while the first request
runs, then ``done|<fingerprint>|<status>|<body>``. A concurrent duplicate waits for the first
answer; the same id with a different request is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from verinet.errors import Conflict, InvalidInput, UpstreamTimeout
from verinet.store import reply_bytes

# The claim of a running request is a short lease its runner keeps renewing, so a crashed
# gateway (or a lost release) blocks retries for seconds, not minutes.
LEASE_SECONDS = 10
RENEW_EVERY_SECONDS = 3
KEEP_SECONDS = 30 * 24 * 3600
MAX_ID_LENGTH = 128


def fingerprint(path: str, body: bytes) -> str:
    return hashlib.sha256(path.encode() + b"\n" + body).hexdigest()[:32]


def validate_transaction_id(value: object) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or len(value) > MAX_ID_LENGTH or not value.isprintable():
        raise InvalidInput(
            f"Failed to read transaction_id: expected printable text of at most {MAX_ID_LENGTH} characters.",
            code="transaction.invalid",
            field="transaction_id",
        )
    return value


async def once(
    redis: aioredis.Redis,
    partner_id: str,
    transaction_id: str,
    request_fingerprint: str,
    run: Callable[[], Awaitable[tuple[int, bytes]]],
    wait_seconds: float = 30.0,
) -> tuple[int, bytes]:
    """Runs ``run`` once per (partner, transaction id); repeats get the stored answer."""
    key = f"txn:{partner_id}:{transaction_id}"
    pending = f"pending|{request_fingerprint}"
    claimed = await redis.set(key, pending, nx=True, ex=LEASE_SECONDS)
    if claimed:

        async def renew() -> None:
            while True:
                await asyncio.sleep(RENEW_EVERY_SECONDS)
                await redis.set(key, pending, xx=True, ex=LEASE_SECONDS)

        renewer = asyncio.get_running_loop().create_task(renew())
        try:
            status, body = await run()
        except BaseException:
            renewer.cancel()
            await redis.delete(key)
            raise
        finally:
            renewer.cancel()
        if status < 500:
            await redis.set(key, f"done|{request_fingerprint}|{status}|".encode() + body, ex=KEEP_SECONDS)
        else:
            await redis.delete(key)
        return status, body
    deadline = time.monotonic() + wait_seconds
    while True:
        stored = reply_bytes(await redis.get(key))
        if stored is None:  # the first attempt failed and released the id: run it now
            return await once(redis, partner_id, transaction_id, request_fingerprint, run, wait_seconds)
        parts = stored.split(b"|", 3)  # pending|fp or done|fp|status|body
        if parts[1].decode() != request_fingerprint:
            raise Conflict(
                f"transaction_id {transaction_id!r} was already used for a different request.",
                code="transaction.reused",
                field="transaction_id",
            )
        if parts[0] == b"done":
            return int(parts[2]), parts[3]
        if time.monotonic() > deadline:
            raise UpstreamTimeout(f"transaction_id {transaction_id!r} is still being processed; retry later.")
        await asyncio.sleep(0.02)
