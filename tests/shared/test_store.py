"""Redis access as the services use it: a service that starts while its Redis is away (both
restarted at once, or Redis still loading its append-only file) waits for it and then serves."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from verinet.embedded_redis import EmbeddedRedis, free_port

AWAY_SECONDS = 3.0


def serving(port: int) -> bool:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as client:
        try:
            answer = health_pb2_grpc.HealthStub(client).Check(health_pb2.HealthCheckRequest(), timeout=1)  # type: ignore[attr-defined]
        except grpc.RpcError:
            return False
    return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)


@pytest.mark.parametrize("service", ["lookup", "recall-status"])
def test_a_service_started_while_its_redis_is_away_waits_for_it_and_then_serves(tmp_path: Path, service: str) -> None:
    redis = EmbeddedRedis(tmp_path / "redis")  # its port is chosen, nothing listens there yet
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "BIND_HOST": "127.0.0.1",
        "PORT": str(port),
        "REDIS_URL": redis.url,
        "WEBHOOK_KEY_DIR": str(tmp_path / "webhook-keys"),  # recall-status signs its webhooks
    }
    with (tmp_path / f"{service}.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "verinet." + service.replace("-", "_")], env=env, stdout=log, stderr=log)
    try:
        time.sleep(AWAY_SECONDS)
        assert process.poll() is None, (tmp_path / f"{service}.log").read_text()
        assert not serving(port)
        redis.start()
        deadline = time.monotonic() + 30
        while not serving(port):
            assert process.poll() is None, (tmp_path / f"{service}.log").read_text()
            assert time.monotonic() < deadline, f"{service} did not serve within 30 s of Redis's return"
            time.sleep(0.1)
        assert "Redis does not answer yet" in (tmp_path / f"{service}.log").read_text()
    finally:
        process.terminate()
        process.wait(30)
        redis.stop()
