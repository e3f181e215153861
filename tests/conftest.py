"""Fixtures that start real parts: private Redis servers and whole verinet networks."""

from __future__ import annotations

import importlib.util
import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests

from verinet.embedded_redis import EmbeddedRedis, EmbeddedRedisCluster, free_port
from verinet.network import Network, with_check_digit

REPO_ROOT = Path(__file__).resolve().parent.parent
TESTDATA = REPO_ROOT.parent / "shared" / "testdata"


def wait_for(condition: Callable[[], object], timeout: float = 60.0) -> None:
    """Polls ``condition`` until it holds; fails the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def load_script(path: Path) -> ModuleType:
    """A Python file outside the package (deploy/image_lock.py, tests/typing_tree.py), loaded as
    a module named after the file."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A private Redis on a free port, with AOF under a temp dir."""
    with EmbeddedRedis(tmp_path / "redis") as server:
        yield server


def sync_redis(url: str) -> Any:
    """A synchronous client for tests that inspect or tamper with Redis directly."""
    import redis

    if url.startswith("redis-cluster://"):
        return redis.RedisCluster.from_url(url.replace("redis-cluster://", "redis://", 1))
    return redis.Redis.from_url(url)


def on_every_node(client: Any, *command: Any) -> None:
    """Runs one command on the one Redis, or on every node of a cluster."""
    if hasattr(client, "get_nodes"):
        client.execute_command(*command, target_nodes=client.ALL_NODES)
    else:
        client.execute_command(*command)


def command_calls(client: Any, command: str) -> int:
    """Calls of ``command`` served so far (scripts' calls included), over every node."""
    if hasattr(client, "get_nodes"):
        nodes = client.info("commandstats", target_nodes=client.ALL_NODES).values()
    else:
        nodes = [client.info("commandstats")]
    return sum(int(node.get(f"cmdstat_{command}", {}).get("calls", 0)) for node in nodes)


@dataclass
class Client:
    """A partner's HTTP view of a running network."""

    base_url: str
    token: str | None
    session: requests.Session = field(default_factory=requests.Session)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if self.token is not None:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return self.session.request(method, self.base_url + path, headers=headers, timeout=30, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)


_prefix_counter = itertools.count(1)


def gtin_under(prefix: str, item: int = 1) -> str:
    """The GTIN-14 of item reference ``item`` under a company prefix."""
    return with_check_digit("0" + prefix + str(item).rjust(12 - len(prefix), "0"))


@dataclass
class RunningNetwork:
    network: Network

    @property
    def url(self) -> str:
        return self.network.gateway_url

    def client(self, token: str | None) -> Client:
        return Client(self.url, token)

    @property
    def admin(self) -> Client:
        return self.client(self.network.info["admin_token"])

    def add_partner(self, roles: list[str], **extra: Any) -> tuple[dict[str, Any], Client]:
        n = next(_prefix_counter)
        body: dict[str, Any] = {"name": f"{roles[0]} {n}", "roles": roles}
        if "manufacturer" in roles:
            body.setdefault("company_prefixes", [f"08{n:05d}"])
        body["glns"] = [with_check_digit(f"09{n:05d}{len(roles):05d}")]
        body.update(extra)
        answer = self.admin.post("/v1/partners", json=body)
        assert answer.status_code == 201, answer.text
        created = answer.json()
        return created, self.client(created["token"])

    def add_product_with_packs(
        self, packs: Sequence[tuple[str, str, str]], *, item: int = 1, name: str = ""
    ) -> tuple[dict[str, Any], Client, str]:
        """A new manufacturer, its product ``item`` and active ``packs`` of it, each (serial, lot,
        expiry): returns the manufacturer, its client and the product's GTIN."""
        manufacturer, client = self.add_partner(["manufacturer"])
        gtin = gtin_under(manufacturer["company_prefixes"][0], item)
        product = {"name": name} if name else {}
        assert client.put(f"/v1/products/{gtin}", json=product).status_code == 201
        body = {"packs": [{"gtin": gtin, "serial": s, "lot": lot, "expiry": exp} for s, lot, exp in packs]}
        answer = client.post("/v1/packs/commission", json=body)
        assert answer.status_code == 200 and answer.json()["stored"] == len(packs), answer.text
        return manufacturer, client, gtin


#: Test receivers and fake remote networks listen on loopback, which the outbound policy
#: refuses unless the operator allows it; a test of the policy itself passes its own value.
LOOPBACK_OUTBOUND = {"OUTBOUND_ALLOW_CIDRS": "127.0.0.0/8,::1/128"}


def start_network(data_dir: Path, **kwargs: Any) -> Network:
    kwargs["extra_env"] = {**LOOPBACK_OUTBOUND, **(kwargs.get("extra_env") or {})}
    network = Network(data_dir=data_dir, gateway_port=free_port(), **kwargs)
    network.start()
    return network


@contextmanager
def running_network(data_dir: Path, **kwargs: Any) -> Iterator[RunningNetwork]:
    """A network started for the block (a module's fixture, most often), stopped after it."""
    started = start_network(data_dir, **kwargs)
    try:
        yield RunningNetwork(started)
    finally:
        started.stop()


def own_network(**env: str) -> Any:
    """A module fixture starting a network of the module's own with ``env``, beside the shared
    ``network``: ``b = own_network(BREAKER_FAILURES="3")`` (for tests between two networks)."""

    @pytest.fixture(scope="module")
    def fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNetwork]:
        with running_network(tmp_path_factory.mktemp("own-network"), extra_env=env) as network:
            yield network

    return fixture


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Modules naming ``REDIS_BACKENDS = ("standalone", "cluster")`` run against both a single
    Redis and a real 3-master Redis Cluster."""
    if "network" in metafunc.fixturenames:
        backends = getattr(metafunc.module, "REDIS_BACKENDS", ("standalone",))
        metafunc.parametrize("network", backends, indirect=True, scope="module")


@pytest.fixture(scope="module")
def network(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNetwork]:
    """A whole network (Redis and the four services) shared by a test module, started with the
    module's ``NETWORK_ENV`` if it names one."""
    data_dir = tmp_path_factory.mktemp("network")
    cluster = None
    if getattr(request, "param", "standalone") == "cluster":
        cluster = EmbeddedRedisCluster(data_dir / "cluster")
        cluster.start()
    try:
        env = getattr(request.module, "NETWORK_ENV", {})
        redis_url = cluster.url if cluster else None
        with running_network(data_dir, redis_url=redis_url, extra_env=dict(env)) as network:
            yield network
    finally:
        if cluster is not None:
            cluster.stop()
