"""`verinet up --placement`: by default the gateway and lookup run on one half of the CPUs and
the back end (verifier, recall-status, the embedded Redis) on the other, every thread of each
process, again after a restart; `none` leaves every process where the kernel puts it."""

from __future__ import annotations

import doctest
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import verinet.placement
from tests.conftest import RunningNetwork, running_network, start_network, wait_for
from tests.shared.test_network_workers import processes_by_service
from tests.verinet_up import VerinetUp, run_verinet
from verinet.embedded_redis import free_port
from verinet.errors import ConfigError
from verinet.network import Network
from verinet.placement import AdaptivePlacement, Placement, pin_process, plan_placement, usable_cpus

CPUS = usable_cpus()
BACK_END = ("verifier", "recall-status", "redis")
FRONT = ("gateway", "lookup")


def threads_cpus(pid: int) -> dict[int, set[int]]:
    """The CPUs each thread of ``pid`` may run on."""
    return {int(tid): set(os.sched_getaffinity(int(tid))) for tid in os.listdir(f"/proc/{pid}/task")}


def test_the_placement_examples_hold() -> None:
    result = doctest.testmod(verinet.placement)
    assert result.attempted > 0 and result.failed == 0


def test_auto_splits_the_cpus_in_two_with_the_larger_half_for_the_back_end() -> None:
    assert plan_placement("auto", [0, 1]) == Placement(front=(0,), back=(1,))
    assert plan_placement("auto", [0, 1, 2]) == Placement(front=(0,), back=(1, 2))
    assert plan_placement("auto", [7, 5, 6, 4]) == Placement(front=(4, 5), back=(6, 7))
    placed = plan_placement("auto", range(8))
    assert placed is not None
    assert placed.cpus_of("gateway") == placed.cpus_of("lookup") == (0, 1, 2, 3)
    assert placed.cpus_of("verifier") == placed.cpus_of("recall-status") == placed.cpus_of("redis") == (4, 5, 6, 7)


def test_one_cpu_or_none_leaves_placement_to_the_kernel() -> None:
    assert plan_placement("auto", [3]) is None
    assert plan_placement("auto", []) is None
    assert plan_placement("none", [0, 1, 2, 3]) is None


def test_an_unknown_placement_is_refused_with_what_is_expected() -> None:
    with pytest.raises(ConfigError) as refused:
        plan_placement("sideways", [0, 1])
    assert refused.value.code == "network.placement"
    assert refused.value.message == "Failed to read placement 'sideways': expected one of auto, none."


def test_the_cli_refuses_an_unknown_placement() -> None:
    answer = run_verinet("up", "--placement", "sideways")
    assert answer.returncode == 2
    assert "argument --placement: invalid choice: 'sideways' (choose from 'auto', 'none')" in answer.stderr


THREADED_CHILD = """
import sys, threading, time
started = [threading.Thread(target=time.sleep, args=(60,), daemon=True) for _ in range(3)]
for thread in started:
    thread.start()
print("ready", flush=True)
sys.stdin.readline()  # placed meanwhile: a thread started now inherits the placement
threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
print("more", flush=True)
time.sleep(60)
"""


def test_pinning_a_process_places_every_thread_and_those_it_starts_later() -> None:
    child = subprocess.Popen([sys.executable, "-c", THREADED_CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline() == "ready\n"
        target = {CPUS[-1]}
        assert pin_process(child.pid, sorted(target)) is True
        before = threads_cpus(child.pid)
        assert len(before) == 4 and all(cpus == target for cpus in before.values())
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline() == "more\n"
        after = threads_cpus(child.pid)
        assert len(after) == 5 and all(cpus == target for cpus in after.values())
    finally:
        child.kill()
        child.wait()


def test_a_process_that_is_gone_is_not_placed_and_nothing_fails() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert pin_process(child.pid, CPUS[:1]) is False


def expected_cpus(placed: Placement | None, name: str) -> set[int]:
    return set(CPUS) if placed is None else set(placed.cpus_of(name))


def test_a_network_puts_each_process_on_its_groups_cpus_and_again_after_a_restart(tmp_path: Path) -> None:
    network = start_network(tmp_path / "net")
    try:
        assert network.placed == plan_placement("auto", CPUS)
        if network.placed is not None:
            # Placement as planned, not as the load decides: restarting takes the back end's
            # CPU for a moment, which would spread it (the test below shows that part).
            assert network.placement_keeper is not None and network.placement_keeper.spread is False
            network.placement_keeper.adaptive = AdaptivePlacement(len(network.placed.back), widen_at=float("inf"))
        assert network.redis is not None and network.redis.process is not None
        pids = {name: process.pid for name, process in network.processes.items()} | {"redis": network.redis.process.pid}
        for name, pid in pids.items():
            threads = threads_cpus(pid)
            assert len(threads) > 1, f"{name} runs one thread only: no thread shown placed"
            assert all(cpus == expected_cpus(network.placed, name) for cpus in threads.values()), (name, threads)
        if network.placed is not None:  # 2 CPUs or more: the groups are apart
            assert not set(network.placed.front) & set(network.placed.back)
        for name in ("verifier", "redis"):
            os.kill(pids[name], signal.SIGKILL)
            deadline = time.monotonic() + 10
            while name not in network.exited():
                assert time.monotonic() < deadline, f"{name} did not exit"
                time.sleep(0.05)
            restarted = network.restart(name)
            assert restarted != pids[name]
            assert set(os.sched_getaffinity(restarted)) == expected_cpus(network.placed, name)
        network.wait_ready(60)
        for name in ("verifier", "redis"):
            pid = network.redis.process.pid if name == "redis" else network.processes[name].pid
            assert all(cpus == expected_cpus(network.placed, name) for cpus in threads_cpus(pid).values()), name
    finally:
        network.stop()


def test_a_network_without_placement_leaves_every_process_on_every_cpu(tmp_path: Path) -> None:
    network = Network(data_dir=tmp_path / "net", gateway_port=free_port(), placement="none")
    network.start()
    try:
        assert network.placed is None
        assert network.redis is not None and network.redis.process is not None
        for pid in [process.pid for process in network.processes.values()] + [network.redis.process.pid]:
            assert all(cpus == set(CPUS) for cpus in threads_cpus(pid).values())
    finally:
        network.stop()


def test_verinet_up_says_where_it_placed_its_processes(tmp_path: Path) -> None:
    up = VerinetUp(tmp_path / "var", free_port()).start()
    try:
        placed = plan_placement("auto", CPUS)
        said = [line for line in up.lines if line.strip().startswith("placement:")]
        if placed is None:
            assert said == []
        else:
            assert said == [f"  placement: {placed.describe()} (--placement none leaves it to the kernel)"]
        for name, pids in processes_by_service(up).items():
            if name in (*FRONT, *BACK_END):
                assert [set(os.sched_getaffinity(pid)) for pid in pids] == [expected_cpus(placed, name)], name
    finally:
        up.stop()


def test_a_back_end_short_of_cpu_is_spread_at_once_while_cpu_idles_elsewhere() -> None:
    adaptive = AdaptivePlacement(1)
    assert adaptive.step(0.85, 0.9) is False  # not full
    assert adaptive.step(0.95, 0.6) is True  # a bulk upload lasts seconds: each interval apart costs it


def test_a_full_back_end_stays_on_its_own_cpus_while_nothing_idles_elsewhere() -> None:
    adaptive = AdaptivePlacement(1)
    for _ in range(50):
        assert adaptive.step(1.0, 0.1) is False  # a full LMS load: apart, it answers more


def test_a_spread_back_end_comes_back_after_25_quiet_intervals_and_stays_put_in_between() -> None:
    adaptive = AdaptivePlacement(2)
    assert adaptive.step(1.9, 0.5) is True
    for _ in range(50):
        assert adaptive.step(1.5, 0.5) is True  # between the two thresholds: as it is
    for _ in range(24):
        assert adaptive.step(1.2, 0.8) is True
    assert adaptive.step(1.5, 0.8) is True  # the quiet streak starts again
    for _ in range(24):
        assert adaptive.step(1.2, 0.8) is True
    assert adaptive.step(1.2, 0.8) is False  # 1.2 <= 0.65 x 2 for the 25th time in a row
    for _ in range(50):
        assert adaptive.step(1.5, 0.3) is False


def bulk_verify_load(network: Network, stop: threading.Event, clients: int = 4) -> list[threading.Thread]:
    """``clients`` threads verifying 1,000 packs a request until ``stop``: four fifths of the
    CPU such a load takes is the back end's."""
    running = RunningNetwork(network)
    packs = [(f"P{n:06d}", "L1", "301231") for n in range(1000)]
    _, _, gtin = running.add_product_with_packs(packs)
    _, wholesaler = running.add_partner(["wholesaler"])
    body = {"packs": [{"gtin": gtin, "serial": serial, "lot": lot, "expiry": expiry} for serial, lot, expiry in packs]}

    def verify() -> None:
        while not stop.is_set():
            answer = wholesaler.post("/v1/packs/verify", json=body)
            assert answer.status_code == 200, answer.text

    threads = [threading.Thread(target=verify, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    return threads


def test_a_back_end_full_under_bulk_verify_runs_on_every_cpu_until_the_load_ends(tmp_path: Path) -> None:
    with running_network(tmp_path / "net") as running:
        network = running.network
        keeper = network.placement_keeper
        if network.placed is None:  # one CPU: nothing to place, nothing to spread
            assert keeper is None
            return
        assert keeper is not None and keeper.spread is False
        verifier = network.processes["verifier"].pid
        assert set(os.sched_getaffinity(verifier)) == set(network.placed.back)
        stop = threading.Event()
        load = bulk_verify_load(network, stop)
        try:
            wait_for(lambda: keeper.spread, timeout=30)
            assert all(cpus == set(CPUS) for cpus in threads_cpus(verifier).values())
            assert set(os.sched_getaffinity(network.redis.process.pid)) == set(CPUS)  # type: ignore[union-attr]
            assert set(os.sched_getaffinity(network.processes["gateway"].pid)) == set(network.placed.front)
        finally:
            stop.set()
            for thread in load:
                thread.join()
        wait_for(lambda: not keeper.spread, timeout=30)
        assert all(cpus == set(network.placed.back) for cpus in threads_cpus(verifier).values())
        assert keeper.changes == 2
