"""One status read from the embedded Redis over loopback TCP against its Unix socket.

    python bench/redis_transport.py              # appends to RESULTS.md
    python bench/redis_transport.py --no-write --seconds 2

``verinet up`` gives its services the embedded Redis's Unix socket (``EmbeddedRedis.local_url``).
This measures what that saves: one ``PackRepository.statuses`` call for one pack at a time, as
recall-status makes for a one-connection LMS question, from this process on each transport in
turn, ``--rounds`` times. Each figure is CPU per read (utime + stime) of this process and of
Redis, and the time a read takes on the clock.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import harness  # noqa: F401  (first: it re-runs the script with the venv when needed)
from cpu import add_max_wait_option, proc_cpu_seconds, set_quiet_max_wait, wait_quiet
from report import Report

from verinet.embedded_redis import EmbeddedRedis
from verinet.recall_status.pack_store import PackRepository
from verinet.recall_status.pack_values import NewPack
from verinet.store import connect

GTIN = "00614141123452"
PACKS = 2_000


async def reads(url: str, seconds: float, redis_pid: int) -> tuple[int, float, float, float]:
    """Status reads one at a time for ``seconds``: how many, this process's and Redis's CPU
    seconds, and the seconds on the clock."""
    client = connect(url)
    repository = PackRepository(client)
    keys = [(GTIN, f"S{n:06d}") for n in range(PACKS)]
    try:
        await repository.statuses(keys[:1])  # the script loaded and a connection open
        own, server, started = time.process_time(), proc_cpu_seconds(redis_pid), time.perf_counter()
        count = 0
        while time.perf_counter() - started < seconds:
            (read,) = await repository.statuses([keys[count % PACKS]])
            if read is None:
                raise RuntimeError(f"pack {keys[count % PACKS]} was not found")
            count += 1
        elapsed = time.perf_counter() - started
        return count, time.process_time() - own, proc_cpu_seconds(redis_pid) - server, elapsed
    finally:
        await client.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="each run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    add_max_wait_option(parser)
    args = parser.parse_args(argv)
    set_quiet_max_wait(args.max_wait)
    report = Report("one status read from the embedded Redis, loopback TCP against its Unix socket")
    report.add(f"- one `PackRepository.statuses` call for one pack at a time from one process; {args.seconds:g} s a run, "
               f"{args.rounds} rounds, {PACKS:,} packs")
    rows = []
    totals: dict[str, list[float]] = {"tcp": [0, 0.0, 0.0, 0.0], "unix": [0, 0.0, 0.0, 0.0]}
    with tempfile.TemporaryDirectory(prefix="verinet-bench-") as data:
        server = EmbeddedRedis(Path(data) / "redis", fsync="no")
        server.start()
        try:
            if server.socket_path is None:
                raise SystemExit(f"the data directory {data} is too deep for a Unix socket")
            pid = server.process.pid if server.process else 0

            async def commission() -> None:
                client = connect(server.url)
                try:
                    await PackRepository(client).commission(
                        [NewPack(GTIN, f"S{n:06d}", "L1", "301231") for n in range(PACKS)]
                    )
                finally:
                    await client.aclose()

            asyncio.run(commission())
            for round_number in range(1, args.rounds + 1):
                for name, url in (("tcp", server.url), ("unix", server.local_url)):
                    wait_quiet([os.getpid(), pid])
                    count, own, redis_cpu, elapsed = asyncio.run(reads(url, args.seconds, pid))
                    for i, value in enumerate((count, own, redis_cpu, elapsed)):
                        totals[name][i] += value
                    rows.append([str(round_number), name, f"{count / elapsed:,.0f}", f"{elapsed / count * 1e6:,.1f}",
                                 f"{own / count * 1e6:,.1f}", f"{redis_cpu / count * 1e6:,.1f}",
                                 f"{(own + redis_cpu) / count * 1e6:,.1f}"])
                    print(" | ".join(rows[-1]), flush=True)
        finally:
            server.stop()
    report.table(["round", "transport", "reads/s", "µs a read (clock)", "client CPU µs", "Redis CPU µs", "CPU µs in all"], rows)
    per = {name: (t[1] + t[2]) / t[0] for name, t in totals.items()}
    clock = {name: t[3] / t[0] for name, t in totals.items()}
    report.add(f"- over all rounds: CPU a read {per['tcp'] * 1e6:,.1f} µs on TCP, {per['unix'] * 1e6:,.1f} µs on the "
               f"Unix socket (**{per['unix'] / per['tcp']:.2f}x**); on the clock {clock['tcp'] * 1e6:,.1f} against "
               f"{clock['unix'] * 1e6:,.1f} µs")
    report.write(enabled=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
