"""Histograms cheap enough for the hot path, scraped as prometheus_client's own.

prometheus_client's ``Histogram.observe`` takes two locks and walks the bucket bounds in
Python; one LMS question makes six observations across the services (the HTTP route, each call
stream served, each coalesced batch). Here an observation is one ``bisect`` in C and two
additions under one lock: half the library's time on a hot loop (0.32 against 0.65 µs), more
in processes that wake cold for each question (bench/RESULTS.md, issue 25: all metrics off
saved 4% of the CPU a question at one connection). The counts are summed into cumulative
buckets when the registry is scraped, with the names, labels and ``le`` values
prometheus_client gives them.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from itertools import accumulate
from typing import cast

from prometheus_client import Histogram as _LibraryHistogram
from prometheus_client.metrics_core import HistogramMetricFamily
from prometheus_client.registry import REGISTRY, CollectorRegistry
from prometheus_client.utils import INF, floatToGoString

DEFAULT_BUCKETS: tuple[float, ...] = tuple(_LibraryHistogram.DEFAULT_BUCKETS)
#: How prometheus_client writes a bound as the ``le`` label ("0.005", "1.0", "+Inf").
_le_text = cast(Callable[[float], str], floatToGoString)


class HistogramChild:
    """One label set's counts: ``observe`` is what the hot path calls."""

    __slots__ = ("_bounds", "_counts", "_lock", "_sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self._bounds = bounds
        self._counts = [0] * len(bounds)
        self._sum = 0.0
        self._lock = threading.Lock()  # a scrape reads from another thread

    def observe(self, amount: float) -> None:
        """Counts ``amount`` in the first bucket whose bound is at least it (``le``)."""
        index = bisect_left(self._bounds, amount)
        with self._lock:
            if amount <= self._bounds[index]:  # false for NaN only: counted in no bucket, as prometheus_client does
                self._counts[index] += 1
            self._sum += amount

    def snapshot(self) -> tuple[list[int], float]:
        with self._lock:
            return list(self._counts), self._sum


class Histogram:
    """A labelled histogram registered with prometheus_client's registry: ``labels(...)``
    gives a child to bind once and ``observe`` on (as ``prometheus_client.Histogram``)."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        registry: CollectorRegistry | None = REGISTRY,
    ) -> None:
        bounds = sorted(float(bound) for bound in buckets)
        if not bounds or len(set(bounds)) != len(bounds):
            raise ValueError(f"Failed to define histogram {name}: expected distinct bucket bounds, got {list(buckets)}.")
        if bounds[-1] != INF:
            bounds.append(INF)
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self._bounds = tuple(bounds)
        self._bucket_names = [_le_text(bound) for bound in bounds]
        self._children: dict[tuple[str, ...], HistogramChild] = {}
        self._lock = threading.Lock()
        if registry is not None:
            registry.register(self)

    def labels(self, *values: object) -> HistogramChild:
        if len(values) != len(self.labelnames):
            raise ValueError(
                f"Failed to label histogram {self.name}: expected {len(self.labelnames)} values "
                f"({', '.join(self.labelnames)}), got {len(values)}."
            )
        key = tuple(str(value) for value in values)
        child = self._children.get(key)
        if child is None:
            with self._lock:
                child = self._children.setdefault(key, HistogramChild(self._bounds))
        return child

    def observe(self, amount: float) -> None:
        """For a histogram without labels."""
        self.labels().observe(amount)

    def describe(self) -> list[HistogramMetricFamily]:
        return [HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)]

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for key, child in list(self._children.items()):
            counts, total = child.snapshot()
            family.add_metric(key, list(zip(self._bucket_names, accumulate(counts), strict=True)), total)
        yield family
