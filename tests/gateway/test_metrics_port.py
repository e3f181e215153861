"""With METRICS_PORT set, the gateway serves Prometheus metrics there and not on its public
port (Kubernetes scrapes that port from the monitoring namespace only); without it, /metrics
stays on the public port for one machine."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests

from verinet.embedded_redis import EmbeddedRedis, free_port


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with EmbeddedRedis(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


def start_gateway(redis_url: str, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    """A real gateway process; its gRPC callees are not running (it still serves /healthz)."""
    port = free_port()
    environ = {
        **os.environ,
        "PORT": str(port),
        "BIND_HOST": "127.0.0.1",
        "REDIS_URL": redis_url,
        "VERIFIER_ADDR": f"127.0.0.1:{free_port()}",
        "LOOKUP_ADDR": f"127.0.0.1:{free_port()}",
        "RECALL_STATUS_ADDR": f"127.0.0.1:{free_port()}",
        "SHUTDOWN_GRACE_SECONDS": "1",
        **env,
    }
    process = subprocess.Popen([sys.executable, "-m", "verinet.gateway"], env=environ, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return process, url
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    pytest.fail("the gateway did not answer /healthz within 30 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_metrics_move_to_their_own_port_and_leave_the_public_one(redis_url: str) -> None:
    metrics_port = free_port()
    process, url = start_gateway(redis_url, METRICS_PORT=str(metrics_port))
    try:
        requests.get(url + "/healthz", timeout=5)  # counted in the request metrics
        public = requests.get(url + "/metrics", timeout=5)
        assert public.status_code == 404
        assert public.headers["Content-Type"].startswith("application/problem+json")
        scraped = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)
        assert scraped.status_code == 200
        assert "verinet_http_overload_refusals_total" in scraped.text
    finally:
        stop(process)


def test_without_a_metrics_port_the_public_port_serves_metrics(redis_url: str) -> None:
    process, url = start_gateway(redis_url)
    try:
        answer = requests.get(url + "/metrics", timeout=5)
        assert answer.status_code == 200
        assert "verinet_http_overload_refusals_total" in answer.text
    finally:
        stop(process)
