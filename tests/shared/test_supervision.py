"""`verinet up` keeps its processes running: each that dies is restarted on its port and data,
and one that keeps dying stops the network with the reason."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest
import requests

import verinet.supervision
from tests.verinet_up import VerinetUp, redis_servers_on
from verinet.embedded_redis import free_port
from verinet.supervision import RestartPolicy


def test_the_restart_policy_examples_hold() -> None:
    result = doctest.testmod(verinet.supervision)
    assert result.attempted > 0 and result.failed == 0


def test_a_killed_service_and_a_killed_redis_are_restarted_with_a_log_line_and_serve_again(tmp_path: Path) -> None:
    up = VerinetUp(tmp_path / "var", free_port()).start()
    try:
        admin = {"Authorization": f"Bearer {up.info['admin_token']}"}
        before = up.children()
        assert set(before) == {"redis", "gateway", "verifier", "lookup", "recall-status"}
        for name in ("lookup", "redis"):
            killed = up.kill(name)
            up.wait_restarted(name, killed, timeout=30)
            up.wait_ready(timeout=30)
            # the same data: the admin made at first start still answers
            answer = requests.get(up.url + "/v1/partners", headers=admin, timeout=10)
            assert answer.status_code == 200, answer.text
        assert len(redis_servers_on(up.data_dir)) == 1
        restarts = [e for e in up.log_entries() if e["message"].endswith("restarted")]
        assert [e["child"] for e in restarts] == ["lookup", "redis"]
        exits = [e for e in up.log_entries() if "exit_code" in e]
        assert [(e["child"], e["exit_code"], e["level"]) for e in exits] == [("lookup", -9, "warning"), ("redis", -9, "warning")]
    finally:
        code = up.stop()
    assert code == 0, up.stderr()
    assert "Stopped." in up.lines


def test_a_process_that_keeps_dying_stops_the_whole_network_with_the_reason_and_exit_code_1(tmp_path: Path) -> None:
    up = VerinetUp(tmp_path / "var", free_port()).start()
    try:
        limit = RestartPolicy().give_up_after
        for _ in range(limit - 1):
            killed = up.kill("verifier")
            up.wait_restarted("verifier", killed, timeout=30)
        others = [pid for name, pid in up.children().items() if name != "verifier"]
        up.kill("verifier")
        assert up.process is not None
        code = up.process.wait(60)
    finally:
        up.stop()
    assert code == 1
    reason = [line for line in up.stderr().splitlines() if line.startswith("verinet up:")]
    assert len(reason) == 1 and f"verifier exited {limit} times within 60s" in reason[0], up.stderr()
    assert "Stopped." in up.lines
    assert [pid for pid in others if Path(f"/proc/{pid}").exists()] == []  # every process stopped with it
    assert redis_servers_on(up.data_dir) == []
    with pytest.raises(requests.ConnectionError):
        requests.get(up.url + "/healthz", timeout=2)
