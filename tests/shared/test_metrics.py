"""verinet.metrics: the hot path's histograms, scraped exactly as prometheus_client's own."""

from __future__ import annotations

import math
import threading

import prometheus_client
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from verinet.metrics import Histogram

BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)
#: On a bound, below the first, between bounds, past the last, zero and negative.
AMOUNTS = (0.0005, 0.0001, 0.0015, 0.004, 0.2, 7.5, 0.0, -0.25, 1.0, 0.03)


def exposition(registry: CollectorRegistry) -> list[str]:
    """The sample lines of a scrape, the ``_created`` series aside (prometheus_client stamps
    its own histograms with their creation time; ours carry no such series)."""
    return [line for line in generate_latest(registry).decode().splitlines() if "_created" not in line]


def test_a_scrape_reads_as_prometheus_clients_own_histogram_after_the_same_observations() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    mine = Histogram("verinet_test_seconds", "Time to test", ["route", "method"], buckets=BUCKETS, registry=ours)
    library = prometheus_client.Histogram("verinet_test_seconds", "Time to test", ["route", "method"], buckets=BUCKETS, registry=theirs)
    for amount in AMOUNTS:
        mine.labels("/v1/x", "GET").observe(amount)
        library.labels("/v1/x", "GET").observe(amount)
    mine.labels("/v1/y", 7).observe(0.003)
    library.labels("/v1/y", 7).observe(0.003)
    assert exposition(ours) == exposition(theirs)


def test_a_histogram_without_labels_and_with_default_buckets_reads_as_the_librarys() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    mine = Histogram("verinet_plain_seconds", "Plain", registry=ours)
    library = prometheus_client.Histogram("verinet_plain_seconds", "Plain", registry=theirs)
    for amount in AMOUNTS:
        mine.observe(amount)
        library.observe(amount)
    assert exposition(ours) == exposition(theirs)


def test_the_registry_reads_single_samples_by_name_and_labels() -> None:
    registry = CollectorRegistry()
    sizes = Histogram("verinet_test_batch_size", "Items a batch", ["call"], buckets=(1, 2, 4), registry=registry)
    alone = sizes.labels("GetPackStatus")
    for size in (1, 1, 3, 9):
        alone.observe(size)
    assert registry.get_sample_value("verinet_test_batch_size_bucket", {"call": "GetPackStatus", "le": "1.0"}) == 2
    assert registry.get_sample_value("verinet_test_batch_size_bucket", {"call": "GetPackStatus", "le": "4.0"}) == 3
    assert registry.get_sample_value("verinet_test_batch_size_bucket", {"call": "GetPackStatus", "le": "+Inf"}) == 4
    assert registry.get_sample_value("verinet_test_batch_size_count", {"call": "GetPackStatus"}) == 4
    assert registry.get_sample_value("verinet_test_batch_size_sum", {"call": "GetPackStatus"}) == 14


def test_a_nan_is_summed_but_counted_in_no_bucket_as_the_library_does() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    Histogram("verinet_nan_seconds", "NaN", buckets=(1.0,), registry=ours).observe(math.nan)
    prometheus_client.Histogram("verinet_nan_seconds", "NaN", buckets=(1.0,), registry=theirs).observe(math.nan)
    assert exposition(ours) == exposition(theirs)


def test_observations_from_many_threads_are_all_counted() -> None:
    registry = CollectorRegistry()
    child = Histogram("verinet_threads_seconds", "Threads", ["t"], buckets=(1.0,), registry=registry).labels("x")

    def observe() -> None:
        for _ in range(20_000):
            child.observe(0.5)

    threads = [threading.Thread(target=observe) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert registry.get_sample_value("verinet_threads_seconds_count", {"t": "x"}) == 80_000
    assert registry.get_sample_value("verinet_threads_seconds_sum", {"t": "x"}) == 40_000


def test_a_name_registered_twice_is_refused_as_the_library_refuses_it() -> None:
    registry = CollectorRegistry()
    Histogram("verinet_twice_seconds", "Once", registry=registry)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Histogram("verinet_twice_seconds", "Twice", registry=registry)


def test_the_wrong_number_of_label_values_is_refused_with_the_names_expected() -> None:
    histogram = Histogram("verinet_labels_seconds", "Labels", ["route", "method"], registry=None)
    with pytest.raises(ValueError, match=r"expected 2 values \(route, method\), got 1"):
        histogram.labels("/v1/x")


def test_repeated_bucket_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="expected distinct bucket bounds"):
        Histogram("verinet_bounds_seconds", "Bounds", buckets=(1.0, 1.0), registry=None)
