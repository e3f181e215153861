"""Redis access: one way to connect, with deadlines on every command.

``REDIS_URL`` is a standalone Redis (``redis://host:6379/0``, ``rediss://`` for TLS) or a
Redis Cluster (``redis-cluster://host:7000`` naming any node; ``rediss-cluster://`` for TLS).
A cluster URL may list several seed nodes, ``redis-cluster://user:pw@a:7000,b:7000,c:7000``:
the client asks them in order for the cluster's layout, so it starts while any one is up.
Every key layout in verinet is cluster-safe: keys a script touches share a hash tag.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, cast, overload

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ClusterDownError, NoScriptError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from verinet.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_REDIS_TIMEOUT_SECONDS = 2.0
CLUSTER_SCHEMES = {"redis-cluster": "redis", "rediss-cluster": "rediss"}
#: How long a service that starts while its Redis is away waits for it before giving up.
STARTUP_PATIENCE_SECONDS = 60.0
DEFAULT_REDIS_PORT = 6379
_SEED = re.compile(r"(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<host>[^\s:\[\]]+))(?::(?P<port>\d{1,5}))?")


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


def reply_text_fields(reply: object) -> dict[str, str]:
    """An HGETALL reply, or the fields of one stream entry, with names and values as text
    (empty for a key that does not exist)."""
    return {name.decode(): value.decode() for name, value in reply_fields(reply).items()}


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


def cluster_seeds(url: str) -> tuple[str, list[tuple[str, int]]]:
    """A Redis Cluster URL's seed nodes, in order, and the URL of the first (which carries
    the credentials, database and options for all of them).

    >>> cluster_seeds("redis-cluster://app:pw@10.0.0.1:7000,redis-1:7001,[fd00::2]/0?ssl_cert_reqs=none")
    ('redis://app:pw@10.0.0.1:7000/0?ssl_cert_reqs=none', [('10.0.0.1', 7000), ('redis-1', 7001), ('fd00::2', 6379)])
    >>> cluster_seeds("redis-cluster://a:7000,,b:7000")
    Traceback (most recent call last):
    ...
    verinet.errors.ConfigError: Failed to read REDIS_URL seed 2 of 'redis-cluster://a:7000,,b:7000': expected host:port, for example 'redis-0.example.internal:6379', got ''.
    """
    scheme, _, rest = url.partition("://")
    split = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    netloc, tail = rest[:split], rest[split:]
    userinfo, at, hosts = netloc.rpartition("@")
    # Credentials never reach an error message.
    shown = f"{scheme}://{'***@' if at else ''}{hosts}{tail if '@' not in tail else ''}"
    seeds = []
    for number, seed in enumerate(hosts.split(","), start=1):
        match = _SEED.fullmatch(seed)
        port = int(match["port"] or DEFAULT_REDIS_PORT) if match else 0
        if match is None or not 0 < port < 65536:
            raise ConfigError(
                f"Failed to read REDIS_URL seed {number} of {shown!r}: expected host:port, "
                f"for example 'redis-0.example.internal:6379', got {seed!r}.",
                code="config.redis_url",
            )
        seeds.append((match["ipv6"] or match["host"], port))
    first = f"[{seeds[0][0]}]" if ":" in seeds[0][0] else seeds[0][0]
    return f"{CLUSTER_SCHEMES.get(scheme, scheme)}://{userinfo}{at}{first}:{seeds[0][1]}{tail}", seeds


def connect(url: str, *, timeout: float = DEFAULT_REDIS_TIMEOUT_SECONDS) -> Any:
    """A pooled async client; ``timeout`` bounds connecting and every command."""
    scheme = url.partition("://")[0]
    if scheme in CLUSTER_SCHEMES:
        first, seeds = cluster_seeds(url)
        return RedisCluster.from_url(
            first,
            # Every seed, in the order given: the first that answers tells the layout.
            startup_nodes=[ClusterNode(host, port) for host, port in seeds],
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
