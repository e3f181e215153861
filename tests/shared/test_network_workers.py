"""`verinet up --workers N` runs N processes of every service: the gateway's on one port, the
others each on its own, their callers spreading calls over them; each process is supervised
on its own, so one that dies leaves the others answering."""

from __future__ import annotations

import doctest
import os
import signal
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import requests

import verinet.network
from tests.conftest import start_network
from tests.verinet_up import VerinetUp, process_name, run_verinet, verify_demo_pack
from verinet.cli import build_parser
from verinet.embedded_redis import children_of, free_port
from verinet.network import (
    DEMO_EXPIRY,
    DEMO_GTIN,
    DEMO_LOT,
    default_workers,
    demo_serial,
    gateway_listeners,
)

SERVICES = ("gateway", "verifier", "lookup", "recall-status")


def test_the_worker_naming_and_default_examples_hold() -> None:
    result = doctest.testmod(verinet.network)
    assert result.attempted > 0 and result.failed == 0


def test_workers_must_be_auto_or_a_count_from_1_to_32() -> None:
    for bad in ("0", "33", "two", "-1"):
        answer = run_verinet("up", "--workers", bad)
        assert answer.returncode == 2
        assert f"argument --workers: expected auto or a whole number from 1 to 32, got {bad!r}" in answer.stderr


def test_workers_default_to_auto_one_set_of_services_per_4_cores() -> None:
    assert build_parser().parse_args(["up"]).workers == default_workers() == max(1, (os.cpu_count() or 1) // 4)
    assert build_parser().parse_args(["up", "--workers", "auto"]).workers == default_workers()
    assert build_parser().parse_args(["up", "--workers", "3"]).workers == 3


def processes_by_service(up: VerinetUp) -> dict[str, list[int]]:
    found: dict[str, list[int]] = defaultdict(list)
    for pid in children_of(up.pid):
        name = process_name(pid)
        if name is not None:
            found[name].append(pid)
    return dict(found)


def wait_for_processes(up: VerinetUp, count: int, timeout: float = 30.0) -> dict[str, list[int]]:
    deadline = time.monotonic() + timeout
    while True:
        found = processes_by_service(up)
        if all(len(found.get(name, [])) == count for name in SERVICES):
            return found
        assert time.monotonic() < deadline, f"expected {count} processes per service, found {found}: {up.stderr()[-2000:]}"
        time.sleep(0.1)


def established_connections(port: int) -> set[str]:
    """Socket inodes of established TCP connections whose local port is ``port``."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                inodes.add(fields[9])
    return inodes


def socket_inodes(pid: int) -> set[str]:
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(target[len("socket:[") : -1])
    return found


def wait_dead(pid: int, timeout: float = 10.0) -> None:
    """Until ``pid`` has exited (a zombie holds no sockets any more) or is gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return
        except OSError:
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} did not exit within {timeout}s")


def wait_listeners(port: int, count: int, timeout: float = 10.0) -> None:
    """Until ``count`` sockets listen on ``port`` (each SO_REUSEPORT listener is its own)."""
    deadline = time.monotonic() + timeout
    while (listening := gateway_listeners(port)) != count:
        assert time.monotonic() < deadline, f"{listening} sockets listen on {port}, expected {count}"
        time.sleep(0.01)


def lms(up: VerinetUp, session: requests.Session, serial: str) -> requests.Response:
    return verify_demo_pack(up.url, up.info, serial, session)


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Any:
    running = VerinetUp(tmp_path_factory.mktemp("workers") / "var", free_port()).start("--workers", "2", "--demo")
    try:
        yield running
    finally:
        code = running.stop()
        assert code == 0, running.stderr()


def test_two_workers_run_two_processes_of_every_service_and_answer_lms_and_pack_operations(up: VerinetUp) -> None:
    found = wait_for_processes(up, 2)
    assert len(found["redis"]) == 1
    assert "2 processes per service" in "\n".join(up.lines)
    assert [e for e in up.log_entries() if "exit_code" in e] == []  # each bound its port and stayed up
    session = requests.Session()
    for n in range(1, 41):  # spread over both verifier and recall-status processes
        answer = lms(up, session, demo_serial(n))
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"] == {"verified": True}
        assert "Signature" in answer.headers and "Content-Digest" in answer.headers
    unknown = lms(up, session, "NOT-MADE-1")
    assert unknown.json()["data"] == {"verified": False, "verificationFailureReason": "No_match_GTIN_Serial"}
    dispenser = up.info["partners"]["dispenser"]
    supplied = session.post(
        up.url + "/v1/packs/decommission",
        json={"state": "supplied", "packs": [{"gtin": DEMO_GTIN, "serial": demo_serial(900), "lot": DEMO_LOT, "expiry": DEMO_EXPIRY}]},
        headers={"Authorization": f"Bearer {dispenser['token']}"},
        timeout=10,
    )
    assert supplied.status_code == 200 and supplied.json()["results"][0]["ok"], supplied.text
    # every process answers alike: the decommissioned pack reads so over many connections
    for _ in range(10):
        answer = lms(up, requests.Session(), demo_serial(900))
        assert answer.json()["data"] == {"verified": False, "verificationFailureReason": "Not_for_re-distribution"}


def test_every_gateway_process_takes_connections_on_the_one_port(up: VerinetUp) -> None:
    gateways = wait_for_processes(up, 2)["gateway"]
    sessions = [requests.Session() for _ in range(32)]
    for n, session in enumerate(sessions):
        assert lms(up, session, demo_serial(n + 1)).status_code == 200  # each keeps its connection open
    connections = established_connections(up.port)
    served = {pid: len(socket_inodes(pid) & connections) for pid in gateways}
    # 32 connections, each placed by the kernel's hash: both processes get some (all on one: 2 in 4 billion)
    assert all(count > 0 for count in served.values()), served
    assert sum(served.values()) == 32, served
    for session in sessions:
        session.close()


def test_a_killed_gateway_process_leaves_the_other_answering_and_is_restarted(up: VerinetUp) -> None:
    first, second = wait_for_processes(up, 2)["gateway"]
    os.kill(first, signal.SIGKILL)
    wait_listeners(up.port, 1)  # its socket is closed (what was queued on it is reset, as in any crash)
    for n in range(20):  # new connections: the other process takes them all
        answer = lms(up, requests.Session(), demo_serial(n + 1))
        assert answer.status_code == 200, answer.text
    assert second in processes_by_service(up)["gateway"]
    restarted = wait_for_processes(up, 2)["gateway"]
    assert first not in restarted and second in restarted
    exits = [e for e in up.log_entries() if "exit_code" in e]
    assert [(e["child"], e["exit_code"]) for e in exits][-1:] == [("gateway", -9)]


def test_a_killed_verifier_process_leaves_the_other_answering(up: VerinetUp) -> None:
    first, second = wait_for_processes(up, 2)["verifier"]
    os.kill(first, signal.SIGKILL)
    wait_dead(first)
    session = requests.Session()
    # What was on its way to the dead process fails as in any crash (503, retryable) until
    # the gateway has seen it go; from then on the other process answers everything.
    statuses = [lms(up, session, demo_serial(n + 1)).status_code for n in range(3)]
    assert set(statuses) <= {200, 503} and statuses[-1] == 200, statuses
    statuses = [lms(up, session, demo_serial(n + 1)).status_code for n in range(40)]
    assert statuses == [200] * 40
    restarted = wait_for_processes(up, 2)["verifier"]
    assert first not in restarted and second in restarted


def test_two_workers_talk_mutual_tls_to_each_others_processes(tmp_path: Path) -> None:
    network = start_network(tmp_path / "var", internal_mtls=True, workers=2)
    try:
        network._ensure_demo()
        session = requests.Session()
        for n in range(1, 21):  # over both processes of each service
            answer = verify_demo_pack(network.gateway_url, network.info, demo_serial(n), session)
            assert answer.status_code == 200 and answer.json()["data"] == {"verified": True}, answer.text
        assert network.address("verifier").startswith("ipv4:127.0.0.1:")
    finally:
        network.stop()
