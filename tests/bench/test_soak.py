"""The soak's latency histogram reports what a sorted list of every latency would, a bucket at
most above it and never below: the soak's pass or fail rests on its p99."""

from __future__ import annotations

import random

from tests.bench.bench_modules import load_bench_module


def exact(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def test_quantiles_are_at_most_a_bucket_above_the_exact_ones_and_never_below() -> None:
    soak = load_bench_module("soak")
    rng = random.Random(7)
    # Mostly milliseconds, a tail of seconds past the fine buckets, one past the client's timeout.
    values = [rng.expovariate(1 / 0.008) for _ in range(50_000)] + [rng.uniform(2, 29) for _ in range(300)] + [31.5]
    histogram = soak.Histogram()
    for value in values:
        histogram.add(value)
    assert histogram.total == len(values)
    for q in (0.5, 0.9, 0.99, 0.999):
        true = exact(values, q)
        bucket = 0.0001 if true < 2 else 0.01
        assert true <= histogram.quantile(q) <= true + bucket + 1e-9, q
    assert histogram.quantile(1.0) == histogram.max == 31.5


def test_an_empty_histogram_has_no_quantile() -> None:
    histogram = load_bench_module("soak").Histogram()
    assert histogram.total == 0
    assert histogram.quantile(0.99) != histogram.quantile(0.99)  # NaN
