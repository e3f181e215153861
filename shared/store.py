"""Redis access: one way to connect, with deadlines on every command.

``REDIS_URL`` is a standalone Redis (``redis://host:6379/0``, ``rediss://`` for TLS) or a
Redis Cluster (``redis-cluster://host:7000`` naming any node; ``rediss-cluster://`` for TLS).
Every key layout in verinet is cluster-safe: keys a script touches share a hash tag.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast, overload

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ClusterDownError, NoScriptError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

DEFAULT_REDIS_TIMEOUT_SECONDS = 2.0
CLUSTER_SCHEMES = {"redis-cluster": "redis", "rediss-cluster": "rediss"}
#: How long a service that starts while its Redis is away waits for it before giving up.
STARTUP_PATIENCE_SECONDS = 60.0


#: A Redis hash as verinet's clients read it.
Fields = dict[bytes, bytes]
#: The entries of one stream (XRANGE, XREVRANGE, XAUTOCLAIM, one stream of XREADGROUP).
StreamEntries = list[tuple[bytes, Fields]]

# redis-py types every reply as ``bytes | str`` (stream entries as optional, ranges as any of
# their shapes) because ``decode_responses`` is chosen when a client is made. verinet's clients
# (see connect) never decode, so replies are bytes. The reply_* casts below say so in one place;
# they change nothing at run time.


@overload
def reply_bytes(reply: bytes | str) -> bytes: ...
@overload
def reply_bytes(reply: bytes | str | None) -> bytes | None: ...
def reply_bytes(reply: bytes | str | None) -> bytes | None:
    """A string reply (GET, HGET, a set member, a key) as the bytes it is."""
    return cast("bytes | None", reply)


def reply_fields(reply: object) -> Fields:
    """An HGETALL reply, or the fields of one stream entry."""
    return cast(Fields, reply)


def reply_entries(reply: object) -> StreamEntries:
    """An XRANGE or XREVRANGE reply."""
    return cast(StreamEntries, reply)


def reply_streams(reply: object) -> list[tuple[bytes, StreamEntries]] | None:
    """An XREADGROUP reply: per stream, its entries; None when BLOCK timed out."""
    return cast("list[tuple[bytes, StreamEntries]] | None", reply)


def reply_scored(reply: object) -> list[tuple[bytes, float]]:
    """A sorted-set range read WITHSCORES."""
    return cast("list[tuple[bytes, float]]", reply)


def is_cluster_url(url: str) -> bool:
    return url.split("://", 1)[0] in CLUSTER_SCHEMES


def connect(url: str, *, timeout: float = DEFAULT_REDIS_TIMEOUT_SECONDS) -> Any:
    """A pooled async client; ``timeout`` bounds connecting and every command."""
    scheme, _, rest = url.partition("://")
    if scheme in CLUSTER_SCHEMES:
        return RedisCluster.from_url(
            f"{CLUSTER_SCHEMES[scheme]}://{rest}",
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            max_connections=256,
        )
    # A pooled connection that died with a Redis restart fails on send, before anything is
    # applied: retry those on a fresh connection (never on timeouts, which may have applied).
    # Under overload, wait up to ``timeout`` for a pooled connection instead of failing.
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=30,
        max_connections=256,
        timeout=timeout,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.01), 3),
        retry_on_error=[RedisConnectionError],
    )
    return aioredis.Redis(connection_pool=pool)


async def wait_until_answering(redis: Any, patience: float = STARTUP_PATIENCE_SECONDS) -> None:
    """Pings until Redis answers. A service started while Redis restarts, or loads a large
    append-only file, waits for it instead of exiting into a restart loop; after ``patience``
    seconds the last error is raised."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    delay = 0.1
    while True:
        try:
            await redis.ping()
            return
        except (RedisConnectionError, RedisTimeoutError, ClusterDownError) as error:  # BusyLoadingError is a ConnectionError
            if loop.time() + delay > deadline:
                raise
            log.warning("Redis does not answer yet (%s); asking again in %.1fs", error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


async def run_script_batch(
    redis: Any, script: Any, calls: list[tuple[list[str], list[Any]]]
) -> list[Any]:
    """Runs one Lua script for many key sets in one round trip where Redis allows it: a
    pipeline on a standalone Redis; concurrent calls on a cluster, whose pipelines refuse
    scripts."""
    if isinstance(redis, RedisCluster):
        import asyncio

        return list(await asyncio.gather(*(script(keys=keys, args=args) for keys, args in calls)))
    # EVALSHA straight away: a script pipeline would first ask SCRIPT EXISTS, one more round
    # trip on every call. A NOSCRIPT reply (Redis restarted or flushed its scripts) ran
    # nothing, so only those calls are sent again, once the script is loaded.
    pipe = redis.pipeline(transaction=False)
    for keys, args in calls:
        pipe.evalsha(script.sha, len(keys), *keys, *args)
    replies = list(await pipe.execute(raise_on_error=False))
    missing = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
    if missing:
        await redis.script_load(script.script)
        pipe = redis.pipeline(transaction=False)
        for i in missing:
            keys, args = calls[i]
            pipe.evalsha(script.sha, len(keys), *keys, *args)
        for i, reply in zip(missing, await pipe.execute(raise_on_error=False), strict=True):
            replies[i] = reply
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    return replies
