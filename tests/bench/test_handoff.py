"""The hand-off calibration that `lms.py --reference` prints: it measures a price on both vCPU
placements, gives the process its CPUs back (wrk and the services it starts next inherit
them), and says so plainly where there is one CPU to measure on."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest

from tests.bench.bench_modules import BENCH, load_bench_module


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs to place the processes on")
def test_a_hand_off_is_priced_on_both_placements_and_the_cpus_are_given_back() -> None:
    handoff = load_bench_module("handoff")
    allowed = os.sched_getaffinity(0)

    price = handoff.handoff_price(messages=200, work_us=20.0)

    assert price is not None
    for microseconds in (price.other_vcpu, price.same_vcpu):
        assert math.isfinite(microseconds) and microseconds > 0
    assert os.sched_getaffinity(0) == allowed
    line = handoff.handoff_line(price)
    assert f"{price.other_vcpu:.1f} µs" in line and f"{price.same_vcpu:.1f} µs" in line


def test_with_one_cpu_the_price_is_reported_as_not_measured() -> None:
    # In a child held to one CPU, so this process keeps its own.
    script = (
        "import os, sys; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
        f"sys.path.insert(0, {str(BENCH)!r}); import handoff; "
        "print(handoff.handoff_line(handoff.handoff_price(messages=50)))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)

    assert result.stdout.strip() == "- hand-off price (`bench/handoff.py`): not measured (one usable CPU)"
