"""The gateway's plainly counted metrics scrape exactly as prometheus_client's own would: the
same text, line for line, in both exposition formats, but for the creation times."""

from __future__ import annotations

import doctest
import re
from collections.abc import Callable, Iterator

import prometheus_client
import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from verinet.gateway import loop_metrics
from verinet.gateway.loop_metrics import LoopCounter, LoopHistogram

BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)
# Below, on and between the bounds, past the last one, and zero.
AMOUNTS = (0.0, 0.0001, 0.0005, 0.00050001, 0.0015, 0.002, 0.3, 1.0, 4.99, 5.0, 7.5, 120.0)
CREATED = re.compile(r"^(\S+_created(?:\{[^}]*\})?) \S+$", re.MULTILINE)


def scraped(registry: CollectorRegistry, exposition: Callable[[CollectorRegistry], bytes]) -> str:
    return CREATED.sub(r"\1 <created>", exposition(registry).decode())


def record(histogram: Histogram | LoopHistogram, counter: Counter | LoopCounter) -> None:
    for n, amount in enumerate(AMOUNTS):
        route = ("/b", "/a")[n % 2]  # label sets in the order they first appear
        histogram.labels(route, "GET").observe(amount)
        counter.labels(route, str(200 + n % 3)).inc()


@pytest.fixture(params=[True, False], ids=["created series", "no created series"])
def created_series(request: pytest.FixtureRequest) -> Iterator[bool]:
    if not request.param:
        prometheus_client.disable_created_metrics()
    try:
        yield request.param
    finally:
        prometheus_client.enable_created_metrics()


@pytest.mark.parametrize("exposition", [generate_latest, generate_openmetrics], ids=["text", "openmetrics"])
def test_loop_metrics_scrape_as_prometheus_clients_own(
    exposition: Callable[[CollectorRegistry], bytes], created_series: bool
) -> None:
    stock, plain = CollectorRegistry(), CollectorRegistry()
    record(
        Histogram("demo_request_seconds", "Time to answer", ["route", "method"], buckets=BUCKETS, registry=stock),
        Counter("demo_responses_total", "Responses", ["route", "status"], registry=stock),
    )
    record(
        LoopHistogram("demo_request_seconds", "Time to answer", ["route", "method"], BUCKETS, registry=plain),
        LoopCounter("demo_responses_total", "Responses", ["route", "status"], registry=plain),
    )
    expected = scraped(stock, exposition)
    assert ('<created>' in expected) is created_series
    assert scraped(plain, exposition) == expected


def test_a_loop_metric_refuses_a_name_taken_and_labels_it_does_not_have() -> None:
    registry = CollectorRegistry()
    counter = LoopCounter("demo_responses_total", "Responses", ["route", "status"], registry=registry)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Counter("demo_responses_total", "Responses", ["route"], registry=registry)
    with pytest.raises(ValueError, match="takes the labels"):
        counter.labels("/a")
    with pytest.raises(ValueError, match="not in sorted order"):
        LoopHistogram("demo_seconds", "Time", [], (1.0, 0.5), registry=None)


def test_the_module_examples_hold() -> None:
    assert doctest.testmod(loop_metrics).failed == 0
