"""Where the slow answers of one connection fall: one LMS question at a time from a client of
our own that keeps each answer's start and latency, then the slowest 1% laid out in time.

    python bench/tail.py                                  # 10 s, defaults; appends
    python bench/tail.py --env PACK_EVENT_DELAY_SECONDS=1 --no-write

wrk gives percentiles only; this says *when* the slow answers come, which tells their cause
apart: answers slow at the period of the verifier's batches of sightings
(``PACK_EVENT_DELAY_SECONDS``) wait for that batch; at one second, for something done once a
second; scattered ones, for scheduling. It also reads what Redis saw meanwhile: the record
script's calls and time (``commandstats``) and its fsync stalls (``LATENCY HISTORY
aof-fsync-always``, each second's worst stall of 1 ms or more), since with ``appendfsync
always`` every write makes Redis fsync before it serves the next command. The client is Python
(http.client, keep-alive), so its answers are about 0.2 ms slower than wrk's; the layout in
time is what this is for.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import time
from collections import Counter
from itertools import pairwise

import harness  # noqa: F401  (first: it re-runs the script with the venv when needed)
import lms
from data import commission, make_lots, make_packs
from harness import running_network
from load import run_wrk
from report import Report


def closed_loop(
    port: int, lines: list[tuple[str, str]], seconds: float
) -> list[tuple[float, float]]:
    """(start, latency) of each answer, one question at a time for ``seconds``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    answers: list[tuple[float, float]] = []
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        token, path = lines[n % len(lines)]
        n += 1
        started = time.monotonic()
        connection.request("GET", path, headers={"Authorization": "Bearer " + token})
        response = connection.getresponse()
        response.read()
        answers.append((started, time.monotonic() - started))
        if response.status != 200:
            raise SystemExit(f"answer {n} was {response.status}: {path}")
    connection.close()
    return answers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--packs", type=int, default=20_000)
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="the services' environment (repeatable)",
    )
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    env = dict(item.split("=", 1) for item in args.env)
    report = Report("where the slow answers of one connection fall in time (issue 25)")
    report.add(
        f"- services' environment: {', '.join(f'{k}={v}' for k, v in env.items()) or 'defaults'}",
        f"- data: {args.packs:,} packs, 80% known serials; {args.seconds:g} s, one question at a time",
    )
    with running_network(extra_env=env) as bench:
        maker = bench.add_partner(["manufacturer"])
        traders = [bench.add_partner(["wholesaler"]) for _ in range(2)] + [
            bench.add_partner(["dispenser"]) for _ in range(2)
        ]
        packs = make_packs(make_lots(bench.add_products(maker, 4), 2), args.packs)
        commission(bench, maker["token"], packs, progress=False)
        written, _ = lms.write_paths(packs, traders, args.packs, 0.8)
        run_wrk(bench, written, 64, 2, 2)  # warm up
        lines = [
            (token, path)
            for token, path in (line.split("\t")[:2] for line in written.read_text().splitlines())
        ]
        redis = bench.redis()
        redis.config_set("latency-monitor-threshold", 1)
        redis.execute_command("LATENCY", "RESET")
        redis.config_resetstat()
        answers = closed_loop(bench.port, lines, args.seconds)
        stats = redis.info("commandstats")
        fsyncs = redis.execute_command("LATENCY", "HISTORY", "aof-fsync-always")
    latencies = sorted(latency for _, latency in answers)
    count = len(latencies)
    p99 = latencies[int(count * 0.99)]
    first = answers[0][0]
    slow = [(started - first, latency) for started, latency in answers if latency >= p99]
    gaps = Counter(round(b[0] - a[0], 2) for a, b in pairwise(slow))
    report.add(
        f"- {count:,} answers ({count / args.seconds:,.0f}/s): p50 {statistics.median(latencies) * 1e3:.2f} ms, "
        f"p90 {latencies[int(count * 0.9)] * 1e3:.2f}, p99 {p99 * 1e3:.2f}, max {latencies[-1] * 1e3:.2f}"
    )
    report.add(
        "- the slowest 1% (second into the run: ms), first 40: "
        + " ".join(f"{at:.3f}:{latency * 1e3:.1f}" for at, latency in slow[:40])
    )
    report.add(
        "- seconds between consecutive slow answers, most common (gap: times): "
        + ", ".join(f"{gap:.2f}: {times}" for gap, times in gaps.most_common(8))
    )
    for name, stat in sorted(stats.items()):
        if name.startswith("cmdstat_eval"):
            report.add(
                f"- Redis `{name[8:]}` (status reads and sightings' records alike): {stat['calls']:,} calls, "
                f"{stat['usec_per_call']:.1f} µs each"
            )
    stalls = [int(ms) for _, ms in fsyncs]
    report.add(
        f"- Redis fsync stalls of 1 ms or more (each second's worst): in {len(stalls)} seconds"
        + (f", median {statistics.median(stalls)} ms, max {max(stalls)} ms" if stalls else "")
    )
    report.write(enabled=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
