"""Redis fixtures for tests of code that must work alike on one Redis and on a Redis Cluster:
each test runs on a private Redis and on a real 3-master cluster. Import both fixtures into the
test module or conftest that uses them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from verinet.embedded_redis import EmbeddedRedis, EmbeddedRedisCluster


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedisCluster]:
    cluster = EmbeddedRedisCluster(tmp_path_factory.mktemp("cluster"))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["standalone", "cluster"])
def redis_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A private Redis, or an emptied real 3-master Redis Cluster (where a script whose keys
    are not in one slot is refused with CROSSSLOT)."""
    if request.param == "standalone":
        with EmbeddedRedis(tmp_path / "redis") as server:
            yield server.url
        return
    cluster: EmbeddedRedisCluster = request.getfixturevalue("redis_cluster")
    for node in cluster.nodes:
        with redis.Redis(port=node.port, socket_timeout=5) as client:
            client.flushall()
    yield cluster.url
