"""verinet.store, cluster URLs: REDIS_URL may name several seed nodes of a Redis Cluster: clients, and whole services,
start while the first seed (or any but one) is down."""

from __future__ import annotations

import asyncio
import doctest
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import start_network
from verinet import store
from verinet.embedded_redis import EmbeddedRedisCluster, free_port
from verinet.errors import ConfigError
from verinet.store import cluster_seeds, connect


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedisCluster]:
    with EmbeddedRedisCluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


def test_the_seed_list_examples_hold() -> None:
    assert doctest.testmod(store).failed == 0


@pytest.mark.parametrize(
    ("url", "seeds"),
    [
        ("redis-cluster://a:7000", [("a", 7000)]),
        ("redis-cluster://a", [("a", 6379)]),
        ("rediss-cluster://u:p@a:7000,b:7001,c", [("a", 7000), ("b", 7001), ("c", 6379)]),
        ("redis-cluster://[::1]:7000,[fd00::5]", [("::1", 7000), ("fd00::5", 6379)]),
    ],
)
def test_a_cluster_url_names_its_seeds_in_order(url: str, seeds: list[tuple[str, int]]) -> None:
    assert cluster_seeds(url)[1] == seeds


def test_the_first_seed_carries_credentials_database_and_options_for_all() -> None:
    first, _ = cluster_seeds("rediss-cluster://app:s3cret@a:7000,b:7001/0?ssl_cert_reqs=none")
    assert first == "rediss://app:s3cret@a:7000/0?ssl_cert_reqs=none"


@pytest.mark.parametrize("seeds", ["a:7000,,b:7000", "a:0", "a:65536", "a:port", "a b:7000", "[::1"])
def test_a_malformed_seed_is_refused_by_position_without_the_password(seeds: str) -> None:
    with pytest.raises(ConfigError, match=r"Failed to read REDIS_URL seed \d of 'redis-cluster://\*\*\*@") as error:
        connect(f"redis-cluster://app:s3cret@{seeds}")
    assert "s3cret" not in str(error.value)
    assert error.value.code == "config.redis_url"


async def round_trip(url: str) -> bytes | None:
    client = connect(url, timeout=1.0)
    try:
        await client.set("{seeds}:probe", b"found")
        return await client.get("{seeds}:probe")  # type: ignore[no-any-return]
    finally:
        await client.aclose()


def test_a_client_finds_the_cluster_when_the_first_seed_is_down(cluster: EmbeddedRedisCluster) -> None:
    down = f"127.0.0.1:{free_port()}"
    up = [f"127.0.0.1:{node.port}" for node in cluster.nodes[1:]]
    assert asyncio.run(round_trip(f"redis-cluster://{down},{','.join(up)}")) == b"found"


def test_a_single_seed_that_is_down_finds_nothing(cluster: EmbeddedRedisCluster) -> None:
    """Guards the test above: with the down seed alone the client cannot start."""
    with pytest.raises(Exception, match=r"(?i)cluster|connect"):
        asyncio.run(round_trip(f"redis-cluster://127.0.0.1:{free_port()}"))


def test_the_services_start_and_answer_when_the_first_seed_is_down(
    cluster: EmbeddedRedisCluster, tmp_path: Path
) -> None:
    seeds = ",".join([f"127.0.0.1:{free_port()}", *(f"127.0.0.1:{node.port}" for node in cluster.nodes[1:])])
    network = start_network(tmp_path / "network", redis_url=f"redis-cluster://{seeds}")
    try:
        ready = requests.get(network.gateway_url + "/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        me = requests.get(
            network.gateway_url + "/v1/partners/me",
            headers={"Authorization": f"Bearer {network.info['admin_token']}"},
            timeout=10,
        )
        assert me.status_code == 200, me.text
    finally:
        network.stop()
