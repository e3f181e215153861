"""The one-machine network: bootstrap, durability across restarts, clean stops, secret-free logs."""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path

import pytest
import requests

from tests.verinet_up import VerinetUp, redis_servers_on, run_verinet, verify_demo_pack
from verinet.embedded_redis import free_port
from verinet.network import Network, demo_serial


def verify_demo(network: Network, serial: str) -> requests.Response:
    return verify_demo_pack(network.gateway_url, network.info, serial)


def test_a_demo_network_survives_sigterm_and_restart_with_all_its_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    first = Network(data_dir=data_dir, gateway_port=free_port())
    first.start(demo=True)
    try:
        network_file = data_dir / "network.json"
        assert stat.S_IMODE(os.stat(network_file).st_mode) == 0o600
        info = json.loads(network_file.read_text())
        assert info["gateway_url"] == first.gateway_url
        # The services reach the embedded Redis on its Unix socket, cheaper than loopback TCP.
        assert first.redis_url == f"unix://{(data_dir / 'redis' / 'redis.sock').resolve()}?db=0"
        assert set(info["partners"]) == {"manufacturer", "wholesaler", "dispenser"}
        assert verify_demo(first, demo_serial(1)).json()["data"] == {"verified": True}
        assert verify_demo(first, demo_serial(1000)).json()["data"] == {"verified": True}
        keys_before = sorted(p.name for p in (data_dir / "keys").iterdir())
    finally:
        first.stop()
    assert all(p.poll() is not None for p in first.processes.values())

    second = Network(data_dir=data_dir, gateway_port=free_port())
    second.start(demo=True)
    try:
        assert second.info["admin_token"] == info["admin_token"]
        assert second.info["partners"] == info["partners"]  # reused, not re-created
        assert verify_demo(second, demo_serial(500)).json()["data"] == {"verified": True}
        assert verify_demo(second, "DEMO999999").json()["data"]["verified"] is False
        assert sorted(p.name for p in (data_dir / "keys").iterdir()) == keys_before
        partners = requests.get(
            second.gateway_url + "/v1/partners",
            headers={"Authorization": f"Bearer {info['admin_token']}"},
            timeout=10,
        ).json()["partners"]
        assert len(partners) == 4
        tokens = [info["admin_token"]] + [p["token"] for p in info["partners"].values()]
    finally:
        second.stop()
    logs = "".join(p.read_text() for p in (data_dir / "logs").glob("*.log"))
    assert logs, "services wrote no logs"
    for token in tokens:
        assert token not in logs
    for line in logs.splitlines():
        json.loads(line)  # every log line is structured JSON


# -- one network per data directory (real ``verinet up`` processes) ----------------------------


def test_a_second_verinet_up_on_the_same_data_directory_exits_at_once_naming_the_first_and_changes_nothing(tmp_path: Path) -> None:
    first = VerinetUp(tmp_path / "var", free_port()).start()
    try:
        network_file = first.data_dir / "network.json"
        before = (network_file.read_bytes(), network_file.stat().st_mtime_ns)
        redis_before = redis_servers_on(first.data_dir)
        second = run_verinet("up", "--port", str(free_port()), "--data-dir", str(first.data_dir), timeout=30)
        assert second.returncode == 1
        assert "verinet is up" not in second.stdout
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert first.url in lines[0] and f"process {first.pid}" in lines[0]
        assert (network_file.read_bytes(), network_file.stat().st_mtime_ns) == before
        assert redis_servers_on(first.data_dir) == redis_before
        assert requests.get(first.url + "/readyz", timeout=10).status_code == 200
    finally:
        assert first.stop() == 0
    # the lock goes with the process: the directory can be used again
    again = VerinetUp(first.data_dir, free_port()).start()
    assert again.stop() == 0


def test_verinet_up_on_a_busy_port_fails_in_one_line_before_saying_it_is_up(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        data_dir = tmp_path / "var"
        answer = run_verinet("up", "--port", str(port), "--data-dir", str(data_dir))
    assert answer.returncode == 1
    assert "verinet is up" not in answer.stdout
    lines = answer.stderr.strip().splitlines()
    assert len(lines) == 1, answer.stderr
    assert f"port {port} on 127.0.0.1 is in use" in lines[0] and "--port" in lines[0]
    assert redis_servers_on(data_dir) == []
    assert not (data_dir / "network.json").exists()


def test_the_operators_outbound_allowance_reaches_only_the_services_that_call_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTBOUND_ALLOW_CIDRS", "10.20.0.0/16")
    network = Network(data_dir=tmp_path / "var", gateway_port=free_port())
    network.ports = {name: free_port() for name in ("recall-status", "lookup", "verifier", "gateway")}
    allowed = {name: network.service_env(name).get("OUTBOUND_ALLOW_CIDRS") for name in network.ports}
    assert allowed == {"recall-status": "10.20.0.0/16", "lookup": "10.20.0.0/16", "verifier": None, "gateway": None}
