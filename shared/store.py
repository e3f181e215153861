"""Redis access: one way to connect, with deadlines on every command."""

from __future__ import annotations

import redis.asyncio as aioredis

DEFAULT_REDIS_TIMEOUT_SECONDS = 2.0


def connect(url: str, *, timeout: float = DEFAULT_REDIS_TIMEOUT_SECONDS) -> aioredis.Redis:
    """A pooled async client; ``timeout`` bounds connecting and every command."""
    return aioredis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=30,
        max_connections=256,
    )
