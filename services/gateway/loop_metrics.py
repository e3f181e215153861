"""Per-request metrics counted as plain numbers by the event loop, read by Prometheus at scrape.

prometheus_client's Histogram and Counter take a lock for every value they change: three
locks a request for the gateway's latency histogram and response counter, about 1 µs of the
~1.1 µs they cost. The gateway changes these values on its event loop only, so
:class:`LoopHistogram` and :class:`LoopCounter` keep them as plain numbers and build the very
samples prometheus_client would at scrape time (same names, help, labels, buckets, values and
``_created`` series). A scrape from the metrics thread may see a request counted in a bucket
and not yet in the sum, as it may with prometheus_client's separately locked values.

>>> from prometheus_client import CollectorRegistry, generate_latest
>>> registry = CollectorRegistry()
>>> hits = LoopCounter("demo_hits_total", "Hits", ["route"], registry=registry)
>>> hits.labels("/a").inc()
>>> [line for line in generate_latest(registry).decode().splitlines() if line.startswith("demo_hits_total")]
['demo_hits_total{route="/a"} 1.0']
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterable, Sequence

from prometheus_client import REGISTRY, CollectorRegistry, Counter
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import INF, floatToGoString

__all__ = ["LoopCounter", "LoopHistogram"]


def _created_series_on() -> bool:
    """Whether prometheus_client exports ``_created`` series (``disable_created_metrics`` and
    PROMETHEUS_DISABLE_CREATED_SERIES turn them off): asked of a counter of its own."""
    (family,) = Counter("probe", "", registry=None).collect()
    return any(sample.name.endswith("_created") for sample in family.samples)


class HistogramChild:
    """One label set's histogram: ``counts[i]`` observations fell in bucket ``i`` alone."""

    __slots__ = ("bounds", "counts", "created", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * len(bounds)
        self.total = 0.0
        self.created = time.time()

    def observe(self, amount: float) -> None:
        # The first bucket whose upper bound is >= amount (le), as prometheus_client counts it.
        self.counts[bisect_left(self.bounds, amount)] += 1
        self.total += amount


class CounterChild:
    __slots__ = ("created", "value")

    def __init__(self) -> None:
        self.value = 0.0
        self.created = time.time()

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount


class LoopHistogram(Collector):
    """A labelled histogram, exported as prometheus_client's ``Histogram`` exports one."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        buckets: Sequence[float],
        registry: CollectorRegistry | None = REGISTRY,
    ) -> None:
        bounds = [float(bound) for bound in buckets]
        if bounds != sorted(bounds):
            raise ValueError(f"Buckets of {name} not in sorted order: {buckets}")
        if bounds[-1] != INF:
            bounds.append(INF)
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.bounds = tuple(bounds)
        # The ``le`` label of each bucket, spelled as prometheus_client spells it.
        self.bucket_labels = tuple(floatToGoString(bound) for bound in bounds)  # type: ignore[no-untyped-call]
        self._children: dict[tuple[str, ...], HistogramChild] = {}
        if registry is not None:
            registry.register(self)

    def labels(self, *values: str) -> HistogramChild:
        child = self._children.get(values)
        if child is None:
            if len(values) != len(self.labelnames):
                raise ValueError(f"{self.name} takes the labels {self.labelnames}, got {values}")
            child = self._children[values] = HistogramChild(self.bounds)
        return child

    def describe(self) -> Iterable[Metric]:
        return [HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)]

    def collect(self) -> Iterable[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        created = _created_series_on()
        for values, child in list(self._children.items()):
            cumulative, buckets = 0, []
            for label, count in zip(self.bucket_labels, list(child.counts), strict=True):
                cumulative += count
                buckets.append((label, float(cumulative)))
            family.add_metric(values, buckets, child.total)
            if created:
                family.samples.append(Sample(self.name + "_created", dict(zip(self.labelnames, values, strict=True)), child.created))
        return [family]


class LoopCounter(Collector):
    """A labelled counter, exported as prometheus_client's ``Counter`` exports one (``name``
    ends in ``_total``)."""

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], registry: CollectorRegistry | None = REGISTRY
    ) -> None:
        self.name = name.removesuffix("_total")
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self._children: dict[tuple[str, ...], CounterChild] = {}
        if registry is not None:
            registry.register(self)

    def labels(self, *values: str) -> CounterChild:
        child = self._children.get(values)
        if child is None:
            if len(values) != len(self.labelnames):
                raise ValueError(f"{self.name} takes the labels {self.labelnames}, got {values}")
            child = self._children[values] = CounterChild()
        return child

    def describe(self) -> Iterable[Metric]:
        return [CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)]

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        created = _created_series_on()
        for values, child in list(self._children.items()):
            family.add_metric(values, child.value, created=child.created if created else None)
        return [family]
