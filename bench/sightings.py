"""Recording the verifier's sightings in recall-status, in one process against a Redis of its
own (started as ``verinet up`` starts it: append-only file, ``appendfsync always``): what a
batch costs recall-status's CPU an event, Redis a script call, and the batch in wall time.

    python bench/sightings.py                      # batches of 120 and 900 events; appends
    python bench/sightings.py --sizes 200 --no-write

At one connection the verifier sends a batch every ``PACK_EVENT_DELAY_SECONDS`` (about 180
events at 900 questions a second); at 64 connections batches of 500. Each batch is recorded
20 times after 5 warm-up batches (4 GTINs, 20,000 serials, every event a bare sighting as
an LMS verification records it); the figures are medians. recall-status's CPU is this process's;
Redis's is its ``commandstats`` time of the record script (which holds the server for that
long: a status read arriving meanwhile waits), the wall time adds the append-only file's fsync.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import harness  # noqa: F401  (first: it re-runs the script with the venv when needed)
from report import Report

from verinet.embedded_redis import EmbeddedRedis
from verinet.recall_status.pack_store import PackRepository
from verinet.recall_status.pack_values import PackEventData
from verinet.store import connect

GTINS = tuple(f"0950110102091{n}" for n in range(4))


def sightings(count: int, rng: random.Random) -> list[PackEventData]:
    now = time.time()
    return [
        PackEventData(rng.choice(GTINS), f"SER{rng.randrange(20_000):08d}", "verification", "p-0123456789abcdef",
                      "0614141000012", now + n / 1000, "dscsaSaleableReturn", "S", "verified")
        for n in range(count)
    ]  # fmt: skip


async def measure(redis_url: str, size: int, batches: int) -> dict[str, float]:
    client = connect(redis_url)
    repository = PackRepository(client)
    rng = random.Random(size)
    try:
        for _ in range(5):
            await repository.record_events(sightings(size, rng))
        await client.config_resetstat()
        walls, cpus = [], []
        for _ in range(batches):
            events = sightings(size, rng)
            wall, cpu = time.perf_counter(), time.process_time()
            await repository.record_events(events)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        script = (await client.info("commandstats"))["cmdstat_evalsha"]
    finally:
        await client.aclose()
    return {
        "cpu_us_per_event": statistics.median(cpus) / size * 1e6,
        "redis_us_per_batch": script["usec"] / batches,
        "calls_per_batch": script["calls"] / batches,
        "wall_ms": statistics.median(walls) * 1e3,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[120, 900], help="events a batch")
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    report = Report("recording a batch of sightings in recall-status (issue 25)")
    rows = []
    with tempfile.TemporaryDirectory(prefix="verinet-sightings-") as data:
        redis = EmbeddedRedis(Path(data) / "redis")
        redis.start()
        try:
            for size in args.sizes:
                got = asyncio.run(measure(redis.url, size, args.batches))
                rows.append([f"{size:,}", f"{got['cpu_us_per_event']:.2f}", f"{got['redis_us_per_batch']:,.0f}",
                             f"{got['redis_us_per_batch'] / size:.2f}", f"{got['calls_per_batch']:.0f}", f"{got['wall_ms']:.2f}"])
        finally:
            redis.stop()
    report.table(["events a batch", "recall-status CPU µs an event", "Redis µs a batch", "Redis µs an event",
                  "script calls a batch", "wall ms a batch"], rows)
    report.write(enabled=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
