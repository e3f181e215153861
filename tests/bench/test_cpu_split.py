"""What `lms.py --reference` says about where the one-connection CPU goes: each process's CPU
split into user space and the kernel, measured from /proc on real processes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.bench.bench_modules import load_bench_module

#: CPU each worker spends: many clock ticks (10 ms each), so the split is not one tick's luck.
WORK_SECONDS = 0.4

#: Copying from /dev/zero: nearly all of it kernel time (the kernel fills the buffer).
IN_THE_KERNEL = f"""
import os, sys, time
sys.stdin.readline()
fd = os.open("/dev/zero", os.O_RDONLY)
while time.process_time() < {WORK_SECONDS}:
    os.read(fd, 1 << 20)
print("done", flush=True)
sys.stdin.readline()
"""

#: Arithmetic in Python: nearly all of it user time.
IN_USER_SPACE = f"""
import sys, time
sys.stdin.readline()
total = 0
while time.process_time() < {WORK_SECONDS}:
    for number in range(10_000):
        total += number
print("done", flush=True)
sys.stdin.readline()
"""


@pytest.fixture(scope="module")
def measured() -> Iterator[tuple[object, dict[str, int]]]:
    """A CpuMeter over two real workers, one busy in the kernel, one in user space."""
    cpu = load_bench_module("cpu")
    workers = {
        name: subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for name, code in (("kernel worker", IN_THE_KERNEL), ("python worker", IN_USER_SPACE))
    }
    try:
        pids = {name: worker.pid for name, worker in workers.items()}
        meter = cpu.CpuMeter(pids).start()
        for worker in workers.values():
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        for worker in workers.values():
            assert worker.stdout is not None and worker.stdout.readline().strip() == "done"
        meter.stop()  # the workers are still alive (waiting on stdin), so /proc still has them
        yield meter, pids
    finally:
        for worker in workers.values():
            worker.kill()
            worker.wait(timeout=10)


def test_the_meter_tells_kernel_time_from_user_time(measured: tuple[object, dict[str, int]]) -> None:
    meter, _ = measured
    seconds, kernel = meter.seconds, meter.kernel_seconds  # type: ignore[attr-defined]

    for name in ("kernel worker", "python worker"):
        assert seconds[name] >= WORK_SECONDS * 0.9
        assert 0 <= kernel[name] <= seconds[name]
    assert kernel["kernel worker"] > 0.5 * seconds["kernel worker"]
    assert kernel["python worker"] < 0.5 * seconds["python worker"]


def test_the_split_line_gives_each_process_user_plus_kernel_and_the_kernel_total(
    measured: tuple[object, dict[str, int]],
) -> None:
    lms = load_bench_module("lms")
    load = load_bench_module("load")
    meter, pids = measured
    answers = 1000
    run = load.WrkResult(connections=1, threads=1, seconds=1.0, requests=answers, errors={}, latency_us={},
                         cpu=meter, wrk_cpu=0.0)  # fmt: skip

    line = lms.cpu_split([run, run], pids)

    per_answer = {name: (meter.seconds[name], meter.kernel_seconds[name]) for name in pids}  # type: ignore[attr-defined]
    for name, (total, kernel) in per_answer.items():
        # Two runs of the same meter: twice the CPU over twice the answers.
        assert f"{name} {(total - kernel) / answers * 1e6:,.0f} + {kernel / answers * 1e6:,.0f}" in line
    kernel_all = sum(kernel for _, kernel in per_answer.values()) / answers * 1e6
    total_all = sum(total for total, _ in per_answer.values()) / answers * 1e6
    assert line.endswith(f"in the kernel {kernel_all:,.0f} of {total_all:,.0f}")
